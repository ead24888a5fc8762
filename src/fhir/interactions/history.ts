/**
 * history at instance, type and system level (FHIR R4 §3.1.0.9 http.html#history): a `history`
 * Bundle, newest first, with `_since`, `_at`, `_count` and paging links (signed `_cursor` keyset
 * positions, see src/fhir/paging.ts); deletes appear as entries without a resource.
 *
 * `_at` "Only include resource versions that were current at some point during the time period
 * specified in the date time value (see Search notes on date searching)": the value's precision is
 * its period (search.html#date), so `_at=2026-12` is every version current at some time in December
 * 2026, and a full instant is (about) a point. `_since` is an instant; a partial date stands for its
 * first instant. Parameters http.html#history does not define are handled as search handles unknown
 * parameters: `Prefer: handling=strict` refuses them (400); the default lenient handling ignores them
 * and leaves them out of the page links (a history Bundle has no place for an OperationOutcome
 * entry: bundle.html bdl-3 gives every entry of a history a request). `_list` is defined but not
 * supported: the same.
 */
import { bundleJson, type RawEntry } from '../bundle-writer';
import { etag, preferStrict } from '../headers';
import { FhirError } from '../outcome';
import { pageLinks, pageRequest } from '../paging';
import type { InteractionContext } from '../context';
import type { FhirRequest, FhirResult } from '../types';
import type { HistoryQuery, InstantPeriod, StoredVersion } from '../../store/store';
import { parseDateRange, type Range } from '../../search/normalize';
import { assertValidId } from './update';

/** Parameters of history (http.html#history) and of every interaction (paging, format, subsetting). */
const KNOWN = new Set(['_count', '_since', '_at', '_cursor', '_offset', '_format', '_pretty', '_summary', '_elements']);

function dateParam(name: string, v: string): Range {
  const r = parseDateRange(v);
  if (!r) {
    throw new FhirError('invalid', { code: 'value', diagnostics: `${name}=${JSON.stringify(v)} is not a valid date or instant (e.g. 2024, 2024-01, 2024-01-31, 2024-01-31T10:00:00Z)`, expression: [name] });
  }
  return r;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function history(req: FhirRequest, ctx: InteractionContext, resourceType?: string, id?: string): Promise<FhirResult> {
  const { config } = ctx.services;
  const strict = preferStrict(req);
  const q: HistoryQuery = { count: 0, offset: 0 };
  const applied: Array<[string, string]> = [];
  for (const [k, v] of req.query) {
    if (k === '_since') q.since = iso(dateParam(k, v).low);
    else if (k === '_at') {
      const r = dateParam(k, v);
      q.at = { low: iso(r.low), high: iso(r.high) } satisfies InstantPeriod;
    } else if (!KNOWN.has(k)) {
      if (strict) {
        throw k === '_list'
          ? new FhirError('unsupported', { diagnostics: '_list is not supported on history', expression: ['_list'] })
          : new FhirError('invalid', { diagnostics: `Unknown history parameter ${JSON.stringify(k)} (http.html#history defines _count, _since, _at and _list)`, expression: [k] });
      }
      continue;
    }
    applied.push([k, v]);
  }
  const page = pageRequest(req, config, applied, ctx.access?.key);
  q.count = page.count;
  q.offset = page.offset;
  if (page.after !== undefined) q.after = page.after;
  if (resourceType) q.resourceType = resourceType;
  if (id) q.id = id;
  if (resourceType && id) {
    assertValidId(id);
    const current = await ctx.session.read(resourceType, id);
    if (!current) throw new FhirError('not-found', { diagnostics: `Resource ${resourceType}/${id} is not known` });
  }
  const result = await ctx.session.history(q);
  const entries = result.entries.map((v) => historyEntry(config.baseUrl, v));
  const links = pageLinks(config.baseUrl, req, config, applied, page, { returned: result.entries.length, total: result.total, next: result.next }, ctx.access?.key);
  const json = bundleJson({ type: 'history', total: result.total, link: links, entries });
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
