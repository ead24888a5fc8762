/**
 * The SQLite store's writer thread (ADR 0044, 0045 and 0049): a worker thread (writer-worker.ts)
 * with its own write connection that writes batches for the store (write-batch.ts): the
 * server-recorded creates of `appendCreates` (the audit trail), a transaction Bundle's creates and
 * the independent writes of `write`, so that their rows and COMMIT run on another core while the
 * event loop answers requests. The store calls `run` only inside a session of its write queue
 * (thread-sessions.ts: an exclusive unit, so no other write is in progress on its own connection),
 * possibly while earlier batches are in flight, passing its clock's latest instant and advancing
 * its clock to the one handed back.
 *
 * The worker starts on the first batch. When it cannot start, or exits, the thread becomes
 * unavailable and the store writes batches on its own connection as before; a batch in flight when
 * the worker exited is rejected with `WriterThreadGone` (the store then finds out from the database
 * whether it was committed: a batch is one transaction, so either all of it is there or none).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { UnitOutcome, WriteUnit } from './write-batch';
import { receivedError, type TransferredError, type WriterReply, type WriterRequest, type WriterWorkerData } from './writer-protocol';

/** Who writes a kind of batch: the writer thread (`worker`) or the store's own connection (`inline`). */
export type WriterMode = 'worker' | 'inline';

export const WRITER_MODES: readonly WriterMode[] = ['worker', 'inline'];

/** The worker ended before answering a batch: whether that batch was committed is not known to it. */
export class WriterThreadGone extends Error {
  constructor(reason: string) {
    super(`the store's writer thread ended (${reason})`);
    this.name = 'WriterThreadGone';
  }
}

/** A committed batch: each unit's outcome (errors as the store's connection would have thrown them) and the latest instant. */
export interface BatchDone {
  units: UnitOutcome<Error>[];
  latest: number;
}

interface Pending {
  resolve: (r: BatchDone) => void;
  reject: (e: Error) => void;
}

export class WriterThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;
  private closing: Promise<void> | undefined;
  /** Why the worker is not used any more, once it is not. */
  lastError: string | undefined;
  /** Transactions the worker committed (tests and diagnostics). */
  commits = 0;
  /** The most writes one of its transactions held. */
  largestCommit = 0;

  /** `settings` is read when the worker starts: the write connection's current checkpoint bound. */
  constructor(
    private readonly file: string,
    private readonly settings: () => Omit<WriterWorkerData, 'file'>,
  ) {}

  /** False once the worker failed or the thread is closing: the store then writes batches itself. */
  get available(): boolean {
    return !this.failed && !this.closing;
  }

  /**
   * Writes `units` on the worker's connection (write-batch.ts), in one transaction with whatever
   * else is waiting there; resolves after its COMMIT, rejects when the transaction as a whole failed.
   * Batches may be posted while earlier ones are in flight: they are written in the order posted.
   */
  run(units: readonly WriteUnit[], after: number): Promise<BatchDone> {
    if (!this.available) return Promise.reject(new WriterThreadGone(this.lastError ?? 'closed'));
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WriterRequest = { kind: 'batch', id, units, after };
      // A batch in flight keeps the process alive until it is answered (a shutdown waits for it).
      worker.ref();
      worker.postMessage(request);
    });
  }

  /** Ends the worker (its connection closed); batches in flight are answered first. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const worker = this.worker;
      if (!worker || this.failed) return resolve();
      // Keep the process alive until the worker has closed its connection.
      worker.ref();
      worker.once('exit', () => resolve());
      const request: WriterRequest = { kind: 'close' };
      worker.postMessage(request);
    });
    return this.closing;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const data: WriterWorkerData = { file: path.resolve(this.file), ...this.settings() };
    const worker = new Worker(path.join(__dirname, 'writer-worker.js'), { workerData: data });
    this.worker = worker;
    // Idle, the worker does not keep the process alive (a batch in flight does: see run).
    worker.unref();
    worker.on('message', (m: WriterReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (!p) return;
      if (m.kind === 'done') {
        this.commits = Math.max(this.commits, m.commits);
        this.largestCommit = Math.max(this.largestCommit, m.groupOps);
        p.resolve({ units: m.units.map(receivedUnit), latest: m.latest });
      } else {
        p.reject(receivedError(m.error));
      }
    });
    worker.on('error', (e) => this.fail(e.message));
    worker.on('exit', (code) => this.fail(this.closing ? 'closed' : `exited with code ${code}`));
    return worker;
  }

  private fail(reason: string): void {
    if (!this.failed) {
      this.failed = true;
      this.lastError ??= reason;
    }
    for (const p of this.pending.values()) p.reject(new WriterThreadGone(reason));
    this.pending.clear();
  }
}

/** A unit's outcome with its errors as the store's connection would have thrown them. */
function receivedUnit(o: UnitOutcome<TransferredError>): UnitOutcome<Error> {
  if (!o.ok) return { ok: false, error: receivedError(o.error), ...(o.op !== undefined ? { op: o.op } : {}) };
  return { ok: true, outcomes: o.outcomes.map((w) => (w.ok ? w : { ok: false as const, error: receivedError(w.error) })) };
}
