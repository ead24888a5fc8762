/**
 * Spine error and warning codes (PDS FHIR API "Error responses"; CodeSystem
 * https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode, version 1). Every error answered through
 * the NHS layer carries one of these codes in `issue.details.coding`, with the display, issue code and
 * HTTP status the PDS specification gives it.
 */
import type { CodeableConcept, OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { FhirError, type ErrorCategory } from '../fhir/outcome';

export const SPINE_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

interface SpineCodeInfo {
  display: string;
  /** The OperationOutcome issue code the PDS sandbox answers with. */
  issueCode: OperationOutcomeIssue['code'];
  severity: OperationOutcomeIssue['severity'];
  status: number;
}

/** The codes of the PDS specification's error responses (personal-demographics.yaml, errorResponses/). */
export const SPINE_CODES = Object.freeze({
  ACCESS_DENIED: { display: 'Access denied', issueCode: 'forbidden', severity: 'error', status: 403 },
  ADDITIONAL_PROPERTIES: { display: 'Additional properties should not be included', issueCode: 'invariant', severity: 'error', status: 400 },
  FORBIDDEN_UPDATE: { display: 'Update is forbidden', issueCode: 'forbidden', severity: 'information', status: 403 },
  INVALID_CREATE: { display: 'Patient create data is invalid', issueCode: 'value', severity: 'error', status: 400 },
  INVALID_METHOD: { display: 'Method is not allowed', issueCode: 'forbidden', severity: 'error', status: 403 },
  INVALID_RESOURCE_ID: { display: 'Resource Id is invalid', issueCode: 'value', severity: 'error', status: 400 },
  INVALID_SEARCH_DATA: { display: 'Search data is invalid', issueCode: 'value', severity: 'error', status: 400 },
  INVALID_UPDATE: { display: 'Update is invalid', issueCode: 'structure', severity: 'error', status: 400 },
  INVALID_VALUE: { display: 'Provided value is invalid', issueCode: 'value', severity: 'error', status: 400 },
  INVALIDATED_RESOURCE: {
    display: 'Resource that has been marked as invalid was requested - invalid resources cannot be retrieved',
    issueCode: 'processing',
    severity: 'error',
    status: 404,
  },
  MISSING_VALUE: { display: 'Required value is missing', issueCode: 'required', severity: 'error', status: 400 },
  MULTIPLE_MATCHES: { display: 'Multiple matches found', issueCode: 'structure', severity: 'error', status: 200 },
  PRECONDITION_FAILED: { display: 'Required condition was not fulfilled', issueCode: 'structure', severity: 'error', status: 412 },
  RESOURCE_NOT_FOUND: { display: 'Resource not found', issueCode: 'not-found', severity: 'information', status: 404 },
  RESOURCE_VERSION_MISMATCH: { display: 'Resource version supplied does not match actual version', issueCode: 'conflict', severity: 'error', status: 409 },
  SERVICE_UNAVAILABLE: { display: 'Service unavailable', issueCode: 'timeout', severity: 'error', status: 503 },
  SINGLE_MATCH: { display: 'Single match found', issueCode: 'structure', severity: 'error', status: 200 },
  TOO_FEW_VALUES_SUBMITTED: { display: 'Too few values submitted', issueCode: 'value', severity: 'error', status: 400 },
  TOO_MANY_MATCHES: { display: 'Too Many Matches', issueCode: 'multiple-matches', severity: 'information', status: 200 },
  TOO_MANY_VALUES_SUBMITTED: { display: 'Too many values submitted', issueCode: 'value', severity: 'error', status: 400 },
  UNSUPPORTED_SERVICE: { display: 'Unsupported Service', issueCode: 'processing', severity: 'error', status: 400 },
  UNSUPPORTED_CHARACTERS_IN_FIELD: { display: 'Unsupported characters in field', issueCode: 'value', severity: 'error', status: 400 },
  UNSUPPORTED_VALUE: { display: 'Unsupported value', issueCode: 'value', severity: 'error', status: 400 },
  TOO_MANY_REQUESTS: { display: 'Too many requests', issueCode: 'throttled', severity: 'error', status: 429 },
  UNABLE_TO_CALL_SERVICE: { display: 'Unable to call service', issueCode: 'timeout', severity: 'error', status: 408 },
  VALIDATION_ERROR: { display: 'Validation error', issueCode: 'invalid', severity: 'error', status: 400 },
  CONFLICT: { display: 'Conflict', issueCode: 'conflict', severity: 'error', status: 409 },
  SERVER_ERROR: { display: 'Internal server error', issueCode: 'exception', severity: 'error', status: 500 },
} satisfies Record<string, SpineCodeInfo>);

export type SpineCode = keyof typeof SPINE_CODES;

export function isSpineCode(code: string): code is SpineCode {
  return Object.prototype.hasOwnProperty.call(SPINE_CODES, code);
}

/** `details` of an issue naming a Spine code. */
export function spineDetails(code: SpineCode): CodeableConcept {
  return { coding: [{ system: SPINE_ERROR_SYSTEM, version: '1', code, display: SPINE_CODES[code].display }] };
}

/**
 * A FhirError whose single issue carries the Spine code, with the PDS issue code and severity (or, with
 * `opts.issueCode`, the R4 issue code of the category's answer, the Spine code an extra coding). The
 * category decides the status.
 */
export function spineError(
  category: ErrorCategory,
  spineCode: SpineCode,
  diagnostics: string,
  expression?: string | string[],
  opts: { headers?: Record<string, string>; issueCode?: OperationOutcomeIssue['code'] } = {},
): FhirError {
  const info = SPINE_CODES[spineCode];
  const expr = expression === undefined ? undefined : Array.isArray(expression) ? expression : [expression];
  const err = new FhirError(
    category,
    { severity: info.severity, code: opts.issueCode ?? info.issueCode, details: spineDetails(spineCode), diagnostics, ...(expr ? { expression: expr } : {}) },
    { ...(opts.headers ? { headers: opts.headers } : {}) },
  );
  return err;
}

/** The Spine code of the first issue that carries one, if any. */
export function spineCodeOf(issues: readonly OperationOutcomeIssue[]): string | undefined {
  for (const i of issues) {
    const c = i.details?.coding?.find((x) => x.system === SPINE_ERROR_SYSTEM);
    if (c?.code) return c.code;
  }
  return undefined;
}

/** The Spine code a generic FhirError maps to, by its HTTP status (used to decorate engine errors). */
export function spineCodeForStatus(status: number, category: ErrorCategory): SpineCode {
  // Over a request limit (docs/limits.md): too many entries, items, values, parameters or sort keys.
  if (category === 'too-costly' || category === 'too-large') return 'TOO_MANY_VALUES_SUBMITTED';
  switch (status) {
    case 400:
      return category === 'unsupported' ? 'UNSUPPORTED_SERVICE' : 'INVALID_VALUE';
    case 401:
    case 403:
      return 'ACCESS_DENIED';
    case 404:
      return 'RESOURCE_NOT_FOUND';
    case 405:
      return 'INVALID_METHOD';
    case 409:
      // On plain-R4 /fhir a 409 is a create under an existing id or a concurrent write (a stale
      // If-Match is 412), not PDS's version mismatch, which only the PDS façade answers.
      return 'CONFLICT';
    case 410:
      return 'INVALIDATED_RESOURCE';
    case 412:
      return 'PRECONDITION_FAILED';
    case 429:
      return 'TOO_MANY_REQUESTS';
    case 413:
    case 415:
    case 422:
      return 'INVALID_VALUE';
    case 503:
      return 'SERVICE_UNAVAILABLE';
    default:
      return status >= 500 ? 'SERVER_ERROR' : 'INVALID_VALUE';
  }
}

/**
 * The same error with a Spine code added to every issue that has none (status, headers and the
 * other issue fields unchanged). Errors that already carry a Spine code are returned as they are.
 */
export function withSpineCode(err: FhirError, code?: SpineCode): FhirError {
  if (spineCodeOf(err.issues) !== undefined) return err;
  const c = code ?? spineCodeForStatus(err.status, err.category);
  const decorated = new FhirError(
    err.category,
    err.issues.map((i) => ({
      ...(i.severity ? { severity: i.severity } : {}),
      ...(i.code ? { code: i.code } : {}),
      diagnostics: i.diagnostics ?? SPINE_CODES[c].display,
      ...(i.expression ? { expression: i.expression } : {}),
      details: i.details?.coding ? { ...i.details, coding: [...spineDetails(c).coding!, ...i.details.coding] } : spineDetails(c),
    })),
    { headers: err.headers, ...(err.statusOverride !== undefined ? { status: err.statusOverride } : {}) },
  );
  return decorated;
}

/** A 200 OperationOutcome carrying a Spine code (SINGLE_MATCH, MULTIPLE_MATCHES, TOO_MANY_MATCHES). */
export function spineOutcome(code: SpineCode, diagnostics: string, expression?: string[]): OperationOutcome {
  const info = SPINE_CODES[code];
  const issue: OperationOutcomeIssue = { severity: info.severity, code: info.issueCode, details: spineDetails(code), diagnostics };
  if (expression && expression.length > 0) issue.expression = expression;
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
