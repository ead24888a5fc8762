/**
 * One-at-a-time execution of the write units of one MongoDB store instance (FHIR R4 §3.1.0 http.html
 * "transaction": the store contract serialises "search, then create if absent" within an instance).
 *
 * Each write, transaction and reindex of the instance runs alone, in arrival order. Across instances
 * the database arbitrates (compare-and-swap on the version, write conflicts, claims). `heldByCaller`
 * tells whether the current async context is inside a unit, so a re-entrant call is reported instead
 * of deadlocking.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly inside = new AsyncLocalStorage<true>();
  private pending = 0;

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

  heldByCaller(): boolean {
    return this.inside.getStore() === true;
  }

  /** Resolves when every unit queued so far has finished. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
