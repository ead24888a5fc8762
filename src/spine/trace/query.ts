/**
 * The trace query (PDS FHIR API "Search for a patient", parameters and search options): parsing of
 * `Patient/$trace` input and the rules PDS applies before searching.
 *
 * - family (max 35), given (repeatable, max 35 each; a compound first name is one value), gender
 *   (male | female | other | unknown), birthdate and death-date (`<eq|ge|le>yyyy-mm-dd`, repeat for a
 *   range), address-postalcode (or the deprecated address-postcode; both: INVALID_SEARCH_DATA),
 *   general-practitioner (ODS code), email, phone, `_fuzzy-match`, `_exact-match`, `_history`,
 *   `_max-results` (1..50, default 50).
 * - Wildcard `*` in family, given and postcode: never in the first two characters, never in fuzzy mode.
 * - Minimum non-fuzzy search: family and birthdate. Fuzzy search needs one of (given, family,
 *   birthdate), (family, birthdate, gender, postcode), (given, birthdate, gender, postcode).
 * Violations are 400 INVALID_SEARCH_DATA (bad values of a known parameter: INVALID_VALUE).
 */
import type { Parameters, ParametersParameter } from 'fhir/r4';
import { invalidSearchData, invalidValue } from './trace-errors';

export type DatePrefix = 'eq' | 'ge' | 'le';
export interface DateBound {
  prefix: DatePrefix;
  /** YYYY-MM-DD */
  date: string;
}

export interface TraceQuery {
  family?: string;
  given: string[];
  gender?: string;
  birthdate: DateBound[];
  deathDate: DateBound[];
  postcode?: string;
  gp?: string;
  email?: string;
  phone?: string;
  /** NHS Number ($match with an identifier; not a $trace parameter). */
  nhsNumber?: string;
  fuzzy: boolean;
  exact: boolean;
  history: boolean;
  maxResults: number;
}

export const MAX_RESULTS_LIMIT = 50;
const MAX_NAME = 35;
const GENDERS = new Set(['male', 'female', 'other', 'unknown']);
/** The trace's parameters (PDS "Search for a patient" query parameters). */
export const TRACE_PARAMETERS: ReadonlySet<string> = new Set([
  'family', 'given', 'gender', 'birthdate', 'death-date', 'address-postalcode', 'address-postcode', 'general-practitioner', 'email', 'phone',
  '_fuzzy-match', '_exact-match', '_history', '_max-results',
]);
const IGNORED = new Set(['_format', '_pretty', '_summary', '_elements']);

/** The string values of a parameter (query values are valueString; POST may use typed primitives). */
function valuesOf(params: Parameters, name: string): string[] {
  const out: string[] = [];
  for (const p of params.parameter ?? []) {
    if (p.name !== name) continue;
    const v = primitive(p);
    if (v === undefined) throw invalidValue(`Parameter ${name} needs a primitive value`, name);
    out.push(v);
  }
  return out;
}

function primitive(p: ParametersParameter): string | undefined {
  for (const [k, v] of Object.entries(p)) {
    if (!k.startsWith('value')) continue;
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  }
  return undefined;
}

function single(params: Parameters, name: string): string | undefined {
  const v = valuesOf(params, name);
  if (v.length > 1) throw invalidSearchData(`Parameter ${name} may be given only once`, name);
  const s = v[0]?.trim();
  if (s === '') throw invalidSearchData(`Parameter ${name} has an empty value`, name);
  return s;
}

function bool(params: Parameters, name: string): boolean {
  const v = single(params, name);
  if (v === undefined) return false;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidValue(`${name} must be true or false, not ${JSON.stringify(v)}`, name);
}

function dates(params: Parameters, name: string): DateBound[] {
  const raw = valuesOf(params, name);
  if (raw.length > 2) throw invalidSearchData(`${name} may be given at most twice (a ge/le range)`, name);
  const out = raw.map((r): DateBound => {
    const m = /^(eq|ge|le)?(\d{4}-\d{2}-\d{2})$/.exec(r.trim());
    const date = m?.[2];
    if (!m || date === undefined || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
      throw invalidSearchData(`${name} ${JSON.stringify(r)} is not of the form <eq|ge|le>yyyy-mm-dd`, name);
    }
    return { prefix: (m[1] as DatePrefix | undefined) ?? 'eq', date };
  });
  if (out.length === 2 && !(out.some((d) => d.prefix === 'ge') && out.some((d) => d.prefix === 'le'))) {
    throw invalidSearchData(`A ${name} range is one ge and one le value`, name);
  }
  return out;
}

/** Checks the PDS wildcard rules: `*` only from the third character on, and never in fuzzy mode. */
function wildcard(value: string | undefined, name: string, fuzzy: boolean): void {
  if (value === undefined || !value.includes('*')) return;
  if (fuzzy) throw invalidSearchData(`Wildcards (*) cannot be used in a fuzzy search (${name})`, name);
  const i = value.indexOf('*');
  if (i < 2) throw invalidSearchData(`A wildcard (*) in ${name} must follow at least two characters`, name);
}

function name(value: string | undefined, field: string): void {
  if (value !== undefined && value.length > MAX_NAME) throw invalidSearchData(`${field} is longer than ${MAX_NAME} characters`, field);
}

export function parseTraceQuery(params: Parameters): TraceQuery {
  for (const p of params.parameter ?? []) {
    if (!TRACE_PARAMETERS.has(p.name) && !IGNORED.has(p.name)) throw invalidSearchData(`Unsupported search parameter ${p.name}`, p.name);
  }
  const fuzzy = bool(params, '_fuzzy-match');
  const q: TraceQuery = {
    given: valuesOf(params, 'given').map((g) => g.trim()).filter((g) => g !== ''),
    birthdate: dates(params, 'birthdate'),
    deathDate: dates(params, 'death-date'),
    fuzzy,
    exact: bool(params, '_exact-match'),
    history: fuzzy || bool(params, '_history'),
    maxResults: MAX_RESULTS_LIMIT,
  };
  const family = single(params, 'family');
  if (family !== undefined) q.family = family;
  const gender = single(params, 'gender');
  if (gender !== undefined) {
    if (!GENDERS.has(gender)) throw invalidValue(`gender must be male, female, other or unknown, not ${JSON.stringify(gender)}`, 'gender');
    q.gender = gender;
  }
  const postalcode = single(params, 'address-postalcode');
  const postcode = single(params, 'address-postcode');
  if (postalcode !== undefined && postcode !== undefined) throw invalidSearchData('Give address-postalcode or address-postcode, not both', 'address-postcode');
  const pc = postalcode ?? postcode;
  if (pc !== undefined) q.postcode = pc;
  const gp = single(params, 'general-practitioner');
  if (gp !== undefined) q.gp = gp;
  const email = single(params, 'email');
  if (email !== undefined) q.email = email;
  const phone = single(params, 'phone');
  if (phone !== undefined) q.phone = phone;
  const max = single(params, '_max-results');
  if (max !== undefined) {
    if (!/^\d{1,3}$/.test(max) || Number(max) < 1 || Number(max) > MAX_RESULTS_LIMIT) throw invalidValue(`_max-results must be an integer from 1 to ${MAX_RESULTS_LIMIT}`, '_max-results');
    q.maxResults = Number(max);
  }
  name(q.family, 'family');
  for (const g of q.given) name(g, 'given');
  wildcard(q.family, 'family', fuzzy);
  for (const g of q.given) wildcard(g, 'given', fuzzy);
  wildcard(q.postcode, 'address-postalcode', fuzzy);
  checkCombination(q);
  return q;
}

/** The PDS minimum search combinations (see the module header). */
export function checkCombination(q: TraceQuery): void {
  const has = { family: q.family !== undefined, given: q.given.length > 0, dob: q.birthdate.length > 0, gender: q.gender !== undefined, pc: q.postcode !== undefined };
  if (q.fuzzy) {
    const ok = (has.given && has.family && has.dob) || (has.family && has.dob && has.gender && has.pc) || (has.given && has.dob && has.gender && has.pc);
    if (!ok) throw invalidSearchData('A fuzzy search needs given, family and birthdate; or family, birthdate, gender and address-postalcode; or given, birthdate, gender and address-postalcode');
  } else if (!has.family || !has.dob) {
    throw invalidSearchData('A search needs at least family and birthdate');
  }
}
