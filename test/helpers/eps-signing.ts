/**
 * A test prescriber's signing key: a fresh RSA key pair and self-signed X.509 certificate, or one
 * issued by a test CA (`testCa`, for EPS_SIGNATURE_TRUSTED_CA)
 * (@peculiar/x509 over node's WebCrypto; its dependency injection needs the reflect-metadata polyfill), and the XML-DSig `<Signature>` an EPS prescribing system
 * embeds in `Provenance.signature.data` after `$prepare` (the shape of the examples' Provenance:
 * SignedInfo as `$prepare` gave it, SignatureValue, KeyInfo/X509Data/X509Certificate).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, sign, webcrypto, type KeyObject } from 'node:crypto';

export interface TestSigner {
  privateKey: KeyObject;
  /** base64 DER. */
  certificate: string;
}

/** A test certificate authority: its key pair, certificate (base64 DER) and PEM. */
export interface TestCa {
  keys: CryptoKeyPair;
  name: string;
  certificate: string;
  pem: string;
}

const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const crypto = webcrypto as unknown as Crypto;

/** Validity from an hour ago for `days` days; negative `days`: it ended `-days` days ago. */
function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return days < 0 ? { notBefore: new Date(now + days * 86400_000 - 3600_000), notAfter: new Date(now + days * 86400_000) } : { notBefore: new Date(now - 3600_000), notAfter: new Date(now + days * 86400_000) };
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function signerOf(keys: CryptoKeyPair, cert: x509.X509Certificate): Promise<TestSigner> {
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), certificate: Buffer.from(cert.rawData).toString('base64') };
}

/** A new CA certificate (basicConstraints CA, keyCertSign) valid for `days` days: self-signed (a root), or issued by `issuer` (an intermediate). */
export async function testCa(opts: { days?: number; name?: string; issuer?: TestCa } = {}): Promise<TestCa> {
  const keys = await newKeys();
  const name = opts.name ?? 'CN=Test Smartcard CA, O=Test';
  const common = {
    serialNumber: '0a',
    ...validity(opts.days ?? 365),
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  };
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({ ...common, subject: name, issuer: opts.issuer.name, publicKey: keys.publicKey, signingKey: opts.issuer.keys.privateKey }, crypto)
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name, keys }, crypto);
  return { keys, name, certificate: Buffer.from(cert.rawData).toString('base64'), pem: cert.toString('pem') };
}

/** A new key and a certificate valid from an hour ago for `days` days (negative: expired): self-signed, or issued by `issuer`. */
export async function testSigner(opts: { days?: number; issuer?: TestCa } = {}): Promise<TestSigner> {
  const keys = await newKeys();
  const { notBefore, notAfter } = validity(opts.days ?? 1);
  const name = 'CN=Test Prescriber, O=Test';
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({ serialNumber: '02', subject: name, issuer: opts.issuer.name, notBefore, notAfter, signingAlgorithm: ALG, publicKey: keys.publicKey, signingKey: opts.issuer.keys.privateKey }, crypto)
    : await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name, notBefore, notAfter, signingAlgorithm: ALG, keys }, crypto);
  return signerOf(keys, cert);
}

/** The `<Signature>` over the `$prepare` digest (base64 SignedInfo) with `signer`'s key, base64 as `Provenance.signature.data` carries it. */
export function signDigest(digest: string, signer: TestSigner): string {
  const signedInfo = Buffer.from(digest, 'base64').toString('utf8');
  const hash = signedInfo.includes('rsa-sha256') ? 'sha256' : 'sha1';
  const value = sign(hash, Buffer.from(signedInfo, 'utf8'), signer.privateKey).toString('base64');
  const xml =
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">\n  ${signedInfo}\n  <SignatureValue>${value}</SignatureValue>\n` +
    `  <KeyInfo><X509Data><X509Certificate>${signer.certificate}</X509Certificate></X509Data></KeyInfo>\n</Signature>`;
  return Buffer.from(xml, 'utf8').toString('base64');
}
