/**
 * EPS FHIR API request and response headers (electronic-prescription-service-api.yaml
 * `components/parameters`: X-Request-ID, X-Correlation-ID, NHSD-Session-URID): X-Request-ID is
 * required and a UUID (400 MISSING_HEADER / INVALID_VALUE otherwise) and is the engine request's id,
 * so a retried message is de-duplicated as on `/fhir`; X-Request-ID and X-Correlation-ID are mirrored
 * back; NHSD-Session-URID is passed to the engine unchanged.
 */
import { epsError } from '../../spine/eps/errors';
import type { FacadeRequest } from '../kit';
import { pdsRequestId, pdsResponseHeaders, UUID_RE } from '../pds/headers';

export function checkEpsHeaders(req: FacadeRequest): void {
  const id = req.headers['x-request-id'];
  if (id === undefined || id === '') throw epsError(400, 'value', 'MISSING_HEADER', 'Invalid request with error - X-Request-ID header must be supplied to access this resource', 'X-Request-ID');
  if (!UUID_RE.test(id)) throw epsError(400, 'value', 'INVALID_VALUE', `Invalid value - '${id}' in header 'X-Request-ID'`, 'X-Request-ID');
}

/** Same rules as PDS: the caller's UUID X-Request-ID, else the server's own id. */
export const epsRequestId = pdsRequestId;
/** X-Request-ID and X-Correlation-ID mirrored exactly. */
export const epsResponseHeaders = pdsResponseHeaders;
