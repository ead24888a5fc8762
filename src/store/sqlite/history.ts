/**
 * History of the SQLite store (FHIR R4 §3.1.0 http.html "history": instance, type and system level;
 * `_since`, `_at`, `_count`; newest first).
 *
 * Versions are ordered by the global sequence `seq`, which grows with `last_updated`, so paging by
 * offset is stable while new versions are appended (they only ever appear at the front).
 */
import { FhirError } from '../../fhir/outcome';
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
    const at = instant('_at', q.at);
    where.push('v.last_updated <= ? AND v.seq = (SELECT MAX(w.seq) FROM version w WHERE w.type = v.type AND w.id = v.id AND w.last_updated <= ?)');
    params.push(at, at);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  // One resource's versions grow with seq: ordering by version lets the (type, id, version) index serve it.
  const order = q.id !== undefined ? 'v.version DESC' : 'v.seq DESC';
  const run = (): HistoryPage => {
    const total = (st.get(`SELECT COUNT(*) AS n FROM version v ${whereSql}`).get(...params) as { n: number }).n;
    const rows =
      q.count > 0
        ? (st.get(`SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.method, v.json FROM version v ${whereSql} ORDER BY ${order} LIMIT ? OFFSET ?`).all(
            ...params,
            q.count,
            Math.max(0, q.offset),
          ) as VersionRow[])
        : [];
    return { entries: rows.map(toStoredVersion), total };
  };
  // One snapshot for the page and its total.
  return st.db.inTransaction ? run() : st.db.transaction(run)();
}

function instant(name: string, iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new FhirError('invalid', { diagnostics: `${name}=${iso} is not a valid instant`, expression: [name] });
  return t;
}
