/**
 * The in-memory matcher of the search IR (FHIR R4 §3.1.1 search.html). It is the oracle the store
 * compilers are tested against, and the engine for matching one resource (subscriptions, conditional
 * operations on one candidate). Its semantics, which every store compiler must reproduce exactly:
 *
 * Entries "of" a predicate are the target's index entries with the predicate's `param` and kind.
 * Every predicate below is "some entry of the parameter satisfies ..." unless said otherwise.
 * - token: `ofType` -> entry.typeSystem = ofType.system and entry.typeCode = ofType.code and
 *   entry.code = ofType.value; else `text` -> entry.text starts with text (both normalised); else
 *   `anyOf` -> (entry.system, entry.code) equals one pair; else system undefined: any system, null:
 *   entry.system is null, string: equal; and code undefined: any code, else entry.code equals it
 *   (case-sensitive). `:not` is parsed as `not(token)`: true when NO entry matches (so a resource
 *   without the element matches).
 * - string: start -> entry.norm starts with value; contains -> entry.norm contains value as a
 *   substring; exact -> entry.exact equals value (the original text, case and accents kept).
 * - date / number / quantity: rangeMatches(rangeCondition(prefix, {low, high, value}, approxDelta ?? 0), entry)
 *   for some entry (a number or quantity value is exact under gt/lt/ge/le/sa/eb: range-semantics.ts) (so `ne` is "some entry is not within the value's range"). Quantity units first:
 *   system undefined -> code undefined/null: any unit, else entry.code = code or entry.unit = code;
 *   system null -> entry.system is null; system string -> entry.system = system; with a system, a code
 *   (when given) must equal entry.code.
 * - reference: `identifier` -> entry.identifierValue = value and (system undefined: any; null: entry
 *   has no identifier system; else equal); `url` -> entry.url = url and (urlVersion undefined or
 *   entry.urlVersion = urlVersion); `id` -> entry.targetId = id and (targetTypes empty/undefined or
 *   entry.targetType in targetTypes) and (version undefined or entry.targetVersion = version).
 * - uri: exact -> entry.value = value; below -> entry.value starts with value; above -> value starts
 *   with entry.value.
 * - missing: missing=true -> no entry of the parameter (with that kind); missing=false -> some entry.
 * - id: the target's id is one of ids. lastUpdated: the target's lastUpdated as the point range
 *   [t, t] (t = Date.parse(lastUpdated)) against rangeCondition.
 * - composite: some composite entry of the parameter in which every component predicate is satisfied
 *   by the entries of `components` (the same composite value, not across values).
 * - chain: some reference entry of `param` resolves (context.resolve) to a target whose resourceType
 *   is in targetTypes and which matches `where`.
 * - has: some resource of `targetType` (context.referrers) has a reference entry of `param` with
 *   targetType = the target's type and targetId = the target's id (any version), and matches `where`.
 * - text: every word of `query` (normalize.ts `textWords`) is one of the words of the target's text
 *   entries of param `_text` (scope narrative) or `_content` (scope content), all entries of that param
 *   together. Whole words only, no prefix matching; a query without words matches nothing.
 * - and / or / not: the boolean connectives (and over no args is true, or over no args is false).
 * - Unresolved IR (`list`, token `valueSet` / `hierarchy`) must have been rewritten (rewrite.ts)
 *   before matching: seeing it is a programming error (FhirError 'fault').
 *
 * Sorting (`sortValues`, `compareSortValues`): the value of a key for a resource is the lowest
 * (ascending) / highest (descending) of the per-entry values of its parameter: string norm; token
 * code, else text; date low (ascending) / high (descending); number and quantity value; reference
 * `Type/id`, else url; uri value; `_id` the id; `_lastUpdated` epoch ms. A chained key takes the
 * values of every resource reached through its reference hops (local `Type/id` references of the
 * hop's target types, resolved by context.resolve). Strings compare by code point (SQLite BINARY),
 * numbers numerically; resources without a value come last in both directions.
 */
import { FhirError } from '../fhir/outcome';
import type { IndexEntry, QuantityEntry, ReferenceEntry, TokenEntry } from './index-entry';
import type { Predicate, ReferencePredicate, SearchExpr, SortKey, TokenPredicate, RangePredicate } from './ir';
import { textWords } from './normalize';
import { rangeCondition, rangeMatches } from './range-semantics';

export interface MatchTarget {
  resourceType: string;
  id: string;
  /** ISO instant. */
  lastUpdated: string;
  index: IndexEntry[];
}

export interface MatchContext {
  /** Resolves a reference entry to the resource it points to (chains); undefined when unknown. */
  resolve?(ref: ReferenceEntry): MatchTarget | undefined;
  /**
   * Candidate resources of `type` that may refer to `target` through `param` (for `_has`); returning
   * a superset (even every resource of the type) is fine: the matcher re-checks the reference.
   */
  referrers?(type: string, param: string, target: { resourceType: string; id: string }): Iterable<MatchTarget>;
}

export function matchesExpr(expr: SearchExpr, target: MatchTarget, ctx: MatchContext = {}): boolean {
  switch (expr.op) {
    case 'and':
      return expr.args.every((a) => matchesExpr(a, target, ctx));
    case 'or':
      return expr.args.some((a) => matchesExpr(a, target, ctx));
    case 'not':
      return !matchesExpr(expr.arg, target, ctx);
    default:
      return matchesPredicate(expr, target, ctx);
  }
}

function entriesOf<K extends IndexEntry['kind']>(index: IndexEntry[], kind: K, param: string): Array<Extract<IndexEntry, { kind: K }>> {
  return index.filter((e): e is Extract<IndexEntry, { kind: K }> => e.kind === kind && e.param === param);
}

function matchesPredicate(p: Predicate, target: MatchTarget, ctx: MatchContext): boolean {
  switch (p.op) {
    case 'token':
      if (p.valueSet !== undefined || p.hierarchy !== undefined) throw unresolved(p.param);
      return entriesOf(target.index, 'token', p.param).some((e) => tokenMatches(p, e));
    case 'string':
      return entriesOf(target.index, 'string', p.param).some((e) =>
        p.mode === 'exact' ? e.exact === p.value : p.mode === 'contains' ? e.norm.includes(p.value) : e.norm.startsWith(p.value),
      );
    case 'date':
    case 'number':
    case 'quantity': {
      const cond = rangeCondition(p.prefix, p, p.approxDelta ?? 0);
      return entriesOf(target.index, p.op, p.param).some((e) => (e.kind !== 'quantity' || unitMatches(p, e)) && rangeMatches(cond, e));
    }
    case 'reference':
      return entriesOf(target.index, 'reference', p.param).some((e) => referenceMatches(p, e));
    case 'uri':
      return entriesOf(target.index, 'uri', p.param).some((e) =>
        p.mode === 'exact' ? e.value === p.value : p.mode === 'below' ? e.value.startsWith(p.value) : p.value.startsWith(e.value),
      );
    case 'text': {
      const words = textWords(p.query);
      if (words.length === 0) return false;
      const have = new Set(entriesOf(target.index, 'text', p.scope === 'narrative' ? '_text' : '_content').flatMap((e) => textWords(e.text)));
      return words.every((w) => have.has(w));
    }
    case 'list':
      throw unresolved('_list');
    case 'missing': {
      const present = target.index.some((e) => e.kind === p.kind && e.param === p.param);
      return p.missing ? !present : present;
    }
    case 'id':
      return p.ids.includes(target.id);
    case 'lastUpdated': {
      const t = Date.parse(target.lastUpdated);
      return rangeMatches(rangeCondition(p.prefix, p, p.approxDelta ?? 0), { low: t, high: t });
    }
    case 'composite':
      return entriesOf(target.index, 'composite', p.param).some((e) =>
        p.components.every((c) => matchesPredicate(c, { ...target, index: e.components }, ctx)),
      );
    case 'chain': {
      if (!ctx.resolve) throw new FhirError('unsupported', 'Chained search needs a reference resolver');
      for (const e of entriesOf(target.index, 'reference', p.param)) {
        const resolved = ctx.resolve(e);
        if (resolved && p.targetTypes.includes(resolved.resourceType) && matchesExpr(p.where, resolved, ctx)) return true;
      }
      return false;
    }
    case 'has': {
      if (!ctx.referrers) throw new FhirError('unsupported', 'Reverse chaining (_has) needs a referrer lookup');
      for (const r of ctx.referrers(p.targetType, p.param, target)) {
        if (r.resourceType !== p.targetType) continue;
        const refers = entriesOf(r.index, 'reference', p.param).some((e) => e.targetType === target.resourceType && e.targetId === target.id);
        if (refers && matchesExpr(p.where, r, ctx)) return true;
      }
      return false;
    }
  }
}

function unresolved(param: string): FhirError {
  return new FhirError('fault', `search parameter ${param}: terminology/list predicate reached the matcher unresolved (run rewriteQuery first)`);
}

function tokenMatches(p: TokenPredicate, e: TokenEntry): boolean {
  if (p.ofType) return e.typeSystem === p.ofType.system && e.typeCode === p.ofType.code && e.code === p.ofType.value;
  if (p.text !== undefined) return typeof e.text === 'string' && e.text.startsWith(p.text);
  if (p.anyOf) return p.anyOf.some((a) => a.system === e.system && a.code === e.code);
  if (p.system !== undefined && e.system !== p.system) return false;
  return p.code === undefined || e.code === p.code;
}

function unitMatches(p: RangePredicate, e: QuantityEntry): boolean {
  if (p.system === undefined) return p.code === undefined || p.code === null || e.code === p.code || e.unit === p.code;
  if (e.system !== p.system) return false;
  return p.code === undefined || p.code === null || e.code === p.code;
}

function referenceMatches(p: ReferencePredicate, e: ReferenceEntry): boolean {
  if (p.identifier) {
    if (e.identifierValue !== p.identifier.value) return false;
    return p.identifier.system === undefined || (e.identifierSystem ?? null) === p.identifier.system;
  }
  if (p.url !== undefined) return e.url === p.url && (p.urlVersion === undefined || e.urlVersion === p.urlVersion);
  if (p.id !== undefined) {
    if (e.targetId !== p.id) return false;
    if (p.targetTypes && p.targetTypes.length > 0 && (e.targetType === null || !p.targetTypes.includes(e.targetType))) return false;
    return p.version === undefined || e.targetVersion === p.version;
  }
  return false;
}

/** A sort value: a string, a number, or null (no value). */
export type SortValue = string | number | null;

/** The per-entry sort value (see the module header); null when the entry has none. */
function entrySortValue(e: IndexEntry, descending: boolean): SortValue {
  switch (e.kind) {
    case 'string':
      return e.norm;
    case 'token':
      return e.code ?? e.text ?? null;
    case 'date':
      return descending ? e.high : e.low;
    case 'number':
    case 'quantity':
    case 'uri':
      return e.value;
    case 'reference':
      return e.targetType !== null && e.targetId !== null ? `${e.targetType}/${e.targetId}` : e.url;
    case 'composite':
    case 'text':
      return null;
  }
}

/** Code point order (SQLite's BINARY collation over UTF-8), not UTF-16 code unit order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  return typeof a === 'number' ? -1 : 1;
}

/** The values of one key over the resources the key's chain reaches from `target` (itself when unchained). */
function keyValues(target: MatchTarget, key: SortKey, hop: number, ctx: MatchContext): SortValue[] {
  const link = key.chain?.[hop];
  if (link) {
    if (!ctx.resolve) throw new FhirError('unsupported', 'Chained sort needs a reference resolver');
    const out: SortValue[] = [];
    for (const e of entriesOf(target.index, 'reference', link.param)) {
      if (e.targetType === null || e.targetId === null || !link.targetTypes.includes(e.targetType)) continue;
      const next = ctx.resolve(e);
      if (next && next.resourceType === e.targetType && next.id === e.targetId) out.push(...keyValues(next, key, hop + 1, ctx));
    }
    return out;
  }
  if (key.kind === 'special') {
    if (key.param === '_id') return [target.id];
    if (key.param === '_lastUpdated') return [Date.parse(target.lastUpdated)];
    throw new FhirError('unsupported', `sorting by ${key.param} is not supported`);
  }
  return target.index.filter((e) => e.kind === key.kind && e.param === key.param).map((e) => entrySortValue(e, key.descending));
}

/** The sort value of each key for `target` (lowest ascending / highest descending; null: none). */
export function sortValues(target: MatchTarget, keys: readonly SortKey[], ctx: MatchContext = {}): SortValue[] {
  return keys.map((k) => {
    let best: SortValue = null;
    for (const v of keyValues(target, k, 0, ctx)) {
      if (v === null) continue;
      if (best === null || (k.descending ? compareValues(v, best) > 0 : compareValues(v, best) < 0)) best = v;
    }
    return best;
  });
}

/** Orders two resources' sort values by the keys: each key in its direction, nulls last. */
export function compareSortValues(a: readonly SortValue[], b: readonly SortValue[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
      continue;
    }
    const c = compareValues(x, y);
    if (c !== 0) return keys[i]!.descending ? -c : c;
  }
  return 0;
}
