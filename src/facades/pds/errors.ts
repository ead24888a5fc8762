/**
 * PDS FHIR API error responses (personal-demographics.yaml, each endpoint's `4XX` table;
 * errorResponses/*.json): an OperationOutcome whose issue carries the Spine error code in
 * `details.coding` (system https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode, version 1),
 * with the issue code, severity and HTTP status PDS answers for it. Engine errors are translated here:
 *
 * | engine                      | PDS                                   |
 * | --------------------------- | ------------------------------------- |
 * | 401                         | 401 ACCESS_DENIED (WWW-Authenticate kept) |
 * | 403                         | 403 ACCESS_DENIED                     |
 * | 404                         | 404 RESOURCE_NOT_FOUND                |
 * | 410 (deleted)               | 404 INVALIDATED_RESOURCE              |
 * | 412                         | 412 PRECONDITION_FAILED (a stale If-Match on PATCH: patch.ts answers 409 RESOURCE_VERSION_MISMATCH) |
 * | 422 (validation)            | 400, the issue's Spine code or INVALID_VALUE |
 * | 413 / too costly            | 400 TOO_MANY_VALUES_SUBMITTED         |
 * | 429                         | 429 TOO_MANY_REQUESTS (Retry-After kept) |
 * | 503                         | 503 SERVICE_UNAVAILABLE               |
 * | 500                         | 500 SERVER_ERROR                      |
 *
 * An error that already carries a Spine code keeps it (and the status that code has in PDS).
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { isSpineCode, SPINE_CODES, spineCodeOf, spineDetails, SPINE_ERROR_SYSTEM, type SpineCode } from '../../spine/errors';
import type { FacadeRequest, FacadeResponse } from '../kit';
import { pdsResponseHeaders } from './headers';

/** The Spine code PDS answers for an engine error without one. */
function codeFor(err: FhirError): SpineCode {
  if (err.category === 'too-costly' || err.category === 'too-large') return 'TOO_MANY_VALUES_SUBMITTED';
  switch (err.status) {
    case 401:
    case 403:
      return 'ACCESS_DENIED';
    case 404:
      return 'RESOURCE_NOT_FOUND';
    case 405:
      return 'INVALID_METHOD';
    case 409:
      return 'CONFLICT';
    case 410:
      return 'INVALIDATED_RESOURCE';
    case 412:
      return 'PRECONDITION_FAILED';
    case 415:
      return 'INVALID_VALUE';
    case 422:
      return 'INVALID_VALUE';
    case 429:
      return 'TOO_MANY_REQUESTS';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return err.status >= 500 ? 'SERVER_ERROR' : err.category === 'unsupported' ? 'UNSUPPORTED_SERVICE' : 'INVALID_VALUE';
  }
}

/** The HTTP status PDS answers for a Spine code raised from an engine status. */
function statusFor(code: SpineCode, engineStatus: number): number {
  switch (code) {
    case 'ACCESS_DENIED':
      return engineStatus === 401 ? 401 : 403;
    case 'INVALIDATED_RESOURCE':
    case 'RESOURCE_NOT_FOUND':
      return 404;
    case 'INVALID_METHOD':
      // A method the API does not serve at a path: HTTP's 405 (with Allow); a method the caller's
      // access mode may not use (PATCH in application-restricted mode): PDS's 403.
      return engineStatus === 405 ? 405 : 403;
    default: {
      const s = SPINE_CODES[code].status;
      // A 200 code (SINGLE_MATCH ...) raised as an error keeps the engine's status.
      return s >= 400 ? s : engineStatus;
    }
  }
}

/** An issue in PDS's shape: severity, code, the Spine coding (first), diagnostics, expression kept. */
function pdsIssue(i: OperationOutcomeIssue, code: SpineCode): OperationOutcomeIssue {
  const info = SPINE_CODES[code];
  const others = (i.details?.coding ?? []).filter((c) => c.system !== SPINE_ERROR_SYSTEM);
  return {
    severity: info.severity,
    code: info.issueCode,
    details: { coding: [...spineDetails(code).coding!, ...others] },
    diagnostics: i.diagnostics ?? info.display,
    ...(i.expression ? { expression: i.expression } : {}),
  };
}

/** The PDS error answer of a FhirError (status, OperationOutcome, headers). */
export function pdsErrorResponse(err: FhirError, req: FacadeRequest | undefined): FacadeResponse {
  const given = spineCodeOf(err.issues);
  const code: SpineCode = err.status === 410 ? 'INVALIDATED_RESOURCE' : given !== undefined && isSpineCode(given) ? given : codeFor(err);
  const issues = err.issues.length > 0 ? err.issues : [{ severity: 'error' as const, code: 'exception' as const }];
  const body: OperationOutcome = { resourceType: 'OperationOutcome', issue: issues.map((i) => pdsIssue(i as OperationOutcomeIssue, code)) };
  // WWW-Authenticate, Retry-After and Allow are kept by the kit.
  return { status: statusFor(code, err.status), body, headers: req ? pdsResponseHeaders(req.headers) : {} };
}
