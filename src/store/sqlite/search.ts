/**
 * Runs a compiled search (FHIR R4 §3.1.1 search.html "Paging", "Sorting", "_total"): the page of
 * current, non-deleted resources in sort order, and the total when asked for, from one snapshot.
 */
import type { SearchQuery } from '../../search/ir';
import type { SearchPage } from '../store';
import type { StatementCache } from './connection';
import { toStoredVersion, type VersionRow } from './rows';
import { hasIndexDriver, SearchCompiler } from './search-compiler';
import { inList, join, frag, type Frag } from './sql-text';

export interface CompiledSearch {
  /** SELECT of the page (bound values in `pageParams`). */
  pageSql: string;
  pageParams: Array<string | number | null>;
  /** SELECT COUNT(*) of all matches. */
  countSql: string;
  countParams: Array<string | number | null>;
}

/** Builds the SQL of a search query (exposed for EXPLAIN QUERY PLAN tests). */
export function compileSearch(q: SearchQuery): CompiledSearch {
  const c = new SearchCompiler();
  // When an index lookup can drive the search, keep the planner off the (unselective) type index:
  // the unary + makes `r.type` a plain filter on the rows the index subquery yields.
  const typeCol = q.where !== undefined && hasIndexDriver(q.where) ? '+r.type' : 'r.type';
  const where: Frag = join('AND', [inList(typeCol, q.resourceTypes), frag('r.deleted = 0'), ...(q.where ? [c.expr(q.where, 'r', q.resourceTypes)] : [])]);
  const sorts = c.sortColumns(q.sort, 'r');
  const select = ['r.type', 'r.id', 'r.version', 'r.last_updated', 'r.deleted', 'r.method', 'r.json', ...sorts.map((s, n) => `${s.sql} AS s${n}`)];
  const order = [
    ...q.sort.flatMap((k, n) => [`(s${n} IS NULL)`, `s${n} ${k.descending ? 'DESC' : 'ASC'}`]),
    'r.rid',
  ];
  return {
    pageSql: `SELECT ${select.join(', ')} FROM resource r WHERE ${where.sql} ORDER BY ${order.join(', ')} LIMIT ? OFFSET ?`,
    pageParams: [...sorts.flatMap((s) => s.params), ...where.params, Math.max(0, q.count), Math.max(0, q.offset)],
    countSql: `SELECT COUNT(*) AS n FROM resource r WHERE ${where.sql}`,
    countParams: where.params,
  };
}

export function runSearch(st: StatementCache, q: SearchQuery): SearchPage {
  const compiled = compileSearch(q);
  const run = (): SearchPage => {
    const rows = q.count > 0 ? (st.get(compiled.pageSql).all(...compiled.pageParams) as VersionRow[]) : [];
    const page: SearchPage = { entries: rows.map(toStoredVersion) };
    if (q.total !== 'none' || q.count === 0) page.total = (st.get(compiled.countSql).get(...compiled.countParams) as { n: number }).n;
    return page;
  };
  return st.db.inTransaction ? run() : st.db.transaction(run)();
}
