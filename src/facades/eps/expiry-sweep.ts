/**
 * Expiry of prescriptions nobody touches (EPS-task-business-status 0004 Expired; docs/eps.md
 * "Nomination and expiry", ADR 38). The rules of src/spine/eps/expiry.ts are applied by
 * `expireIfDue` whenever a prescription is touched; this module also **stores** the `expire`
 * transition of prescriptions whose validity has passed though no message names them, so that the
 * stored tracker Task, the EPS tracker and the generic `/fhir/Task` searches (`business-status=0004`,
 * `status=failed`) all say the same thing:
 *
 * - `expireDue` writes the expiry of the given tracker Tasks that are due (the tracker calls it for
 *   what it is about to answer, so a GET never answers a state the store does not hold);
 * - `sweepExpiredPrescriptions` walks every live tracker Task (Task `status` ready / in-progress of a
 *   prescription-order-number) and expires the due ones: what a periodic sweep runs;
 * - `startExpirySweep` runs that sweep every EPS_EXPIRY_SWEEP_SECONDS (0: never), on an unref'd timer
 *   (the process may exit while it waits), with an injectable scheduler for tests.
 *
 * Each prescription is written in a transaction of its own through the engine (a PUT with If-Match
 * on the version read, its `expire` history entry appended), so a message racing the sweep for the
 * same prescription makes one of them fail and nothing is lost; a sweep that loses leaves the
 * prescription for the next sweep or the next touch. These writes are the server's own transition,
 * not the caller's: they run in the engine's internal context (`InteractionContext.internal`:
 * the SMART interceptors let it through; audit and the other interceptors still run), after the
 * caller's read has been authorised.
 */
import type { Bundle, BundleEntry, Task } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { internalContext, type FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { route } from '../../fhir/router';
import type { FhirRequest, FhirResult } from '../../fhir/types';
import { expireIfDue } from '../../spine/eps/expiry';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { taskToState } from '../../spine/eps/task-codec';
import { resultResource } from '../kit';
import { prescriptionNow } from './clock';
import { taskUpdateEntry } from './records';

/** Tracker Tasks per page of a sweep. */
export const SWEEP_PAGE_SIZE = 100;

/** The engine as the server itself uses it (`internalContext`: access control lets it through; see the header). */
function internal(services: FhirServices, req: Omit<FhirRequest, 'headers' | 'requestId'> & { headers?: FhirRequest['headers'] }): Promise<FhirResult> {
  return route({ headers: {}, requestId: randomUUID(), ...req }, internalContext(services));
}

function isTracker(t: Task): boolean {
  return t.groupIdentifier?.system === PRESCRIPTION_ORDER_NUMBER_SYSTEM;
}

/** The tracker Task expired (its `expire` transition appended) when its validity has passed at `now`, else undefined. */
export function expiredTask(task: Task, now: Date): Task | undefined {
  if (!isTracker(task)) return undefined;
  let state;
  try {
    state = taskToState(task);
  } catch {
    return undefined; // not a Task the EPS façade wrote
  }
  const expired = expireIfDue(state, task.restriction?.period?.end, now);
  if (expired === state) return undefined;
  return taskUpdateEntry({ task, state, nhsNumber: task.for?.identifier?.value ?? '', medicationRequests: [] }, expired).resource as Task;
}

/** Writes one expired Task (If-Match on the version read); the stored Task, or undefined when another write won the race. */
async function store(services: FhirServices, before: Task, after: Task): Promise<Task | undefined> {
  const entry: BundleEntry = { fullUrl: `Task/${before.id!}`, resource: after, request: { method: 'PUT', url: `Task/${before.id!}`, ...(before.meta?.versionId ? { ifMatch: `W/"${before.meta.versionId}"` } : {}) } };
  const body: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [entry] };
  try {
    const result = await internal(services, { method: 'POST', path: '', query: [], body, contentType: 'application/fhir+json', headers: { prefer: 'return=representation' } });
    const out = resultResource<Bundle>(result);
    return (out?.entry?.[0]?.resource as Task | undefined) ?? after;
  } catch (e) {
    if (e instanceof FhirError && (e.status === 409 || e.status === 412)) return undefined;
    throw e;
  }
}

/**
 * Stores the expiry of those `tasks` that are due at the prescription clock's now; answers the
 * tasks as they now stand (the stored expired version in place of a due one; a Task another write
 * changed meanwhile is read again).
 */
export async function expireDue(services: FhirServices, tasks: readonly Task[]): Promise<Task[]> {
  const now = prescriptionNow(services);
  const out: Task[] = [];
  for (const t of tasks) {
    const after = expiredTask(t, now);
    if (!after) {
      out.push(t);
      continue;
    }
    const stored = await store(services, t, after);
    if (stored) {
      out.push(stored);
      continue;
    }
    const again = resultResource<Task>(await internal(services, { method: 'GET', path: `Task/${t.id!}`, query: [] }));
    out.push(again ?? t);
  }
  return out;
}

export interface SweepResult {
  /** Live tracker Tasks looked at. */
  examined: number;
  /** Prescription IDs stored Expired by this sweep. */
  expired: string[];
}

/** One sweep over every live tracker Task (see the header). */
export async function sweepExpiredPrescriptions(services: FhirServices, pageSize = SWEEP_PAGE_SIZE): Promise<SweepResult> {
  const result: SweepResult = { examined: 0, expired: [] };
  let query: Array<[string, string]> = [['status', 'ready,in-progress'], ['_sort', '_id'], ['_count', String(pageSize)]];
  for (;;) {
    const page = resultResource<Bundle>(await internal(services, { method: 'GET', path: 'Task', query }));
    const tasks = (page?.entry ?? []).map((e) => e.resource).filter((r): r is Task => r?.resourceType === 'Task' && isTracker(r as Task));
    result.examined += tasks.length;
    const now = prescriptionNow(services);
    for (const t of tasks) {
      const after = expiredTask(t, now);
      if (after && (await store(services, t, after))) result.expired.push(t.groupIdentifier!.value!);
    }
    const next = page?.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return result;
    query = [...new URL(next).searchParams.entries()];
  }
}

/** What schedules the sweep (setInterval unless a test gives its own). */
export interface SweepScheduler {
  every(ms: number, run: () => void): { cancel(): void };
}

const TIMER_SCHEDULER: SweepScheduler = {
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};

/**
 * Runs a sweep now and every `seconds` (0 or less: never) until the returned stop is called; a sweep does not
 * start while the previous one runs; a failed sweep is logged and the next one tries again.
 */
export function startExpirySweep(services: FhirServices, seconds: number, scheduler: SweepScheduler = TIMER_SCHEDULER): { stop(): Promise<void>; settled(): Promise<void> } {
  if (!(seconds > 0)) return { stop: () => Promise.resolve(), settled: () => Promise.resolve() };
  let running: Promise<void> | undefined;
  const run = (): void => {
    if (running) return;
    running = sweepExpiredPrescriptions(services)
      .then(
        (r) => {
          if (r.expired.length) services.log.info({ expired: r.expired.length, examined: r.examined }, 'EPS expiry sweep stored expired prescriptions');
        },
        (err: unknown) => services.log.error({ err }, 'EPS expiry sweep failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const handle = scheduler.every(seconds * 1000, run);
  run(); // at start-up too: what expired while the server was down
  return {
    async stop() {
      handle.cancel();
      await running;
    },
    /** Resolves when no sweep is running. */
    async settled() {
      await running;
    },
  };
}
