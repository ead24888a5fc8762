/**
 * The trace engine shared by `Patient/$trace`, `Patient/$match` and NHS Number allocation (PDS FHIR
 * API "Search for a patient": scoring, restricted, invalidated and superseded patients; FHIR R4
 * Patient.link `replaced-by` / `replaces`, https://hl7.org/fhir/R4/patient-definitions.html#Patient.link).
 *
 * 1. The candidate expression (candidates.ts) goes to the store as an ordinary search, ANDed with
 *    the caller's access restriction on Patient; at most CANDIDATE_LIMIT candidates are read.
 * 2. Each candidate is scored (score.ts); non-matches are dropped. Its names are folded and compared
 *    only when its other fields leave it a chance to reach the score (`mayMatch`): most candidates of
 *    a fuzzy trace share a Soundex pair with the query and nothing else, and are dropped on that.
 * 3. A superseded record (`link.type = replaced-by`) is replaced by its survivor, which keeps the
 *    better of the two scores; every record is returned once.
 * 4. Restricted records are dropped when the query uses postcode or GP and the caller lacks the
 *    sensitive-record permission (restricted.ts).
 * 5. `_exact-match` keeps only scores of 1.0; results are sorted by score, then id.
 *
 * With `onlyCertain` the caller keeps only the `certain` grade: the candidates are then fewer
 * (candidates.ts), and the certain matches the same.
 */
import type { Patient } from 'fhir/r4';
import { restrictionOf, type InteractionContext } from '../../fhir/context';
import { and, type SearchExpr } from '../../search/ir';
import type { StoredVersion } from '../../store/store';
import { candidateExpression, type CandidateOptions } from './candidates';
import { nameFeatures, recordFeatures } from './features';
import type { TraceQuery } from './query';
import { isRestricted, maySeeRestricted } from '../restricted';
import { gradeOf, mayMatch, probeOf, scoreRecord, type MatchGrade, type Probe } from './score';
import { invalidSearchData } from './trace-errors';
import { normaliseNhsNumber, nhsNumberOf } from '../nhs-number';

/** Most candidates read for one trace (the keys are selective; this bounds a pathological query). */
export const CANDIDATE_LIMIT = 2000;
const MAX_LINK_HOPS = 5;

export interface ScoredMatch {
  version: StoredVersion;
  resource: Patient;
  /** 0..1, 1 only for an exact match of every supplied field. */
  score: number;
  grade: MatchGrade;
}

/** The Patient's NHS Number, normalised (spaces and hyphens removed). */
export function nhsNumberOfPatient(p: Patient): string | undefined {
  const raw = nhsNumberOf(p);
  return raw === undefined ? undefined : (normaliseNhsNumber(raw) ?? raw);
}

function survivorId(p: Patient): string | undefined {
  const link = p.link?.find((l) => l.type === 'replaced-by');
  const ref = link?.other.reference;
  const m = ref ? /(?:^|\/)Patient\/([^/]+)$/.exec(ref) : null;
  return m?.[1];
}

function parse(v: StoredVersion): Patient | undefined {
  if (v.deleted || !v.json) return undefined;
  return JSON.parse(v.json) as Patient;
}

/** The record's score, its names folded and compared only when the other fields leave it a chance (score.ts `mayMatch`). */
function scoreOf(probe: Probe, p: Patient, now: Date): number | undefined {
  const record = recordFeatures(p, now);
  const nhsNumber = nhsNumberOfPatient(p);
  if (!mayMatch(probe, record, nhsNumber)) return undefined;
  return scoreRecord(probe, { ...record, names: nameFeatures(p, now) }, nhsNumber);
}

/** Follows replaced-by links to the surviving record (a bounded number of hops). */
async function survivor(ctx: InteractionContext, v: StoredVersion, p: Patient): Promise<{ v: StoredVersion; p: Patient } | undefined> {
  let cur = { v, p };
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const next = survivorId(cur.p);
    if (next === undefined) return cur;
    const nv = await ctx.session.read('Patient', next);
    const np = nv ? parse(nv) : undefined;
    if (!nv || !np) return undefined;
    cur = { v: nv, p: np };
  }
  return undefined;
}

export interface TraceOutcome {
  matches: ScoredMatch[];
}

/** Runs a trace (see the module header). Throws INVALID_SEARCH_DATA when the query has no usable key. */
export async function runTrace(ctx: InteractionContext, q: TraceQuery, opts: { skipMissing?: boolean } & CandidateOptions = {}): Promise<TraceOutcome> {
  const expr = candidateExpression(q, opts.onlyCertain ? { onlyCertain: true } : {});
  if (!expr) throw invalidSearchData('The search parameters give nothing to search on');
  const restriction = restrictionOf(ctx, 'Patient');
  if (restriction === 'none') return { matches: [] };
  const where: SearchExpr = restriction === 'all' ? expr : and(expr, restriction);
  const page = await ctx.session.search({ resourceTypes: ['Patient'], where, sort: [], count: CANDIDATE_LIMIT, offset: 0, total: 'none' });
  const probe = probeOf(q, opts);
  const now = ctx.services.now?.() ?? new Date();
  const excludeRestricted = (q.postcode !== undefined || q.gp !== undefined) && !maySeeRestricted(ctx);
  const best = new Map<string, ScoredMatch>();
  for (const v of page.entries) {
    const p = parse(v);
    if (!p) continue;
    const hit = scoreOf(probe, p, now);
    if (hit === undefined) continue;
    const s = await survivor(ctx, v, p);
    if (!s) continue;
    const score = s.v.id === v.id ? hit : Math.max(hit, scoreOf(probe, s.p, now) ?? 0);
    if (excludeRestricted && isRestricted(s.p)) continue;
    if (restriction !== 'all' && s.v.id !== v.id) continue; // a survivor outside the caller's restriction is not shown
    const prev = best.get(s.v.id);
    if (!prev || prev.score < score) best.set(s.v.id, { version: s.v, resource: s.p, score, grade: gradeOf(score) });
  }
  let matches = [...best.values()];
  if (q.exact) matches = matches.filter((m) => m.score === 1);
  matches.sort((a, b) => b.score - a.score || (a.version.id < b.version.id ? -1 : a.version.id > b.version.id ? 1 : 0));
  return { matches };
}
