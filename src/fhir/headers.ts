/**
 * Request header semantics of the FHIR RESTful API (FHIR R4 §3.1.0 http.html: "Managing Resource
 * Contention" (ETag/If-Match), "conditional read" (If-None-Match, If-Modified-Since) and "Prefer").
 */
import { FhirError } from './outcome';
import type { FhirRequest } from './types';
import type { StoredVersion } from '../store/store';

/** `W/"3"` or `"3"` -> 3. Anything else -> undefined. */
export function parseETagVersion(value: string): number | undefined {
  const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** The version asked for by If-Match, or undefined when the header is absent. Malformed: 400. */
export function ifMatchVersion(req: FhirRequest): number | undefined {
  const h = req.headers['if-match'];
  if (h === undefined) return undefined;
  const v = parseETagVersion(h);
  if (v === undefined) {
    throw new FhirError('invalid', { code: 'invalid', diagnostics: `If-Match header ${JSON.stringify(h)} is not a version ETag such as W/"3"`, expression: ['If-Match'] });
  }
  return v;
}

export function etag(version: Pick<StoredVersion, 'versionId'>): string {
  return `W/"${version.versionId}"`;
}

export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

export function versionHeaders(v: StoredVersion): Record<string, string> {
  return { ETag: etag(v), 'Last-Modified': httpDate(v.lastUpdated) };
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

/** `Prefer: return=...` (default representation). */
export function preferReturn(req: FhirRequest): PreferReturn {
  const h = req.headers['prefer'];
  if (!h) return 'representation';
  const m = /(?:^|[;,\s])return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(h);
  if (!m) return 'representation';
  const v = m[1]!.toLowerCase();
  return v === 'minimal' ? 'minimal' : v === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

/** `Prefer: handling=strict|lenient` (default lenient). */
export function preferStrict(req: FhirRequest): boolean {
  const h = req.headers['prefer'];
  return !!h && /(?:^|[;,\s])handling\s*=\s*"?strict"?/i.test(h);
}

/**
 * Conditional read: true when the client's copy is current (answer 304). An If-Modified-Since that is
 * not an HTTP date, or that is later than the server's clock (`now`, epoch ms), is ignored (RFC 9110
 * §13.1.3: "A date which is later than the server's current time is invalid").
 */
export function notModified(req: FhirRequest, v: StoredVersion, now: number = Date.now()): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    return inm.split(',').some((t) => parseETagVersion(t) === v.versionId);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const since = Date.parse(ims);
    if (Number.isNaN(since) || since > now) return false;
    // HTTP dates have second precision.
    return Math.floor(Date.parse(v.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}
