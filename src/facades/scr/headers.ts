/**
 * Summary Care Record API headers (summary-care-record.yaml `components/parameters`): X-Request-ID
 * (optional, a UUID when sent, mirrored), X-Correlation-ID (optional, mirrored), NHSD-Session-URID
 * (optional, digits when sent), Content-Type `application/fhir+json` required on POST (415 otherwise).
 */
import { FhirError } from '../../fhir/outcome';
import type { FacadeRequest } from '../kit';
import { pdsRequestId, pdsResponseHeaders, UUID_RE } from '../pds/headers';

export const FHIR_JSON = 'application/fhir+json';

/** The request headers' rules, checked before any endpoint. */
export function checkScrHeaders(req: FacadeRequest): void {
  const rid = req.headers['x-request-id'];
  if (rid !== undefined && rid !== '' && !UUID_RE.test(rid)) throw new FhirError('invalid', `Invalid value - '${rid}' in header 'X-Request-ID'`);
  const urid = req.headers['nhsd-session-urid'];
  if (urid !== undefined && !/^[0-9]+$/.test(urid)) throw new FhirError('invalid', `Invalid value - '${urid}' in header 'NHSD-Session-URID'`);
  if (req.method === 'POST' && req.contentType !== FHIR_JSON) {
    throw new FhirError('unsupported-media', `Content type '${req.contentType ?? ''}' not supported`);
  }
}

export const scrRequestId = pdsRequestId;
export const scrResponseHeaders = pdsResponseHeaders;
