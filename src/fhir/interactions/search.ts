/**
 * search at type, system and compartment level (FHIR R4 §3.1.1 search.html, §3.1.0.10
 * http.html#search): GET `[type]?...`, POST `[type]/_search` with a form body, GET `[base]?_type=...`
 * and POST `[base]/_search`, and GET `[base]/[Compartment]/[id]/[type]?...` (or `/*`) per the R4
 * CompartmentDefinitions (§3.1.1.4.14, src/search/compartments.ts). A POST whose body is not a form
 * is 415. Answers a `searchset` Bundle with `search.mode` `match`, `include` (`_include` /
 * `_revinclude`, src/search/include.ts) and `outcome`, `total` as `_total` asks, and paging links
 * with signed keyset cursors (src/fhir/paging.ts, ADR 17). `_summary=count` answers the total only.
 * `_contained` is supported as `false` (the default); `true` / `both` are not. Lenient handling (the
 * default) lists ignored parameters in an OperationOutcome entry and leaves them out of the links;
 * `Prefer: handling=strict` rejects them.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { bundleJson, type RawEntry } from '../bundle-writer';
import { preferStrict } from '../headers';
import { FhirError } from '../outcome';
import { pageLinks, pageRequest, type PageRequest } from '../paging';
import { resourceTypes } from '../../definitions/resource-types';
import { compartmentMemberTypes, compartmentRestriction } from '../../search/compartments';
import { MAX_INCLUDED, resolveIncludes } from '../../search/include';
import type { ReferenceEntry } from '../../search/index-entry';
import { and, type SearchExpr, type SearchQuery } from '../../search/ir';
import type { SearchPage, StoreSession, StoredVersion } from '../../store/store';
import { restrictionOf, type AccessRestriction, type InteractionContext } from '../context';
import { restrictionsOf, restrictQuery, type RestrictionOf } from '../access';
import { typeByTypePage, type TypeByTypePage, type TypeQuery } from '../type-by-type';
import type { FhirRequest, FhirResult } from '../types';

/** Parameters that shape paging or the response rather than select resources. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty', '_offset', '_cursor']);
const FORM = 'application/x-www-form-urlencoded';

/** A compartment search's compartment: `[base]/{type}/{id}/...`. */
export interface CompartmentScope {
  type: string;
  id: string;
}

export async function search(req: FhirRequest, ctx: InteractionContext, resourceType: string | undefined, compartment?: CompartmentScope): Promise<FhirResult> {
  const { config } = ctx.services;
  // search.html#search: POST _search carries its parameters as a form; any other body is refused, never ignored.
  if (req.method === 'POST' && (req.body !== undefined || (req.contentType !== undefined && req.contentType !== FORM))) {
    throw new FhirError('unsupported-media', {
      diagnostics: `POST ${req.path} takes its parameters in the URL or as an ${FORM} body, not ${req.contentType ?? 'a body without a Content-Type'}`,
    });
  }
  const params = req.query.filter(([k]) => !TRANSPORT_PARAMS.has(k));
  let types: string[];
  if (compartment) {
    types = resourceType ? [resourceType] : compartmentMemberTypes(compartment.type);
    if (resourceType && !compartmentRestriction(compartment.type, compartment.id, resourceType)) {
      throw new FhirError('not-found', { code: 'not-found', diagnostics: `${resourceType} resources are never in the ${compartment.type} compartment (R4 CompartmentDefinition)` });
    }
  } else if (resourceType) {
    types = [resourceType];
  } else {
    const typeParam = params.filter(([k]) => k === '_type').flatMap(([, v]) => v.split(','));
    for (const t of typeParam) {
      if (!resourceTypes().has(t)) throw new FhirError('invalid', { diagnostics: `_type: ${JSON.stringify(t)} is not a resource type`, expression: ['_type'] });
    }
    types = typeParam.length > 0 ? typeParam : [...resourceTypes()];
  }
  const strict = preferStrict(req);
  const systemType = params.filter(([k]) => k === '_type' && compartment === undefined);
  const predicateParams = params.filter(([k]) => k !== '_type' || compartment !== undefined);
  const parsed = ctx.services.search.parse(types, predicateParams, { strict });
  const notes: OperationOutcomeIssue[] = parsed.ignored.map((i) => ({ severity: 'warning', code: 'not-supported', diagnostics: `Ignored search parameter ${i.name}: ${i.reason}` }));
  let applied: Array<[string, string]> = [...systemType, ...parsed.applied];
  const contained = parsed.result.contained;
  if (contained === 'true' || contained === 'both') {
    const msg = `_contained=${contained} is not supported: only the containers are searched (_contained=false)`;
    if (strict) throw new FhirError('unsupported', { diagnostics: msg, expression: ['_contained'] });
    notes.push({ severity: 'warning', code: 'not-supported', diagnostics: `Ignored search parameter _contained: ${msg}` });
    applied = applied.filter(([k]) => k !== '_contained');
  }

  const page = pageRequest(req, config, applied, ctx.access?.key);
  const summaryCount = parsed.result.summary === 'count';
  const query: SearchQuery = { ...parsed.query, offset: page.offset, count: summaryCount ? 0 : page.count };
  if (page.after !== undefined && !summaryCount) query.after = page.after;
  if (summaryCount) query.total = 'accurate';
  // A total counted for the first page travels in the signed cursor: later pages do not count again
  // (the total is the number of matches when the search started).
  const carriedTotal = !summaryCount && query.total !== 'none' ? page.total : undefined;
  if (carriedTotal !== undefined) query.total = 'none';
  // A sort a write can change (anything but the default order and _id): a resource written during
  // the walk may have moved to a position already served, so later pages leave out what was written
  // after the first page (ADR 17). The first page asks the store for its watermark.
  const movable = !summaryCount && query.sort.some((k) => !(k.kind === 'special' && k.param === '_id' && !k.chain));
  let watermark = movable ? page.watermark : undefined;
  if (movable && page.after === undefined) query.watermark = true;
  if (watermark !== undefined) query.where = query.where ? and(query.where, writtenBy(watermark)) : writtenBy(watermark);

  const restrictions = new Map(types.map((t) => [t, restrictionFor(ctx, t, compartment)] as const));
  const perType = types.length > 1 && [...restrictions.values()].some((r) => r !== 'all');
  const restrictOf = restrictionsOf(ctx);
  const result = perType ? await perTypeSearch(ctx, query, restrictions, restrictOf) : await runQuery(ctx, ctx.session, restrictQuery(query, restrictions.get(types[0]!) ?? 'all', restrictOf));
  watermark ??= result.watermark;

  const entries: RawEntry[] = result.entries.map((v) => entry(config.baseUrl, v, 'match'));
  if (!summaryCount && (parsed.result.include.length > 0 || parsed.result.revinclude.length > 0)) {
    const inc = await resolveIncludes(result.entries, parsed.result, {
      session: ctx.session,
      references: (v) => referencesOf(ctx, v),
      referenceParams: (t) => ctx.services.search.parametersFor(t).filter((p) => p.type === 'reference').map((p) => p.name),
      restrict: (t) => restrictionOf(ctx, t),
    });
    for (const v of inc.included) entries.push(entry(config.baseUrl, v, 'include'));
    if (inc.truncated) {
      notes.push({ severity: 'warning', code: 'too-costly', diagnostics: `Only the first ${MAX_INCLUDED} resources asked for by _include/_revinclude are included on this page; use a smaller _count to get all of them` });
    }
  }
  if (notes.length > 0) {
    const oo: OperationOutcome = { resourceType: 'OperationOutcome', issue: notes };
    entries.push({ resource: oo, search: { mode: 'outcome' } });
  }
  const total = result.total ?? carriedTotal;
  const json = bundleJson({
    type: 'searchset',
    ...(total !== undefined ? { total } : {}),
    link: pageLinks(
      config.baseUrl,
      req,
      config,
      applied,
      { ...page, count: query.count } satisfies PageRequest,
      { returned: result.entries.length, total, next: result.next, watermark },
      ctx.access?.key,
    ),
    entries,
  });
  return { status: 200, json };
}

/** Resources last written at or before `watermark` (epoch ms). */
function writtenBy(watermark: number): SearchExpr {
  return { op: 'lastUpdated', prefix: 'le', low: watermark, high: watermark };
}

function entry(baseUrl: string, v: StoredVersion, mode: 'match' | 'include'): RawEntry {
  return { fullUrl: `${baseUrl}/${v.resourceType}/${v.id}`, json: v.json!, search: { mode } };
}

function referencesOf(ctx: InteractionContext, v: StoredVersion): ReferenceEntry[] {
  if (!v.json) return [];
  return ctx.services.indexer.references(JSON.parse(v.json) as never);
}

/**
 * What every result of a type must also match: the compartment of a compartment search and the
 * caller's access restriction (src/fhir/context.ts AccessRestriction), both inside the query.
 */
function restrictionFor(ctx: InteractionContext, type: string, compartment: CompartmentScope | undefined): AccessRestriction {
  const access = restrictionOf(ctx, type);
  if (access === 'none') return 'none';
  const parts: SearchExpr[] = [];
  if (compartment) {
    const r = compartmentRestriction(compartment.type, compartment.id, type);
    if (!r) return 'none';
    parts.push(r);
  }
  if (access !== 'all') parts.push(access);
  return parts.length === 0 ? 'all' : and(...parts);
}

async function runQuery(ctx: InteractionContext, session: StoreSession, query: SearchQuery): Promise<SearchPage> {
  const q = ctx.services.search.rewrite ? await ctx.services.search.rewrite(query, session) : query;
  return session.search(q);
}

/**
 * A search over several types that have different restrictions (`[Compartment]/[id]/*`, or a system
 * search by a caller with access restrictions): the types are searched one after another
 * (alphabetically) and their results concatenated; `_sort` orders within each type. Types the caller
 * may not see are skipped. A position is `[type, ...the store's position within that type]`, or
 * `[type]` alone for "from the start of that type", so these walks page by keyset too; an `_offset`
 * start counts the matches of the types it skips.
 */
async function perTypeSearch(ctx: InteractionContext, query: SearchQuery, restrictions: ReadonlyMap<string, AccessRestriction>, restrictOf: RestrictionOf | undefined): Promise<SearchPage> {
  const types = [...query.resourceTypes]
    .sort()
    .filter((t) => (restrictions.get(t) ?? 'all') !== 'none')
    .map((type): TypeQuery => {
      const base: SearchQuery = { resourceTypes: [type], sort: query.sort, count: 0, offset: 0, total: 'accurate' };
      if (query.where) base.where = query.where as SearchExpr;
      return { type, query: restrictQuery(base, restrictions.get(type) ?? 'all', restrictOf) };
    });
  const page: TypeByTypePage = { count: query.count, offset: query.offset, total: query.total };
  if (query.after !== undefined) page.after = query.after;
  if (query.watermark) page.watermark = true;
  return typeByTypePage((q) => runQuery(ctx, ctx.session, q), types, page);
}
