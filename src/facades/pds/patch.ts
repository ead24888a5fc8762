/**
 * PDS "Update patient details" (`PATCH Patient/{id}`, components/paths/patient-patch.yaml; the
 * IfMatch and ContentType parameters of personal-demographics.yaml), checked in PDS's order:
 *
 * 1. the id must be a valid NHS Number (400 INVALID_RESOURCE_ID);
 * 2. `If-Match` is required and must be `W/"<version>"` (412 PRECONDITION_FAILED);
 * 3. `Content-Type` `application/json-patch+json` (also `application/json`, which PDS takes too;
 *    anything else or none: 400 UNSUPPORTED_SERVICE, as the PDS sandbox answers);
 * 4. the body `{"patches": [ RFC 6902 operations ]}` (a bare array is not PDS's format: 400
 *    INVALID_UPDATE "No patches found", like a body without `patches`).
 *
 * Then ONE engine call, `PATCH Patient/{id}` with the caller's token, X-Request-ID and If-Match (so
 * access control, idempotency and the optimistic lock are the engine's), with an innermost layer
 * that refuses application-restricted callers (403 INVALID_METHOD) and patches with `patchWith`:
 * the PDS rules (src/spine/pds-update-rules.ts) run on exactly the version being patched, in PDS's
 * shapes, and the result is stored in UK Core's (shapes.ts). Engine answers are mapped: a stale
 * If-Match (412 on plain-R4 `/fhir`, 409 RESOURCE_VERSION_MISMATCH from the earlier NHS layer) is 409
 * RESOURCE_VERSION_MISMATCH; deleted (410, or 404 INVALIDATED_RESOURCE) 404 INVALIDATED_RESOURCE;
 * 422 validation 400 (ADDITIONAL_PROPERTIES for an element that does not exist, else INVALID_VALUE).
 * 200 answers the updated record in PDS's shapes with its `ETag`.
 */
import type { OperationOutcome, OperationOutcomeIssue, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import type { Interceptor } from '../../fhir/interaction';
import { FhirError, type IssueInput } from '../../fhir/outcome';
import type { FhirResult } from '../../fhir/types';
import { spineCodeOf, spineError } from '../../spine/errors';
import { REPLAY_HEADER } from '../../spine/idempotency';
import { replacedBy } from '../../spine/links';
import { applyPdsPatch, pdsPatchOperations, type PdsPatchOperation } from '../../spine/pds-update-rules';
import { callEngine, engineRequest, parseJsonBody, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsAccessMode } from './access-mode';
import { pdsResponseHeaders } from './headers';
import { assertNhsNumberId } from './read';
import { toPds, toStored } from './shapes';
import { pdsView } from './view';

export const PATCH_MEDIA_TYPES: readonly string[] = ['application/json-patch+json', 'application/json'];
const IF_MATCH = /^W\/"[0-9]+"$/;

const NO_IF_MATCH = 'Invalid update with error - If-Match header must be supplied to update this resource';
const VERSION_CHANGED = 'Invalid update with error - This resource has changed since you last read. Please re-read and try again with the new version number.';

function checkHeaders(req: FacadeRequest): string {
  const ifMatch = req.headers['if-match'];
  if (ifMatch === undefined || ifMatch.trim() === '') throw spineError('precondition', 'PRECONDITION_FAILED', NO_IF_MATCH, 'If-Match');
  if (!IF_MATCH.test(ifMatch.trim())) throw spineError('precondition', 'PRECONDITION_FAILED', `Invalid update with error - If-Match header '${ifMatch}' is not of the form W/"<version>"`, 'If-Match');
  if (req.contentType === undefined || !PATCH_MEDIA_TYPES.includes(req.contentType)) {
    throw spineError('invalid', 'UNSUPPORTED_SERVICE', `Invalid update with error - Content-Type must be application/json-patch+json (got '${req.contentType ?? 'none'}')`, 'Content-Type');
  }
  return ifMatch.trim();
}

/** The innermost layer: PDS's access-mode refusal and the PDS patch applied to the version being patched. */
function pdsPatchLayer(ops: readonly PdsPatchOperation[], id: string): Interceptor {
  return (r, interaction, ctx, next) => {
    if (interaction.kind !== 'patch' || interaction.resourceType !== 'Patient') return next();
    const mode = pdsAccessMode(ctx);
    if (mode === 'application') throw spineError('forbidden', 'INVALID_METHOD', 'Your app has insufficient permissions to use this method. Please contact support.');
    const today = (ctx.services.now?.() ?? new Date()).toISOString().slice(0, 10);
    return next({
      ...r,
      patchWith: (current) => {
        if (replacedBy(current as Patient) !== undefined) throw spineError('forbidden', 'FORBIDDEN_UPDATE', `Forbidden update with error - Update Failed - NHS No. ${id} supplied has been superseded in a merge`);
        return toStored(applyPdsPatch(toPds(current as Patient), ops, { mode, today }));
      },
    });
  };
}

/** A replayed error answer (X-Request-ID) as the FhirError it was. */
function replayedError(result: FhirResult): FhirError {
  const body = resultResource<OperationOutcome>(result);
  const issues: IssueInput[] = (body?.resourceType === 'OperationOutcome' ? body.issue : []).map((i: OperationOutcomeIssue) => ({
    severity: i.severity,
    code: i.code,
    diagnostics: i.diagnostics ?? '',
    ...(i.details ? { details: i.details } : {}),
    ...(i.expression ? { expression: i.expression } : {}),
  }));
  return new FhirError('invalid', issues.length > 0 ? issues : [{ diagnostics: `HTTP ${result.status}` }], { status: result.status, headers: result.headers ?? {} });
}

/** The PDS error of an engine error on PATCH. */
export function pdsPatchError(e: FhirError, id: string): FhirError {
  const code = spineCodeOf(e.issues);
  if (e.status === 412 || code === 'RESOURCE_VERSION_MISMATCH') return spineError('conflict', 'RESOURCE_VERSION_MISMATCH', VERSION_CHANGED, 'If-Match');
  if (e.status === 410 || code === 'INVALIDATED_RESOURCE') return spineError('not-found', 'INVALIDATED_RESOURCE', `Resource that has been marked as invalid was requested - Patient ${id}`);
  if (e.status === 404 && code === undefined) return spineError('not-found', 'RESOURCE_NOT_FOUND', `Resource not found - Patient ${id}`);
  const unknown = e.issues.find((i) => /not an element of/.test(i.diagnostics ?? ''));
  if ((e.status === 422 || e.status === 400) && unknown && (code === undefined || code === 'INVALID_VALUE')) {
    return spineError('invalid', 'ADDITIONAL_PROPERTIES', `Invalid update with error - Additional properties should not be included - ${unknown.diagnostics}`, unknown.expression);
  }
  if (e.status === 422 && code === undefined) {
    const first = e.issues.find((i) => i.severity === 'error' || i.severity === 'fatal') ?? e.issues[0];
    return spineError('invalid', 'INVALID_VALUE', `Invalid update with error - ${first?.diagnostics ?? 'the updated record is not valid'}`, first?.expression);
  }
  return e;
}

export async function patchPatient(services: FhirServices, req: FacadeRequest, id: string): Promise<FacadeResponse> {
  assertNhsNumberId(id);
  const ifMatch = checkHeaders(req);
  const ops = pdsPatchOperations(parseJsonBody(services, req.rawBody));
  let result: FhirResult;
  try {
    result = await callEngine(
      services,
      engineRequest(req, { method: 'PATCH', path: `Patient/${encodeURIComponent(id)}`, body: ops, contentType: 'application/json-patch+json', headers: { 'if-match': ifMatch } }),
      pdsPatchLayer(ops, id),
    );
    if (result.status >= 400) throw replayedError(result);
  } catch (e) {
    throw e instanceof FhirError ? pdsPatchError(e, id) : e;
  }
  const patient = resultResource<Patient>(result);
  const headers: Record<string, string> = { ...pdsResponseHeaders(req.headers) };
  for (const k of ['ETag', 'Last-Modified', REPLAY_HEADER]) if (result.headers?.[k] !== undefined) headers[k] = result.headers[k]!;
  return { status: 200, ...(patient ? { body: pdsView(patient, services) } : {}), headers };
}
