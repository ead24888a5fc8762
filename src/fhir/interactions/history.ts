/**
 * history at instance, type and system level (FHIR R4 §3.1.0.9 http.html#history): a `history`
 * Bundle, newest first, with `_since`, `_at`, `_count` and paging links (signed `_cursor` offsets, see
 * src/fhir/paging.ts); deletes appear as entries without a resource.
 */
import { bundleJson, type RawEntry } from '../bundle-writer';
import { etag } from '../headers';
import { FhirError } from '../outcome';
import { pageLinks, pageRequest } from '../paging';
import type { InteractionContext } from '../context';
import type { FhirRequest, FhirResult } from '../types';
import type { HistoryQuery, StoredVersion } from '../../store/store';
import { assertValidId } from './update';

const INSTANT_RE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function parseInstantParam(name: string, v: string): string {
  if (!INSTANT_RE.test(v) || Number.isNaN(Date.parse(v.length === 4 ? `${v}-01-01` : v))) {
    throw new FhirError('invalid', { code: 'value', diagnostics: `${name}=${JSON.stringify(v)} is not a valid instant (e.g. 2024-01-31T10:00:00Z)`, expression: [name] });
  }
  return new Date(v.length === 4 ? `${v}-01-01T00:00:00Z` : v).toISOString();
}

export async function history(req: FhirRequest, ctx: InteractionContext, resourceType?: string, id?: string): Promise<FhirResult> {
  const { config } = ctx.services;
  const page = pageRequest(req, config, ctx.access?.key);
  const q: HistoryQuery = { count: page.count, offset: page.offset };
  if (resourceType) q.resourceType = resourceType;
  if (id) q.id = id;
  for (const [k, v] of req.query) {
    if (k === '_since') q.since = parseInstantParam(k, v);
    else if (k === '_at') q.at = parseInstantParam(k, v);
    else if (k === '_list') throw new FhirError('unsupported', { diagnostics: '_list is not supported on history' });
  }
  if (resourceType && id) {
    assertValidId(id);
    const current = await ctx.session.read(resourceType, id);
    if (!current) throw new FhirError('not-found', { diagnostics: `Resource ${resourceType}/${id} is not known` });
  }
  const result = await ctx.session.history(q);
  const entries = result.entries.map((v) => historyEntry(config.baseUrl, v));
  const json = bundleJson({ type: 'history', total: result.total, link: pageLinks(config.baseUrl, req, config, page, { returned: result.entries.length, total: result.total }, ctx.access?.key), entries });
  return { status: 200, json };
}

export function historyEntry(baseUrl: string, v: StoredVersion): RawEntry {
  const fullUrl = `${baseUrl}/${v.resourceType}/${v.id}`;
  const request = { method: v.method, url: v.method === 'POST' ? v.resourceType : `${v.resourceType}/${v.id}` };
  const response = {
    status: v.deleted ? '204 No Content' : v.method === 'POST' ? '201 Created' : '200 OK',
    etag: etag(v),
    lastModified: v.lastUpdated,
  };
  return v.deleted ? { fullUrl, request, response } : { fullUrl, json: v.json!, request, response };
}
