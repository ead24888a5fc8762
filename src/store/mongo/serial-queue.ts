/**
 * Execution of the write units of one MongoDB store instance (FHIR R4 §3.1.0 http.html "transaction":
 * the store contract serialises "search, then create if absent" within an instance).
 *
 * `run` units (`withTransaction` callbacks, and every write when the store runs without
 * transactions) run alone, in arrival order. `concurrent` units (single writes and reindexes in
 * their own database transaction) start at once, beside each other and beside `run` units: the
 * database arbitrates between them as it does across instances (compare-and-swap on the version,
 * write conflicts retried, claims). `heldByCaller` tells whether the current async context is inside
 * a `run` unit, so a re-entrant call is reported instead of deadlocking. `drain` waits for both.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly inside = new AsyncLocalStorage<true>();
  private pending = 0;
  private readonly inFlight = new Set<Promise<unknown>>();

  /** Runs `fn` after every unit queued before it; its result or error is passed on. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(() => this.inside.run(true, fn));
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    this.tail = done.then(() => {
      this.pending--;
    });
    return result;
  }

  /** Runs `fn` now, without waiting for other units; `drain` waits for it. */
  concurrent<T>(fn: () => Promise<T>): Promise<T> {
    const result = fn();
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return result;
  }

  heldByCaller(): boolean {
    return this.inside.getStore() === true;
  }

  /** Resolves when every unit started so far (queued or concurrent) has finished. */
  async drain(): Promise<void> {
    while (this.pending > 0 || this.inFlight.size > 0) {
      await this.tail;
      await Promise.all([...this.inFlight]);
    }
  }
}
