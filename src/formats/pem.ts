/**
 * PEM bundles of X.509 certificates (RFC 7468 §5 "Textual Encoding of PKIX Certificates"): every
 * `-----BEGIN CERTIFICATE-----` … `-----END CERTIFICATE-----` block, parsed with node:crypto.
 */
import { X509Certificate } from 'node:crypto';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle; throws when it holds none or one does not parse. */
export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) in it');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new Error(`certificate ${i + 1} does not parse: ${(e as Error).message}`);
    }
  });
}
