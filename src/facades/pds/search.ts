/**
 * PDS "Search for a patient" (`GET Patient?...`, components/paths/patient-search.yaml): the PDS trace
 * (src/spine/trace) answered in PDS's wire format.
 *
 * - Parameter checks in PDS's order, with its codes and diagnostics (search-params.ts): no
 *   parameters UNSUPPORTED_SERVICE, an unknown one ADDITIONAL_PROPERTIES, a bad date, gender or
 *   option INVALID_VALUE naming the field, no birth date MISSING_VALUE, too few parameters
 *   INVALID_SEARCH_DATA; then the trace's own rules (wildcards, fuzzy combinations) as
 *   INVALID_SEARCH_DATA.
 * - The trace runs inside the engine's pipeline: an engine search `GET Patient` carrying the caller's
 *   token, whose innermost layer runs `runTrace` with the verified caller and the store as that caller
 *   may see it (SMART access control, patient compartment, restricted-record redaction of the answer).
 * - Access modes (personal-demographics.yaml "Access modes", access-mode.ts): patient access may not
 *   search (403 ACCESS_DENIED); application-restricted access gets one unique match only
 *   (`_max-results` must be 1, default 1: another value 403 INVALID_VALUE; several matches
 *   TOO_MANY_MATCHES); healthcare workers up to 50 (default 50).
 * - More matches than `_max-results`: HTTP 200 with the TOO_MANY_MATCHES OperationOutcome
 *   (searchResponses/TOO_MANY_MATCHES.json).
 * - The answer: a `searchset` Bundle (`timestamp`, `total`, `entry` only when there are matches),
 *   each entry `fullUrl` `<façade base>/Patient/<id>`, `search.score` (4 decimals, best first) and the
 *   record in PDS's reduced search view (search-view.ts) and shapes.
 */
import type { Bundle, BundleEntry, OperationOutcome, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import type { Interceptor } from '../../fhir/interaction';
import { spineDetails, spineError, SPINE_CODES } from '../../spine/errors';
import { runTrace } from '../../spine/trace';
import { callEngine, engineRequest, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsAccessMode } from './access-mode';
import { pdsErrorResponse } from './errors';
import { pdsResponseHeaders } from './headers';
import { pdsSearchQuery } from './search-params';
import { pdsSearchView } from './search-view';
import { pdsBaseUrl } from './view';

/** `_max-results` of application-restricted access (the only value allowed, and the default). */
export const APPLICATION_MAX_RESULTS = 1;

/** The TOO_MANY_MATCHES answer, as PDS gives it (searchResponses/TOO_MANY_MATCHES.json). */
export function tooManyMatchesOutcome(): OperationOutcome {
  const info = SPINE_CODES.TOO_MANY_MATCHES;
  return { resourceType: 'OperationOutcome', issue: [{ severity: info.severity, code: info.issueCode, details: spineDetails('TOO_MANY_MATCHES') }] };
}

function roundScore(score: number): number {
  return Math.round(score * 10000) / 10000;
}

export async function searchPatients(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const { query, maxResultsGiven } = pdsSearchQuery(req.query);
  const base = pdsBaseUrl(services);
  const layer: Interceptor = async (_r, _interaction, ctx) => {
    const mode = pdsAccessMode(ctx);
    if (mode === 'patient') throw spineError('forbidden', 'ACCESS_DENIED', 'Access denied - patient access mode cannot search for patients');
    let q = query;
    if (mode === 'application') {
      if (maxResultsGiven !== undefined && query.maxResults !== APPLICATION_MAX_RESULTS) {
        // PDS: 403 INVALID_VALUE (the Spine code's own status is 400, so the answer is built here).
        const refusal = pdsErrorResponse(spineError('forbidden', 'INVALID_VALUE', `Invalid value - '${maxResultsGiven}' in field '_max-results'`, '_max-results'), req);
        return { status: 403, resource: refusal.body as OperationOutcome };
      }
      q = { ...query, maxResults: APPLICATION_MAX_RESULTS };
    }
    const { matches } = await runTrace(ctx, q);
    if (matches.length > q.maxResults) return { status: 200, resource: tooManyMatchesOutcome() };
    const entry: BundleEntry[] = matches.map((m) => ({ fullUrl: `${base}/Patient/${m.version.id}`, search: { score: roundScore(m.score) }, resource: m.resource }));
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      timestamp: (ctx.services.now?.() ?? new Date()).toISOString(),
      total: entry.length,
      ...(entry.length > 0 ? { entry } : {}),
    };
    return { status: 200, resource: bundle };
  };
  const result = await callEngine(services, engineRequest(req, { method: 'GET', path: 'Patient' }), layer);
  const body = resultResource(result);
  const headers = pdsResponseHeaders(req.headers);
  if (body?.resourceType !== 'Bundle') return { status: result.status, ...(body ? { body } : {}), headers };
  const bundle = body as Bundle;
  const entries = (bundle.entry ?? []).map((e) => (e.resource?.resourceType === 'Patient' ? { ...e, resource: pdsSearchView(e.resource as Patient, services) } : e));
  return { status: 200, body: { ...bundle, ...(entries.length > 0 ? { entry: entries } : {}) }, headers };
}
