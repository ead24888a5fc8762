/**
 * History of the MongoDB store (FHIR R4 §3.1.0.9 http.html#history: instance, type and system level;
 * `_since`, `_at`, `_count`; newest first).
 *
 * Versions are ordered newest first by (`u` = lastUpdated in epoch ms, `_id` = `type/id/version`),
 * both descending: a total order (the `_id` is unique) that the `versions` indexes (u, _id) and
 * (t, u, _id) serve directly. Instance history is the same order: lastUpdated grows strictly with
 * each version of a resource (writes.ts), so it is version order. Pages are keyset pages: a page
 * reads `count + 1` documents and `next` is the last returned one's `[u, _id]`; `after` continues
 * strictly after it. New versions get the writing instance's clock, forced past the previous
 * version of the same resource; with instance clocks in step they are newer than every position, so
 * they never appear on later pages of a walk (a clock behind by d ms can place a version up to d ms
 * into the past of other resources: it is then seen once, or not at all, never twice).
 * `offset` remains as a starting point of a first page. Semantics mirror src/store/sqlite/history.ts.
 *
 * `_at` (a period [low, high]; an instant is [t, t]): the versions current at some time in the
 * period: of each resource the newest version at or before `low`, and every version written in
 * (low, high] (a `$unionWith` of the two, MongoDB 4.4 or later).
 */
import { FhirError } from '../../fhir/outcome';
import type { SearchPosition } from '../../search/ir';
import type { HistoryPage, HistoryQuery } from '../store';
import type { Doc, DriverCollection, DriverSession } from './driver';
import { HISTORY_ORDER, toStoredVersion, VERSION_PROJECTION, VERSIONS } from './documents';

export async function queryHistory(versions: DriverCollection, session: DriverSession | undefined, q: HistoryQuery): Promise<HistoryPage> {
  const filter: Doc = {};
  if (q.resourceType !== undefined) filter.t = q.resourceType;
  if (q.id !== undefined) {
    if (q.resourceType === undefined) throw new FhirError('fault', 'instance history needs a resource type');
    filter.i = q.id;
  }
  const since = q.since !== undefined ? instant('_since', q.since) : undefined;
  const sort: Record<string, -1> = { ...HISTORY_ORDER };
  const opts = session ? { session } : {};
  const count = Math.max(0, q.count);
  const offset = q.after !== undefined ? 0 : Math.max(0, q.offset);
  const keyset: Doc | undefined = q.after !== undefined ? afterFilter(q.after) : undefined;
  const u = (range: Doc): Doc => (since !== undefined ? { ...range, $gte: since } : range);

  let page: Doc[];
  let total: number;
  if (q.at === undefined) {
    const all: Doc = since !== undefined ? { ...filter, u: { $gte: since } } : filter;
    total = await versions.countDocuments(all, opts);
    page = count > 0 ? await versions.find(keyset ? { $and: [all, keyset] } : all, { ...opts, sort, skip: offset, limit: count + 1, projection: { ...VERSION_PROJECTION } }).toArray() : [];
  } else {
    const low = instant('_at', typeof q.at === 'string' ? q.at : q.at.low);
    const high = instant('_at', typeof q.at === 'string' ? q.at : q.at.high);
    const current: Doc[] = [
      // Of each resource, the version current at `low`...
      { $match: { ...filter, u: u({ $lte: low }) } },
      { $sort: { t: 1, i: 1, v: -1 } },
      { $group: { _id: { t: '$t', i: '$i' }, doc: { $first: '$$ROOT' } } },
      { $replaceRoot: { newRoot: '$doc' } },
      // ... and every version written during the period.
      ...(high > low ? [{ $unionWith: { coll: VERSIONS, pipeline: [{ $match: { ...filter, u: u({ $gt: low, $lte: high }) } }] } }] : []),
    ];
    const counted = await versions.aggregate([...current, { $count: 'n' }], opts).toArray();
    total = Number(counted[0]?.n ?? 0);
    page = count > 0 ? await versions.aggregate([...current, ...(keyset ? [{ $match: keyset }] : []), { $sort: sort }, { $skip: offset }, { $limit: count + 1 }], opts).toArray() : [];
  }
  const more = page.length > count;
  if (more) page.length = count;
  const result: HistoryPage = { entries: page.map(toStoredVersion), total };
  const last = page[page.length - 1];
  if (more && last) result.next = [Number(last.u), String(last._id)];
  return result;
}

/** Versions strictly after `[u, _id]` in HISTORY_ORDER (both descending). */
function afterFilter(after: SearchPosition): Doc {
  const [u, id] = after;
  if (after.length !== 2 || typeof u !== 'number' || !Number.isSafeInteger(u) || typeof id !== 'string') throw new FhirError('invalid', 'The paging position does not belong to this history');
  return { $or: [{ u: { $lt: u } }, { u, _id: { $lt: id } }] };
}

function instant(name: string, iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new FhirError('invalid', { diagnostics: `${name}=${iso} is not a valid instant`, expression: [name] });
  return t;
}
