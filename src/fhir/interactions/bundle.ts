/**
 * batch and transaction (FHIR R4 §3.1.0.11 http.html#transaction and §2.36.4.1 bundle.html
 * "Transaction Processing Rules").
 *
 * - transaction: atomic. Entries are processed in the order DELETE, POST, PUT/PATCH, GET/HEAD;
 *   `urn:uuid:` (and other) fullUrls of created resources are resolved to server ids before
 *   processing and references to them rewritten; conditional references (`Patient?identifier=...`)
 *   are resolved to exactly one resource; `ifMatch`, `ifNoneExist`, `ifNoneMatch` and
 *   `ifModifiedSince` apply per entry. Any failure rolls everything back and the answer names the
 *   failing entry.
 * - batch: each entry on its own, each with its own status and outcome; the Bundle answers 200.
 *
 * At most MAX_BUNDLE_ENTRIES entries (413 `too-costly`, src/fhir/limits.ts). Long Bundles do not
 * freeze the server: every loop over the entries gives the event loop a turn whenever a slice of
 * work is used up (src/cooperative.ts). Inside a transaction that is safe: the transaction holds the
 * store's write queue, so other writes wait for its commit (serialisable as before), reads on a file
 * store see only committed snapshots, and nothing this code awaits waits for another request.
 */
import { newId } from '../new-id';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { isResourceType } from '../../definitions/resource-types';
import { pause } from '../../cooperative';
import { checkBundleEntries } from '../limits';
import { bundleJson, type RawEntry } from '../bundle-writer';
import { findMatches, parseCriteria, urlCriteria } from '../conditional';
import { conditionalReference, matchesOf, PLACEHOLDER_RE, shown } from '../references';
import { expressionOf, findDuplicateProperty } from '../json-text';
import { viewOf, type InteractionContext } from '../context';
import { FhirError } from '../outcome';
import { parseETagVersion } from '../headers';
import { route } from '../router';
import type { FhirRequest, FhirResult, HttpMethod } from '../types';
import type { StoredVersion } from '../../store/store';

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

interface ParsedEntry {
  index: number;
  method: HttpMethod;
  /** Path below the base, e.g. `Patient/123` or `Patient`. */
  path: string;
  query: Array<[string, string]>;
  fullUrl?: string;
  resource?: Resource;
  entry: BundleEntry;
}

const REASONS: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified' };

export async function batchOrTransaction(req: FhirRequest, ctx: InteractionContext): Promise<FhirResult> {
  if (req.bundleEntry) throw new FhirError('invalid', { diagnostics: 'A batch or transaction cannot be nested inside another Bundle' });
  const body = req.body as Partial<Bundle> | undefined;
  if (!body || typeof body !== 'object' || body.resourceType !== 'Bundle') {
    throw new FhirError('invalid', { diagnostics: 'POST to the base URL takes a Bundle of type batch or transaction', expression: ['Bundle'] });
  }
  if (body.type !== 'batch' && body.type !== 'transaction') {
    throw new FhirError('invalid', { code: 'value', diagnostics: `Bundle.type must be batch or transaction, not ${JSON.stringify(body.type)}`, expression: ['Bundle.type'] });
  }
  if (body.entry !== undefined && !Array.isArray(body.entry)) {
    throw new FhirError('invalid', { code: 'structure', diagnostics: 'Bundle.entry must be an array', expression: ['Bundle.entry'] });
  }
  const entries = body.entry ?? [];
  checkBundleEntries(entries.length, ctx.services.config.limits);
  return body.type === 'transaction' ? transaction(req, ctx, entries) : batch(req, ctx, entries);
}

function parseEntry(baseUrl: string, entry: BundleEntry, index: number): ParsedEntry {
  const where = `Bundle.entry[${index}]`;
  const request = entry?.request;
  if (!request || typeof request !== 'object') throw new FhirError('invalid', { code: 'required', diagnostics: `${where}.request is required`, expression: [`${where}.request`] });
  const method = (typeof request.method === 'string' ? request.method.toUpperCase() : '') as HttpMethod;
  if (!METHODS.includes(method)) throw new FhirError('invalid', { code: 'value', diagnostics: `${where}.request.method ${JSON.stringify(request.method)} is not one of ${METHODS.join(', ')}`, expression: [`${where}.request.method`] });
  if (typeof request.url !== 'string' || request.url === '') throw new FhirError('invalid', { code: 'required', diagnostics: `${where}.request.url is required`, expression: [`${where}.request.url`] });
  for (const k of ['ifMatch', 'ifNoneExist', 'ifNoneMatch', 'ifModifiedSince'] as const) {
    const v: unknown = request[k];
    if (v !== undefined && typeof v !== 'string') throw new FhirError('invalid', { code: 'value', diagnostics: `${where}.request.${k} must be a string`, expression: [`${where}.request.${k}`] });
  }
  let url = request.url;
  if (url.startsWith(baseUrl + '/')) url = url.slice(baseUrl.length + 1);
  else if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    // An absolute URL of another server (e.g. a canonical `http://hl7.org/fhir/us/sdc/Questionnaire/x`):
    // its trailing `Type/id` names the resource on this server, as for fullUrls.
    const m = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(url.split('?')[0]!);
    if (!m || !isResourceType(m[1]!)) throw new FhirError('invalid', { diagnostics: `${where}.request.url ${JSON.stringify(url)} is neither relative to this server's base nor an absolute [type]/[id] URL`, expression: [`${where}.request.url`] });
    url = `${m[1]}/${m[2]}`;
  }
  url = url.replace(/^\/+/, '');
  const qi = url.indexOf('?');
  const path = qi >= 0 ? url.slice(0, qi) : url;
  const query = qi >= 0 ? [...new URLSearchParams(url.slice(qi + 1))] : [];
  const parsed: ParsedEntry = { index, method, path, query, entry };
  if (typeof entry.fullUrl === 'string') parsed.fullUrl = entry.fullUrl;
  if (entry.resource !== undefined) parsed.resource = entry.resource;
  return parsed;
}

function entryRequest(outer: FhirRequest, e: ParsedEntry, transaction: boolean): FhirRequest {
  const r = e.entry.request!;
  const headers: Record<string, string | undefined> = { prefer: outer.headers['prefer'] };
  if (r.ifMatch) headers['if-match'] = r.ifMatch;
  if (r.ifNoneExist) headers['if-none-exist'] = r.ifNoneExist;
  if (r.ifNoneMatch) headers['if-none-match'] = r.ifNoneMatch;
  if (r.ifModifiedSince) headers['if-modified-since'] = r.ifModifiedSince;
  const sub: FhirRequest = { method: e.method, path: e.path, query: e.query, headers, requestId: outer.requestId, bundleEntry: { index: e.index, transaction } };
  if (e.method === 'PATCH') {
    Object.assign(sub, patchBody(e));
  } else if (e.resource !== undefined) {
    sub.body = e.resource;
    sub.contentType = 'application/fhir+json';
  }
  return sub;
}

/** PATCH entries carry a Binary (JSON Patch, base64) or a Parameters resource (FHIRPath Patch). */
function patchBody(e: ParsedEntry): { body: unknown; contentType: string } {
  const res = e.resource as (Resource & { contentType?: string; data?: string }) | undefined;
  if (res?.resourceType === 'Binary') {
    const where = `Bundle.entry[${e.index}].resource.data`;
    const text = Buffer.from(res.data ?? '', 'base64').toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new FhirError('invalid', { diagnostics: `Bundle.entry[${e.index}].resource: the Binary does not hold a JSON Patch document`, expression: [where] });
    }
    // json.html: no repeated property (an operation with two "value"s is ambiguous).
    const dup = findDuplicateProperty(text);
    if (dup) throw new FhirError('invalid', { code: 'structure', diagnostics: `${where}: the JSON Patch document has the property ${JSON.stringify(dup.name)} more than once in one object (at ${expressionOf(dup.path, undefined)})`, expression: [where] });
    return { body, contentType: res.contentType ?? 'application/json-patch+json' };
  }
  return { body: res, contentType: 'application/fhir+json' };
}

function responseOf(baseUrl: string, result: FhirResult, includeResource: boolean): RawEntry {
  const h = result.headers ?? {};
  const response: NonNullable<BundleEntry['response']> = { status: `${result.status}${REASONS[result.status] ? ' ' + REASONS[result.status] : ''}` };
  const location = h['Location'] ?? h['Content-Location'];
  if (location) response.location = location.startsWith(baseUrl + '/') ? location.slice(baseUrl.length + 1) : location;
  if (h['ETag']) response.etag = h['ETag'];
  // The stored version's instant, with its milliseconds (the Last-Modified header has whole seconds).
  if (result.lastUpdated) response.lastModified = result.lastUpdated;
  else if (h['Last-Modified']) response.lastModified = new Date(h['Last-Modified']).toISOString();
  const out: RawEntry = { response };
  if (includeResource && result.json !== undefined) out.json = result.json;
  else if (result.resource?.resourceType === 'OperationOutcome') out.response = { ...response, outcome: result.resource as BundleEntry['resource'] };
  else if (includeResource && result.resource) out.resource = result.resource;
  if (out.json || out.resource) {
    const m = location ? /^(?:.*\/)?([A-Za-z]+\/[A-Za-z0-9\-.]+)\/_history\/\d+$/.exec(location) : null;
    if (m) out.fullUrl = `${baseUrl}/${m[1]}`;
  }
  return out;
}

async function batch(req: FhirRequest, ctx: InteractionContext, entries: BundleEntry[]): Promise<FhirResult> {
  const baseUrl = ctx.services.config.baseUrl;
  const minimal = /return\s*=\s*"?minimal/i.test(req.headers['prefer'] ?? '');
  const out: RawEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    await pause();
    try {
      const e = parseEntry(baseUrl, entries[i]!, i);
      const result = await route(entryRequest(req, e, false), { ...ctx, inTransaction: false, session: viewOf(ctx, ctx.services.store) });
      out.push(responseOf(baseUrl, result, includesBody(e.method, minimal)));
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
      out.push({ response: { status: String(err.status), outcome: err.toOperationOutcome() } });
    }
  }
  return { status: 200, json: bundleJson({ type: 'batch-response', entries: out }) };
}

async function transaction(req: FhirRequest, ctx: InteractionContext, entries: BundleEntry[]): Promise<FhirResult> {
  const baseUrl = ctx.services.config.baseUrl;
  const minimal = /return\s*=\s*"?minimal/i.test(req.headers['prefer'] ?? '');
  const parsed = entries.map((e, i) => parseEntry(baseUrl, e, i));
  checkUniqueTargets(parsed);
  const results = new Array<RawEntry>(parsed.length);

  await ctx.services.store.withTransaction(async (tx) => {
    const session = viewOf(ctx, tx);
    const tctx: InteractionContext = { ...ctx, session, inTransaction: true };
    const postIds = new Map<number, { id: string; existing: boolean }>();
    let current: ParsedEntry | undefined;
    const processEntry = async (e: ParsedEntry): Promise<void> => {
      await pause();
      current = e;
      const sub = entryRequest(req, e, true);
      let result: FhirResult;
      const ids = e.method === 'POST' ? postIds.get(e.index) : undefined;
      if (ids) {
        if (ids.existing) {
          // ifNoneExist matched: 200 with the existing resource, and where it is (as a single conditional create answers).
          result = await route({ ...sub, method: 'GET', path: `${e.path}/${ids.id}`, headers: {} }, tctx);
          const vid = parseETagVersion(result.headers?.['ETag'] ?? '');
          result = { ...result, status: 200, headers: { ...result.headers, ...(vid !== undefined ? { 'Content-Location': `${baseUrl}/${e.path}/${ids.id}/_history/${vid}` } : {}) } };
        } else {
          result = await route({ ...sub, headers: { prefer: req.headers['prefer'] }, assignedId: ids.id }, tctx);
        }
      } else {
        result = await route(sub, tctx);
      }
      results[e.index] = responseOf(baseUrl, result, includesBody(e.method, minimal));
    };
    try {
      // 1. DELETEs come first in the processing order (bundle.html#transaction): the conditional
      //    creates, conditional updates and conditional references resolved below see the store as it
      //    is after them (an ifNoneExist that matched a resource deleted here creates).
      for (const e of parsed) if (e.method === 'DELETE') await processEntry(e);
      // 2. Identities: every created resource gets its id now, so references can be rewritten first.
      const idMap = new Map<string, string>();
      for (const e of parsed) {
        await pause();
        current = e;
        if (e.method === 'POST' && !e.path.includes('/')) {
          const type = e.path;
          if (!isResourceType(type)) throw new FhirError('not-found', { diagnostics: `${JSON.stringify(type)} is not a resource type` });
          let found: StoredVersion | undefined;
          const ine = e.entry.request?.ifNoneExist;
          if (ine) {
            const matches = await findMatches(tctx, session, type, parseCriteria(ine, type), 2, { label: `The ifNoneExist criteria of Bundle.entry[${e.index}]`, expression: `Bundle.entry[${e.index}].request.ifNoneExist` });
            if (matches.length > 1) throw new FhirError('precondition', { code: 'duplicate', diagnostics: `ifNoneExist ${JSON.stringify(ine)} matches more than one ${type}` });
            found = matches[0];
          }
          let id: string;
          if (found) {
            id = found.id;
          } else {
            // A layer may choose the id (and complete the resource), e.g. the NHS Number of a Patient.
            const assigned = e.resource && ctx.services.assignId ? await ctx.services.assignId(tctx, type, e.resource, { conditional: ine !== undefined }) : undefined;
            id = assigned?.id ?? newId();
            if (assigned?.resource) e.resource = assigned.resource;
          }
          postIds.set(e.index, { id, existing: found !== undefined });
          if (e.fullUrl) idMap.set(e.fullUrl, `${type}/${id}`);
        } else if (e.method === 'PUT' && e.fullUrl && /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(e.path)) {
          idMap.set(e.fullUrl, e.path);
        } else if (e.method === 'PUT' && e.query.length > 0 && e.fullUrl) {
          // Conditional update: the target is found now so references to its fullUrl can be rewritten.
          const found = await findMatches(tctx, session, e.path, e.query, 2, urlCriteria(e));
          if (found.length === 1) {
            idMap.set(e.fullUrl, `${e.path}/${found[0]!.id}`);
          } else if (found.length === 0) {
            const id = (e.resource?.id as string | undefined) ?? newId();
            e.resource = { ...e.resource!, id };
            e.path = `${e.path}/${id}`;
            e.query = [];
            idMap.set(e.fullUrl, e.path);
          }
        }
      }
      // 3. Rewrite references (fullUrl targets and conditional references) in every resource.
      for (const e of parsed) {
        await pause();
        current = e;
        if (e.resource && e.method !== 'PATCH') {
          const scope: ReferenceScope = { idMap, base: fullUrlBase(e.fullUrl), entry: e.index };
          e.resource = (await rewriteAllReferences(e.resource, scope, tctx)) as Resource;
        }
      }
      // 4. The rest in the spec's order: POST, PUT/PATCH, GET/HEAD.
      const order = parsed.filter((e) => e.method !== 'DELETE').sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
      for (const e of order) await processEntry(e);
    } catch (err) {
      if (err instanceof FhirError && current) throw entryError(err, current);
      throw err;
    }
  });
  return { status: 200, json: bundleJson({ type: 'transaction-response', entries: results }) };
}

/** Whether an entry's answer carries the resource: never for HEAD; for writes unless `Prefer: return=minimal`. */
function includesBody(method: HttpMethod, minimal: boolean): boolean {
  return method !== 'HEAD' && (!minimal || method === 'GET');
}

/** A transaction failure names the failing entry in every issue (text and expression). */
function entryError(err: FhirError, e: ParsedEntry): FhirError {
  const where = `Bundle.entry[${e.index}]`;
  const issues = err.issues.map((i) => ({
    severity: i.severity,
    code: i.code,
    ...(i.details ? { details: i.details } : {}),
    diagnostics: `${where} (${e.method} ${e.entry.request?.url ?? ''}): ${i.diagnostics ?? ''}`,
    // Expressions that already name a part of the Bundle (e.g. `Bundle.entry[3].request.ifNoneExist`) are kept.
    expression: [where, ...(i.expression ?? []).filter((x) => x !== where).map((x) => (x.startsWith('Bundle.entry[') ? x : `${where}.resource.${x.replace(/^[A-Z][A-Za-z]+\./, '')}`))],
  }));
  return new FhirError(err.category, issues, { headers: err.headers, ...(err.statusOverride ? { status: err.statusOverride } : {}) });
}

function checkUniqueTargets(entries: ParsedEntry[]): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    const keys: string[] = [];
    if (e.fullUrl && (e.method === 'POST' || e.method === 'PUT')) keys.push(`fullUrl ${e.fullUrl}`);
    if ((e.method === 'PUT' || e.method === 'DELETE' || e.method === 'PATCH') && e.query.length === 0) keys.push(`target ${e.path}`);
    for (const k of keys) {
      const prev = seen.get(k);
      if (prev !== undefined) {
        throw new FhirError('invalid', { code: 'duplicate', diagnostics: `Bundle.entry[${e.index}] and Bundle.entry[${prev}] both address ${k.replace(/^\w+ /, '')}; a transaction may touch a resource only once`, expression: [`Bundle.entry[${e.index}]`] });
      }
      seen.set(k, e.index);
    }
  }
}

/** The base of an absolute `[base]/[type]/[id]` fullUrl, against which relative references resolve. */
function fullUrlBase(fullUrl: string | undefined): string | undefined {
  const m = fullUrl ? /^([a-z][a-z0-9+.-]*:\/\/.+)\/[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/i.exec(fullUrl) : null;
  return m ? m[1] : undefined;
}

export interface ReferenceScope {
  /** fullUrl of every resource the Bundle creates or updates -> its `Type/id` here. */
  idMap: Map<string, string>;
  /** The base of the entry's own absolute fullUrl (bundle.html#references: relative references resolve against it). */
  base: string | undefined;
  /** The index of the entry whose resource is rewritten. */
  entry: number;
}

/**
 * The resource with its references rewritten (rewriteReferences). Most resources hold no conditional
 * reference, and then nothing needs the store: the synchronous walk gives the same copy without a
 * promise per element. Only where it meets a conditional reference does the asynchronous walk run
 * (from the start: the walks have no effects, and the first failure in element order is the same).
 */
export async function rewriteAllReferences(resource: Resource, scope: ReferenceScope, ctx: InteractionContext): Promise<unknown> {
  const path = resource.resourceType ?? 'Resource';
  const fast = rewriteReferencesSync(resource, scope, [path], false);
  return fast !== NEEDS_STORE ? fast : rewriteReferences(resource, scope, ctx, path, false);
}

/** What rewriteReferencesSync answers when a conditional reference needs a search. */
const NEEDS_STORE: unique symbol = Symbol('needs the store');
const ENTRY_ITEM_RE = /\.entry\[\d+\]$/;

/**
 * rewriteReferences without the store: the same result (a copy) and the same errors, or NEEDS_STORE.
 * `path` holds the expression's parts (joined only for an error or a `resource` element).
 */
function rewriteReferencesSync(value: unknown, scope: ReferenceScope, path: string[], nested: boolean): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      path.push(`[${i}]`);
      const r = rewriteReferencesSync(value[i], scope, path, nested);
      path.pop();
      if (r === NEEDS_STORE) return r;
      out.push(r);
    }
    return out;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    let r: unknown;
    if (k === 'reference' && typeof v === 'string') {
      r = resolveReferenceSync(v, scope, path, nested);
    } else {
      const inner = nested || (k === 'resource' && ENTRY_ITEM_RE.test(path.join('')));
      path.push(`.${k}`);
      r = rewriteReferencesSync(v, scope, path, inner);
      path.pop();
    }
    if (r === NEEDS_STORE) return r;
    out[k] = r;
  }
  return out;
}

/** resolveReference without the store (`path`: the parts of the expression of the element holding `reference`). */
function resolveReferenceSync(ref: string, scope: ReferenceScope, path: string[], nested: boolean): string | typeof NEEDS_STORE {
  const mapped = mappedReference(ref, scope);
  if (mapped) return mapped;
  if (PLACEHOLDER_RE.test(ref) && !nested) throw unresolvedPlaceholder(ref, `${path.join('')}.reference`);
  return conditionalReference(ref) !== undefined ? NEEDS_STORE : ref;
}

function mappedReference(ref: string, scope: ReferenceScope): string | undefined {
  return scope.idMap.get(ref) ?? (scope.base && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(ref) ? scope.idMap.get(`${scope.base}/${ref}`) : undefined);
}

/** bundle.html#references: a urn:uuid / urn:oid reference names the fullUrl of an entry; one that names none cannot be resolved. */
function unresolvedPlaceholder(ref: string, expression: string): FhirError {
  return new FhirError('invalid', {
    code: 'not-found',
    diagnostics: `The reference ${shown(ref)} at ${expression} names no entry of the transaction (no entry has that fullUrl); a urn:uuid or urn:oid reference must resolve within the Bundle`,
    expression: [expression],
  });
}

/** Rewrites `reference` values that name a fullUrl in the Bundle or are conditional references. */
export async function rewriteReferences(value: unknown, scope: ReferenceScope, ctx: InteractionContext, path: string, nested: boolean): Promise<unknown> {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(await rewriteReferences(value[i], scope, ctx, `${path}[${i}]`, nested));
    return out;
  }
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'reference' && typeof v === 'string') {
      out[k] = await resolveReference(v, scope, ctx, `${path}.reference`, nested);
    } else {
      // The entries of a Bundle resource written by this transaction (a document, a collection) have
      // placeholders of their own: those that name no entry of this transaction are that Bundle's.
      const inner = nested || (k === 'resource' && /\.entry\[\d+\]$/.test(path));
      out[k] = await rewriteReferences(v, scope, ctx, `${path}.${k}`, inner);
    }
  }
  return out;
}

async function resolveReference(ref: string, scope: ReferenceScope, ctx: InteractionContext, expression: string, nested: boolean): Promise<string> {
  const mapped = mappedReference(ref, scope);
  if (mapped) return mapped;
  // Storing a placeholder that names no entry would leave a reference to nothing.
  if (PLACEHOLDER_RE.test(ref) && !nested) throw unresolvedPlaceholder(ref, expression);
  const m = await matchesOf(ctx, ctx.session, ref, { label: `The conditional reference ${shown(ref)} in Bundle.entry[${scope.entry}]`, expression: `Bundle.entry[${scope.entry}].resource` });
  if (!m) return ref;
  if (m.found.length !== 1) {
    throw new FhirError('precondition', { code: m.found.length === 0 ? 'not-found' : 'multiple-matches', diagnostics: `Conditional reference ${JSON.stringify(ref)} matches ${m.found.length === 0 ? 'no' : 'more than one'} resource`, expression: [expression] });
  }
  return `${m.type}/${m.found[0]!.id}`;
}
