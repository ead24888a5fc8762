/**
 * EPS error answers (electronic-prescription-service-api.yaml "Error responses"): errors raised by
 * the EPS rules (src/spine/eps/errors.ts) keep their status and EPS code; engine errors are answered
 * in the same shape, with the EPS code of their status (401/403 ACCESS_DENIED, 404
 * RESOURCE_NOT_FOUND, 422 validation → 400 INVALID_VALUE, other 4xx INVALID_VALUE, 5xx without
 * details).
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { FhirError } from '../../fhir/outcome';
import { EPS_CODES, EPS_ERROR_SYSTEM, EpsOutcomeError, type EpsCode } from '../../spine/eps/errors';
import type { FacadeRequest, FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';

function hasEpsCode(i: OperationOutcomeIssue): boolean {
  return (i.details?.coding ?? []).some((c) => c.system === EPS_ERROR_SYSTEM || c.system === 'https://fhir.nhs.uk/CodeSystem/EPS-IssueCode');
}

function codeForStatus(status: number): EpsCode | undefined {
  if (status === 401 || status === 403) return 'ACCESS_DENIED';
  if (status === 404) return 'RESOURCE_NOT_FOUND';
  if (status >= 400 && status < 500) return 'INVALID_VALUE';
  return undefined;
}

export function epsErrorResponse(err: FhirError, req: FacadeRequest | undefined): FacadeResponse {
  const status = err.status === 422 ? 400 : err.status;
  const fallback = codeForStatus(status);
  const issues = (err.issues.length > 0 ? err.issues : [{ severity: 'error', code: 'exception' } as OperationOutcomeIssue]).map((i) =>
    hasEpsCode(i) || fallback === undefined
      ? i
      : { ...i, details: { coding: [{ system: EPS_ERROR_SYSTEM, code: fallback, display: EPS_CODES[fallback] }, ...(i.details?.coding ?? [])] } },
  );
  const body: OperationOutcome = { resourceType: 'OperationOutcome', meta: { lastUpdated: new Date().toISOString() }, issue: issues, ...(err instanceof EpsOutcomeError ? err.extras : {}) };
  return { status, body, headers: req ? epsResponseHeaders(req.headers) : {} };
}
