/**
 * `_sort` and keyset positions for the MongoDB store (FHIR R4 §3.1.1.7 search.html "Sorting",
 * §3.1.1.6 "Paging"), with the rules of the in-memory matcher and the SQLite store:
 *
 * - The value of a key is the lowest (ascending) / highest (descending) of the per-entry values of
 *   its parameter: string `n`; token `c`, else `tx`; date `lo` ascending / `hi` descending; number
 *   and quantity `v`; reference `rt/ri`, else `url`; uri `u`; `_id` the id `i`; `_lastUpdated` `u`.
 *   It is computed per document with `$min` / `$max` over `$map` of `$filter` on the index array of
 *   the key's kind (`xs`, `xt`, ...: index-docs.ts) (`s<n>`).
 * - A chained key (`patient.birthdate`) follows the reference hops with `$lookup` on `_id` (which is
 *   `Type/id`): hop 0 takes the `rt/ri` of the document's reference entries of the hop's parameter
 *   and target types, each further hop those of the live documents reached so far; the value is the
 *   lowest / highest over every live document reached by the last hop.
 * - Documents without a value come last in both directions: a `z<n>` flag (1 when null) sorts first.
 * - The tiebreak is `_id` in the direction of the last key (ascending without keys), so a single-key
 *   `_lastUpdated` / `_id` sort is one index scan (`{t, d, u}` / `{t, d, i}` then `_id`).
 * - A keyset position is the sort values then `_id`; "after" it is the lexicographic OR-expansion
 *   over (`z<n>`, `s<n>`) per key then `_id`, exactly as SQLite's keysetCondition.
 *
 * Operators used (all in MongoDB 7 and in mingo): `$addFields`, `$lookup` (localField/foreignField),
 * `$filter`, `$map`, `$reduce`, `$concatArrays`, `$concat`, `$ifNull`, `$in`, `$eq`, `$and`, `$cond`,
 * `$min` / `$max` over an array.
 */
import { FhirError } from '../../../fhir/outcome';
import type { IndexKind } from '../../../search/index-entry';
import type { SearchPosition, SortKey } from '../../../search/ir';
import { andCond, orCond, type Cond, type MongoDoc } from './filter';
import { INDEX_ARRAY } from './index-docs';

/** How one sort key reads and compares. */
export interface SortField {
  /** The document field holding the key's value (`i`, `u` or a computed `s<n>`). */
  field: string;
  /** True for computed values that can be null (then a `z<n>` flag orders nulls last). */
  nullable: boolean;
  descending: boolean;
}

export interface CompiledSort {
  /** Stages computing the sort values (and dropping the helper fields of chained keys). */
  stages: MongoDoc[];
  fields: SortField[];
  /** The `$sort` specification (null flags, values, then `_id`). */
  spec: Record<string, 1 | -1>;
  /** Helper fields to leave out of the results. */
  temporary: string[];
}

const nullFlag = (n: number): string => `z${n}`;

/** The per-entry sort value of `kind` for the entry in variable `v` (an aggregation expression). */
function entryValue(kind: IndexKind, descending: boolean, v: string): unknown {
  switch (kind) {
    case 'string':
      return `$$${v}.n`;
    case 'token':
      return { $ifNull: [`$$${v}.c`, `$$${v}.tx`] };
    case 'date':
      return descending ? `$$${v}.hi` : `$$${v}.lo`;
    case 'number':
    case 'quantity':
      return `$$${v}.v`;
    case 'reference':
      return { $ifNull: [{ $concat: [`$$${v}.rt`, '/', `$$${v}.ri`] }, `$$${v}.url`] };
    case 'uri':
      return `$$${v}.u`;
    case 'composite':
    case 'text':
      throw new FhirError('unsupported', `sorting by a ${kind} parameter is not supported`);
  }
}

/** The values (an array expression) of a plain key over the index arrays of the document `input`. */
function keyValues(k: SortKey, input: string): unknown {
  if (k.kind === 'special') {
    if (k.param === '_id') return [`${input}.i`];
    if (k.param === '_lastUpdated') return [`${input}.u`];
    throw new FhirError('unsupported', `sorting by ${k.param} is not supported`);
  }
  const kind = k.kind;
  return {
    $map: {
      input: { $filter: { input: { $ifNull: [`${input}.${INDEX_ARRAY[kind]}`, []] }, as: 'e', cond: { $eq: ['$$e.p', k.param] } } },
      as: 'e',
      // An entry without a value gives an explicit null, which `$min` / `$max` skip. (MongoDB turns a
      // missing value inside `$map` into null anyway; mingo keeps it undefined, and its `$max` over an
      // array holding undefined answers null — the explicit null makes both agree.)
      in: { $ifNull: [entryValue(kind, k.descending, 'e'), null] },
    },
  };
}

/** The `Type/id` of the reference entries of `hop` in the document (expression) `doc`. */
function hopTargets(hop: { param: string; targetTypes: string[] }, doc: string): unknown {
  return {
    $map: {
      input: {
        $filter: {
          input: { $ifNull: [`${doc}.${INDEX_ARRAY.reference}`, []] },
          as: 'e',
          cond: { $and: [{ $eq: ['$$e.p', hop.param] }, { $in: ['$$e.rt', hop.targetTypes] }] },
        },
      },
      as: 'e',
      in: { $concat: ['$$e.rt', '/', '$$e.ri'] },
    },
  };
}

/** The live documents of a looked-up array field. */
const liveDocs = (field: string): unknown => ({ $filter: { input: `$${field}`, as: 'h', cond: { $eq: ['$$h.d', false] } } });

/** Concatenation over the live documents of `field` of `each(docVar)` (an array expression per document). */
function overLive(field: string, each: (doc: string) => unknown): unknown {
  return { $reduce: { input: liveDocs(field), initialValue: [], in: { $concatArrays: ['$$value', each('$$this')] } } };
}

/** Compiles the sort keys; `collection` is the `resources` collection's name (for `$lookup`). */
export function compileSort(keys: readonly SortKey[], collection: string): CompiledSort {
  const stages: MongoDoc[] = [];
  const computed: MongoDoc = {};
  const flags: MongoDoc = {};
  const temporary: string[] = [];
  const fields: SortField[] = keys.map((k, n): SortField => {
    if (k.kind === 'special' && !(k.chain && k.chain.length > 0)) {
      if (k.param === '_id') return { field: 'i', nullable: false, descending: k.descending };
      if (k.param === '_lastUpdated') return { field: 'u', nullable: false, descending: k.descending };
      throw new FhirError('unsupported', `sorting by ${k.param} is not supported`);
    }
    const field = `s${n}`;
    const agg = k.descending ? '$max' : '$min';
    if (k.chain && k.chain.length > 0) {
      // One $addFields + $lookup per hop; the hop's documents land in `h<n>_<hop>`.
      let docs: string | undefined;
      k.chain.forEach((hop, h) => {
        const refs = `r${n}_${h}`;
        const as = `h${n}_${h}`;
        const prev = docs;
        stages.push({ $addFields: { [refs]: prev === undefined ? hopTargets(hop, '$$ROOT') : overLive(prev, (d) => hopTargets(hop, d)) } });
        stages.push({ $lookup: { from: collection, localField: refs, foreignField: '_id', as } });
        temporary.push(refs, as);
        docs = as;
      });
      computed[field] = { [agg]: overLive(docs!, (d) => keyValues(k, d)) };
    } else {
      computed[field] = { [agg]: keyValues(k, '$$ROOT') };
    }
    flags[nullFlag(n)] = { $cond: [{ $eq: [{ $ifNull: [`$${field}`, null] }, null] }, 1, 0] };
    temporary.push(field, nullFlag(n));
    return { field, nullable: true, descending: k.descending };
  });
  if (Object.keys(computed).length > 0) {
    stages.push({ $addFields: computed });
    stages.push({ $addFields: flags });
  }
  const spec: Record<string, 1 | -1> = {};
  fields.forEach((f, n) => {
    if (f.nullable) spec[nullFlag(n)] = 1;
    // A repeated field (`_sort=_id,-_id`) adds nothing to the order: its first direction holds.
    if (!(f.field in spec)) spec[f.field] = f.descending ? -1 : 1;
  });
  const lastDesc = keys.length > 0 && keys[keys.length - 1]!.descending;
  spec._id = lastDesc ? -1 : 1;
  return { stages, fields, spec, temporary };
}

/** Checks that `after` is a position of this sort: one value per key, then the `_id` string. */
export function checkPosition(after: SearchPosition, fields: readonly SortField[]): SearchPosition {
  const last = after[after.length - 1];
  const ok =
    Array.isArray(after) &&
    after.length === fields.length + 1 &&
    typeof last === 'string' &&
    after.every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && !Number.isNaN(v)));
  if (!ok) throw new FhirError('invalid', 'The paging position does not belong to this search (sort keys changed?)');
  return after;
}

/** Documents strictly after `after` in the order of compileSort (see the module header). */
export function keysetFilter(after: SearchPosition, fields: readonly SortField[], lastDescending: boolean): Cond {
  const pos = checkPosition(after, fields);
  const eq = (n: number): Cond => {
    const f = fields[n]!;
    return { [f.field]: pos[n] ?? null };
  };
  const isAfter = (n: number): Cond => {
    const f = fields[n]!;
    const v = pos[n] ?? null;
    if (v === null) return false; // nulls come last: only rows equal on it follow a null
    const strictly: Cond = { [f.field]: { [f.descending ? '$lt' : '$gt']: v } };
    return f.nullable ? orCond([strictly, { [nullFlag(n)]: 1 }]) : strictly;
  };
  const alternatives: Cond[] = [];
  for (let k = 0; k <= fields.length; k++) {
    const prefix = Array.from({ length: k }, (_, n) => eq(n));
    const last: Cond = k < fields.length ? isAfter(k) : { _id: { [lastDescending ? '$lt' : '$gt']: pos[fields.length]! } };
    alternatives.push(andCond([...prefix, last]));
  }
  return orCond(alternatives);
}
