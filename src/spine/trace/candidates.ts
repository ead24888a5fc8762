/**
 * Candidate retrieval of a trace (PDS FHIR API "Search for a patient"; FHIR R4 §3.1.1 search.html for
 * the search IR it produces). A trace never scans Patients: it asks the store for the records having
 * at least one of a few selective index keys (search-keys.ts), ANDed with the birth date window
 * when the query gives a range, and scores only those.
 *
 * - Non-fuzzy, exact birth date: `spine-block` ND:<family>:<date> for the family (and each word of
 *   a hyphenated/compound family), system current (any with `_history`).
 * - Non-fuzzy, birth date range: `spine-name` = the folded family AND the standard `birthdate` range.
 * - Non-fuzzy, wildcard family: the standard `family` string index (prefix before `*`) AND birthdate.
 * - Fuzzy (history always), exact birth date D: `spine-block` keys FD:<family soundex>:D',
 *   GD:<given soundex>:D', PD:<postcode>:D' for D' among the near misses of D that the scoring
 *   accepts (`nearMissDates`: D, day and month swapped, the two digits of the day or of the month
 *   swapped, one day before or after, one year before or after), FG:<family soundex>:<given
 *   soundex>, and the same with given and family swapped (transposed names). The first given name
 *   also gives the Soundex of its known diminutive / formal forms (score.ts `nicknameForms`: Bill
 *   finds William).
 * - Fuzzy with a range: family/given Soundex (`spine-family-phonetic` / `spine-given-phonetic`) AND
 *   the birthdate range.
 * - `$match` with an NHS Number also retrieves the record with that identifier.
 * - A fuzzy trace that keeps only `certain` matches (`onlyCertain`: the duplicate check of a create,
 *   `$match` with onlyCertainMatches) probes fewer dated keys (score.ts CERTAIN_BOUNDS): only for
 *   D and D with day and month swapped, the only near misses a certain record can have; and, when
 *   the query has a first given name, only GD keys of that name's own Soundex (not its
 *   diminutives') and of the family's: a certain record's best name has the queried first given
 *   name itself as its first given name (or, transposed, the family name), so it has that GD key
 *   for its birth date. A record left out has a key only for another birth date (the date keys
 *   carry the record's own full birth date), or only through a name that cannot make it certain.
 *   The undated FG keys stay as they are (a record without a full birth date is found only by
 *   them). Queries with a wildcard keep every key.
 */
import type { RangePredicate, SearchExpr, TokenPredicate } from '../../search/ir';
import { and, or } from '../../search/ir';
import { normalizeString } from '../../search/normalize';
import { fdKey, fgKey, gdKey, ndKey, P_BLOCK, P_FAMILY_PHONETIC, P_GIVEN_PHONETIC, P_NAME, pdKey, TRACE_CURRENT, TRACE_HISTORY } from './search-keys';
import { compactName, nameParts } from './normalise';
import { soundex } from './phonetic';
import type { DateBound, TraceQuery } from './query';
import { unique } from './features';
import { CERTAIN_BOUNDS, dateNearMiss, nicknameForms } from './score';
import { NHS_NUMBER_SYSTEM } from '../nhs-number';

const DAY = 86_400_000;

function tokens(param: string, codes: readonly string[], history: boolean): TokenPredicate {
  const systems = history ? [TRACE_CURRENT, TRACE_HISTORY] : [TRACE_CURRENT];
  return { op: 'token', param, anyOf: unique(codes).flatMap((code) => systems.map((system) => ({ system, code }))) };
}

function dateRange(bounds: readonly DateBound[]): SearchExpr | undefined {
  const preds: RangePredicate[] = bounds.map((b) => {
    const low = Date.parse(`${b.date}T00:00:00Z`);
    return { op: 'date', param: 'birthdate', prefix: b.prefix, low, high: low + DAY - 1 };
  });
  return preds.length === 0 ? undefined : and(...preds);
}

/** The exact birth date of the query (one `eq` value), if any. */
export function exactDate(q: TraceQuery): string | undefined {
  return q.birthdate.length === 1 && q.birthdate[0]!.prefix === 'eq' ? q.birthdate[0]!.date : undefined;
}

/** The date with day and month swapped, when that is a different valid date. */
export function swappedDate(d: string): string | undefined {
  const [y, m, day] = d.split('-') as [string, string, string];
  if (m === day || Number(day) > 12) return undefined;
  return `${y}-${day}-${m}`;
}

/** A valid calendar date YYYY-MM-DD, or undefined. */
function validDate(y: number, m: number, d: number): string | undefined {
  const t = Date.UTC(y, m - 1, d);
  const out = new Date(t);
  if (out.getUTCFullYear() !== y || out.getUTCMonth() !== m - 1 || out.getUTCDate() !== d) return undefined;
  return out.toISOString().slice(0, 10);
}

/**
 * The birth dates a fuzzy trace probes for an exact queried date: the date itself and the near misses
 * the scoring accepts (see the module header). Only valid dates are returned.
 */
export function nearMissDates(d: string): string[] {
  const [y, m, day] = d.split('-').map(Number) as [number, number, number];
  const t = Date.parse(`${d}T00:00:00Z`);
  const rev = (n: number): number => Number(String(n).padStart(2, '0').split('').reverse().join(''));
  const out = [
    d,
    swappedDate(d),
    validDate(y, m, rev(day)),
    validDate(y, rev(m), day),
    new Date(t - DAY).toISOString().slice(0, 10),
    new Date(t + DAY).toISOString().slice(0, 10),
    validDate(y - 1, m, day),
    validDate(y + 1, m, day),
  ];
  return unique(out.map((x) => x ?? ''));
}

function familyKeysOf(raw: string): string[] {
  return unique([soundex(raw), ...nameParts(raw).map(soundex)]);
}

/** Soundex keys of a first given name, of its words and (unless `withNicknames` is false) of its known nickname forms. */
function givenKeysOf(raw: string, withNicknames = true): string[] {
  return unique([...familyKeysOf(raw), ...(withNicknames ? nicknameForms(compactName(raw)).map(soundex) : [])]);
}

/** Options of a candidate expression. */
export interface CandidateOptions {
  /** Only `certain` matches are kept of the trace: fewer keys are probed (see the module header). */
  onlyCertain?: boolean;
}

function hasWildcard(q: TraceQuery): boolean {
  return [q.family, ...q.given, q.postcode].some((v) => v !== undefined && v.includes('*'));
}

function nonFuzzy(q: TraceQuery): SearchExpr | undefined {
  const family = q.family;
  if (family === undefined) return undefined;
  const range = dateRange(q.birthdate);
  if (family.includes('*')) {
    const prefix = normalizeString(family.slice(0, family.indexOf('*')));
    return and({ op: 'string', param: 'family', value: prefix, mode: 'start' }, ...(range ? [range] : []));
  }
  const names = unique([compactName(family), ...nameParts(family)]);
  const dob = exactDate(q);
  if (dob !== undefined) return tokens(P_BLOCK, names.map((n) => ndKey(n, dob)), q.history);
  return and(tokens(P_NAME, names, q.history), ...(range ? [range] : []));
}

function fuzzy(q: TraceQuery, opts: CandidateOptions): SearchExpr | undefined {
  const dob = exactDate(q);
  const fks = q.family !== undefined ? familyKeysOf(q.family) : [];
  const firstGiven = q.given[0];
  const gks = firstGiven !== undefined ? givenKeysOf(firstGiven) : [];
  const certain = opts.onlyCertain === true && !hasWildcard(q);
  if (dob === undefined) {
    const range = dateRange(q.birthdate);
    const byName: SearchExpr[] = [];
    if (fks.length > 0) byName.push(tokens(P_FAMILY_PHONETIC, fks, true));
    if (gks.length > 0) byName.push(tokens(P_GIVEN_PHONETIC, gks, true));
    if (byName.length === 0) return undefined;
    return and(or(...byName), ...(range ? [range] : []));
  }
  const dates = certain ? nearMissDates(dob).filter((d) => dateNearMiss(dob, d) >= CERTAIN_BOUNDS.minBirthSimilarity) : nearMissDates(dob);
  const codes: string[] = [];
  if (certain && firstGiven !== undefined && !CERTAIN_BOUNDS.nicknameMayBeCertain) {
    const keys = unique([...givenKeysOf(firstGiven, false), ...fks]);
    for (const d of dates) for (const k of keys) codes.push(gdKey(k, d));
  } else {
    for (const d of dates) {
      for (const k of fks) codes.push(fdKey(k, d), gdKey(k, d));
      for (const k of gks) codes.push(gdKey(k, d), fdKey(k, d));
      if (q.postcode !== undefined) codes.push(pdKey(q.postcode.toUpperCase().replace(/[^A-Z0-9]/g, ''), d));
    }
  }
  for (const f of fks) for (const g of gks) codes.push(fgKey(f, g), fgKey(g, f));
  return codes.length === 0 ? undefined : tokens(P_BLOCK, codes, true);
}

/** Blocking keys for `$match` / traceFromResource when no birth date is known: family x given Soundex. */
function withoutDate(q: TraceQuery): SearchExpr | undefined {
  const fks = q.family !== undefined ? familyKeysOf(q.family) : [];
  const gks = q.given[0] !== undefined ? givenKeysOf(q.given[0]) : [];
  const codes: string[] = [];
  for (const f of fks) for (const g of gks) codes.push(fgKey(f, g), fgKey(g, f));
  return codes.length === 0 ? undefined : tokens(P_BLOCK, codes, true);
}

/** The candidate expression of a query; undefined when it has no usable key (the caller refuses it). */
export function candidateExpression(q: TraceQuery, opts: CandidateOptions = {}): SearchExpr | undefined {
  const main = q.fuzzy ? (q.birthdate.length > 0 ? fuzzy(q, opts) : withoutDate(q)) : nonFuzzy(q);
  const byId: SearchExpr | undefined = q.nhsNumber !== undefined ? { op: 'token', param: 'identifier', system: NHS_NUMBER_SYSTEM, code: q.nhsNumber } : undefined;
  if (main && byId) return or(main, byId);
  return main ?? byId;
}
