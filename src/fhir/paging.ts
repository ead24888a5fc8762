/**
 * Page links of searchset and history Bundles (FHIR R4 §3.1.1.6 search.html "Paging", §2.36.4
 * bundle.html links). Links repeat the request's selecting parameters plus `_count` and a signed
 * `_cursor` (src/search/cursor.ts) carrying the position: an offset, and the store's keyset position
 * when it returned one. Nothing is kept on the server, so any instance sharing CURSOR_SECRET can serve
 * any page; a cursor moved to another query, altered or signed with another key is a 400.
 * `_offset` is still accepted as a starting point; links never repeat it.
 */
import type { BundleLink } from 'fhir/r4';
import { FhirError } from './outcome';
import type { FhirRequest } from './types';
import { cursorKey, queryHash, signCursor, verifyCursor, type CursorPayload } from '../search/cursor';
import type { SearchPosition } from '../search/ir';

export interface PageRequest {
  count: number;
  offset: number;
  /** Keyset position to start after (from a cursor). */
  after?: SearchPosition;
  /** The total counted when the first page was served (from a cursor): later pages reuse it. */
  total?: number;
}

export interface PagingConfig {
  defaultPageSize: number;
  maxPageSize: number;
  cursorSecret: string | undefined;
}

/** Parameters that position a page: never hashed, never repeated as such in links. */
const POSITION_PARAMS = new Set(['_cursor', '_offset', '_count']);
/** Parameters that only shape the response format: repeated in links, not hashed. */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);

/** The path links point at: `[type]/_search` (POST) pages are served by GET `[type]`. */
function linkPath(req: FhirRequest): string {
  return req.path.replace(/(^|\/)_search$/, '');
}

function selecting(req: FhirRequest): Array<[string, string]> {
  return req.query.filter(([k]) => !POSITION_PARAMS.has(k) && !FORMAT_PARAMS.has(k));
}

function sortSpec(req: FhirRequest): string {
  return req.query
    .filter(([k]) => k === '_sort')
    .map(([, v]) => v)
    .join(',');
}

function hashOf(req: FhirRequest, caller: string | undefined): string {
  return queryHash(linkPath(req), selecting(req), caller);
}

/** `caller`: AccessControl.key of the request; a cursor minted for another caller is refused. */
export function pageRequest(req: FhirRequest, cfg: PagingConfig, caller?: string): PageRequest {
  let count: number | undefined;
  let offset = 0;
  let cursor: string | undefined;
  for (const [k, v] of req.query) {
    if (k === '_count') {
      if (!/^\d{1,9}$/.test(v)) throw new FhirError('invalid', { diagnostics: `_count=${JSON.stringify(v)} is not a non-negative integer`, expression: ['_count'] });
      count = Math.min(Number(v), cfg.maxPageSize);
    } else if (k === '_offset') {
      if (!/^\d{1,12}$/.test(v)) throw new FhirError('invalid', { diagnostics: `_offset=${JSON.stringify(v)} is not a non-negative integer`, expression: ['_offset'] });
      offset = Number(v);
    } else if (k === '_cursor') {
      cursor = v;
    }
  }
  if (cursor === undefined) return { count: count ?? cfg.defaultPageSize, offset };
  const p = verifyCursor(cursor, cursorKey(cfg.cursorSecret));
  if (p.h !== hashOf(req, caller) || p.s !== sortSpec(req)) {
    throw new FhirError('invalid', { diagnostics: '_cursor: the cursor belongs to another search (its parameters differ, or it was issued to another caller); restart the search from its first page', expression: ['_cursor'] });
  }
  const page: PageRequest = { count: count ?? Math.min(p.c, cfg.maxPageSize), offset: p.o };
  if (p.a !== undefined) page.after = p.a;
  if (p.n !== undefined) page.total = p.n;
  return page;
}

export interface PageResult {
  /** Entries returned on this page. */
  returned: number;
  /** The total when known. */
  total?: number | undefined;
  /** The store's keyset position after the page's last entry, when it gave one. */
  next?: SearchPosition | undefined;
}

/**
 * self, first, previous, next and last links for a page. Without a total, `next` is given when the
 * store gave a keyset position or the page was full. `previous` and `last` use offsets.
 */
export function pageLinks(baseUrl: string, req: FhirRequest, cfg: PagingConfig, page: PageRequest, result: PageResult, caller?: string): BundleLink[] {
  const key = cursorKey(cfg.cursorSecret);
  const base = selecting(req);
  const format = req.query.filter(([k]) => FORMAT_PARAMS.has(k));
  const path = linkPath(req);
  const h = hashOf(req, caller);
  const s = sortSpec(req);
  const t = Math.floor(Date.now() / 1000);
  const url = (offset: number, after?: SearchPosition): string => {
    const params: Array<[string, string]> = [...base, ['_count', String(page.count)], ...format];
    if (offset > 0 || after !== undefined) {
      const payload: CursorPayload = { v: 1, h, s, o: offset, c: page.count, t };
      if (after !== undefined) payload.a = after;
      if (result.total !== undefined) payload.n = result.total;
      params.push(['_cursor', signCursor(payload, key)]);
    }
    return `${path ? `${baseUrl}/${path}` : baseUrl}?${new URLSearchParams(params).toString()}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(page.offset, page.after) }];
  if (page.count === 0) return links;
  links.push({ relation: 'first', url: url(0) });
  if (page.offset > 0) links.push({ relation: 'previous', url: url(Math.max(0, page.offset - page.count)) });
  const { returned, total } = result;
  // Once paging by keyset (a position was given), the store's `next` alone says whether more follow.
  const more =
    total !== undefined ? page.offset + returned < total : result.next !== undefined || (page.after === undefined && returned === page.count);
  if (more && returned > 0) links.push({ relation: 'next', url: url(page.offset + returned, result.next) });
  if (total !== undefined && total > 0) links.push({ relation: 'last', url: url(Math.floor((total - 1) / page.count) * page.count) });
  return links;
}
