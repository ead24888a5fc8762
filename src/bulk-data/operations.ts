/**
 * FHIR Bulk Data Access IG 2.0 (https://hl7.org/fhir/uv/bulkdata/export.html) "Bulk Data Kick-off
 * Request" and "Bulk Data Status Request", as operations of the engine (so every request is
 * authenticated and authorised by the same interceptors as any other, ADR 31):
 *
 * - `$export` at the system level, on `Patient` (type level) and on a `Group` instance: needs
 *   `Prefer: respond-async` (else 400); `_outputFormat` (NDJSON only), `_type`, `_since`, `_typeFilter`
 *   (a search query per type, parsed and run through the engine's search); answers 202 with
 *   `Content-Location` of the job's status URL and starts the job in the background (run.ts).
 * - `$export-poll-status?_jobId=` (the status URL, system level): 202 with `X-Progress` and
 *   `Retry-After` while running; 200 with the manifest when done (absolute file URLs,
 *   `requiresAccessToken: true`); `_action=cancel` (what `DELETE` on the status URL does, router.ts)
 *   cancels and removes the files (202); `_action=file&_file=` authorises a download (router.ts).
 *
 * Access: a job belongs to the caller that started it (client, subject and the digest of what the
 * token may see); any other caller gets 404 for it, as for an absent job. The job's queries are
 * restricted with the caller's restriction (`restrictQuery`, ADR 20), so a patient-context token
 * exports only its own compartment; types the caller may not search are left out, and naming one in
 * `_type` is 403.
 */
import type { Group, OperationDefinition } from 'fhir/r4';
import { restrictionsOf, restrictQuery } from '../fhir/access';
import { restrictionOf, type FhirServices, type InteractionContext } from '../fhir/context';
import { assertLive } from '../fhir/interactions/read';
import { FhirError, outcome } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { isResourceType, resourceTypes } from '../definitions/resource-types';
import { compartmentMemberTypes, compartmentRestriction } from '../search/compartments';
import { and, or, type SearchExpr, type SearchQuery } from '../search/ir';
import { OperationInput } from '../operations/parameters';
import type { OperationInvocation, OperationRegistry } from '../operations/registry';
import { ExportJobs, type ExportJob } from './jobs';
import { runExport, type TypeExport } from './run';

const jobsByServices = new WeakMap<FhirServices, ExportJobs>();

/** The export jobs of a server. */
export function exportJobs(services: FhirServices): ExportJobs {
  let jobs = jobsByServices.get(services);
  if (!jobs) {
    jobs = new ExportJobs(services.config);
    jobsByServices.set(services, jobs);
  }
  return jobs;
}

/** Patients of a Group or a Patient-level export per query (their compartments OR-ed). */
const PATIENT_CHUNK = 50;
const NDJSON = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const param = (name: string, type: 'string' | 'instant' | 'code', documentation: string, max = '1') => ({ name, use: 'in' as const, min: 0, max, type, documentation });

export const EXPORT_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'bulk-export',
  url: 'http://spine-fhir-server.local/OperationDefinition/bulk-export',
  version: '1.0.0',
  // The IG's definition (Bulk Data 2.0); this server's is a subset of its parameters.
  base: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
  name: 'BulkDataExport',
  title: 'FHIR Bulk Data Export',
  status: 'active',
  kind: 'operation',
  description: 'Asynchronous export of the data the caller may see as NDJSON files (Bulk Data Access IG 2.0). Needs Prefer: respond-async; answers 202 with Content-Location of the status URL.',
  affectsState: false,
  code: 'export',
  resource: ['Patient', 'Group'],
  system: true,
  type: true,
  instance: true,
  parameter: [
    param('_outputFormat', 'string', 'application/fhir+ndjson (default; also application/ndjson, ndjson).'),
    param('_since', 'instant', 'Only resources last updated at or after this instant.'),
    param('_type', 'string', 'Comma-separated resource types to export.', '*'),
    param('_typeFilter', 'string', 'A search query [type]?[params] restricting the resources of one type (several for a type: their union).', '*'),
  ],
};

export const STATUS_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'bulk-export-poll-status',
  url: 'http://spine-fhir-server.local/OperationDefinition/bulk-export-poll-status',
  version: '1.0.0',
  name: 'BulkDataExportStatus',
  title: 'Status of a bulk export job',
  status: 'active',
  kind: 'operation',
  description: 'The status URL of a bulk export job: 202 with X-Progress while it runs, 200 with the manifest when done. DELETE on it cancels the job.',
  affectsState: false,
  code: 'export-poll-status',
  system: true,
  type: false,
  instance: false,
  parameter: [
    param('_jobId', 'string', 'The job (from the kick-off Content-Location).'),
    param('_action', 'code', 'status (default), cancel (DELETE on the status URL), file (authorises a download).'),
    param('_file', 'string', 'The file of `_action=file`.'),
  ],
};

/** Who started a job: the token's client and subject and what it may see; `anonymous` without access control. */
export function ownerOf(ctx: InteractionContext): string {
  const a = ctx.access;
  if (!a) return 'anonymous';
  const p = a.principal ?? {};
  return JSON.stringify([p['client_id'] ?? null, p['sub'] ?? null, p['patient'] ?? null, a.key ?? null]);
}

interface Kickoff {
  types: Set<string> | undefined;
  since?: string;
  typeFilters: Map<string, SearchExpr[]>;
}

function kickoffOf(input: OperationInput, ctx: InteractionContext): Kickoff {
  const fmt = input.string('_outputFormat');
  if (fmt !== undefined && !NDJSON.has(fmt)) throw new FhirError('invalid', { code: 'not-supported', diagnostics: `$export: _outputFormat ${JSON.stringify(fmt)} is not supported; use application/fhir+ndjson`, expression: ['_outputFormat'] });
  const k: Kickoff = { types: undefined, typeFilters: new Map() };
  const since = input.string('_since');
  if (since !== undefined) {
    if (!INSTANT.test(since) || Number.isNaN(Date.parse(since))) throw new FhirError('invalid', { code: 'value', diagnostics: `$export: _since must be an instant (e.g. 2024-01-31T12:00:00Z), not ${JSON.stringify(since)}`, expression: ['_since'] });
    k.since = since;
  }
  if (input.has('_type')) {
    const types = input.strings('_type', true);
    for (const t of types) if (!isResourceType(t)) throw new FhirError('invalid', { code: 'value', diagnostics: `$export: _type ${JSON.stringify(t)} is not a resource type`, expression: ['_type'] });
    k.types = new Set(types);
  }
  for (const f of input.strings('_typeFilter')) {
    const q = f.indexOf('?');
    const type = q < 0 ? f : f.slice(0, q);
    if (q < 0 || !isResourceType(type)) throw new FhirError('invalid', { code: 'value', diagnostics: `$export: _typeFilter must be [type]?[search parameters], not ${JSON.stringify(f)}`, expression: ['_typeFilter'] });
    const params = [...new URLSearchParams(f.slice(q + 1))];
    const where = ctx.services.search.parse([type], params, { strict: true }).query.where;
    if (where) k.typeFilters.set(type, [...(k.typeFilters.get(type) ?? []), where]);
  }
  return k;
}

/** The last-updated bounds of every query: `_since` and the job's transactionTime (a consistent cut). */
function updatedBounds(ctx: InteractionContext, type: string, k: Kickoff, transactionTime: string): SearchExpr[] {
  const p: Array<[string, string]> = [['_lastUpdated', `le${transactionTime}`]];
  if (k.since !== undefined) p.push(['_lastUpdated', `ge${k.since}`]);
  const w = ctx.services.search.parse([type], p, { strict: true }).query.where;
  return w ? [w] : [];
}

/** "In the compartment of some Patient": for each compartment parameter, it references an existing Patient. */
function inAnyPatient(ctx: InteractionContext, type: string): SearchExpr | undefined {
  if (type === 'Patient') return undefined;
  const probe = compartmentRestriction('Patient', '-', type);
  if (!probe) return undefined;
  const refs = (probe.op === 'or' ? probe.args : [probe]).filter((e): e is Extract<SearchExpr, { op: 'reference' }> => e.op === 'reference');
  const parts = refs.map((r) => ctx.services.search.parse([type], [[`${r.param}:Patient._lastUpdated`, 'ge0001-01-01']], { strict: true }).query.where).filter((x): x is SearchExpr => x !== undefined);
  return parts.length > 0 ? or(...parts) : undefined;
}

/** The Patient ids of a Group's members (`member.entity` references to Patient). */
function groupPatients(g: Group): string[] {
  const ids = new Set<string>();
  for (const m of g.member ?? []) {
    if (m.inactive === true) continue;
    const ref = m.entity?.reference ?? '';
    const match = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
    if (match) ids.add(match[1]!);
  }
  return [...ids];
}

async function typeExports(ctx: InteractionContext, inv: OperationInvocation, k: Kickoff, transactionTime: string): Promise<TypeExport[]> {
  const sort: SearchQuery['sort'] = [{ param: '_id', kind: 'special', descending: false }];
  let candidates: string[];
  let group: string[] | undefined;
  if (inv.level === 'system') candidates = [...resourceTypes()].sort();
  else {
    candidates = compartmentMemberTypes('Patient');
    if (inv.level === 'instance') {
      const v = await ctx.session.read('Group', inv.id!);
      assertLive(v, 'Group', inv.id!);
      group = groupPatients(JSON.parse(v.json!) as Group);
    }
  }
  for (const t of k.types ?? []) {
    if (!candidates.includes(t)) throw new FhirError('invalid', { code: 'value', diagnostics: `$export: _type ${t} is not exported at this level (a Patient or Group export covers the Patient compartment's types)`, expression: ['_type'] });
    if (restrictionOf(ctx, t) === 'none') throw new FhirError('forbidden', { diagnostics: `$export: the access token does not allow reading ${t} (_type)` });
  }
  const restrictOf = restrictionsOf(ctx);
  const out: TypeExport[] = [];
  for (const type of candidates) {
    if (k.types && !k.types.has(type)) continue;
    const restriction = restrictionOf(ctx, type);
    if (restriction === 'none') continue;
    const base = updatedBounds(ctx, type, k, transactionTime);
    let scopes: Array<SearchExpr | undefined>;
    if (group) {
      scopes = [];
      for (let i = 0; i < group.length; i += PATIENT_CHUNK) {
        const chunk = group.slice(i, i + PATIENT_CHUNK).map((id) => compartmentRestriction('Patient', id, type)).filter((x): x is SearchExpr => x !== undefined);
        if (chunk.length > 0) scopes.push(or(...chunk));
      }
    } else scopes = [inv.level === 'system' ? undefined : inAnyPatient(ctx, type)];
    const filters = k.typeFilters.get(type);
    const filterSets: Array<SearchExpr | undefined> = filters ?? [undefined];
    const queries: SearchQuery[] = [];
    for (const s of scopes) {
      for (const f of filterSets) {
        const parts = [...base, ...(s ? [s] : []), ...(f ? [f] : [])];
        let q: SearchQuery = { resourceTypes: [type], sort, count: 0, offset: 0, total: 'none', ...(parts.length ? { where: and(...parts) } : {}) };
        if (ctx.services.search.rewrite) q = await ctx.services.search.rewrite(q, ctx.session);
        queries.push(restrictQuery(q, restriction, restrictOf));
      }
    }
    if (queries.length > 0) out.push({ type, queries });
  }
  return out;
}

export function statusUrl(ctx: InteractionContext, job: ExportJob): string {
  return `${ctx.services.config.baseUrl}/$export-poll-status?_jobId=${job.id}`;
}

export async function exportOperation(req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const prefer = (req.headers['prefer'] ?? '').split(/[,;]/).map((s) => s.trim().toLowerCase());
  if (!prefer.includes('respond-async')) throw new FhirError('invalid', { code: 'invalid', diagnostics: '$export is asynchronous: send the header Prefer: respond-async' });
  const input = new OperationInput(inv, 'export');
  input.assertDeclared(EXPORT_DEFINITION);
  const k = kickoffOf(input, ctx);
  // transactionTime: no earlier than the newest version the store holds (its instants may run ahead
  // of the clock after a burst of writes), so every resource written before the kick-off is exported.
  const mark = (await ctx.services.store.search({ resourceTypes: ['Patient'], sort: [], count: 1, offset: 0, total: 'none', watermark: true })).watermark ?? 0;
  const transactionTime = new Date(Math.max((ctx.services.now?.() ?? new Date()).getTime(), mark)).toISOString();
  const types = await typeExports(ctx, inv, k, transactionTime);
  const query = req.query.map(([a, b]) => `${encodeURIComponent(a)}=${encodeURIComponent(b)}`).join('&');
  const jobs = exportJobs(ctx.services);
  const job = jobs.create(ownerOf(ctx), `${ctx.services.config.baseUrl}/${req.path}${query ? `?${query}` : ''}`, transactionTime);
  const session = ctx.session;
  void runExport(job, types, (q) => session.search(q), () => jobs.sweep());
  return { status: 202, resource: outcome('information', 'informational', `Export job ${job.id} accepted; poll ${statusUrl(ctx, job)}`), headers: { 'Content-Location': statusUrl(ctx, job) } };
}

function manifest(ctx: InteractionContext, job: ExportJob): Record<string, unknown> {
  const fileUrl = (name: string): string => `${ctx.services.config.baseUrl}/$export-file?_jobId=${job.id}&_file=${encodeURIComponent(name)}`;
  return {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: job.files.map((f) => ({ type: f.type, url: fileUrl(f.name), count: f.count })),
    error: job.errors.map((f) => ({ type: 'OperationOutcome', url: fileUrl(f.name), count: f.count })),
  };
}

export async function statusOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const input = new OperationInput(inv, 'export-poll-status');
  input.assertDeclared(STATUS_DEFINITION);
  const id = input.string('_jobId');
  if (id === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$export-poll-status: _jobId is required', expression: ['_jobId'] });
  const jobs = exportJobs(ctx.services);
  const job = jobs.get(id);
  if (!job || job.owner !== ownerOf(ctx)) throw new FhirError('not-found', { code: 'not-found', diagnostics: `No export job ${id} (it never existed, was cancelled, expired, or belongs to another client)` });
  const action = input.string('_action') ?? 'status';
  if (action === 'cancel') {
    jobs.remove(job);
    return { status: 202, resource: outcome('information', 'informational', `Export job ${id} cancelled; its files are deleted`) };
  }
  if (action === 'file') {
    const name = input.string('_file') ?? '';
    if (job.state !== 'done' || jobs.filePath(job, name) === undefined) throw new FhirError('not-found', { code: 'not-found', diagnostics: `Export job ${id} has no file ${JSON.stringify(name)}` });
    return { status: 200, resource: outcome('information', 'informational', name) };
  }
  if (action !== 'status') throw new FhirError('invalid', { code: 'value', diagnostics: `$export-poll-status: _action must be status, cancel or file`, expression: ['_action'] });
  if (job.state === 'running') {
    const progress = `${job.typesDone}/${job.typesTotal} types, ${job.exported} resources`;
    return { status: 202, resource: outcome('information', 'informational', `in progress: ${progress}`), headers: { 'X-Progress': progress, 'Retry-After': '1' } };
  }
  if (job.state === 'failed') return { status: 500, resource: outcome('error', 'exception', `Export job ${id} failed: ${job.failure ?? 'unknown error'}`) };
  const expires = new Date((job.finishedAt ?? Date.now()) + ctx.services.config.bulkExportExpirySeconds * 1000).toUTCString();
  return { status: 200, json: JSON.stringify(manifest(ctx, job)), headers: { Expires: expires } };
}

export function registerBulkExport(registry: OperationRegistry): void {
  registry.register(EXPORT_DEFINITION, exportOperation, { appliesRestriction: true });
  registry.register(STATUS_DEFINITION, statusOperation, { appliesRestriction: true });
}
