/**
 * Page links of searchset and history Bundles (FHIR R4 §3.1.1.6 search.html#count, §2.36.4 "paging").
 * Links repeat the request's own parameters with `_count` and `_offset`, so any server instance can
 * serve any page and no paging state is kept on the server.
 */
import type { BundleLink } from 'fhir/r4';
import { FhirError } from './outcome';
import type { FhirRequest } from './types';

export interface PageRequest {
  count: number;
  offset: number;
}

export function pageRequest(req: FhirRequest, defaults: { defaultPageSize: number; maxPageSize: number }): PageRequest {
  let count = defaults.defaultPageSize;
  let offset = 0;
  for (const [k, v] of req.query) {
    if (k === '_count') {
      if (!/^\d{1,9}$/.test(v)) throw new FhirError('invalid', { diagnostics: `_count=${JSON.stringify(v)} is not a non-negative integer`, expression: ['_count'] });
      count = Math.min(Number(v), defaults.maxPageSize);
    } else if (k === '_offset') {
      if (!/^\d{1,12}$/.test(v)) throw new FhirError('invalid', { diagnostics: `_offset=${JSON.stringify(v)} is not a non-negative integer`, expression: ['_offset'] });
      offset = Number(v);
    }
  }
  return { count, offset };
}

/** self, first, previous, next links for a page. `total` undefined means "unknown": next is given when the page was full. */
export function pageLinks(baseUrl: string, req: FhirRequest, page: PageRequest, returned: number, total: number | undefined): BundleLink[] {
  const kept = req.query.filter(([k]) => k !== '_count' && k !== '_offset');
  const url = (offset: number): string => {
    const qs = new URLSearchParams([...kept, ['_count', String(page.count)], ['_offset', String(offset)]]);
    return `${req.path ? `${baseUrl}/${req.path}` : baseUrl}?${qs.toString()}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(page.offset) }];
  if (page.count === 0) return links;
  links.push({ relation: 'first', url: url(0) });
  if (page.offset > 0) links.push({ relation: 'previous', url: url(Math.max(0, page.offset - page.count)) });
  const more = total !== undefined ? page.offset + returned < total : returned === page.count;
  if (more) links.push({ relation: 'next', url: url(page.offset + page.count) });
  if (total !== undefined && total > 0) links.push({ relation: 'last', url: url(Math.floor((total - 1) / page.count) * page.count) });
  return links;
}
