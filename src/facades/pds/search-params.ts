/**
 * PDS "Search for a patient" query parameters (personal-demographics.yaml `components/parameters`
 * FuzzyMatch ... PhoneNumber; patient-search.yaml `4XX`) checked in the order PDS checks them, with
 * its codes and diagnostics, before the trace's own rules (src/spine/trace/query.ts):
 *
 * 1. no parameters: 400 UNSUPPORTED_SERVICE;
 * 2. parameters PDS does not know: 400 ADDITIONAL_PROPERTIES
 *    "Invalid request with error - Additional properties are not allowed ('x' was unexpected)";
 * 3. `birthdate` / `death-date` not `<eq|ge|le>yyyy-mm-dd` (or not a calendar date), `gender` not
 *    male | female | other | unknown, `_max-results` not an integer 1..50, an option not true/false:
 *    400 INVALID_VALUE "Invalid value - '<value>' in field '<name>'";
 * 4. no `birthdate`: 400 MISSING_VALUE "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'";
 * 5. a non-fuzzy search without `family`, a fuzzy search without one of its combinations, and the
 *    trace's other refusals (wildcards, repeated values): 400 INVALID_SEARCH_DATA
 *    "Invalid search data provided - '...'".
 */
import type { Parameters } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { spineCodeOf, spineError } from '../../spine/errors';
import { MAX_RESULTS_LIMIT, parseTraceQuery, TRACE_PARAMETERS, type TraceQuery } from '../../spine/trace/query';

const DATE = /^(eq|ge|le)?(\d{4}-\d{2}-\d{2})$/;
const GENDERS = new Set(['male', 'female', 'other', 'unknown']);
const OPTIONS = ['_fuzzy-match', '_exact-match', '_history'];
export const MINIMUM_NOT_MET = "Invalid search data provided - 'No searches were performed as the search criteria did not meet the minimum requirements'";

function invalid(value: string, field: string): FhirError {
  return spineError('invalid', 'INVALID_VALUE', `Invalid value - '${value}' in field '${field}'`, field);
}

function calendarDate(d: string): boolean {
  const t = Date.parse(`${d}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === d;
}

export interface PdsSearchQuery {
  query: TraceQuery;
  /** `_max-results` as sent (application-restricted access allows only 1). */
  maxResultsGiven?: string;
}

/** The trace query of a PDS search, or the PDS error (see the module header). */
export function pdsSearchQuery(params: ReadonlyArray<[string, string]>): PdsSearchQuery {
  if (params.length === 0) throw spineError('invalid', 'UNSUPPORTED_SERVICE', 'Unsupported Service');
  const unknown = [...new Set(params.map(([k]) => k).filter((k) => !TRACE_PARAMETERS.has(k)))];
  if (unknown.length > 0) {
    const names = unknown.map((k) => `'${k}'`).join(', ');
    throw spineError('invalid', 'ADDITIONAL_PROPERTIES', `Invalid request with error - Additional properties are not allowed (${names} ${unknown.length === 1 ? 'was' : 'were'} unexpected)`, unknown);
  }
  const values = (name: string): string[] => params.filter(([k]) => k === name).map(([, v]) => v);
  for (const field of ['birthdate', 'death-date']) {
    for (const v of values(field)) {
      const m = DATE.exec(v);
      if (!m || !calendarDate(m[2]!)) throw invalid(v, field);
    }
  }
  for (const v of values('gender')) if (!GENDERS.has(v)) throw invalid(v, 'gender');
  for (const o of OPTIONS) for (const v of values(o)) if (v !== 'true' && v !== 'false') throw invalid(v, o);
  const max = values('_max-results');
  for (const v of max) if (!/^\d{1,3}$/.test(v) || Number(v) < 1 || Number(v) > MAX_RESULTS_LIMIT) throw invalid(v, '_max-results');
  if (values('birthdate').length === 0) throw spineError('invalid', 'MISSING_VALUE', "Missing value - 'birth_date/birth_date_range_start/birth_date_range_end'", 'birthdate');
  const fuzzy = values('_fuzzy-match').includes('true');
  if (!fuzzy && values('family').every((v) => v.trim() === '')) throw spineError('invalid', 'INVALID_SEARCH_DATA', MINIMUM_NOT_MET);
  const parameters: Parameters = { resourceType: 'Parameters', parameter: params.map(([name, valueString]) => ({ name, valueString })) };
  try {
    const query = parseTraceQuery(parameters);
    return { query, ...(max[0] !== undefined ? { maxResultsGiven: max[0] } : {}) };
  } catch (e) {
    if (!(e instanceof FhirError) || spineCodeOf(e.issues) !== 'INVALID_SEARCH_DATA') throw e;
    const issue = e.issues[0]!;
    const reason = issue.diagnostics ?? '';
    const minimum = /^A (fuzzy )?search needs/.test(reason);
    throw spineError('invalid', 'INVALID_SEARCH_DATA', minimum ? MINIMUM_NOT_MET : `Invalid search data provided - '${reason}'`, issue.expression);
  }
}
