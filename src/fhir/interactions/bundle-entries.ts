/**
 * The entries of a batch or transaction Bundle (FHIR R4 §3.1.0.11 http.html#transaction, §2.36.4.1
 * bundle.html "Transaction Processing Rules"): each entry's `request` read into the sub-request the
 * router runs (method, URL relative to this server's base, the `if*` headers, the body or a PATCH
 * document), the entry of the response Bundle made from its result, and the rules every transaction
 * checks first (one entry per target) and on failure (the error names the failing entry). Shared by
 * bundle.ts and staged-transaction.ts.
 */
import type { BundleEntry, Resource } from 'fhir/r4';
import { isResourceType } from '../../definitions/resource-types';
import type { RawEntry } from '../bundle-writer';
import { expressionOf, findDuplicateProperty } from '../json-text';
import { FhirError } from '../outcome';
import type { FhirRequest, FhirResult, HttpMethod } from '../types';

const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface ParsedEntry {
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

export function parseEntry(baseUrl: string, entry: BundleEntry, index: number): ParsedEntry {
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

export function entryRequest(outer: FhirRequest, e: ParsedEntry, transaction: boolean): FhirRequest {
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

export function responseOf(baseUrl: string, result: FhirResult, includeResource: boolean): RawEntry {
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

/** Whether an entry's answer carries the resource: never for HEAD; for writes unless `Prefer: return=minimal`. */
export function includesBody(method: HttpMethod, minimal: boolean): boolean {
  return method !== 'HEAD' && (!minimal || method === 'GET');
}

/** A transaction failure names the failing entry in every issue (text and expression). */
export function entryError(err: FhirError, e: ParsedEntry): FhirError {
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

export function checkUniqueTargets(entries: ParsedEntry[]): void {
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
