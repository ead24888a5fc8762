/**
 * Page links of searchset and history Bundles (FHIR R4 §3.1.1.6 search.html "Paging", §3.1.0.9
 * http.html#history, §2.36.4 bundle.html links; docs/decisions/0017-keyset-paging-everywhere.md).
 *
 * Links repeat the parameters the server applied (search.html: the `self` link says how the search
 * was understood, so a parameter ignored in lenient handling is not in it) plus `_count` and a signed
 * `_cursor` (src/search/cursor.ts). Every `next` link carries the store's keyset position after the
 * page's last entry, never an offset: a page is computed from the query again when it is asked for,
 * so nothing is kept on the server and any instance sharing CURSOR_SECRET serves any page, yet
 * writes between pages neither repeat nor skip entries that stayed where they were. Whether a next
 * page exists is the store's answer (it read one row more than the page), never a count.
 *
 * `first` restarts the walk. There are no `previous` and `last` links: a keyset position only
 * continues forward, and an offset counted from the front (what those links used to carry) moves
 * whenever a write lands before it. `_offset` is still accepted as the starting point of a page
 * (its `self` link carries the offset in the cursor); the pages after it continue by position.
 * A cursor moved to another query, altered, signed with another key or minted for another caller is
 * a 400.
 */
import type { BundleLink } from 'fhir/r4';
import { FhirError } from './outcome';
import type { FhirRequest } from './types';
import { cursorKey, queryHash, signCursor, verifyCursor, type CursorPayload } from '../search/cursor';
import type { SearchPosition } from '../search/ir';

export interface PageRequest {
  count: number;
  /** Offset of the first entry (`_offset`, or a cursor's offset); not used with `after`. */
  offset: number;
  /** Keyset position to start after (from a cursor). */
  after?: SearchPosition;
  /** The total counted when the first page was served (from a cursor): later pages reuse it. */
  total?: number;
  /** The store's watermark when the first page was served (from a cursor; SearchPage.watermark). */
  watermark?: number;
}

export interface PagingConfig {
  defaultPageSize: number;
  maxPageSize: number;
  cursorSecret: string | undefined;
}

/** The parameters a request was answered with (its applied parameters, in request order). */
export type AppliedParameters = ReadonlyArray<readonly [string, string]>;

/** Parameters that position a page: never hashed, never repeated as such in links. */
const POSITION_PARAMS = new Set(['_cursor', '_offset', '_count']);
/** Parameters that only shape the response format: repeated in links, not hashed. */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);

/** The path links point at: `[type]/_search` (POST) pages are served by GET `[type]`. */
function linkPath(req: FhirRequest): string {
  return req.path.replace(/(^|\/)_search$/, '');
}

function selecting(applied: AppliedParameters): Array<[string, string]> {
  return applied.filter(([k]) => !POSITION_PARAMS.has(k) && !FORMAT_PARAMS.has(k)).map(([k, v]) => [k, v]);
}

function sortSpec(applied: AppliedParameters): string {
  return applied
    .filter(([k]) => k === '_sort')
    .map(([, v]) => v)
    .join(',');
}

function hashOf(req: FhirRequest, applied: AppliedParameters, caller: string | undefined): string {
  return queryHash(linkPath(req), selecting(applied), caller);
}

/**
 * The page a request asks for. `applied`: the request's parameters as the interaction applies them
 * (search: without the ones lenient handling ignored); `caller`: AccessControl.key of the request —
 * a cursor minted for another caller is refused.
 */
export function pageRequest(req: FhirRequest, cfg: PagingConfig, applied: AppliedParameters, caller?: string): PageRequest {
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
  if (p.h !== hashOf(req, applied, caller) || p.s !== sortSpec(applied)) {
    throw new FhirError('invalid', { diagnostics: '_cursor: the cursor belongs to another search (its parameters differ, or it was issued to another caller); restart the search from its first page', expression: ['_cursor'] });
  }
  const page: PageRequest = { count: count ?? Math.min(p.c, cfg.maxPageSize), offset: p.a !== undefined ? 0 : (p.o ?? 0) };
  if (p.a !== undefined) page.after = p.a;
  if (p.n !== undefined) page.total = p.n;
  if (p.w !== undefined) page.watermark = p.w;
  return page;
}

export interface PageResult {
  /** Entries returned on this page. */
  returned: number;
  /** The total when known (counted now, or carried from the first page). */
  total?: number | undefined;
  /** The store's keyset position after the page's last entry, when more entries follow. */
  next?: SearchPosition | undefined;
  /** The watermark of the walk (carried, or the store's on a first page), when the walk uses one. */
  watermark?: number | undefined;
}

/** self, first and next links for a page (see the module comment). */
export function pageLinks(baseUrl: string, req: FhirRequest, cfg: PagingConfig, applied: AppliedParameters, page: PageRequest, result: PageResult, caller?: string): BundleLink[] {
  const key = cursorKey(cfg.cursorSecret);
  const base = selecting(applied);
  const format = req.query.filter(([k]) => FORMAT_PARAMS.has(k));
  const path = linkPath(req);
  const h = hashOf(req, applied, caller);
  const s = sortSpec(applied);
  const t = Math.floor(Date.now() / 1000);
  const url = (at?: { offset: number } | { after: SearchPosition }): string => {
    const params: Array<[string, string]> = [...base, ['_count', String(page.count)], ...format];
    if (at !== undefined) {
      const payload: CursorPayload = { v: 2, h, s, c: page.count, t };
      if ('after' in at) payload.a = at.after;
      else payload.o = at.offset;
      if (result.total !== undefined) payload.n = result.total;
      if (result.watermark !== undefined) payload.w = result.watermark;
      params.push(['_cursor', signCursor(payload, key)]);
    }
    return `${path ? `${baseUrl}/${path}` : baseUrl}?${new URLSearchParams(params).toString()}`;
  };
  const self = page.after !== undefined ? url({ after: page.after }) : page.offset > 0 ? url({ offset: page.offset }) : url();
  const links: BundleLink[] = [{ relation: 'self', url: self }];
  if (page.count === 0) return links;
  links.push({ relation: 'first', url: url() });
  if (result.next !== undefined && result.returned > 0) links.push({ relation: 'next', url: url({ after: result.next }) });
  return links;
}
