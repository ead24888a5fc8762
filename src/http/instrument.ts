/**
 * Timing of the store and of validation for `/metrics` (issue 16, "Observability"): the Prometheus
 * histograms `store_operation_duration_seconds{operation}` (read, vread, write, history, search,
 * transaction — a transaction's time includes its commit, the operations inside it are timed too; a
 * transaction Bundle of plain creates is timed as its one `commitCreates`, ADR 0047) and
 * `validation_duration_seconds{outcome}` (the validation pipeline of every write, valid or invalid).
 *
 * The store and validator of a FhirServices are instrumented in place, once: each method is replaced
 * by one that times the original and reports to every histogram registered for that object (one per
 * app built on the same services, e.g. in tests), so a second app neither wraps twice nor misses data.
 */
import type { Histogram } from 'prom-client';
import type { ResourceValidator } from '../fhir/context';
import type { Store, StoreSession, WriteOp, WriteResult } from '../store/store';

const SESSION_OPERATIONS = ['read', 'vread', 'write', 'history', 'search'] as const;

type Observers = Set<Histogram<'operation'>>;
const storeObservers = new WeakMap<object, Observers>();
const validatorObservers = new WeakMap<object, Set<Histogram<'outcome'>>>();

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function observe<L extends string>(observers: Set<Histogram<L>>, labels: Partial<Record<L, string>>, started: bigint): void {
  const s = seconds(started);
  for (const h of observers) h.observe(labels, s);
}

async function timed<T>(observers: Observers, operation: string, run: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    return await run();
  } finally {
    observe(observers, { operation }, started);
  }
}

/** A session whose operations are timed (a transaction's `tx`). */
function timedSession(session: StoreSession, observers: Observers): StoreSession {
  const out: StoreSession = Object.create(session) as StoreSession;
  for (const op of SESSION_OPERATIONS) {
    const original = session[op].bind(session) as (...args: unknown[]) => Promise<unknown>;
    (out as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => timed(observers, op, () => original(...args));
  }
  return out;
}

/** Reports the store's operation times to `histogram` (instrumenting the store on first use). */
export function instrumentStore(store: Store, histogram: Histogram<'operation'>): void {
  const known = storeObservers.get(store);
  if (known) {
    known.add(histogram);
    return;
  }
  const observers: Observers = new Set([histogram]);
  storeObservers.set(store, observers);
  const target = store as unknown as Record<string, unknown>;
  for (const op of SESSION_OPERATIONS) {
    const original = store[op].bind(store) as (...args: unknown[]) => Promise<unknown>;
    target[op] = (...args: unknown[]) => timed(observers, op, () => original(...args));
  }
  const transaction = store.withTransaction.bind(store);
  target['withTransaction'] = <T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> => timed(observers, 'transaction', () => transaction((tx) => fn(timedSession(tx, observers))));
  // A transaction Bundle of plain creates is one commitCreates (ADR 0047): its store transaction.
  const commitCreates = store.commitCreates?.bind(store);
  if (commitCreates) target['commitCreates'] = (ops: readonly WriteOp[]): Promise<WriteResult[]> => timed(observers, 'transaction', () => commitCreates(ops));
}

/** Reports the validation pipeline's times to `histogram`, by outcome (valid, invalid). */
export function instrumentValidator(validator: ResourceValidator, histogram: Histogram<'outcome'>): void {
  const known = validatorObservers.get(validator);
  if (known) {
    known.add(histogram);
    return;
  }
  const observers = new Set([histogram]);
  validatorObservers.set(validator, observers);
  const assertValid = validator.assertValid.bind(validator);
  validator.assertValid = async (resource, ctx) => {
    const started = process.hrtime.bigint();
    let outcome = 'invalid';
    try {
      await assertValid(resource, ctx);
      outcome = 'valid';
    } finally {
      observe(observers, { outcome }, started);
    }
  };
}
