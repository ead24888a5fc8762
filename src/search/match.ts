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
 * - date / number / quantity: rangeMatches(rangeCondition(prefix, {low, high}, approxDelta ?? 0), entry)
 *   for some entry (so `ne` is "some entry is not within the value's range"). Quantity units first:
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
 * - and / or / not: the boolean connectives (and over no args is true, or over no args is false).
 */
import { FhirError } from '../fhir/outcome';
import type { IndexEntry, QuantityEntry, ReferenceEntry, TokenEntry } from './index-entry';
import type { Predicate, ReferencePredicate, SearchExpr, TokenPredicate, RangePredicate } from './ir';
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
    case 'text':
    case 'list':
      throw new FhirError('unsupported', { diagnostics: `${p.op === 'text' ? '_text/_content' : '_list'} is not supported yet` });
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
