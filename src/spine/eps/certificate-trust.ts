/**
 * Trust in the certificate of a prescription signature (the XML-DSig `KeyInfo/X509Data` of the
 * Provenance of an EPS prescription-order, electronic-prescription-service-api.yaml "Digital
 * signatures"): with a bundle of trusted CA certificates (EPS_SIGNATURE_TRUSTED_CA, PEM), the
 * signing certificate must chain to one of them (RFC 5280 §6 path validation, reduced to what
 * node:crypto's X509Certificate offers: issuer name match, signature by the issuer's key, every
 * certificate of the path within its validity at `now`, and every issuer a CA), through at most
 * `MAX_INTERMEDIATES` intermediate certificates carried in the same X509Data.
 *
 * Not done: revocation (CRL, OCSP), name constraints, key usage and policy checks. The NHS
 * smartcard CAs are not shipped: an operator who wants them trusted supplies their PEM.
 */
import fs from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { parsePemBundle } from '../../formats/pem';

export const MAX_INTERMEDIATES = 4;

const loaded = new Map<string, readonly X509Certificate[]>();

/** The trusted CAs of a PEM bundle file, read once per path (the file is checked at start-up by src/config). */
export function trustedCasFromFile(file: string): readonly X509Certificate[] {
  let cas = loaded.get(file);
  if (!cas) {
    cas = Object.freeze(parsePemBundle(fs.readFileSync(file, 'utf8')));
    loaded.set(file, cas);
  }
  return cas;
}

function within(cert: X509Certificate, now: Date): boolean {
  return now >= new Date(cert.validFrom) && now <= new Date(cert.validTo);
}

function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  try {
    return issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Why `leaf` is not trusted (undefined: it chains to a trusted CA): the path from `leaf` through
 * `intermediates` to one of `trusted`, each certificate valid at `now`.
 */
export function certificateTrustProblem(leaf: X509Certificate, intermediates: readonly X509Certificate[], trusted: readonly X509Certificate[], now: Date): string | undefined {
  if (!within(leaf, now)) return 'The signing certificate is not valid now.';
  let current = leaf;
  const used = new Set<X509Certificate>();
  for (let depth = 0; depth <= MAX_INTERMEDIATES; depth++) {
    const anchor = trusted.find((ca) => issued(ca, current));
    if (anchor) return within(anchor, now) ? undefined : 'The trusted CA that issued the signing certificate is not valid now.';
    const next = intermediates.find((c) => !used.has(c) && c !== current && issued(c, current));
    if (!next) return 'The signing certificate is not issued by a trusted CA.';
    if (!within(next, now)) return 'An intermediate certificate of the signing certificate is not valid now.';
    used.add(next);
    current = next;
  }
  return 'The signing certificate is not issued by a trusted CA.';
}
