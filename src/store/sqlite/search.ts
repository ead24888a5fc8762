/**
 * Runs a compiled search (FHIR R4 §3.1.1 search.html "Paging", "Sorting", "_total"): the page of
 * current, non-deleted resources in sort order, and the total when asked for, from one snapshot.
 *
 * Order: each sort key in its direction with resources lacking a value last (`(s IS NULL)` before
 * the key; omitted for `_id` / `_lastUpdated`, which always have one), then the resource's `rid` as
 * the tiebreak, in the direction of the last key (ascending without keys), so a single-key
 * `_lastUpdated` / `_id` sort in either direction is one index scan.
 *
 * Keyset paging: the page reads `count + 1` rows; when the extra row exists, `next` is the position
 * of the last returned row: its sort values followed by its rid. `after` (such a position) restricts
 * the search to rows strictly after it in that order (`OFFSET` is then not used). Rows with equal
 * sort values are ordered by rid, so none is skipped or repeated across pages, NULLs included (a
 * NULL key value is "after" every value and equal only to NULL). Every sort this store accepts
 * pages by keyset; a position may hold ±Infinity (an open date range or Range), which the signed
 * cursor encodes (src/search/cursor.ts). A resource keeps its rid when it is updated, so without
 * `_sort` (rid order) a walk is stable under any writes.
 *
 * Watermark (`SearchQuery.watermark`): the `last_updated` of the newest version in the same read
 * snapshot. Instants are strictly increasing per store and taken inside the write transaction, so
 * every write committed after the snapshot is newer than it.
 *
 * Total (`_total`): COUNT(*) over the same WHERE in the same read transaction, except when the page
 * itself is the last one of an offset walk (fewer rows than asked, not past the end): then the total
 * is offset + rows, with no second statement. A selective search therefore costs one statement. When
 * the query needs nothing of the resource row but its rid (one index lookup drives, the other
 * parameters are probes on index rows), the COUNT reads the driving index table only
 * (`SearchCompiler.countRidsOnly`), never the resource table.
 */
import { FhirError } from '../../fhir/outcome';
import type { SearchPosition, SearchQuery } from '../../search/ir';
import type { SearchPage } from '../store';
import type { StatementCache } from './connection';
import { toStoredVersion, type VersionRow } from './rows';
import { SearchCompiler, typeColumn, type SortColumn } from './search-compiler';
import { inList, join, frag, FALSE, type Frag, type SqlValue } from './sql-text';

export interface CompiledSearch {
  /** SELECT of the page (bound values in `pageParams`); reads one row more than the page size. */
  pageSql: string;
  pageParams: SqlValue[];
  /** SELECT COUNT(*) of all matches. */
  countSql: string;
  countParams: SqlValue[];
}

/** Page rows: the stored version, the sort values `s0..` and the rid (the keyset position). */
type PageRow = VersionRow & { rid_: number } & Record<string, SqlValue>;

/** Builds the SQL of a search query (exposed for EXPLAIN QUERY PLAN tests). */
export function compileSearch(q: SearchQuery): CompiledSearch {
  const c = new SearchCompiler();
  // When an index lookup drives the search, keep the planner off the (unselective) type index.
  const typeCol = typeColumn('r.type', q.where);
  const where: Frag = join('AND', [inList(typeCol, q.resourceTypes), frag('r.deleted = 0'), ...(q.where ? [c.expr(q.where, 'r', q.resourceTypes)] : [])]);
  const sorts = c.sortColumns(q.sort, 'r');
  const ridDesc = q.sort.length > 0 && q.sort[q.sort.length - 1]!.descending;
  const keyset = q.after !== undefined ? keysetCondition(q, sorts, ridDesc) : undefined;
  const pageWhere = keyset ? join('AND', [where, keyset]) : where;
  const select = ['r.type', 'r.id', 'r.version', 'r.last_updated', 'r.deleted', 'r.method', 'r.json', 'r.rid AS rid_', ...sorts.map((s, n) => `${s.value.sql} AS s${n}`)];
  const order = [
    ...q.sort.flatMap((k, n) => {
      const dir = k.descending ? 'DESC' : 'ASC';
      // Non-null keys are ordered by their own expression (a column), so an index can give the order.
      return sorts[n]!.nullable ? [`(s${n} IS NULL)`, `s${n} ${dir}`] : [`${sorts[n]!.value.sql} ${dir}`];
    }),
    `r.rid ${ridDesc ? 'DESC' : 'ASC'}`,
  ];
  // The total from the driving index alone when the rest of the query needs only rids (see countRidsOnly).
  const rids = q.where && q.resourceTypes.length > 0 ? c.countRidsOnly(q.where, q.resourceTypes) : undefined;
  return {
    pageSql: `SELECT ${select.join(', ')} FROM resource r WHERE ${pageWhere.sql} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`,
    pageParams: [...sorts.flatMap((s) => s.value.params), ...pageWhere.params, Math.max(0, q.count) + 1, q.after !== undefined ? 0 : Math.max(0, q.offset)],
    countSql: rids ? rids.sql : `SELECT COUNT(*) AS n FROM resource r WHERE ${where.sql}`,
    countParams: rids ? rids.params : where.params,
  };
}

/** Checks that `after` is a position of this query's shape: one value per sort key, then an integer rid. */
function checkPosition(q: SearchQuery): SearchPosition {
  const after = q.after!;
  const rid = after[after.length - 1];
  const ok =
    Array.isArray(after) &&
    after.length === q.sort.length + 1 &&
    typeof rid === 'number' &&
    Number.isSafeInteger(rid) &&
    after.every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && !Number.isNaN(v)));
  if (!ok) throw new FhirError('invalid', 'The paging position does not belong to this search (sort keys changed?)');
  return after;
}

/**
 * Rows strictly after the position in the ORDER BY of compileSearch: the lexicographic OR-expansion
 * "equal on the first k keys and after on key k" for each k, then "equal on all, rid after".
 */
function keysetCondition(q: SearchQuery, sorts: readonly SortColumn[], ridDesc: boolean): Frag {
  const pos = checkPosition(q);
  const eq = (n: number): Frag => {
    const s = sorts[n]!.value;
    return { sql: `${s.sql} IS ?`, params: [...s.params, pos[n]!] };
  };
  const after = (n: number): Frag => {
    const v = pos[n]!;
    const { value: s, nullable } = sorts[n]!;
    if (v === null) return FALSE; // NULLs come last: nothing is after a NULL but rows equal on it.
    const cmp = q.sort[n]!.descending ? '<' : '>';
    const strictly: Frag = { sql: `${s.sql} ${cmp} ?`, params: [...s.params, v] };
    return nullable ? { sql: `(${strictly.sql} OR ${s.sql} IS NULL)`, params: [...strictly.params, ...s.params] } : strictly;
  };
  const alternatives: Frag[] = [];
  for (let k = 0; k <= sorts.length; k++) {
    const prefix = Array.from({ length: k }, (_, n) => eq(n));
    const last = k < sorts.length ? after(k) : frag(`r.rid ${ridDesc ? '<' : '>'} ?`, pos[sorts.length]!);
    if (last === FALSE) continue;
    alternatives.push(join('AND', [...prefix, last]));
  }
  const all = join('OR', alternatives);
  // A leading range on the first key when it is a column (`_id`, `_lastUpdated`): an index seek.
  const first = sorts[0];
  if (first && !first.nullable && pos[0] !== null) {
    const seek = frag(`${first.value.sql} ${q.sort[0]!.descending ? '<=' : '>='} ?`, pos[0]!);
    return join('AND', [seek, all]);
  }
  return all;
}

/** SQLITE_MAX_VARIABLE_NUMBER of the SQLite build better-sqlite3 ships (PRAGMA compile_options). */
const MAX_BOUND_VALUES = 32766;

/**
 * Refuses (400 `too-costly`) a search whose statement would bind more values than SQLite accepts:
 * each limit of docs/limits.md may be respected while their product is not (50 parameters of 100
 * values each, through chains whose target types are listed). Without this, SQLite would refuse the
 * statement with "too many SQL variables" (a 500).
 */
function checkBoundValues(compiled: CompiledSearch): void {
  const n = Math.max(compiled.pageParams.length, compiled.countParams.length);
  if (n <= MAX_BOUND_VALUES) return;
  throw new FhirError('too-costly', {
    diagnostics: `The search is too complex to run: it needs ${n} bound values, more than the ${MAX_BOUND_VALUES} the database accepts in one statement; use fewer parameters, values or chain hops together`,
  });
}

export function runSearch(st: StatementCache, q: SearchQuery): SearchPage {
  const compiled = compileSearch(q);
  checkBoundValues(compiled);
  const run = (): SearchPage => {
    const rows = q.count > 0 ? (st.get(compiled.pageSql).all(...compiled.pageParams) as PageRow[]) : [];
    const more = rows.length > q.count;
    if (more) rows.length = q.count;
    const page: SearchPage = { entries: rows.map(toStoredVersion) };
    const last = rows[rows.length - 1];
    if (more && last) page.next = [...q.sort.map((_, n) => last[`s${n}`] ?? null), last.rid_];
    if (q.watermark) page.watermark = (st.get('SELECT last_updated AS t FROM version ORDER BY seq DESC LIMIT 1').get() as { t: number } | undefined)?.t ?? 0;
    if (q.total !== 'none' || q.count === 0) {
      // The last page of an offset walk (not past the end) already holds the total: no COUNT needed.
      const lastPage = q.count > 0 && !more && q.after === undefined && (rows.length > 0 || q.offset === 0);
      page.total = lastPage ? q.offset + rows.length : (st.get(compiled.countSql).get(...compiled.countParams) as { n: number }).n;
    }
    return page;
  };
  return st.db.inTransaction ? run() : st.db.transaction(run)();
}
