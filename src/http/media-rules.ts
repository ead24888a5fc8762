/**
 * Rules of content negotiation that sit beside the choice of format (FHIR R4 §3.1.0.1.9
 * http.html#mime-type and #version-parameter, §2.6.0 formats.html; RFC 9110 §12.5.1 Accept):
 *
 * - the `fhirVersion` parameter of a media type names the FHIR version (major.minor: `4.0` for R4):
 *   a range of `Accept` asking for another version is not acceptable, and when no range is left the
 *   answer is 406;
 * - `_format=application/fhir+json` sent without escaping the `+` arrives as `application/fhir json`
 *   (a `+` in a query string is a space): the space is read back as `+`;
 * - a form body (`application/x-www-form-urlencoded`, what curl and many HTTP libraries send when no
 *   Content-Type is given) is only a search (`POST [type]/_search`); anywhere else it is a 415, not a
 *   resource-less request.
 */
import { FhirError } from '../fhir/outcome';

/** The FHIR version this server speaks, as the `fhirVersion` media type parameter writes it. */
export const FHIR_VERSION = '4.0';

function fhirVersionOf(params: readonly string[]): string | undefined {
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq > 0 && p.slice(0, eq).trim().toLowerCase() === 'fhirversion') return p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** Whether a `fhirVersion` value names R4 (`4.0`, or a full R4 version such as `4.0.1`). */
export function isR4Version(v: string): boolean {
  return v === FHIR_VERSION || /^4\.0\.\d+$/.test(v);
}

/**
 * `Accept` without the ranges that ask for another FHIR version (a 406 when that leaves none). A
 * range without `fhirVersion` is kept as it is.
 */
export function acceptForR4(accept: string): string {
  const ranges = accept.split(',').filter((r) => r.trim() !== '');
  const kept = ranges.filter((r) => {
    const v = fhirVersionOf(r.split(';').slice(1));
    return v === undefined || isR4Version(v);
  });
  if (kept.length === 0 && ranges.length > 0) {
    throw new FhirError('not-acceptable', { diagnostics: `Accept: ${accept} asks for another FHIR version; this server speaks FHIR R4 (fhirVersion=${FHIR_VERSION})`, expression: ['Accept'] });
  }
  return kept.join(',');
}

/**
 * A `_format` value as the client meant it: `application/fhir json` (an unescaped `+`) is
 * `application/fhir+json`; a `fhirVersion` parameter for another version is a 406.
 */
export function normaliseFormat(format: string): string {
  const [type = '', ...params] = format.split(';');
  const v = fhirVersionOf(params);
  if (v !== undefined && !isR4Version(v)) {
    throw new FhirError('not-acceptable', { diagnostics: `_format=${JSON.stringify(format)} asks for another FHIR version; this server speaks FHIR R4 (fhirVersion=${FHIR_VERSION})`, expression: ['_format'] });
  }
  return [type.trim().replace(/\s+/g, '+'), ...params].join(';');
}

/** A form body outside `[type]/_search` (and the compartment `.../_search`): 415. */
export function assertFormBodyAllowed(path: string): void {
  if (/(^|\/)_search$/.test(path)) return;
  throw new FhirError('unsupported-media', {
    diagnostics:
      'A form body (application/x-www-form-urlencoded, what many HTTP clients send when no Content-Type is given) is only accepted by POST [type]/_search; send the resource with Content-Type: application/fhir+json',
  });
}
