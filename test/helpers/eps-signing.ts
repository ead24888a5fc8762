/**
 * A test prescriber's signing key: a fresh RSA key pair and self-signed X.509 certificate
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

/** A new key and a self-signed certificate valid from an hour ago for `days` days (negative: expired). */
export async function testSigner(opts: { days?: number } = {}): Promise<TestSigner> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const crypto = webcrypto as unknown as Crypto;
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const days = opts.days ?? 1;
  const from = new Date(Date.now() - 3600_000);
  const notBefore = days < 0 ? new Date(Date.now() + days * 86400_000 - 3600_000) : from;
  const notAfter = days < 0 ? new Date(Date.now() + days * 86400_000) : new Date(Date.now() + days * 86400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=Test Prescriber, O=Test', notBefore, notAfter, signingAlgorithm: alg, keys }, crypto);
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), certificate: Buffer.from(cert.rawData).toString('base64') };
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
