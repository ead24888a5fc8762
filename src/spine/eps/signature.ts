/**
 * Prescription signing for EPS (electronic-prescription-service-api.yaml `POST /FHIR/R4/$prepare`
 * "Encode prescription data so it's ready to sign", and the Provenance signature of
 * `$process-message` prescription-order): an XML-DSig 1.0 `SignedInfo` (W3C xmldsig-core §4.4) with
 * Exclusive XML Canonicalization 1.0 (http://www.w3.org/2001/10/xml-exc-c14n#) and one Reference
 * whose DigestValue is the SHA-256 (RS256) or SHA-1 (RS1) digest of the canonical prescription.
 *
 * Real EPS digests the HL7 v3 "fragments" of the prescription; this server has no HL7 v3
 * translation, so the digested content is the canonical FHIR XML (src/formats/xml) of a `collection`
 * Bundle holding the prescription's MedicationRequests (with their fullUrls) and the signing
 * timestamp. A digest from here matches this server's own verification, not a real Spine's (ADR 34).
 *
 * Canonicalisation is xml-crypto's ExclusiveCanonicalization over an @xmldom/xmldom document.
 */
import { DOMParser, type Element as XmlElement, type Node as XmlNode } from '@xmldom/xmldom';
import { createHash, verify, X509Certificate } from 'node:crypto';
import type { BundleEntry, MedicationRequest } from 'fhir/r4';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { FhirError } from '../../fhir/outcome';
import { writeFhirXml } from '../../formats/xml';
import { certificateTrustProblem } from './certificate-trust';
import { epsError } from './errors';

export const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** The `algorithm` values of the `$prepare` answer (ParametersResponse.yaml, the examples). */
export const SIGNING_ALGORITHMS = Object.freeze({
  RS256: { signatureMethod: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digestMethod: 'http://www.w3.org/2001/04/xmlenc#sha256', hash: 'sha256' },
  RS1: { signatureMethod: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digestMethod: 'http://www.w3.org/2000/09/xmldsig#sha1', hash: 'sha1' },
} as const);
export type SigningAlgorithm = keyof typeof SIGNING_ALGORITHMS;
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'RS256';

export function isSigningAlgorithm(s: string): s is SigningAlgorithm {
  return Object.prototype.hasOwnProperty.call(SIGNING_ALGORITHMS, s);
}

/** A signing timestamp as the examples write it: seconds, `+00:00` (e.g. `2024-12-09T11:50:04+00:00`). */
export function signingTimestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19)}+00:00`;
}

/** The signing timestamp of a date-time as sent back in `Provenance.signature.when`; undefined when it is not one. */
export function normaliseSigningTimestamp(s: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s)) return undefined;
  const t = new Date(s);
  return Number.isNaN(t.getTime()) ? undefined : signingTimestamp(t);
}

/** Parses XML, refusing (undefined) anything with a fatal or plain error. */
export function parseXml(xml: string): XmlElement | undefined {
  let failed = false;
  try {
    const doc = new DOMParser({ onError: (level) => { if (level !== 'warning') failed = true; } }).parseFromString(xml, 'text/xml');
    return failed ? undefined : (doc.documentElement ?? undefined);
  } catch {
    return undefined;
  }
}

/** Exclusive XML Canonicalization 1.0 (without comments) of an element. */
export function excC14n(node: XmlNode): string {
  return new ExclusiveCanonicalization().process(node as unknown as Element, {}).toString();
}

export interface SignedLineItem {
  fullUrl: string | undefined;
  resource: MedicationRequest;
}

/** The canonical XML of the prescription content signed at `timestamp` (what the Reference digests). */
export function prescriptionContent(items: readonly SignedLineItem[], timestamp: string): string {
  const entry: BundleEntry[] = items.map((i) => ({ ...(i.fullUrl ? { fullUrl: i.fullUrl } : {}), resource: i.resource }));
  let xml: string;
  try {
    xml = writeFhirXml({ resourceType: 'Bundle', type: 'collection', timestamp, entry }, { omitDeclaration: true });
  } catch (e) {
    // The FHIR XML writer refuses content FHIR XML cannot carry, naming the path.
    if (!(e instanceof FhirError)) throw e;
    throw epsError(400, 'value', 'INVALID_VALUE', e.issues[0]?.diagnostics ?? 'The prescription cannot be encoded for signing.', 'Bundle.entry.resource.ofType(MedicationRequest)');
  }
  const root = parseXml(xml);
  if (!root) throw new Error('the FHIR XML writer produced XML that does not parse');
  return excC14n(root);
}

export interface PreparedSignature {
  /** Canonical `SignedInfo` (what the prescriber signs). */
  signedInfo: string;
  /** base64 of `signedInfo`: the `$prepare` `digest` parameter. */
  digest: string;
  digestValue: string;
}

/** The SignedInfo a prescriber signs for these line items at `timestamp` with `algorithm`. */
export function prepareSignature(items: readonly SignedLineItem[], timestamp: string, algorithm: SigningAlgorithm): PreparedSignature {
  const a = SIGNING_ALGORITHMS[algorithm];
  const digestValue = createHash(a.hash).update(prescriptionContent(items, timestamp), 'utf8').digest('base64');
  const xml =
    `<SignedInfo xmlns="${XMLDSIG_NS}"><CanonicalizationMethod Algorithm="${EXC_C14N}"></CanonicalizationMethod>` +
    `<SignatureMethod Algorithm="${a.signatureMethod}"></SignatureMethod><Reference><Transforms><Transform Algorithm="${EXC_C14N}"></Transform></Transforms>` +
    `<DigestMethod Algorithm="${a.digestMethod}"></DigestMethod><DigestValue>${digestValue}</DigestValue></Reference></SignedInfo>`;
  const signedInfo = excC14n(parseXml(xml)!);
  return { signedInfo, digest: Buffer.from(signedInfo, 'utf8').toString('base64'), digestValue };
}

/** Why a signature was refused: `invalid` (not a valid signature) or `mismatch` (signs something else). */
export type SignatureProblem = { kind: 'invalid' | 'mismatch'; diagnostics: string };

/** The first XML-DSig child element (direct children only: a SignedInfo hidden deeper is not the signature's). */
function child(parent: XmlElement, localName: string): XmlElement | undefined {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as XmlElement).localName === localName && (n as XmlElement).namespaceURI === XMLDSIG_NS) return n as XmlElement;
  }
  return undefined;
}

/** Every XML-DSig child element of that name, in order. */
function children(parent: XmlElement, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as XmlElement).localName === localName && (n as XmlElement).namespaceURI === XMLDSIG_NS) out.push(n as XmlElement);
  }
  return out;
}

/**
 * Every problem with an XML-DSig `<Signature>` over the prescription (empty: it verifies): its
 * SignedInfo must be the one `$prepare` produces for these items at `timestamp` (same DigestValue;
 * else a `mismatch`), and its SignatureValue must verify over the SignedInfo it carries against the
 * X.509 certificate of its KeyInfo (else `invalid`) — both are checked, as the EPS
 * `$verify-signature` answer reports both (examples/sandbox/VerifySignature-Response-200_OK.json).
 * Its validity period is checked at `now`; its issuer only when `trustedCas` is given
 * (EPS_SIGNATURE_TRUSTED_CA): then it must chain to one of them (src/spine/eps/certificate-trust.ts),
 * through intermediates carried as further X509Certificate elements of the same X509Data.
 */
export function signatureProblems(signatureXml: string, items: readonly SignedLineItem[], timestamp: string | undefined, now: Date, trustedCas?: readonly X509Certificate[]): SignatureProblem[] {
  const invalid = (diagnostics: string): SignatureProblem => ({ kind: 'invalid', diagnostics });
  const root = parseXml(signatureXml);
  if (!root || root.localName !== 'Signature' || root.namespaceURI !== XMLDSIG_NS) return [invalid('The signature is not an XML-DSig Signature element.')];
  const signedInfo = child(root, 'SignedInfo');
  if (!signedInfo) return [invalid('The signature has no SignedInfo.')];
  const method = child(signedInfo, 'SignatureMethod')?.getAttribute('Algorithm');
  const algorithm = (Object.keys(SIGNING_ALGORITHMS) as SigningAlgorithm[]).find((k) => SIGNING_ALGORITHMS[k].signatureMethod === method);
  if (!algorithm) return [invalid(`Unsupported SignatureMethod ${JSON.stringify(method ?? null)}.`)];
  const problems: SignatureProblem[] = [];
  const received = excC14n(signedInfo);
  if (timestamp === undefined) problems.push({ kind: 'mismatch', diagnostics: 'Provenance.signature.when must be the $prepare timestamp.' });
  else if (received !== prepareSignature(items, timestamp, algorithm).signedInfo) problems.push({ kind: 'mismatch', diagnostics: 'The signed digest does not match the prescription.' });
  const keyInfo = child(root, 'KeyInfo');
  const x509Data = keyInfo ? child(keyInfo, 'X509Data') : undefined;
  const certTexts = x509Data ? children(x509Data, 'X509Certificate').map((e) => e.textContent?.replace(/\s+/g, '') ?? '') : [];
  let certs: X509Certificate[];
  try {
    if (certTexts.length === 0) throw new Error('none');
    certs = certTexts.map((t) => new X509Certificate(Buffer.from(t, 'base64')));
  } catch {
    return [...problems, invalid('KeyInfo has no readable X.509 certificate.')];
  }
  const cert = certs[0]!;
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) return [...problems, invalid('The signing certificate is not valid now.')];
  if (trustedCas) {
    const untrusted = certificateTrustProblem(cert, certs.slice(1), trustedCas, now);
    if (untrusted) return [...problems, invalid(untrusted)];
  }
  const value = child(root, 'SignatureValue')?.textContent?.replace(/\s+/g, '') ?? '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return [...problems, invalid('SignatureValue is missing or not base64.')];
  let ok = false;
  try {
    ok = verify(SIGNING_ALGORITHMS[algorithm].hash, Buffer.from(received, 'utf8'), cert.publicKey, Buffer.from(value, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? problems : [...problems, invalid('SignatureValue does not verify against the certificate.')];
}

/**
 * Verifies an XML-DSig `<Signature>` over the prescription (signatureProblems): the first problem,
 * a mismatch before an invalid signature value, or undefined when it verifies.
 */
export function verifyPrescriptionSignature(signatureXml: string, items: readonly SignedLineItem[], timestamp: string, now: Date, trustedCas?: readonly X509Certificate[]): SignatureProblem | undefined {
  return signatureProblems(signatureXml, items, timestamp, now, trustedCas)[0];
}
