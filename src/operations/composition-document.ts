/**
 * `$document` on Composition (FHIR R4 composition-operation-document.html, OperationDefinition
 * `Composition-document`; documents.html): `[base]/Composition/[id]/$document` and
 * `[base]/Composition/$document?id=...`, GET or POST. The answer is a Bundle of type `document` with
 * an identifier (urn:uuid), a timestamp, the Composition as its first entry, then every resource the
 * Composition references (subject, encounter, author, attester, custodian, section entries ...) and,
 * transitively, the resources those reference (at most MAX_DOCUMENT_ENTRIES). References that do not
 * resolve on this server (absolute URLs elsewhere, contained, unknown, or outside the caller's view)
 * are left out. `persist=true` also stores the Bundle (`Bundle/{id}`, R4: "the document is stored").
 * Access: every read goes through the engine with the caller's access, so a patient-context token
 * gets only its own Composition (another's is 404) and only resources it may see.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Composition, FhirResource, OperationDefinition } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { route } from '../fhir/router';
import { ID_PATTERN, type FhirRequest, type FhirResult } from '../fhir/types';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';

export const MAX_DOCUMENT_ENTRIES = 1000;

export const DOCUMENT_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Composition-document',
  url: 'http://hl7.org/fhir/OperationDefinition/Composition-document',
  version: '4.0.1',
  name: 'Generate a Document',
  status: 'active',
  kind: 'operation',
  affectsState: false,
  code: 'document',
  resource: ['Composition'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'id', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Identifies the composition to use (type level)' },
    { name: 'persist', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Whether to store the document at the document end-point (/Bundle)' },
    { name: 'graph', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Canonical reference to a GraphDefinition (not supported)' },
  ],
};

/** Every `reference` string in a resource (deeply). */
export function referencesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesIn(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else if (k !== 'contained') referencesIn(v, out);
    }
  }
  return out;
}

/** `Type/id` of a reference to this server (relative, or absolute under its base); undefined otherwise. */
export function localReference(reference: string, baseUrl: string): string | undefined {
  const base = baseUrl.replace(/\/+$/, '');
  const rel = reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[^/]+)?$/.exec(rel);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

function subRequest(req: FhirRequest, method: 'GET' | 'POST', path: string, body?: unknown): FhirRequest {
  const headers = { ...req.headers };
  delete headers['x-request-id'];
  delete headers['content-type'];
  delete headers['if-match'];
  delete headers['if-none-exist'];
  delete headers['prefer'];
  return { method, path, query: [], headers, requestId: req.requestId, ...(body !== undefined ? { body, contentType: 'application/fhir+json' } : {}) };
}

async function readVisible(req: FhirRequest, ctx: InteractionContext, path: string): Promise<FhirResource | undefined> {
  try {
    const r = await route(subRequest(req, 'GET', path), ctx);
    return (r.resource ?? (r.json !== undefined ? JSON.parse(r.json) : undefined)) as FhirResource | undefined;
  } catch (e) {
    if (e instanceof FhirError && (e.status === 404 || e.status === 410 || e.status === 403)) return undefined;
    throw e;
  }
}

async function documentOperation(req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const input = new OperationInput(inv, 'document');
  input.assertDeclared(DOCUMENT_DEFINITION);
  if (input.has('graph')) throw new FhirError('unsupported', { code: 'not-supported', diagnostics: '$document: the graph parameter is not supported' });
  const baseUrl = ctx.services.config.baseUrl;
  let id = inv.id;
  if (id === undefined) {
    const given = input.string('id');
    if (given === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: 'Composition/$document needs the parameter id (the Composition)', expression: ['id'] });
    id = localReference(given, baseUrl)?.replace(/^Composition\//, '') ?? given;
    if (!ID_PATTERN.test(id)) throw new FhirError('invalid', { code: 'value', diagnostics: `$document: '${given}' does not identify a Composition on this server`, expression: ['id'] });
  }
  const composition = (await readVisible(req, ctx, `Composition/${id}`)) as Composition | undefined;
  if (!composition) throw new FhirError('not-found', `Composition/${id} is not known`);

  const base = baseUrl.replace(/\/+$/, '');
  const entries: BundleEntry[] = [{ fullUrl: `${base}/Composition/${composition.id!}`, resource: composition }];
  const seen = new Set([`Composition/${composition.id!}`]);
  const queue = referencesIn(composition);
  while (queue.length > 0 && entries.length < MAX_DOCUMENT_ENTRIES) {
    const local = localReference(queue.shift()!, baseUrl);
    if (local === undefined || seen.has(local)) continue;
    seen.add(local);
    const resource = await readVisible(req, ctx, local);
    if (!resource) continue;
    entries.push({ fullUrl: `${base}/${local}`, resource });
    queue.push(...referencesIn(resource));
  }
  const uuid = randomUUID();
  const now = new Date().toISOString();
  let bundle: Bundle = { resourceType: 'Bundle', id: uuid, meta: { lastUpdated: now }, identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid}` }, type: 'document', timestamp: now, entry: entries };
  if (input.boolean('persist') === true) {
    const { id: _id, meta: _meta, ...body } = bundle;
    const stored = await route(subRequest(req, 'POST', 'Bundle', body), ctx);
    bundle = (stored.resource ?? JSON.parse(stored.json!)) as Bundle;
    return { status: 200, resource: bundle, headers: { 'Content-Location': `${base}/Bundle/${bundle.id!}` } };
  }
  return { status: 200, resource: bundle };
}

export function registerCompositionDocument(registry: OperationRegistry): void {
  registry.register(DOCUMENT_DEFINITION, documentOperation, { appliesRestriction: true });
}
