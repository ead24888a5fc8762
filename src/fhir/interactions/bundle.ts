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
 * A transaction whose entries are all plain creates is prepared without holding the queue and
 * written as one unit (staged-transaction.ts, ADR 0047); the entries' helpers are in
 * bundle-entries.ts, the reference rewriting in bundle-references.ts.
 */
import { newId } from '../new-id';
import type { Bundle, BundleEntry, Resource } from 'fhir/r4';
import { isResourceType } from '../../definitions/resource-types';
import { pause } from '../../cooperative';
import { checkBundleEntries } from '../limits';
import { bundleJson, type RawEntry } from '../bundle-writer';
import { findMatches, parseCriteria, urlCriteria } from '../conditional';
import { checkUniqueTargets, entryError, entryRequest, includesBody, parseEntry, responseOf, type ParsedEntry } from './bundle-entries';
import { fullUrlBase, rewriteAllReferences, type ReferenceScope } from './bundle-references';
import { stageable, stagedTransaction } from './staged-transaction';
import { viewOf, type InteractionContext } from '../context';
import { FhirError } from '../outcome';
import { parseETagVersion } from '../headers';
import { route } from '../router';
import type { FhirRequest, FhirResult, HttpMethod } from '../types';
import type { StoredVersion } from '../../store/store';

const ORDER: Record<HttpMethod, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

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
  if (stageable(ctx.services, parsed)) {
    // Plain creates only: prepared without holding the store, then written as one unit (ADR 0047).
    const staged = await stagedTransaction(req, ctx, parsed, minimal);
    if (staged) return { status: 200, json: bundleJson({ type: 'transaction-response', entries: staged }) };
  }
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
