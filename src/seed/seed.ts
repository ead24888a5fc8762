/**
 * Loads the synthetic population (src/seed/generate.ts) through the engine's own write path: FHIR
 * R4 transaction Bundles (http.html#transaction) of PUTs, so every resource passes the server's
 * validation (REQUIRED_PROFILES, UK Core), the NHS Number record rules and indexing exactly like a
 * client's write, and a batch either lands whole or not at all. A failing Bundle stops the seed with
 * the engine's OperationOutcome (SeedError).
 */
import type { Bundle, OperationOutcome, FhirResource } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { topLevelContext, type FhirServices } from '../fhir/context';
import { route } from '../fhir/router';
import { generatePopulation, type SeedGroup } from './generate';

export interface SeedProgress {
  /** Patients written so far. */
  patients: number;
  /** Resources written so far (practices and GPs included). */
  resources: number;
  totalPatients: number;
}

export interface SeedOptions {
  patients: number;
  seed?: number;
  /** Make dev-patient and dev-practitioner seeded records (generate.ts GenerateOptions.devUsers). */
  devUsers?: boolean;
  /** Patients per transaction Bundle (default 25). */
  batchPatients?: number;
  onProgress?: (p: SeedProgress) => void;
}

export interface SeedSummary {
  patients: number;
  resources: number;
  byType: Record<string, number>;
  ms: number;
}

export class SeedError extends Error {
  constructor(
    message: string,
    readonly outcome?: OperationOutcome,
  ) {
    super(message);
  }
}

/** A transaction Bundle of PUTs of the resources (each carries its id). */
export function transactionOf(resources: readonly FhirResource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((r) => ({ fullUrl: `${r.resourceType}/${r.id!}`, resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id!}` } })),
  };
}

/** Splits the groups into Bundles: each practice on its own, patients `batchPatients` at a time. */
export function batchesOf(groups: readonly SeedGroup[], batchPatients: number): Array<{ patients: number; resources: FhirResource[] }> {
  const out: Array<{ patients: number; resources: FhirResource[] }> = [];
  let current: { patients: number; resources: FhirResource[] } | undefined;
  for (const g of groups) {
    if (g.kind === 'practice') {
      out.push({ patients: 0, resources: [...g.resources] });
      current = undefined;
      continue;
    }
    if (!current || current.patients >= batchPatients) {
      current = { patients: 0, resources: [] };
      out.push(current);
    }
    current.patients++;
    current.resources.push(...g.resources);
  }
  return out;
}

/** Sends one Bundle somewhere (the engine in-process, or a server over HTTP) and answers its response Bundle; throws SeedError when refused. */
export type BundleSink = (bundle: Bundle) => Promise<Bundle>;

/**
 * A batch Bundle of PUTs of the seeded documents (Summary Care Records). A stored document is
 * immutable (src/fhir/documents.ts): on a second seed with the same seed it answers 405 and is kept
 * as it is (the generator gives it the same content); any other refusal stops the seed.
 */
export function documentsBatchOf(documents: readonly Bundle[]): Bundle {
  return { ...transactionOf(documents), type: 'batch' };
}

function checkDocumentsBatch(response: Bundle): void {
  for (const [n, e] of (response.entry ?? []).entries()) {
    const status = Number.parseInt(e.response?.status ?? '', 10);
    if (status < 300 || status === 405) continue;
    const outcome = e.response?.outcome as OperationOutcome | undefined;
    throw new SeedError(`a seeded document was refused (entry ${n}, ${e.response?.status ?? '?'}): ${outcome?.issue?.map((i) => i.diagnostics ?? i.code).join('; ') ?? ''}`, outcome);
  }
}

const isDocument = (r: FhirResource): r is Bundle => r.resourceType === 'Bundle' && r.type === 'document';

/** The in-process sink: the engine's router with the top-level (unauthenticated, internal) context. */
export function engineSink(services: FhirServices): BundleSink {
  return async (bundle) => {
    const result = await route({ method: 'POST', path: '', query: [], headers: {}, body: bundle, contentType: 'application/fhir+json', requestId: randomUUID() }, topLevelContext(services));
    if (result.status >= 300) {
      const outcome = (result.resource ?? (result.json !== undefined ? JSON.parse(result.json) : undefined)) as OperationOutcome | undefined;
      throw new SeedError(`the seed transaction was refused (${result.status}): ${outcome?.issue?.map((i) => i.diagnostics ?? i.code).join('; ') ?? ''}`, outcome);
    }
    return (result.resource ?? JSON.parse(result.json ?? '{}')) as Bundle;
  };
}

/** Generates and writes the population into any sink. */
export async function seedInto(sink: BundleSink, opts: SeedOptions): Promise<SeedSummary> {
  const t0 = performance.now();
  const groups = generatePopulation({ patients: opts.patients, ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.devUsers !== undefined ? { devUsers: opts.devUsers } : {}) });
  const byType: Record<string, number> = {};
  let patients = 0;
  let resources = 0;
  for (const batch of batchesOf(groups, opts.batchPatients ?? 25)) {
    // The records in one transaction, then their documents (immutable once stored) in a batch.
    await sink(transactionOf(batch.resources.filter((r) => !isDocument(r))));
    const documents = batch.resources.filter(isDocument);
    if (documents.length > 0) checkDocumentsBatch(await sink(documentsBatchOf(documents)));
    patients += batch.patients;
    resources += batch.resources.length;
    for (const r of batch.resources) byType[r.resourceType] = (byType[r.resourceType] ?? 0) + 1;
    opts.onProgress?.({ patients, resources, totalPatients: opts.patients });
  }
  return { patients, resources, byType, ms: performance.now() - t0 };
}

/** Seeds `patients` synthetic UK patients (with practices, GPs and clinical records) through the engine. */
export function seedSyntheticPopulation(services: FhirServices, opts: SeedOptions): Promise<SeedSummary> {
  return seedInto(engineSink(services), opts);
}

/** True when the store has never held any resource (no version of anything). */
export async function storeIsEmpty(services: FhirServices): Promise<boolean> {
  const page = await services.store.history({ count: 1, offset: 0 });
  return page.entries.length === 0;
}

/** One line for the start-up log / console. */
export function describeSeed(s: SeedSummary): string {
  const types = Object.entries(s.byType)
    .map(([t, n]) => `${n} ${t}`)
    .join(', ');
  return `Seeded ${s.patients} synthetic patients (${s.resources} resources: ${types}) in ${(s.ms / 1000).toFixed(1)} s`;
}
