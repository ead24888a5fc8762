/**
 * `$reindex` (FHIR R4 §2.1.0.4 operations.html; a server-defined operation in the style of HAPI's and
 * Blaze's): rebuilds the search index entries of existing resources with the current search
 * parameters (after SearchParameter resources were added, changed or removed, see
 * src/search/runtime-parameters.ts). System level reindexes every type, type level one type,
 * instance level one resource. Resources are read in batches of `batchSize` (default 500) in `_id`
 * order; each one's entries are replaced without writing a new version (Store.reindex), so history
 * and ETags do not change. A resource changed concurrently is skipped (its write indexed it already).
 * Progress is logged per batch; the answer is a Parameters resource with the counts.
 */
import type { OperationDefinition, Parameters, ParametersParameter, Resource } from 'fhir/r4';
import { resourceTypes } from '../definitions/resource-types';
import { FhirError } from '../fhir/outcome';
import type { InteractionContext } from '../fhir/context';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { SearchQuery } from '../search/ir';
import type { StoredVersion } from '../store/store';
import type { OperationInvocation, OperationRegistry } from './registry';

export const DEFAULT_REINDEX_BATCH = 500;
const MAX_REINDEX_BATCH = 5000;

export const REINDEX_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'reindex',
  name: 'Reindex',
  title: 'Rebuild the search index of existing resources',
  status: 'active',
  kind: 'operation',
  description:
    'Re-evaluates every search parameter (including SearchParameter resources added at run time) on the current version of existing resources and replaces their search index entries, without creating new versions. System level: every resource; type level: every resource of the type; instance level: one resource.',
  affectsState: true,
  code: 'reindex',
  resource: ['Resource'],
  system: true,
  type: true,
  instance: true,
  parameter: [
    { name: 'batchSize', use: 'in', min: 0, max: '1', type: 'integer', documentation: `Resources read and reindexed per batch (1-${MAX_REINDEX_BATCH}, default ${DEFAULT_REINDEX_BATCH}).` },
    { name: 'reindexed', use: 'out', min: 1, max: '1', type: 'integer', documentation: 'Resources whose index entries were rebuilt.' },
    { name: 'skipped', use: 'out', min: 1, max: '1', type: 'integer', documentation: 'Resources changed while the operation ran (already indexed by that change).' },
    {
      name: 'type',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'Per resource type that had resources: its name and count.',
      part: [
        { name: 'resourceType', use: 'out', min: 1, max: '1', type: 'code' },
        { name: 'reindexed', use: 'out', min: 1, max: '1', type: 'integer' },
      ],
    },
  ],
};

function batchSizeOf(params: Parameters): number {
  const p = params.parameter?.find((x) => x.name === 'batchSize');
  if (!p) return DEFAULT_REINDEX_BATCH;
  const raw = p.valueInteger ?? p.valuePositiveInt ?? p.valueString;
  const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_REINDEX_BATCH) {
    throw new FhirError('invalid', { code: 'value', diagnostics: `$reindex: batchSize must be an integer from 1 to ${MAX_REINDEX_BATCH}`, expression: ['batchSize'] });
  }
  return n;
}

interface Counts {
  reindexed: number;
  skipped: number;
  byType: Map<string, number>;
}

async function reindexOne(ctx: InteractionContext, v: StoredVersion, counts: Counts): Promise<void> {
  const { store, indexer } = ctx.services;
  if (!v.json || v.deleted) return;
  const resource = JSON.parse(v.json) as Resource;
  const ok = await store.reindex!(v.resourceType, v.id, v.versionId, indexer.extract(resource));
  if (ok) {
    counts.reindexed++;
    counts.byType.set(v.resourceType, (counts.byType.get(v.resourceType) ?? 0) + 1);
  } else counts.skipped++;
}

async function reindexType(ctx: InteractionContext, type: string, batch: number, counts: Counts): Promise<void> {
  const { store, log } = ctx.services;
  const query: SearchQuery = { resourceTypes: [type], sort: [{ param: '_id', kind: 'special', descending: false }], count: batch, offset: 0, total: 'none' };
  for (;;) {
    const page = await store.search(query);
    for (const v of page.entries) await reindexOne(ctx, v, counts);
    if (page.entries.length > 0) log.info({ operation: '$reindex', resourceType: type, reindexedOfType: counts.byType.get(type) ?? 0, reindexed: counts.reindexed }, '$reindex progress');
    // A keyset position means more may follow; its absence after keyset pages means the end.
    if (page.next !== undefined) {
      if (query.after !== undefined && JSON.stringify(query.after) === JSON.stringify(page.next)) throw new FhirError('fault', `$reindex: the store repeated keyset position on ${type}`);
      query.after = page.next;
    } else if (query.after !== undefined || page.entries.length < batch) return;
    query.offset += page.entries.length;
  }
}

export async function reindex(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const { store, log } = ctx.services;
  if (!store.reindex) throw new FhirError('unsupported', { diagnostics: `$reindex is not supported by the ${store.name} store` });
  if (ctx.inTransaction) throw new FhirError('unsupported', { diagnostics: '$reindex cannot run inside a transaction Bundle' });
  const batch = batchSizeOf(inv.parameters);
  const counts: Counts = { reindexed: 0, skipped: 0, byType: new Map() };
  const started = Date.now();
  if (inv.level === 'instance') {
    // Through the request's session: a caller restricted to a compartment sees only its own resources.
    const v = await ctx.session.read(inv.resourceType!, inv.id!);
    if (!v || v.deleted) throw new FhirError('not-found', { diagnostics: `Resource ${inv.resourceType}/${inv.id} is not known` });
    await reindexOne(ctx, v, counts);
  } else {
    const types = inv.level === 'type' ? [inv.resourceType!] : [...resourceTypes()].sort();
    for (const t of types) await reindexType(ctx, t, batch, counts);
  }
  log.info({ operation: '$reindex', level: inv.level, reindexed: counts.reindexed, skipped: counts.skipped, ms: Date.now() - started }, '$reindex finished');
  const parameter: ParametersParameter[] = [
    { name: 'reindexed', valueInteger: counts.reindexed },
    { name: 'skipped', valueInteger: counts.skipped },
    ...[...counts.byType].map(([t, n]) => ({
      name: 'type',
      part: [
        { name: 'resourceType', valueCode: t },
        { name: 'reindexed', valueInteger: n },
      ],
    })),
  ];
  const out: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, resource: out };
}

export function registerReindex(registry: OperationRegistry): void {
  registry.register(REINDEX_DEFINITION, reindex);
}
