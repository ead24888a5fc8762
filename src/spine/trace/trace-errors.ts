/**
 * The Spine errors a trace answers (PDS FHIR API error responses: INVALID_SEARCH_DATA, INVALID_VALUE,
 * TOO_MANY_MATCHES), built with the shared Spine error catalogue (src/spine/errors.ts).
 */
import type { OperationOutcome } from 'fhir/r4';
import type { FhirError } from '../../fhir/outcome';
import { spineError, spineOutcome } from '../errors';

/** 400 INVALID_SEARCH_DATA (issue code `value`). */
export function invalidSearchData(diagnostics: string, expression?: string): FhirError {
  return spineError('invalid', 'INVALID_SEARCH_DATA', diagnostics, expression);
}

/** 400 INVALID_VALUE (issue code `value`). */
export function invalidValue(diagnostics: string, expression?: string): FhirError {
  return spineError('invalid', 'INVALID_VALUE', diagnostics, expression);
}

/** The 200 answer of a trace with more matches than `_max-results`. */
export function tooManyMatches(found: number, max: number): OperationOutcome {
  return spineOutcome('TOO_MANY_MATCHES', `The search found ${found} matches, more than the ${max} allowed (_max-results): refine the search`);
}
