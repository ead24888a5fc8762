/**
 * Runs a search on the MongoDB `resources` collection (FHIR R4 §3.1.1 search.html; §3.1.1.6 paging,
 * §3.1.1.7 sorting, `_total`): the page of current, non-deleted resources in sort order, the keyset
 * position after it, and the total when asked for, with the semantics of the SQLite store
 * (src/store/sqlite/search.ts):
 *
 * - Pipeline: `$match` {t, d: false, compiled filter} -> sort value stages (sort.ts) -> keyset
 *   `$match` (when `after` is given) -> `$sort` -> `$skip` (offset, only without `after`) ->
 *   `$limit` count + 1 -> `$project` of the stored version fields. The extra row tells whether a
 *   next page exists; its position is the last returned row's sort values then `_id` (values may
 *   be ±Infinity: the signed cursor encodes them), as in SQLite. The `_id` of a resource never
 *   changes, so without `_sort` a walk is stable under any writes.
 * - Watermark (`SearchQuery.watermark`): answered by the store (mongo-store.ts), which reads the
 *   newest version's lastUpdated before the page.
 * - Total: `$count` over the same `$match`, except when the page itself is the last one of an offset
 *   walk (fewer rows than asked, not past the end): then offset + rows, with no second query.
 *   `estimate` is answered like `accurate`.
 * - `count: 0` asks for the total only.
 *
 * `MongoSearchTarget` is all this needs of the driver: the store implements it over
 * `collection.aggregate(pipeline, { session }).toArray()`; the tests implement it with mingo.
 */
import type { SearchQuery } from '../../../search/ir';
import type { SearchPage, StoredVersion } from '../../store';
import { compileExpr, liveOf, type Aggregate } from './compile';
import { andCond, toFilter, type MongoDoc } from './filter';
import { compileSort, keysetFilter } from './sort';

/** The collection API a search needs (run in the caller's session / transaction by the implementation). */
export interface MongoSearchTarget {
  /** Runs an aggregation pipeline on the `resources` collection and returns every result document. */
  aggregate(pipeline: MongoDoc[]): Promise<MongoDoc[]>;
  /** The name of the `resources` collection, as `$lookup` (chained sorts) must name it. */
  readonly collectionName: string;
}

/** The pipelines of one search (exposed for tests and explain plans). */
export interface CompiledMongoSearch {
  /** The page, reading one document more than the page size; undefined when `count` is 0. */
  page?: MongoDoc[];
  /** The count of all matches (`[{ n }]`, or no document for none). */
  count: MongoDoc[];
  /** The sort fields whose values (then `_id`) make a row's keyset position. */
  positionFields: string[];
}

/** The stored version fields every page row carries. */
const VERSION_FIELDS = ['t', 'i', 'v', 'lu', 'd', 'm', 'j'] as const;

/** Compiles a query to its pipelines (chains and `_has` run their sub-queries through `target`). */
export async function compileSearch(target: MongoSearchTarget, q: SearchQuery): Promise<CompiledMongoSearch> {
  const aggregate: Aggregate = (p) => target.aggregate(p);
  const where = q.where !== undefined ? await compileExpr(q.where, q.resourceTypes, aggregate) : true;
  const match: MongoDoc = { $match: toFilter(andCond([liveOf(q.resourceTypes), where])) };
  const sort = compileSort(q.sort, target.collectionName);
  const positionFields = sort.fields.map((f) => f.field);
  const compiled: CompiledMongoSearch = { count: [match, { $count: 'n' }], positionFields };
  if (q.count <= 0) return compiled;
  const lastDesc = q.sort.length > 0 && q.sort[q.sort.length - 1]!.descending;
  const project: MongoDoc = { _id: 1 };
  for (const f of [...VERSION_FIELDS, ...positionFields]) project[f] = 1;
  compiled.page = [
    match,
    ...sort.stages,
    ...(q.after !== undefined ? [{ $match: toFilter(keysetFilter(q.after, sort.fields, lastDesc)) }] : []),
    { $sort: sort.spec },
    ...(q.after === undefined && q.offset > 0 ? [{ $skip: q.offset }] : []),
    { $limit: q.count + 1 },
    { $project: project },
  ];
  return compiled;
}

/** A page row as a stored version ({t, i, v, lu, d, m, j} of the shared document model). */
export function storedVersionOf(doc: MongoDoc): StoredVersion {
  return {
    resourceType: String(doc.t),
    id: String(doc.i),
    versionId: Number(doc.v),
    lastUpdated: String(doc.lu),
    deleted: doc.d === true,
    json: typeof doc.j === 'string' ? doc.j : undefined,
    method: String(doc.m) as StoredVersion['method'],
  };
}

export async function runSearch(target: MongoSearchTarget, q: SearchQuery): Promise<SearchPage> {
  const compiled = await compileSearch(target, q);
  const rows = compiled.page ? await target.aggregate(compiled.page) : [];
  const more = rows.length > q.count;
  if (more) rows.length = q.count;
  const page: SearchPage = { entries: rows.map(storedVersionOf) };
  const last = rows[rows.length - 1];
  if (more && last) page.next = [...compiled.positionFields.map((f) => positionValue(last[f])), positionValue(last._id)];
  if (q.total !== 'none' || q.count <= 0) {
    const lastPage = q.count > 0 && !more && q.after === undefined && (rows.length > 0 || q.offset === 0);
    if (lastPage) page.total = q.offset + rows.length;
    else {
      const counted = await target.aggregate(compiled.count);
      page.total = Number(counted[0]?.n ?? 0);
    }
  }
  return page;
}

/** A sort value as a JSON position value (absent and null are both "no value"). */
function positionValue(v: unknown): string | number | null {
  return typeof v === 'string' || typeof v === 'number' ? v : null;
}
