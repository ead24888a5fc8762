/**
 * WAL checkpoints of the embedded store (SQLite "Write-Ahead Logging" §3 Checkpointing,
 * https://sqlite.org/wal.html; ADR 0041): `inline` leaves them to SQLite's automatic checkpoint,
 * run by the write connection inside the COMMIT that crosses 1 000 WAL pages, so that commit's
 * request waits for the copy of the whole WAL into the database; `background` gives them to a worker
 * thread (checkpoint-worker.ts) with its own connection, told after every group commit, and raises
 * the write connection's automatic checkpoint to WAL_SAFETY_PAGES, a bound on the WAL's size
 * should the worker fall behind or fail (it then also falls back to `inline`).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { CheckpointStats, CheckpointWorkerData } from './checkpoint-worker';

export type CheckpointMode = 'inline' | 'background';

export const CHECKPOINT_MODES: readonly CheckpointMode[] = ['inline', 'background'];

/** SQLite's default automatic checkpoint threshold (pages), kept by `inline`. */
export const INLINE_AUTOCHECKPOINT_PAGES = 1000;

/** The write connection's automatic checkpoint under `background`: only if the worker falls behind. */
export const WAL_SAFETY_PAGES = 16000;

/**
 * The worker checkpoints at most this often (ms): commits in between share one checkpoint, and a
 * page that several of them rewrote (a table's last leaf, an index leaf of a common value, the
 * B-trees' upper pages) is copied into the database once. 500 rather than 100: a quarter fewer bytes
 * written per create and 5-11% less CPU (docs/performance.md "Lever 10"); the WAL between two
 * checkpoints stays well under WAL_SAFETY_PAGES (~5 000 frames at 200 creates/s).
 */
export const CHECKPOINT_INTERVAL_MS = 500;

/** The counters answered once the worker has ended. */
const NO_CHECKPOINTS: Readonly<CheckpointStats> = Object.freeze({ checkpoints: 0, frames: 0, partial: 0 });

type Reply = ({ kind: 'stats'; id: number } & CheckpointStats) | { kind: 'error'; message: string };

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (s: CheckpointStats) => void>();
  private nextId = 0;
  private failed = false;
  private closing: Promise<void> | undefined;
  /** The first error the worker reported (its checkpoints then continue; the WAL stays bounded). */
  lastError: string | undefined;

  constructor(
    file: string,
    private readonly write: Database.Database,
    intervalMs = CHECKPOINT_INTERVAL_MS,
  ) {
    const data: CheckpointWorkerData = { file: path.resolve(file), intervalMs };
    this.worker = new Worker(path.join(__dirname, 'checkpoint-worker.js'), { workerData: data });
    // The worker must not keep the process alive by itself (close() ends it cleanly).
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      if (m.kind === 'stats') {
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
      } else {
        this.lastError ??= m.message;
      }
    });
    this.worker.on('error', (e) => this.fallBack(e.message));
    this.worker.on('exit', () => {
      if (!this.closing) this.fallBack('the checkpoint worker exited');
      for (const resolve of this.pending.values()) resolve(NO_CHECKPOINTS);
      this.pending.clear();
    });
    write.pragma(`wal_autocheckpoint = ${WAL_SAFETY_PAGES}`);
  }

  /** After a group committed: the worker checkpoints soon (at most once per interval). */
  committed(): void {
    if (!this.failed && !this.closing) this.worker.postMessage({ kind: 'commit' });
  }

  /** The worker's counters (zeros once it has ended). */
  stats(): Promise<CheckpointStats> {
    if (this.failed || this.closing) return Promise.resolve(NO_CHECKPOINTS);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ kind: 'stats', id });
    });
  }

  /** Ends the worker (its connection closed) before the store closes its own connections. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.failed) return resolve();
      // Keep the process alive until the worker has closed its connection (it is unref'd otherwise,
      // and a process with nothing else to do would exit while close() waits).
      this.worker.ref();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ kind: 'close' });
    });
    return this.closing;
  }

  private fallBack(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.lastError ??= reason;
    try {
      if (this.write.open) this.write.pragma(`wal_autocheckpoint = ${INLINE_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The store is closing; nothing to restore.
    }
  }
}
