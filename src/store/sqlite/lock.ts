/**
 * The write lock of the SQLite store (FHIR R4 §3.1.0 http.html "transaction": writes never interleave).
 *
 * better-sqlite3 is synchronous but the Store interface is async: a transaction's function may await
 * between statements, so writers are serialised by this first-in-first-out async lock. The holder is
 * tracked with AsyncLocalStorage so that code already holding the lock (a transaction's callback) can
 * be recognised: re-acquiring would deadlock, so callers check `heldByCaller()` first.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export class FifoLock {
  private tail: Promise<void> = Promise.resolve();
  private readonly holder = new AsyncLocalStorage<FifoLock>();
  private waiting = 0;

  /** True when the current async context runs inside `run` of this lock. */
  heldByCaller(): boolean {
    return this.holder.getStore() === this;
  }

  /** Number of callers queued or running. */
  get queued(): number {
    return this.waiting;
  }

  /** Runs `fn` when every earlier caller has finished; the lock is released however `fn` ends. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.waiting++;
    return previous
      .then(() => this.holder.run(this, fn))
      .finally(() => {
        this.waiting--;
        release();
      });
  }
}
