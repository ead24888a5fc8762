/**
 * History of the SQLite store (FHIR R4 §3.1.0.9 http.html#history: instance, type and system level;
 * `_since`, `_at`, `_count`; newest first).
 *
 * Versions are ordered newest first by the global sequence `seq` (unique, growing with
 * `last_updated`; one resource's versions grow with it too, so instance history orders by version
 * and the (type, id, version) index serves it). Pages are keyset pages: a page reads `count + 1`
 * rows, and when the extra row exists `next` is `[seq]` of the last returned row; `after` (such a
 * position) continues with `seq < position`. Versions written during a walk have a larger `seq`
 * than every position, so they never shift or repeat later pages. `offset` remains as a starting
 * point of a first page.
 *
 * `_at` (a period [low, high]; an instant is [t, t]): the versions current at some time in the
 * period: written at or before `high`, and not replaced by the next version at or before `low`.
 */
import { FhirError } from '../../fhir/outcome';
import type { SearchPosition } from '../../search/ir';
import type { HistoryPage, HistoryQuery } from '../store';
import type { StatementCache } from './connection';
import { toStoredVersion, type VersionRow } from './rows';

type SqlValue = string | number;

export function queryHistory(st: StatementCache, q: HistoryQuery): HistoryPage {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (q.resourceType !== undefined) {
    where.push('v.type = ?');
    params.push(q.resourceType);
  }
  if (q.id !== undefined) {
    if (q.resourceType === undefined) throw new FhirError('fault', 'instance history needs a resource type');
    where.push('v.id = ?');
    params.push(q.id);
  }
  if (q.since !== undefined) {
    where.push('v.last_updated >= ?');
    params.push(instant('_since', q.since));
  }
  if (q.at !== undefined) {
    const low = instant('_at', typeof q.at === 'string' ? q.at : q.at.low);
    const high = instant('_at', typeof q.at === 'string' ? q.at : q.at.high);
    where.push('v.last_updated <= ? AND NOT EXISTS (SELECT 1 FROM version w WHERE w.type = v.type AND w.id = v.id AND w.version = v.version + 1 AND w.last_updated <= ?)');
    params.push(high, low);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const pageWhere = q.after !== undefined ? `${whereSql ? `${whereSql} AND` : 'WHERE'} v.seq < ?` : whereSql;
  const pageParams = q.after !== undefined ? [...params, positionSeq(q.after)] : params;
  const order = q.id !== undefined ? 'v.version DESC' : 'v.seq DESC';
  const run = (): HistoryPage => {
    const total = (st.get(`SELECT COUNT(*) AS n FROM version v ${whereSql}`).get(...params) as { n: number }).n;
    const rows =
      q.count > 0
        ? (st
            .get(`SELECT v.seq, v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.json FROM version v ${pageWhere} ORDER BY ${order} LIMIT ? OFFSET ?`)
            .all(...pageParams, q.count + 1, q.after !== undefined ? 0 : Math.max(0, q.offset)) as Array<VersionRow & { seq: number }>)
        : [];
    const more = rows.length > q.count;
    if (more) rows.length = q.count;
    const page: HistoryPage = { entries: rows.map(toStoredVersion), total };
    const last = rows[rows.length - 1];
    if (more && last) page.next = [last.seq];
    return page;
  };
  // One snapshot for the page and its total.
  return st.db.inTransaction ? run() : st.db.transaction(run)();
}

function positionSeq(after: SearchPosition): number {
  const seq = after[0];
  if (after.length !== 1 || typeof seq !== 'number' || !Number.isSafeInteger(seq)) throw new FhirError('invalid', 'The paging position does not belong to this history');
  return seq;
}

function instant(name: string, iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new FhirError('invalid', { diagnostics: `${name}=${iso} is not a valid instant`, expression: [name] });
  return t;
}
