/**
 * The SQLite store's append writer (ADR 0044): a worker thread (append-worker.ts) with its own
 * write connection that writes the batches of server-recorded creates (`SqliteStore.appendCreates`,
 * the audit trail) so that their index rows and COMMIT run on another core while the event loop
 * answers requests. The store calls `append` only from an exclusive unit of its write queue (no
 * other write is in progress on its own connection), passing its clock's latest instant and
 * advancing its clock to the one handed back.
 *
 * The worker starts on the first batch. When it cannot start, or exits, the writer becomes
 * unavailable and the store writes batches on its own connection as before; a batch in flight when
 * the worker exited is rejected with `AppendWorkerGone` (the store then finds out from the database
 * whether it was committed: append-writer's batch is one transaction, so either all of it is there
 * or none).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WriteOp, WriteResult } from '../store';
import { receivedError, type AppendReply, type AppendRequest, type AppendWorkerData } from './append-protocol';

export type AppendWriterMode = 'worker' | 'inline';

export const APPEND_WRITER_MODES: readonly AppendWriterMode[] = ['worker', 'inline'];

/** The worker ended before answering a batch: whether that batch was committed is not known to it. */
export class AppendWorkerGone extends Error {
  constructor(reason: string) {
    super(`the append writer's worker ended (${reason})`);
    this.name = 'AppendWorkerGone';
  }
}

interface Pending {
  resolve: (r: { results: WriteResult[]; latest: number }) => void;
  reject: (e: Error) => void;
}

export class AppendWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed = false;
  private closing: Promise<void> | undefined;
  /** Why the worker is not used any more, once it is not. */
  lastError: string | undefined;
  /** Batches the worker committed (tests and diagnostics). */
  batches = 0;

  /** `settings` is read when the worker starts: the write connection's current checkpoint bound. */
  constructor(
    private readonly file: string,
    private readonly settings: () => Omit<AppendWorkerData, 'file'>,
  ) {}

  /** False once the worker failed or the writer is closing: the store then writes batches itself. */
  get available(): boolean {
    return !this.failed && !this.closing;
  }

  /** Writes `ops` in one transaction on the worker's connection; resolves after its COMMIT. */
  append(ops: readonly WriteOp[], after: number): Promise<{ results: WriteResult[]; latest: number }> {
    if (!this.available) return Promise.reject(new AppendWorkerGone(this.lastError ?? 'closed'));
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: AppendRequest = { kind: 'append', id, ops, after };
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
      const request: AppendRequest = { kind: 'close' };
      worker.postMessage(request);
    });
    return this.closing;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const data: AppendWorkerData = { file: path.resolve(this.file), ...this.settings() };
    const worker = new Worker(path.join(__dirname, 'append-worker.js'), { workerData: data });
    this.worker = worker;
    // Idle, the worker does not keep the process alive (a batch in flight does: see append).
    worker.unref();
    worker.on('message', (m: AppendReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (!p) return;
      if (m.kind === 'done') {
        this.batches++;
        p.resolve({ results: m.results, latest: m.latest });
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
    for (const p of this.pending.values()) p.reject(new AppendWorkerGone(reason));
    this.pending.clear();
  }
}
