/**
 * Summary Care Record API error responses (summary-care-record.yaml, each endpoint's `4XX` table and
 * OperationOutcome.yaml): an OperationOutcome with one issue `{severity, code, details.text}`; 5XX
 * carry the Spine UNKNOWN_ERROR coding (OperationOutcomeInternalServerError.yaml).
 *
 * | engine                 | SCR                              |
 * | ---------------------- | -------------------------------- |
 * | 400 / 422              | 400 invalid                      |
 * | 401 / 403              | same status, forbidden           |
 * | 404                    | 404 not-found                    |
 * | 413                    | 413 invalid                      |
 * | 415                    | 415 not-supported                |
 * | 429                    | 429 throttled                    |
 * | 503                    | 503 transient                    |
 * | 5XX                    | 500 unknown, UNKNOWN_ERROR       |
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import type { FhirError } from '../../fhir/outcome';
import type { FacadeRequest, FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';

export const SPINE_ERROR_OR_WARNING = 'https://fhir.nhs.uk/CodeSystem/Spine-ErrorOrWarningCode';

function statusAndCode(err: FhirError): [number, OperationOutcomeIssue['code']] {
  const s = err.status;
  if (s === 400 || s === 422 || s === 409 || s === 412) return [400, 'invalid'];
  if (s === 401 || s === 403) return [s, 'forbidden'];
  if (s === 404 || s === 410) return [404, 'not-found'];
  if (s === 405) return [405, 'not-supported'];
  if (s === 413) return [413, 'invalid'];
  if (s === 415) return [415, 'not-supported'];
  if (s === 429) return [429, 'throttled'];
  if (s === 503) return [503, 'transient'];
  if (s >= 500) return [500, 'unknown'];
  return [400, 'invalid'];
}

/** The SCR API's OperationOutcome for an error. */
export function scrOutcome(status: number, code: OperationOutcomeIssue['code'], text: string, expression?: string[]): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity: 'error', code, details: { text }, ...(expression && expression.length > 0 ? { expression } : {}) };
  if (status >= 500 && status !== 503) {
    issue.details = { coding: [{ system: SPINE_ERROR_OR_WARNING, version: '1', code: 'UNKNOWN_ERROR', display: 'Unknown Error' }] };
    issue.diagnostics = text;
  }
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export function scrErrorResponse(err: FhirError, req: FacadeRequest | undefined): FacadeResponse {
  const [status, code] = statusAndCode(err);
  const text = err.issues.map((i) => i.diagnostics ?? i.details?.text ?? '').filter((t) => t !== '').join('; ') || err.message;
  // The element at fault (e.g. `Bundle.entry[3]` of an upload), when the error names one.
  const expression = status < 500 ? err.issues.flatMap((i) => i.expression ?? []) : [];
  return { status, body: scrOutcome(status, code, text, [...new Set(expression)]), headers: { ...(req ? scrResponseHeaders(req.headers) : {}), ...err.headers } };
}
