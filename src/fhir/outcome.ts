/**
 * Errors and OperationOutcome (FHIR R4 §2.1.0 "RESTful API: HTTP status codes" and the
 * OperationOutcome resource, https://hl7.org/fhir/R4/operationoutcome.html).
 *
 * One error type, `FhirError`, carries a category and OperationOutcome issues. One table maps each
 * category to its HTTP status and default `issue.code`. Everything that answers an error goes through
 * here, so the mapping cannot drift between modules.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type ErrorCategory =
  | 'invalid' // 400: malformed request (bad JSON, bad parameter syntax)
  | 'unprocessable' // 422: well-formed but fails validation rules
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404
  | 'not-allowed' // 405
  | 'not-acceptable' // 406
  | 'gone' // 410
  | 'conflict' // 409
  | 'precondition' // 412
  | 'too-large' // 413: the request content is more than the server will process (body bytes, Bundle entries, array items, elements)
  | 'unsupported-media' // 415
  | 'unsupported' // 400/501: feature not supported
  | 'too-costly' // 400: the query asks more than the server will process (OR values, _sort keys, parameters, text terms, criteria)
  | 'busy' // 503
  | 'fault'; // 500

export interface CategoryInfo {
  status: number;
  code: OperationOutcomeIssue['code'];
}

/** The single table from category to HTTP status and default issue code. */
export const CATEGORIES: Readonly<Record<ErrorCategory, CategoryInfo>> = Object.freeze({
  invalid: { status: 400, code: 'invalid' },
  unprocessable: { status: 422, code: 'processing' },
  unauthorized: { status: 401, code: 'login' },
  forbidden: { status: 403, code: 'forbidden' },
  'not-found': { status: 404, code: 'not-found' },
  'not-allowed': { status: 405, code: 'not-supported' },
  'not-acceptable': { status: 406, code: 'not-supported' },
  gone: { status: 410, code: 'deleted' },
  conflict: { status: 409, code: 'conflict' },
  precondition: { status: 412, code: 'conflict' },
  'too-large': { status: 413, code: 'too-costly' },
  'unsupported-media': { status: 415, code: 'not-supported' },
  unsupported: { status: 400, code: 'not-supported' },
  'too-costly': { status: 400, code: 'too-costly' },
  busy: { status: 503, code: 'transient' },
  fault: { status: 500, code: 'exception' },
});

export interface IssueInput {
  severity?: OperationOutcomeIssue['severity'];
  code?: OperationOutcomeIssue['code'];
  diagnostics: string;
  /** FHIRPath expressions of the offending elements. */
  expression?: string[];
  details?: OperationOutcomeIssue['details'];
}

export class FhirError extends Error {
  readonly category: ErrorCategory;
  readonly issues: OperationOutcomeIssue[];
  /** Extra response headers (e.g. WWW-Authenticate, Allow). */
  readonly headers: Record<string, string>;
  /** Overrides the category's status when a spec requires a specific one. */
  readonly statusOverride: number | undefined;

  constructor(category: ErrorCategory, issues: IssueInput | IssueInput[] | string, opts: { headers?: Record<string, string>; status?: number } = {}) {
    const list = typeof issues === 'string' ? [{ diagnostics: issues }] : Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.diagnostics).join('; '));
    this.name = 'FhirError';
    this.category = category;
    this.issues = list.map((i) => toIssue(category, i));
    this.headers = opts.headers ?? {};
    this.statusOverride = opts.status;
  }

  get status(): number {
    return this.statusOverride ?? CATEGORIES[this.category].status;
  }

  toOperationOutcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }
}

function toIssue(category: ErrorCategory, i: IssueInput): OperationOutcomeIssue {
  const issue: OperationOutcomeIssue = {
    severity: i.severity ?? 'error',
    code: i.code ?? CATEGORIES[category].code,
  };
  if (i.details) issue.details = i.details;
  issue.diagnostics = i.diagnostics;
  if (i.expression && i.expression.length > 0) issue.expression = i.expression;
  return issue;
}

/** An OperationOutcome carrying a single informational or warning issue (e.g. for Prefer: return=OperationOutcome). */
export function outcome(severity: OperationOutcomeIssue['severity'], code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string[]): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression && expression.length > 0) issue.expression = expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** The generic answer to an unexpected fault: never leaks internals, names the request id for the logs. */
export function internalFault(requestId: string): FhirError {
  return new FhirError('fault', {
    code: 'exception',
    diagnostics: `An internal error occurred while processing the request. Quote request id ${requestId} when reporting it.`,
  });
}
