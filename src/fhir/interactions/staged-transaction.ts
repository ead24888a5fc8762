/**
 * A transaction Bundle of plain creates, prepared without holding the store (FHIR R4 §3.1.0.11
 * http.html#transaction, §2.36.4.1 bundle.html "Transaction Processing Rules"; ADR 0047).
 *
 * The transactions that load data (Synthea, a GP system's upload) are mostly POSTs of new resources
 * whose references name each other's fullUrls: nothing in them reads the store. Such a Bundle need
 * not hold the store's write queue while its entries are validated and indexed. Each entry runs
 * through the router exactly as in bundle.ts: the interceptors, the create interaction, validation
 * and index extraction. They all run at once, each with a session of its own that takes the entry's
 * one write instead of writing it. When every entry has handed its write over, the writes go to
 * the store as ONE all-or-nothing unit (`Store.commitCreates`; on a file database the writer thread
 * writes and commits them, ADR 0045), and each entry's create then completes with its stored
 * version, as it would have inside `withTransaction`. When an entry fails instead, the entries after
 * it are not started, nothing is written, and the transaction fails.
 *
 * The answer is that of bundle.ts's serial processing:
 * - the same ids, rewritten references, statuses and response entries;
 * - the same failure: every entry is a POST, so the lowest failing entry is the first in the
 *   processing order;
 * - nothing stored when one fails.
 *
 * The stage is abandoned, before anything is written, when an entry does anything else with its
 * session: a read, a search, a second write, a write other than its own create, or any store call
 * while the ids are chosen (e.g. the NHS Number rules' trace of a Patient without a number). The
 * Bundle then runs in bundle.ts as before, and the entry's resource type is remembered, so later
 * Bundles holding that type go there at once. When the store refuses one of the creates (its id
 * exists: an NHS Number already used), nothing is stored and bundle.ts runs the Bundle again, so the
 * answer is the one it gives. After the COMMIT only the building of each entry's answer is left (a
 * create's last store call is its write: src/fhir/write.ts).
 */
import type { Resource } from 'fhir/r4';
import { pause } from '../../cooperative';
import { isResourceType } from '../../definitions/resource-types';
import { CreateFailed, type StoreSession, type WriteOp, type WriteResult } from '../../store/store';
import { RUNTIME_CONFORMANCE_TYPES } from '../../validation/pipeline';
import type { RawEntry } from '../bundle-writer';
import { viewOf, type FhirServices, type InteractionContext } from '../context';
import { newId } from '../new-id';
import { FhirError } from '../outcome';
import { route } from '../router';
import type { FhirRequest, FhirResult } from '../types';
import { entryError, entryRequest, includesBody, responseOf, type ParsedEntry } from './bundle-entries';
import { fullUrlBase, rewriteReferencesWithoutStore } from './bundle-references';

/**
 * Types a stage never takes: a write of one changes what later entries are validated or indexed
 * against (the write hooks of src/main.ts: profiles, terminology, search parameters), or its create
 * searches the store (a FHIR document's identifier, src/fhir/documents.ts).
 */
const NOT_STAGED: ReadonlySet<string> = new Set([...RUNTIME_CONFORMANCE_TYPES, 'SearchParameter', 'Bundle']);

/** Per services: the types whose entries abandoned a stage (their creates use the store). */
const learned = new WeakMap<FhirServices, Set<string>>();

/** What a stage's session throws for anything but its entry's one create. */
class NotStageable extends Error {
  constructor(what: string) {
    super(`${what} is not possible in a staged transaction`);
    this.name = 'NotStageable';
  }
}

/** Whether every entry of the transaction is a POST of a new resource a stage can take. */
export function stageable(services: FhirServices, entries: readonly ParsedEntry[]): boolean {
  if (!services.store.commitCreates || entries.length === 0) return false;
  const serial = learned.get(services);
  return entries.every(
    (e) =>
      e.method === 'POST' &&
      isResourceType(e.path) &&
      e.query.length === 0 &&
      typeof e.resource === 'object' &&
      e.resource !== null &&
      !Array.isArray(e.resource) &&
      !e.entry.request?.ifNoneExist &&
      !NOT_STAGED.has(e.path) &&
      !serial?.has(e.path),
  );
}

interface Handover {
  op: WriteOp;
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

type Settled = { ok: true; result: FhirResult } | { ok: false; error: unknown };

/** The writes of the entries as they are handed over, and the moment every entry has handed its over or ended. */
class Stage {
  phase: 'identities' | 'entries' | 'committing' = 'identities';
  /** The type of the entry that did what a stage cannot. */
  abandonedBy: string | undefined;
  readonly handovers = new Map<number, Handover>();
  /** Entries that ended without handing a write over, by index. */
  readonly endedEarly = new Map<number, Settled>();
  private count = 0;
  /** How many entries were started (known once no more will be). */
  private started: number | undefined;
  private markArrived!: () => void;
  readonly everyEntryArrived = new Promise<void>((resolve) => (this.markArrived = resolve));

  constructor(readonly ids: string[]) {}

  /** Whether an entry already failed or did what a stage cannot: the entries after it need not start. */
  get settledAlready(): boolean {
    return this.abandonedBy !== undefined || this.endedEarly.size > 0;
  }

  /** No more entries will start: the stage waits for the `n` that did. */
  startedAll(n: number): void {
    this.started = n;
    if (this.count === n) this.markArrived();
  }

  /** The session of one entry: it takes the entry's own create, and nothing else. */
  session(e: ParsedEntry): StoreSession {
    const refuse = (what: string) => (): Promise<never> => Promise.reject(this.abandon(e, what));
    return {
      read: refuse('a read'),
      vread: refuse('a read'),
      history: refuse('a history'),
      search: refuse('a search'),
      write: (op) => this.handOver(e, op),
    };
  }

  /** An entry's route ended: if it had handed no write over, it counts as arrived with its outcome. */
  ended(e: ParsedEntry, s: Settled): Settled {
    if (!this.handovers.has(e.index) && !this.endedEarly.has(e.index)) {
      this.endedEarly.set(e.index, s);
      this.arrive();
    }
    return s;
  }

  /** Rejects every handed-over write that is still waiting (nothing was written). */
  rejectAll(error: unknown): void {
    for (const h of this.handovers.values()) h.reject(error);
  }

  private handOver(e: ParsedEntry, op: WriteOp): Promise<WriteResult> {
    if (this.phase !== 'entries' || this.abandonedBy !== undefined) return Promise.reject(this.abandon(e, 'a write outside the entries'));
    if (this.handovers.has(e.index) || this.endedEarly.has(e.index)) return Promise.reject(this.abandon(e, 'a second write of an entry'));
    if (op.kind !== 'create' || op.resourceType !== e.path || op.id !== this.ids[e.index]) return Promise.reject(this.abandon(e, `a ${op.kind} of ${op.resourceType}/${op.id}`));
    return new Promise((resolve, reject) => {
      this.handovers.set(e.index, { op, resolve, reject });
      this.arrive();
    });
  }

  private abandon(e: ParsedEntry, what: string): NotStageable {
    this.abandonedBy ??= e.path;
    return new NotStageable(`${what} (Bundle.entry[${e.index}])`);
  }

  private arrive(): void {
    if (++this.count === this.started) this.markArrived();
  }
}

/**
 * Runs a transaction whose entries are all `stageable` (the caller checked, and checked the
 * entries' targets): its response entries, by entry index, or undefined when the stage was
 * abandoned and the Bundle must run in `withTransaction` (nothing was written). Throws as
 * bundle.ts's transaction does.
 */
export async function stagedTransaction(req: FhirRequest, ctx: InteractionContext, entries: readonly ParsedEntry[], minimal: boolean): Promise<RawEntry[] | undefined> {
  const services = ctx.services;
  const baseUrl = services.config.baseUrl;
  const stage = new Stage([]);
  const contextOf = (e: ParsedEntry): InteractionContext => ({ ...ctx, session: viewOf(ctx, stage.session(e)), inTransaction: true });
  const learn = (): undefined => {
    const type = stage.abandonedBy;
    if (type !== undefined) {
      const set = learned.get(services) ?? new Set<string>();
      learned.set(services, set.add(type));
    }
    return undefined;
  };
  const resources: Resource[] = [];
  // 1. Identities, as in bundle.ts: a layer may choose the id (and complete the resource).
  const idMap = new Map<string, string>();
  for (const e of entries) {
    await pause();
    let id: string;
    let resource = e.resource!;
    try {
      const assigned = services.assignId ? await services.assignId(contextOf(e), e.path, resource, { conditional: false }) : undefined;
      // A layer that used the store (and coped with the refusal) chose by what the store holds: bundle.ts decides.
      if (stage.abandonedBy !== undefined) return learn();
      id = assigned?.id ?? newId();
      if (assigned?.resource) resource = assigned.resource;
    } catch (err) {
      if (stage.abandonedBy !== undefined) return learn();
      throw err instanceof FhirError ? entryError(err, e) : err;
    }
    stage.ids[e.index] = id;
    resources[e.index] = resource;
    if (e.fullUrl) idMap.set(e.fullUrl, `${e.path}/${id}`);
  }
  // 2. References rewritten; a conditional reference needs a search, so the Bundle runs in bundle.ts.
  for (const e of entries) {
    await pause();
    try {
      const rewritten = rewriteReferencesWithoutStore(resources[e.index]!, { idMap, base: fullUrlBase(e.fullUrl), entry: e.index });
      if (rewritten === undefined) return undefined;
      resources[e.index] = rewritten as Resource;
    } catch (err) {
      throw err instanceof FhirError ? entryError(err, e) : err;
    }
  }
  // 3. Every entry through the router at once, each handing its create to the stage. Once one has
  //    failed, the later ones need not start: the first failure in entry order is among those started.
  stage.phase = 'entries';
  const runs: Array<Promise<Settled>> = [];
  for (const e of entries) {
    await pause();
    if (stage.settledAlready) break;
    const sub = entryRequest(req, { ...e, resource: resources[e.index]! }, true);
    runs.push(
      route({ ...sub, headers: { prefer: req.headers['prefer'] }, assignedId: stage.ids[e.index]! }, contextOf(e)).then(
        (result): Settled => stage.ended(e, { ok: true, result }),
        (error: unknown): Settled => stage.ended(e, { ok: false, error }),
      ),
    );
  }
  stage.startedAll(runs.length);
  await stage.everyEntryArrived;
  const failure = stage.abandonedBy === undefined ? entries.find((e) => stage.endedEarly.has(e.index)) : undefined;
  if (stage.abandonedBy !== undefined || failure) {
    stage.rejectAll(new NotStageable('a write of a transaction that failed or was abandoned'));
    await Promise.all(runs);
    if (stage.abandonedBy !== undefined) return learn();
    const ended = stage.endedEarly.get(failure!.index)!;
    // An entry that answered without writing is not a plain create: bundle.ts runs it.
    if (ended.ok) return undefined;
    throw ended.error instanceof FhirError ? entryError(ended.error, failure!) : ended.error;
  }
  // 4. One unit: every create stored, or none.
  stage.phase = 'committing';
  let stored: WriteResult[];
  try {
    stored = await services.store.commitCreates!(entries.map((e) => stage.handovers.get(e.index)!.op));
  } catch (err) {
    stage.rejectAll(new NotStageable('a write of a transaction that failed'));
    await Promise.all(runs);
    // A create the store refused (its id exists, e.g. an NHS Number in use): nothing was stored, and
    // bundle.ts runs the Bundle again so that the entry's layers answer it as they do there (a
    // Patient's NHS Number in use is a 409, found by reading what the transaction wrote before it).
    if (err instanceof CreateFailed) return undefined;
    throw err;
  }
  entries.forEach((e, i) => stage.handovers.get(e.index)!.resolve(stored[i]!));
  const results: RawEntry[] = [];
  for (const [i, s] of (await Promise.all(runs)).entries()) {
    const e = entries[i]!;
    if (!s.ok) throw s.error instanceof FhirError ? entryError(s.error, e) : s.error;
    results[e.index] = responseOf(baseUrl, s.result, includesBody(e.method, minimal));
  }
  return results;
}
