/**
 * Trace scoring (PDS FHIR API "Scoring": 1.0 an exact match, lower a partial one, results in
 * descending score order; FHIR R4 Patient `$match`, https://hl7.org/fhir/R4/patient-operation-match.html,
 * and the match-grade extension http://hl7.org/fhir/StructureDefinition/match-grade).
 *
 * The score is the weighted mean of the similarities (each 0..1) of the fields the query supplies:
 *
 * | field | weight | similarity |
 * |---|---|---|
 * | family | 0.25 | 1 equal (folded: case, accents, punctuation, spaces); 0.9 wildcard match; 0.85 one word of a hyphenated/compound name; fuzzy: 0.8 same Soundex, else Jaro-Winkler x 0.85 when >= 0.85, or 0.75 for one edit in 4+ letters |
 * | given | 0.20 | first given as family (1 equal, 0.85 another given or compound part, 0.9 wildcard on the first given, fuzzy: Soundex 0.8 / Jaro-Winkler, initial 0.6, 0.85 a known diminutive (NICKNAMES: Bill/William, Peggy/Margaret)); later givens present 1 else 0.5 (fuzzy) |
 * | birthdate | 0.25 | 1 equal or in range; fuzzy near misses: 0.8 day/month transposed, 0.7 one part off by one or one digit wrong, 0.65 two year digits swapped, 0.6 partial date consistent, 0.4 same year and month, 0.25 same year |
 * | gender | 0.05 | 1 equal, 0.5 unknown on either side, 0 different |
 * | postcode | 0.15 | 1 equal (normalised), 0.9 wildcard prefix; fuzzy: 0.75 one character wrong, 0.7 same outward code, 0.2 same area |
 * | general-practitioner | 0.04 | 1 equal ODS code |
 * | email, phone | 0.03 each | 1 equal (normalised) |
 * | death-date | 0.03 | 1 in range |
 * | NHS Number ($match) | 0.30 | 1 equal |
 *
 * Names are compared against each of the record's names (current; previous ones too with history,
 * x 0.9) and the best is kept; in fuzzy mode given and family are also compared swapped (x 0.9).
 * Addresses and contact points of the past count x 0.9. A field that does not match at all rejects the
 * record in a non-fuzzy search; in a fuzzy search it only lowers the score, except email and phone,
 * which filter exactly in every trace (PDS "Phone number and email address"; `$match` only scores them) (records under
 * FUZZY_THRESHOLD are dropped). The mean is rounded DOWN to 4 decimals, so only an exact match of
 * every supplied field (every similarity 1, current data) scores 1.0. Ties sort by id.
 * A supplied first given name that is not the record's (similarity under 0.9: a typo, homophone,
 * diminutive, middle or compound-part name) caps the score at 0.9499, below `certain`: twins and
 * siblings share family, birth date and address, and the first given name is what tells them apart
 * (Jane / Jayne twins must not be linked automatically). An exact previous name (x 0.9) or swapped
 * names (x 0.9) keep `certain` possible.
 * Grades ($match): certain >= 0.95, probable >= 0.8, possible >= 0.6, else certainly-not.
 * `mayMatch` bounds the score from every field but the names, so a trace drops most candidates
 * before folding their names (engine.ts).
 */
import { compactName, editDistance, jaroWinkler, nameParts, normaliseEmail, normalisePhone, normalisePostcode, outwardCode } from './normalise';
import { soundex } from './phonetic';
import type { NameFeature, PatientFeatures, RecordFeatures } from './features';
import type { DateBound, TraceQuery } from './query';

export const WEIGHTS = { family: 0.25, given: 0.2, birthdate: 0.25, gender: 0.05, postcode: 0.15, gp: 0.04, email: 0.03, phone: 0.03, deathDate: 0.03, nhsNumber: 0.3 } as const;
export type Field = keyof typeof WEIGHTS;

/** Fuzzy results under this score are not returned. */
export const FUZZY_THRESHOLD = 0.7;
const HISTORIC = 0.9;
const SWAPPED = 0.9;
/** Under this first-given similarity a record cannot be graded `certain` (see the module header). */
const CERTAIN_GIVEN = 0.9;
const BELOW_CERTAIN = 0.9499;
const NICKNAME = 0.85;

/**
 * Common English diminutives (formal name first, folded): a small table, not exhaustive. Two given
 * names are nickname-related when one is a diminutive of the other or both are of the same formal name.
 */
const NICKNAME_GROUPS: readonly (readonly string[])[] = [
  ['william', 'bill', 'billy', 'will', 'willy', 'liam'], ['robert', 'bob', 'bobby', 'rob', 'robbie', 'bert'], ['richard', 'dick', 'rich', 'rick', 'ricky', 'richie'],
  ['thomas', 'tom', 'tommy'], ['james', 'jim', 'jimmy', 'jamie'], ['john', 'jack', 'johnny', 'jon'], ['michael', 'mike', 'mick', 'mickey'],
  ['christopher', 'chris', 'kit'], ['alexander', 'alex', 'sandy', 'alec'], ['edward', 'ed', 'eddie', 'ted', 'ned'], ['daniel', 'dan', 'danny'],
  ['matthew', 'matt'], ['anthony', 'tony'], ['andrew', 'andy', 'drew'], ['kenneth', 'ken', 'kenny'], ['ronald', 'ron', 'ronnie'],
  ['stephen', 'steve', 'stevie'], ['steven', 'steve', 'stevie'], ['peter', 'pete'], ['david', 'dave', 'davy'], ['samuel', 'sam', 'sammy'],
  ['joseph', 'joe', 'joey'], ['benjamin', 'ben', 'benny'], ['nicholas', 'nick', 'nicky'], ['geoffrey', 'geoff'], ['jeffrey', 'jeff'],
  ['frederick', 'fred', 'freddie', 'freddy'], ['joshua', 'josh'], ['henry', 'harry', 'hal', 'hank'], ['alfred', 'alf', 'alfie'], ['theodore', 'theo', 'ted'],
  ['charles', 'charlie', 'chas', 'chuck'], ['francis', 'frank', 'frankie'], ['lawrence', 'larry'], ['leonard', 'len', 'lenny'], ['isaac', 'ike'],
  ['margaret', 'peggy', 'maggie', 'meg', 'megan', 'madge', 'margo'], ['elizabeth', 'liz', 'lizzie', 'beth', 'betty', 'bess', 'eliza', 'elsie'],
  ['katherine', 'kate', 'katie', 'kathy', 'kay', 'kitty'], ['catherine', 'cathy', 'kate', 'katie', 'kay', 'kitty'], ['patricia', 'pat', 'patty', 'trish', 'tricia'],
  ['rebecca', 'becky', 'becca'], ['deborah', 'debbie', 'debs', 'debra'], ['dorothy', 'dot', 'dolly', 'dottie'], ['susan', 'sue', 'susie', 'suzy'],
  ['amanda', 'mandy'], ['nicola', 'nicky', 'nikki'], ['joanne', 'jo'], ['jessica', 'jess', 'jessie'], ['charlotte', 'lottie', 'charlie'],
  ['florence', 'flo', 'florrie'], ['isabella', 'bella', 'izzy'], ['isabel', 'bella', 'izzy'], ['matilda', 'tilly', 'tilda'], ['sarah', 'sally', 'sadie'],
  ['mary', 'molly', 'polly', 'mae'], ['helen', 'nell', 'nellie'], ['eleanor', 'ellie', 'nell', 'nora'], ['victoria', 'vicky', 'tori'],
  ['christine', 'chris', 'chrissie', 'tina'], ['jacqueline', 'jackie', 'jacqui'], ['jennifer', 'jenny', 'jen'], ['abigail', 'abby', 'gail'],
  ['alexandra', 'alex', 'sandra', 'lexi'], ['samantha', 'sam', 'sammy'], ['frances', 'fran', 'frankie'], ['teresa', 'tess', 'terri'],
];
const NICKNAMES_OF = new Map<string, Set<string>>();
for (const group of NICKNAME_GROUPS) {
  for (const n of group) {
    const set = NICKNAMES_OF.get(n) ?? new Set<string>();
    for (const m of group) if (m !== n) set.add(m);
    NICKNAMES_OF.set(n, set);
  }
}

/** The nickname-related forms of a folded given name (see NICKNAME_GROUPS); empty when none is known. */
export function nicknameForms(compact: string): string[] {
  return [...(NICKNAMES_OF.get(compact) ?? [])];
}

export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

/** The least score graded `certain`. */
export const CERTAIN_SCORE = 0.95;

export function gradeOf(score: number): MatchGrade {
  if (score >= CERTAIN_SCORE) return 'certain';
  if (score >= 0.8) return 'probable';
  if (score >= 0.6) return 'possible';
  return 'certainly-not';
}

/** A query name value prepared for comparison. */
export interface NameProbe {
  compact: string;
  parts: string[];
  key: string;
  /** Anchored pattern over the compact form when the value has `*`. */
  wildcard?: RegExp;
}

export interface Probe {
  family?: NameProbe;
  given: NameProbe[];
  birthdate: DateBound[];
  deathDate: DateBound[];
  gender?: string;
  postcode?: { norm: string; outward: string; wildcard?: RegExp };
  gp?: string;
  email?: string;
  phone?: string;
  nhsNumber?: string;
  fuzzy: boolean;
  history: boolean;
  /** `$match`: a field the record does not have is left out of its score instead of counting 0. */
  skipMissing?: boolean;
}

function wildcardPattern(folded: string): RegExp {
  const body = folded.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}`);
}

function nameProbe(raw: string): NameProbe {
  if (raw.includes('*')) {
    const compact = raw.split('*').map(compactName).join('*');
    return { compact: compact.replace(/\*/g, ''), parts: [], key: '', wildcard: wildcardPattern(compact) };
  }
  const compact = compactName(raw);
  return { compact, parts: nameParts(raw), key: soundex(compact) };
}

export function probeOf(q: TraceQuery, opts: { skipMissing?: boolean } = {}): Probe {
  const p: Probe = { given: q.given.map(nameProbe), birthdate: q.birthdate, deathDate: q.deathDate, fuzzy: q.fuzzy, history: q.history, ...(opts.skipMissing ? { skipMissing: true } : {}) };
  if (q.family !== undefined) p.family = nameProbe(q.family);
  if (q.gender !== undefined) p.gender = q.gender;
  if (q.postcode !== undefined) {
    if (q.postcode.includes('*')) {
      const norm = q.postcode.split('*').map(normalisePostcode).join('*');
      p.postcode = { norm: norm.replace(/\*/g, ''), outward: '', wildcard: new RegExp(`^${norm.split('*').join('.*')}`) };
    } else {
      const norm = normalisePostcode(q.postcode);
      p.postcode = { norm, outward: outwardCode(norm) };
    }
  }
  if (q.gp !== undefined) p.gp = q.gp.trim().toUpperCase();
  if (q.email !== undefined) p.email = normaliseEmail(q.email);
  if (q.phone !== undefined) p.phone = normalisePhone(q.phone);
  if (q.nhsNumber !== undefined) p.nhsNumber = q.nhsNumber;
  return p;
}

/** Similarity of one query name to one recorded name value (family, or a first given name). */
export function nameSimilarity(q: NameProbe, value: string, valueParts: readonly string[], fuzzy: boolean): number {
  if (value === '') return 0;
  if (q.wildcard) return q.wildcard.test(value) ? 0.9 : 0;
  if (q.compact === value) return 1;
  if (valueParts.length > 1 && valueParts.includes(q.compact)) return 0.85;
  if (q.parts.length > 1 && q.parts.includes(value)) return 0.85;
  if (!fuzzy) return 0;
  let s = 0;
  if (q.key !== '' && q.key === soundex(value)) s = 0.8;
  const jw = jaroWinkler(q.compact, value);
  if (jw >= 0.85) s = Math.max(s, jw * 0.85);
  if (q.compact.length >= 4 && editDistance(q.compact, value) === 1) s = Math.max(s, 0.75);
  if (q.compact.length === 1 && value.startsWith(q.compact)) s = Math.max(s, 0.6);
  return s;
}

function givenSimilarity(given: readonly NameProbe[], n: NameFeature, fuzzy: boolean): number {
  const [first, ...rest] = given;
  if (!first) return 1;
  const recFirst = n.given[0] ?? '';
  const firstParts = recFirst === '' ? [] : nameParts(recFirst).length > 1 ? nameParts(recFirst) : n.givenParts.slice(0, 1);
  let s = nameSimilarity(first, recFirst, firstParts, fuzzy);
  if (s < 0.85 && !first.wildcard) {
    // Another recorded given name (a middle name given first) or a word of a compound first name.
    for (const g of n.given.slice(1)) if (g === first.compact) s = Math.max(s, 0.85);
    if (n.givenParts.includes(first.compact)) s = Math.max(s, 0.85);
    if (fuzzy && NICKNAMES_OF.get(first.compact)?.has(recFirst)) s = Math.max(s, NICKNAME);
  }
  if (rest.length === 0) return s;
  const restSims = rest.map((g): number => (n.given.includes(g.compact) || n.givenParts.includes(g.compact) ? 1 : fuzzy ? 0.5 : 0));
  if (restSims.includes(0)) return 0;
  return 0.8 * s + (0.2 * restSims.reduce((a, b) => a + b, 0)) / restSims.length;
}

interface NameScore {
  family?: number;
  given?: number;
}

function nameScores(p: Probe, f: PatientFeatures): NameScore {
  const best: NameScore = {};
  let bestSum = -1;
  const consider = (fam: number | undefined, giv: number | undefined): void => {
    const sum = (fam ?? 0) * WEIGHTS.family + (giv ?? 0) * WEIGHTS.given;
    if (sum > bestSum) {
      bestSum = sum;
      if (fam !== undefined) best.family = fam;
      if (giv !== undefined) best.given = giv;
    }
  };
  for (const n of f.names) {
    if (n.historic && !p.history) continue;
    const m = n.historic ? HISTORIC : 1;
    const fam = p.family ? nameSimilarity(p.family, n.family, n.familyParts, p.fuzzy) * m : undefined;
    const giv = p.given.length > 0 ? givenSimilarity(p.given, n, p.fuzzy) * m : undefined;
    consider(fam, giv);
    if (p.fuzzy && p.family && p.given[0]) {
      // Transposed names: the query's family is the recorded first given name and vice versa.
      const sf = nameSimilarity(p.given[0], n.family, n.familyParts, true) * m * SWAPPED;
      const sg = nameSimilarity(p.family, n.given[0] ?? '', n.givenParts.slice(0, 1), true) * m * SWAPPED;
      consider(sf, sg);
    }
  }
  if (bestSum < 0) {
    if (p.family) best.family = 0;
    if (p.given.length > 0) best.given = 0;
  }
  return best;
}

const DAY = 86_400_000;

function inRange(date: string, bounds: readonly DateBound[]): boolean {
  // A partial recorded date (YYYY or YYYY-MM) covers an interval: it matches when that interval overlaps.
  const lo = Date.parse(`${date.length === 4 ? `${date}-01-01` : date.length === 7 ? `${date}-01` : date}T00:00:00Z`);
  const hiStart = date.length === 4 ? Date.UTC(Number(date), 11, 31) : date.length === 7 ? Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)), 0) : lo;
  return bounds.every((b) => {
    const t = Date.parse(`${b.date}T00:00:00Z`);
    if (b.prefix === 'ge') return hiStart >= t;
    if (b.prefix === 'le') return lo <= t;
    return lo <= t && t <= hiStart + DAY - 1;
  });
}

/** Near-miss similarity of a recorded birth date to a queried exact date (fuzzy mode). */
export function dateNearMiss(query: string, recorded: string): number {
  if (recorded === query) return 1;
  if (recorded.length < 10) return query.startsWith(recorded) ? 0.6 : 0;
  const [qy, qm, qd] = query.split('-') as [string, string, string];
  const [ry, rm, rd] = recorded.split('-') as [string, string, string];
  if (qy === ry && qm === rd && qd === rm) return 0.8;
  const diffs = [qy !== ry, qm !== rm, qd !== rd].filter(Boolean).length;
  if (diffs === 1) {
    if (qy !== ry) {
      if (Math.abs(Number(qy) - Number(ry)) === 1 || editDistance(qy, ry) === 1) return 0.7;
      if (qy.split('').sort().join('') === ry.split('').sort().join('') && transposition(qy, ry)) return 0.65;
      return 0;
    }
    const [a, b] = qm !== rm ? [qm, rm] : [qd, rd];
    if (Math.abs(Number(a) - Number(b)) === 1 || editDistance(a, b) === 1 || transposition(a, b)) return 0.7;
    return qm === rm ? 0.4 : 0.25;
  }
  if (qy === ry) return qm === rm ? 0.4 : 0.25;
  return 0;
}

function transposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const d: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d.push(i);
  return d.length === 2 && d[1] === d[0]! + 1 && a[d[0]!] === b[d[1]!] && a[d[1]!] === b[d[0]!];
}

function birthSimilarity(p: Probe, f: RecordFeatures): number {
  if (!f.birthDate) return 0;
  if (inRange(f.birthDate, p.birthdate)) return 1;
  if (!p.fuzzy) return 0;
  const eq = p.birthdate.find((b) => b.prefix === 'eq');
  return eq ? dateNearMiss(eq.date, f.birthDate) : 0;
}

function postcodeSimilarity(p: NonNullable<Probe['postcode']>, f: RecordFeatures, fuzzy: boolean, history: boolean): number {
  let best = 0;
  for (const pc of f.postcodes) {
    if (pc.historic && !history) continue;
    const m = pc.historic ? HISTORIC : 1;
    let s = 0;
    if (p.wildcard) s = p.wildcard.test(pc.value) ? 0.9 : 0;
    else if (pc.value === p.norm) s = 1;
    else if (fuzzy) {
      if (pc.value.length === p.norm.length && editDistance(pc.value, p.norm) === 1) s = 0.75;
      else if (outwardCode(pc.value) === p.outward) s = 0.7;
      else if (/^[A-Z]+/.exec(pc.value)?.[0] === /^[A-Z]+/.exec(p.norm)?.[0]) s = 0.2;
    }
    best = Math.max(best, s * m);
  }
  return best;
}

function valueSimilarity(value: string, list: RecordFeatures['phones'], history: boolean): number {
  let best = 0;
  for (const v of list) if (v.value === value && (history || !v.historic)) best = Math.max(best, v.historic ? HISTORIC : 1);
  return best;
}

type Similarities = Partial<Record<Field, number>>;

/** Per-field similarities of a record for a probe (only supplied fields). */
export function similarities(p: Probe, f: PatientFeatures, nhsNumber?: string): Similarities {
  const s: Similarities = {};
  const names = nameScores(p, f);
  if (names.family !== undefined) s.family = names.family;
  if (names.given !== undefined) s.given = names.given;
  return recordSimilarities(p, f, nhsNumber, s);
}

/** The similarities of every supplied field but the names, added to `s` (in the order the score sums them). */
function recordSimilarities(p: Probe, f: RecordFeatures, nhsNumber: string | undefined, s: Similarities): Similarities {
  if (p.birthdate.length > 0) s.birthdate = birthSimilarity(p, f);
  const skip = p.skipMissing === true;
  if (p.gender !== undefined && !(skip && !f.gender)) s.gender = f.gender === p.gender ? 1 : !f.gender || f.gender === 'unknown' || p.gender === 'unknown' ? 0.5 : 0;
  if (p.postcode && !(skip && f.postcodes.length === 0)) s.postcode = postcodeSimilarity(p.postcode, f, p.fuzzy, p.history);
  if (p.gp !== undefined && !(skip && f.gp.length === 0)) s.gp = f.gp.includes(p.gp) ? 1 : 0;
  if (p.email !== undefined && !(skip && f.emails.length === 0)) s.email = valueSimilarity(p.email, f.emails, p.history);
  if (p.phone !== undefined && !(skip && f.phones.length === 0)) s.phone = valueSimilarity(p.phone, f.phones, p.history);
  if (p.deathDate.length > 0 && !(skip && f.deathDate === undefined)) s.deathDate = f.deathDate !== undefined && inRange(f.deathDate, p.deathDate) ? 1 : 0;
  if (p.nhsNumber !== undefined && nhsNumber !== undefined) s.nhsNumber = nhsNumber === p.nhsNumber ? 1 : 0;
  return s;
}

/** Fields a non-fuzzy search requires to match; a fuzzy search uses death-date and GP for the score only. */
const REQUIRED_NON_FUZZY: readonly Field[] = ['family', 'given', 'birthdate', 'gender', 'postcode', 'gp', 'email', 'phone', 'deathDate'];

/** Fields a trace requires to match in fuzzy mode too (PDS: email and phone filter exactly). */
const EXACT_ALWAYS: readonly Field[] = ['email', 'phone'];

/** True when similarities already rule the record out (a required field that does not match). */
function ruledOut(p: Probe, s: Similarities): boolean {
  if (!p.fuzzy && REQUIRED_NON_FUZZY.some((k) => s[k] === 0)) return true;
  // PDS "Phone number and email address": only exact matches, in a fuzzy search too ($match scores them only).
  return p.fuzzy && !p.skipMissing && EXACT_ALWAYS.some((k) => s[k] === 0);
}

/** The weighted sum and the total weight of similarities, in their insertion order. */
function weighted(s: Similarities): { sum: number; weight: number; exact: boolean } {
  let sum = 0;
  let weight = 0;
  let exact = true;
  for (const [k, v] of Object.entries(s) as Array<[Field, number]>) {
    sum += WEIGHTS[k] * v;
    weight += WEIGHTS[k];
    if (v !== 1) exact = false;
  }
  return { sum, weight, exact };
}

/** Below this the upper bound of `mayMatch` is surely under the threshold, whatever the rounding. */
const BOUND_MARGIN = 1e-9;

/**
 * False only when `scoreRecord` is undefined for the record whatever its names are: the names'
 * similarities are taken as 1 (the most they can be), every other field as it is. The score is a
 * weighted mean, so a name similarity under 1 only lowers it (with `skipMissing` too: adding a field
 * of similarity 1 to a mean of values <= 1 never lowers it); the rounding, the caps and the
 * historic and swapped factors only lower it further. So a record this rejects (a required field at
 * 0, or a fuzzy bound under FUZZY_THRESHOLD) is one `scoreRecord` rejects; a trace uses it to skip the
 * name folding and comparison of most candidates (docs/performance.md, lever 7).
 */
export function mayMatch(p: Probe, f: RecordFeatures, nhsNumber?: string): boolean {
  const s: Similarities = {};
  if (p.family) s.family = 1;
  if (p.given.length > 0) s.given = 1;
  recordSimilarities(p, f, nhsNumber, s);
  if (ruledOut(p, s)) return false;
  const { sum, weight } = weighted(s);
  if (weight === 0) return false;
  return !(p.fuzzy && sum / weight < FUZZY_THRESHOLD - BOUND_MARGIN);
}

/** The score of a record (see the module header), or undefined when it is not a match. */
export function scoreRecord(p: Probe, f: PatientFeatures, nhsNumber?: string): number | undefined {
  const s = similarities(p, f, nhsNumber);
  if (ruledOut(p, s)) return undefined;
  const { sum, weight, exact } = weighted(s);
  if (weight === 0) return undefined;
  if (exact) return 1;
  let score = Math.min(0.9999, Math.floor((sum / weight) * 10000) / 10000);
  if (s.given !== undefined && s.given < CERTAIN_GIVEN) score = Math.min(score, BELOW_CERTAIN);
  if (p.fuzzy && score < FUZZY_THRESHOLD) return undefined;
  return score;
}

/**
 * What a record graded `certain` must have, for a trace that keeps only those (`onlyCertain`: the
 * duplicate check of a create, `$match` with onlyCertainMatches; candidates.ts probes fewer keys
 * with it):
 * - The score is at most the weighted mean of the similarities, whose weight is at most the sum of
 *   every field's; so a birth-date similarity b lowers it by at least WEIGHTS.birthdate x (1 - b) /
 *   that sum, and a record whose birth date is less similar than `minBirthSimilarity` is never
 *   `certain` (the birth date always counts, with skipMissing too).
 * - When the query has a given name, a given similarity under CERTAIN_GIVEN caps the score under
 *   CERTAIN_SCORE. `givenSimilarity` reaches CERTAIN_GIVEN (with later given names weighed in:
 *   0.8 x the first's + 0.2 x theirs, so the first's must be at least 0.875) only through a
 *   recorded first given name equal to the queried one (1; times HISTORIC or SWAPPED at most 0.9)
 *   or a wildcard: every other similarity is at most 0.85. A diminutive (NICKNAME) therefore never
 *   gives a certain record, unless `nicknameMayBeCertain`.
 */
export const CERTAIN_BOUNDS = {
  minBirthSimilarity: 1 - ((1 - CERTAIN_SCORE) * Object.values(WEIGHTS).reduce((a, b) => a + b, 0)) / WEIGHTS.birthdate,
  nicknameMayBeCertain: NICKNAME >= CERTAIN_GIVEN,
} as const;
