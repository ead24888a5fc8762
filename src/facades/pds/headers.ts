/**
 * PDS FHIR API request and response headers (personal-demographics.yaml `components/parameters`:
 * RequestID, CorrelationID; response headers X-Request-Id, X-Correlation-Id):
 *
 * - `X-Request-ID` is required and must be a UUID (`^[0-9a-fA-F]{8}-...-[0-9a-fA-F]{12}$`): missing
 *   400 MISSING_VALUE, malformed 400 INVALID_VALUE, with the diagnostics PDS answers. It is mirrored
 *   back, and it is the engine request's id, so a retry with the same id is de-duplicated
 *   (src/spine/idempotency.ts) exactly as on `/fhir`.
 * - `X-Correlation-ID` is optional, any value, mirrored back exactly as sent (spaces included).
 */
import { spineError } from '../../spine/errors';
import type { FacadeRequest } from '../kit';

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A header value Node can send back unchanged (visible ASCII, spaces and tabs, Latin-1). */
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Refuses a request without a valid X-Request-ID (PDS: every endpoint). */
export function checkRequestId(req: FacadeRequest): void {
  const id = req.headers['x-request-id'];
  if (id === undefined || id === '') {
    throw spineError('invalid', 'MISSING_VALUE', 'Invalid request with error - X-Request-ID header must be supplied to access this resource', 'X-Request-ID');
  }
  if (!UUID_RE.test(id)) throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${id}' in header 'X-Request-ID'`, 'X-Request-ID');
}

/** The engine request id: the caller's X-Request-ID when it is a UUID, else the server's own. */
export function pdsRequestId(headers: Readonly<Record<string, string | undefined>>, fallback: string): string {
  const id = headers['x-request-id'];
  return id !== undefined && UUID_RE.test(id) ? id : fallback;
}

/** X-Request-ID and X-Correlation-ID mirrored exactly (when they can be sent back as they came). */
export function pdsResponseHeaders(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  const rid = headers['x-request-id'];
  if (rid !== undefined && rid !== '' && SENDABLE.test(rid)) out['X-Request-ID'] = rid;
  const corr = headers['x-correlation-id'];
  if (corr !== undefined && corr !== '' && SENDABLE.test(corr)) out['X-Correlation-ID'] = corr;
  return out;
}
