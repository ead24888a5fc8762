/**
 * Compiles the search IR to a MongoDB filter over the embedded index arrays (FHIR R4 §3.1.1
 * search.html: parameter types, modifiers, prefixes, `:missing`, `:not`, composite parameters,
 * chaining (§3.1.1.4.12), reverse chaining `_has` (§3.1.1.4.13), `_id`, `_lastUpdated`, `_text`,
 * `_content`; `_tag` / `_profile` / `_security` / `_source` are ordinary token/uri entries).
 *
 * Semantics are exactly those of the in-memory matcher (src/search/match.ts) and the SQLite compiler
 * (src/store/sqlite/search-compiler.ts): a typed predicate holds when ANY entry of its parameter and
 * kind satisfies it, so each becomes `{x: {$elemMatch: {p, k, ...conditions on one entry}}}`;
 * composite components must hold within one composite entry (`$elemMatch` on its `cs` inside the
 * entry's `$elemMatch`); ranges use the one definition of the prefixes (range-semantics.ts), `ne`
 * as the negated conjunction on the same entry; `not` is `$nor` (true when no entry matches).
 * Chains and `_has` are resolved as sub-queries run first through the same target (the live ids of
 * the chained resources feed `ri $in`; the (type, id) targets of the referring resources feed
 * `i $in`), so the final filter is one plain document. `_id` / `_lastUpdated` test the document's own
 * `i` / `u`. Unresolved IR (`list`, token `valueSet` / `hierarchy`) is refused: rewrite.ts resolves
 * it first. Values are data only: keys come from this module, strings in regexes are escaped.
 */
import { FhirError } from '../../../fhir/outcome';
import type { CompositePredicate, Predicate, SearchExpr } from '../../../search/ir';
import { textWords } from '../../../search/normalize';
import { rangeCondition, type Bound, type RangeCondition } from '../../../search/range-semantics';
import { andCond, contains, inValues, mergeAll, notCond, orCond, prefixesOf, startsWith, toFilter, type Cond, type MongoDoc } from './filter';
import { COMPONENT_KIND, INDEX_ARRAY } from './index-docs';

/** Runs an aggregation pipeline on the `resources` collection (the sub-queries of chains and `_has`). */
export type Aggregate = (pipeline: MongoDoc[]) => Promise<MongoDoc[]>;

/** Predicates tested on one index entry of their parameter. */
type TypedPredicate = Extract<Predicate, { op: 'token' | 'string' | 'date' | 'number' | 'quantity' | 'reference' | 'uri' }>;

const TYPED_OPS: ReadonlySet<string> = new Set(['token', 'string', 'date', 'number', 'quantity', 'reference', 'uri']);

function unresolved(what: string): FhirError {
  return new FhirError('fault', `search ${what} reached the MongoDB compiler unresolved (run rewriteQuery first)`);
}

/** The filter on live documents of `types` (empty: every type). */
export function liveOf(types: readonly string[]): Cond {
  return andCond([inValues('t', types), { d: false }]);
}

/**
 * The filter of `e` over documents of `types` (empty = any type); `aggregate` runs the sub-queries
 * of chains and `_has`. The result does not include the type and liveness restriction (see liveOf).
 */
export async function compileExpr(e: SearchExpr, types: readonly string[], aggregate: Aggregate): Promise<Cond> {
  switch (e.op) {
    case 'and': {
      const parts: Cond[] = [];
      for (const a of e.args) {
        const c = await compileExpr(a, types, aggregate);
        if (c === false) return false; // no sub-query of a later conjunct is needed
        parts.push(c);
      }
      return andCond(parts);
    }
    case 'or': {
      const parts: Cond[] = [];
      for (const a of e.args) {
        const c = await compileExpr(a, types, aggregate);
        if (c === true) return true;
        parts.push(c);
      }
      return orCond(parts);
    }
    case 'not':
      return notCond(await compileExpr(e.arg, types, aggregate));
    default:
      return compilePredicate(e, types, aggregate);
  }
}

async function compilePredicate(p: Predicate, types: readonly string[], aggregate: Aggregate): Promise<Cond> {
  switch (p.op) {
    case 'token':
    case 'string':
    case 'date':
    case 'number':
    case 'quantity':
    case 'reference':
    case 'uri':
      return entryMatch(p.param, INDEX_ARRAY[p.op], typedConditions(p));
    case 'composite':
      return entryMatch(p.param, INDEX_ARRAY.composite, compositeConditions(p));
    case 'text': {
      const words = textWords(p.query);
      if (words.length === 0) return false;
      return entryMatch(p.scope === 'narrative' ? '_text' : '_content', INDEX_ARRAY.text, { w: { $all: [...new Set(words)] } });
    }
    case 'missing': {
      const present = entryMatch(p.param, INDEX_ARRAY[p.kind], true);
      return p.missing ? notCond(present) : present;
    }
    case 'id':
      return p.ids.length === 0 ? false : inValues('i', p.ids);
    case 'lastUpdated':
      return rangeFilter(rangeCondition(p.prefix, p, p.approxDelta ?? 0), 'u', 'u');
    case 'list':
      throw unresolved('_list');
    case 'chain':
      return chain(p, aggregate);
    case 'has':
      return has(p, types, aggregate);
  }
}

/** Some entry of `param` in the index array `array` (its kind) satisfies `cond` (one element). */
function entryMatch(param: string, array: string, cond: Cond): Cond {
  if (cond === false) return false;
  return { [array]: { $elemMatch: { p: param, ...(cond === true ? {} : cond) } } };
}

/**
 * Forward chain: a reference entry of `param` to a live resource of one of `targetTypes` matching
 * `where`. The matching targets are found first; their ids, per type, restrict the reference entry.
 */
async function chain(p: Extract<Predicate, { op: 'chain' }>, aggregate: Aggregate): Promise<Cond> {
  if (p.targetTypes.length === 0) return false;
  const where = await compileExpr(p.where, p.targetTypes, aggregate);
  if (where === false) return false;
  const rows = await aggregate([{ $match: toFilter(andCond([liveOf(p.targetTypes), where])) }, { $project: { _id: 0, t: 1, i: 1 } }]);
  const byType = groupIds(rows.map((r) => [r.t, r.i]));
  const alternatives = [...byType].map(([t, ids]): Cond => andCond([{ rt: t }, inValues('ri', ids)]));
  return entryMatch(p.param, INDEX_ARRAY.reference, orCond(alternatives));
}

/**
 * Reverse chain: some live `targetType` resource matching `where` has a reference entry of `param`
 * to this document's type and id. The referring resources are found first; the (type, id) pairs
 * they point at restrict this document's own `t` and `i`.
 */
async function has(p: Extract<Predicate, { op: 'has' }>, types: readonly string[], aggregate: Aggregate): Promise<Cond> {
  const where = await compileExpr(p.where, [p.targetType], aggregate);
  if (where === false) return false;
  const refers = entryMatch(p.param, INDEX_ARRAY.reference, { rt: types.length > 0 ? { $in: [...types] } : { $ne: null }, ri: { $ne: null } });
  const rows = await aggregate([
    { $match: toFilter(andCond([liveOf([p.targetType]), where, refers])) },
    { $unwind: '$xr' },
    { $match: { 'xr.p': p.param, 'xr.rt': types.length > 0 ? { $in: [...types] } : { $ne: null }, 'xr.ri': { $ne: null } } },
    { $group: { _id: { t: '$xr.rt', i: '$xr.ri' } } },
  ]);
  const byType = groupIds(rows.map((r) => [(r._id as MongoDoc | undefined)?.t, (r._id as MongoDoc | undefined)?.i]));
  return orCond([...byType].map(([t, ids]): Cond => andCond([{ t }, inValues('i', ids)])));
}

/** Groups (type, id) pairs by type, ignoring anything that is not a pair of strings. */
function groupIds(pairs: ReadonlyArray<readonly [unknown, unknown]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [t, i] of pairs) {
    if (typeof t !== 'string' || typeof i !== 'string') continue;
    const list = out.get(t);
    if (list) list.push(i);
    else out.set(t, [i]);
  }
  return out;
}

/** All components within one composite entry: each is some element of its `cs`. */
function compositeConditions(p: CompositePredicate): Cond {
  return andCond(
    p.components.map((comp): Cond => {
      if (!isTyped(comp)) throw new FhirError('unsupported', `composite ${p.param}: a ${comp.op} component is not supported`);
      const cond = typedConditions(comp);
      if (cond === false) return false;
      return { cs: { $elemMatch: { p: comp.param, k: COMPONENT_KIND[comp.op], ...(cond === true ? {} : cond) } } };
    }),
  );
}

function isTyped(p: Predicate): p is TypedPredicate {
  return TYPED_OPS.has(p.op);
}

/** The conditions on one index entry (inside its `$elemMatch`) of a typed predicate. */
function typedConditions(p: TypedPredicate): Cond {
  switch (p.op) {
    case 'token':
      if (p.valueSet !== undefined || p.hierarchy !== undefined) throw unresolved(`parameter ${p.param} (:in/:not-in/:below/:above)`);
      // One of, in this order (as the in-memory matcher): :of-type, :text, anyOf, system|code.
      if (p.ofType !== undefined) return { ts: p.ofType.system, tc: p.ofType.code, c: p.ofType.value };
      if (p.text !== undefined) return startsWith('tx', p.text);
      if (p.anyOf !== undefined) {
        // `s: null` also matches an absent system: the index never stores null.
        const pairs = new Map(p.anyOf.map((a) => [JSON.stringify([a.system, a.code]), a]));
        return orCond([...pairs.values()].map((a): Cond => ({ c: a.code, s: a.system })));
      }
      return mergeAll([...(p.code !== undefined ? [{ c: p.code }] : []), ...(p.system !== undefined ? [{ s: p.system }] : [])]);
    case 'string':
      if (p.mode === 'exact') return { e: p.value };
      if (p.mode === 'contains') return contains('n', p.value);
      return startsWith('n', p.value);
    case 'date':
    case 'number':
      return rangeFilter(rangeCondition(p.prefix, p, p.approxDelta ?? 0), 'lo', 'hi');
    case 'quantity': {
      const parts: Cond[] = [];
      const code = typeof p.code === 'string' ? p.code : undefined;
      if (p.system === undefined) {
        // `value||unit`: any system, the code or the unit as written.
        if (code !== undefined) parts.push({ $or: [{ c: code }, { un: code }] });
      } else {
        parts.push({ s: p.system });
        if (code !== undefined) parts.push({ c: code });
      }
      parts.push(rangeFilter(rangeCondition(p.prefix, p, p.approxDelta ?? 0), 'lo', 'hi'));
      return andCond(parts);
    }
    case 'reference':
      // One of, in this order (as the in-memory matcher): :identifier, canonical url, type/id.
      if (p.identifier !== undefined) {
        return mergeAll([{ iv: p.identifier.value }, ...(p.identifier.system !== undefined ? [{ is: p.identifier.system }] : [])]);
      }
      if (p.url !== undefined) return mergeAll([{ url: p.url }, ...(p.urlVersion !== undefined ? [{ uv: p.urlVersion }] : [])]);
      if (p.id !== undefined) {
        return andCond([{ ri: p.id }, p.targetTypes !== undefined ? inValues('rt', p.targetTypes) : true, p.version !== undefined ? { rv: p.version } : true]);
      }
      return false;
    case 'uri':
      if (p.mode === 'exact') return { u: p.value };
      if (p.mode === 'below') return startsWith('u', p.value);
      // above: the stored uri is a prefix of the query value.
      return { u: { $in: prefixesOf(p.value) } };
  }
}

const OPERATOR: Readonly<Record<Bound['cmp'], string>> = { '<': '$lt', '<=': '$lte', '>': '$gt', '>=': '$gte' };
/** The operator of the negated comparison (numbers are totally ordered: no NaN is ever stored). */
const NEGATED: Readonly<Record<Bound['cmp'], string>> = { '<': '$gte', '<=': '$gt', '>': '$lte', '>=': '$lt' };

/**
 * The range condition over the stored bounds (`lowField`, `highField`; the same field for the point
 * range of `_lastUpdated`). A negated condition (`ne`) is the disjunction of the negated bounds, on
 * the same entry when inside an `$elemMatch`.
 */
export function rangeFilter(cond: RangeCondition, lowField: string, highField: string): Cond {
  const field = (b: Bound): string => (b.field === 'low' ? lowField : highField);
  if (cond.negate) return orCond(cond.all.map((b): Cond => ({ [field(b)]: { [NEGATED[b.cmp]]: b.value } })));
  const doc: Record<string, MongoDoc> = {};
  for (const b of cond.all) {
    const ops = (doc[field(b)] ??= {});
    const op = OPERATOR[b.cmp];
    if (op in ops) return andCond(cond.all.map((x): Cond => ({ [field(x)]: { [OPERATOR[x.cmp]]: x.value } })));
    ops[op] = b.value;
  }
  return cond.all.length === 0 ? true : doc;
}
