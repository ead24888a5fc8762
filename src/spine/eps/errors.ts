/**
 * EPS error responses (electronic-prescription-service-api.yaml "Error responses"): an
 * OperationOutcome whose issue carries the EPS issue code in `details.coding` (CodeSystem
 * https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode) when the specification names one, the
 * FHIR issue code of the table's "Error Code" column, and the offending field in `expression`.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { FhirError, type ErrorCategory } from '../../fhir/outcome';

export const EPS_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

/** EPS issue codes with their display (the specification's tables). */
export const EPS_CODES = Object.freeze({
  DUPLICATE_PRESCRIPTION_ID: 'Duplicate prescription ID exists.',
  FAILURE_TO_PROCESS_MESSAGE: 'Unable to process message.',
  INVALID_VALUE: 'Provided value is invalid',
  MISSING_VALUE: 'Required value is missing',
  TOO_FEW_VALUES_SUBMITTED: 'A mandatory value is missing, or an insufficient number have been provided.',
  TOO_MANY_VALUES_SUBMITTED: 'Too many values submitted',
  PRESCRIPTION_NOT_FOUND: 'The requested prescription could not be found.',
  PRESCRIPTION_WITH_ANOTHER_DISPENSER: 'The requested prescription is with another dispenser.',
  PRESCRIPTION_INVALID_STATE_TRANSITION: 'The requested operation is not valid for the current state of the prescription.',
  PRESCRIPTION_INVALID_LINE_STATE_TRANSITION: 'The requested operation is not valid for the current state of the prescription.',
  PRESCRIPTION_CANCELLED: 'Prescription has been cancelled.',
  ITEM_NOT_FOUND: 'The requested item could not be found.',
  MISMATCH_AUTHORISED_REPEAT_COUNTS: 'The repeat count in this message does not match the repeat count in the original prescription.',
  DISPENSE_AMEND_IDENTIFIER_MISMATCH: 'Replacement target does not match existing claim reference on record.',
  RESOURCE_NOT_FOUND: 'Resource not found',
  INVALID_MESSAGE: 'The message is not valid.',
  INVALID: "Signature doesn't match prescription.",
  MISSING_DIGITAL_SIGNATURE: 'Digital signature not found.',
  MISSING_HEADER: 'Required header is missing',
  UNSUPPORTED_SERVICE: 'Unsupported Service',
  ACCESS_DENIED: 'Access denied',
});
export type EpsCode = keyof typeof EPS_CODES;

const STATUS_CATEGORY: Record<number, ErrorCategory> = { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 409: 'conflict' };

/** One EPS issue. */
export function epsIssue(issueCode: OperationOutcomeIssue['code'], code: EpsCode | undefined, diagnostics: string, expression?: string, display?: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: issueCode,
    ...(code ? { details: { coding: [{ system: EPS_ERROR_SYSTEM, code, display: display ?? EPS_CODES[code] }] } } : {}),
    diagnostics,
    ...(expression ? { expression: [expression] } : {}),
  };
}

/** A FhirError answered with `status` and one EPS issue (`display`: the code's display of the specification's tables unless given). */
export function epsError(status: number, issueCode: OperationOutcomeIssue['code'], code: EpsCode | undefined, diagnostics: string, expression?: string, display?: string): FhirError {
  const category = STATUS_CATEGORY[status] ?? 'invalid';
  const issue = epsIssue(issueCode, code, diagnostics, expression, display);
  return new FhirError(category, { ...issue, diagnostics }, { status });
}

/** A FhirError whose OperationOutcome carries more than its issues (contained resources, extensions). */
export class EpsOutcomeError extends FhirError {
  readonly extras: Pick<OperationOutcome, 'contained' | 'extension'>;
  constructor(status: number, issue: OperationOutcomeIssue & { diagnostics: string }, extras: Pick<OperationOutcome, 'contained' | 'extension'>) {
    super(STATUS_CATEGORY[status] ?? 'invalid', issue, { status });
    this.extras = extras;
  }
}
