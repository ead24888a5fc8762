/**
 * search at type and system level (FHIR R4 §3.1.1 search.html, §3.1.0.10 http.html#search):
 * GET `[type]?...`, POST `[type]/_search` with a form body, GET `[base]?_type=...`. Answers a
 * `searchset` Bundle with `search.mode` on each entry, `total` when asked, and paging links.
 * Lenient handling (the default) lists ignored parameters in an OperationOutcome entry;
 * `Prefer: handling=strict` rejects them.
 */
import { bundleJson, type RawEntry } from '../bundle-writer';
import { preferStrict } from '../headers';
import { FhirError, outcome } from '../outcome';
import { pageLinks, pageRequest } from '../paging';
import { resourceTypes } from '../../definitions/resource-types';
import type { InteractionContext } from '../context';
import type { FhirRequest, FhirResult } from '../types';

/** Parameters that shape paging or the response rather than select resources. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty', '_offset']);

export async function search(req: FhirRequest, ctx: InteractionContext, resourceType: string | undefined): Promise<FhirResult> {
  const { config } = ctx.services;
  const params = req.query.filter(([k]) => !TRANSPORT_PARAMS.has(k));
  let types: string[];
  if (resourceType) {
    types = [resourceType];
  } else {
    const typeParam = params.filter(([k]) => k === '_type').flatMap(([, v]) => v.split(','));
    for (const t of typeParam) {
      if (!resourceTypes().has(t)) throw new FhirError('invalid', { diagnostics: `_type: ${JSON.stringify(t)} is not a resource type`, expression: ['_type'] });
    }
    types = typeParam.length > 0 ? typeParam : [...resourceTypes()];
  }
  const strict = preferStrict(req);
  const predicateParams = params.filter(([k]) => k !== '_type');
  const parsed = ctx.services.search.parse(types, predicateParams, { strict });
  const page = pageRequest(req, config);
  const summaryCount = parsed.result.summary === 'count';
  const query = { ...parsed.query, offset: page.offset, count: summaryCount ? 0 : page.count };
  if (summaryCount) query.total = 'accurate';
  const result = await ctx.session.search(query);

  const entries: RawEntry[] = result.entries.map((v) => ({
    fullUrl: `${config.baseUrl}/${v.resourceType}/${v.id}`,
    json: v.json!,
    search: { mode: 'match' },
  }));
  if (parsed.ignored.length > 0) {
    const oo = outcome('warning', 'not-supported', `Ignored search parameters: ${parsed.ignored.map((i) => `${i.name} (${i.reason})`).join('; ')}`);
    entries.push({ resource: oo, search: { mode: 'outcome' } });
  }
  const total = result.total;
  const json = bundleJson({
    type: 'searchset',
    ...(total !== undefined ? { total } : {}),
    link: pageLinks(config.baseUrl, req, { count: query.count, offset: page.offset }, result.entries.length, total),
    entries,
  });
  return { status: 200, json };
}
