/**
 * History of the MongoDB store (FHIR R4 §3.1.0 http.html "history": instance, type and system level;
 * `_since`, `_at`, `_count`; newest first).
 *
 * Versions are ordered newest first by (`u` = lastUpdated in epoch ms, `_id` = `type/id/version`),
 * both descending: a total order (the `_id` is unique) that the `versions` indexes (u, _id) and
 * (t, u, _id) serve directly, and that a keyset position (u, _id) can continue. Instance history is
 * the same order: lastUpdated grows strictly with each version of a resource (writes.ts), so it is
 * version order. New versions get the writing instance's clock, forced past the previous version of
 * the same resource; with instance clocks in step they appear at the front, so offset paging stays
 * stable while writes go on (as with the former global sequence; a clock behind by d ms can insert a
 * version up to d ms into the past of other resources). Semantics mirror src/store/sqlite/history.ts.
 */
import { FhirError } from '../../fhir/outcome';
import type { HistoryPage, HistoryQuery } from '../store';
import type { Doc, DriverCollection, DriverSession } from './driver';
import { HISTORY_ORDER, toStoredVersion, VERSION_PROJECTION } from './documents';

export async function queryHistory(versions: DriverCollection, session: DriverSession | undefined, q: HistoryQuery): Promise<HistoryPage> {
  const filter: Doc = {};
  if (q.resourceType !== undefined) filter.t = q.resourceType;
  if (q.id !== undefined) {
    if (q.resourceType === undefined) throw new FhirError('fault', 'instance history needs a resource type');
    filter.i = q.id;
  }
  const since = q.since !== undefined ? instant('_since', q.since) : undefined;
  const at = q.at !== undefined ? instant('_at', q.at) : undefined;
  const u: Doc = {};
  if (since !== undefined) u.$gte = since;
  if (at !== undefined) u.$lte = at;
  if (Object.keys(u).length > 0) filter.u = u;
  const sort: Record<string, -1> = { ...HISTORY_ORDER };
  const opts = session ? { session } : {};
  const count = Math.max(0, q.count);
  const offset = Math.max(0, q.offset);

  if (at === undefined) {
    const total = await versions.countDocuments(filter, opts);
    const docs = count > 0 ? await versions.find(filter, { ...opts, sort, skip: offset, limit: count, projection: { ...VERSION_PROJECTION } }).toArray() : [];
    return { entries: docs.map(toStoredVersion), total };
  }
  // `_at`: of each resource, the newest version at or before the instant.
  const current: Doc[] = [
    { $match: filter },
    { $sort: { t: 1, i: 1, v: -1 } },
    { $group: { _id: { t: '$t', i: '$i' }, doc: { $first: '$$ROOT' } } },
    { $replaceRoot: { newRoot: '$doc' } },
  ];
  const counted = await versions.aggregate([...current, { $count: 'n' }], opts).toArray();
  const total = Number(counted[0]?.n ?? 0);
  const docs = count > 0 ? await versions.aggregate([...current, { $sort: sort }, { $skip: offset }, { $limit: count }], opts).toArray() : [];
  return { entries: docs.map(toStoredVersion), total };
}

function instant(name: string, iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new FhirError('invalid', { diagnostics: `${name}=${iso} is not a valid instant`, expression: [name] });
  return t;
}
