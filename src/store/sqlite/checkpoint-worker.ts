/**
 * The background WAL checkpointer's worker thread (SQLite "Write-Ahead Logging" §3 Checkpointing,
 * https://sqlite.org/wal.html; `PRAGMA wal_checkpoint(PASSIVE)`): it holds its own connection to the
 * database file and copies committed WAL frames into the database when the store tells it a group
 * committed, at most once per `intervalMs`, so that the copy (the checkpoint's page writes and the
 * database file's fsync) runs on another core instead of inside the committing request's COMMIT.
 * PASSIVE never waits for, nor blocks, the store's writer or readers: frames still needed by a
 * reader are left for a later checkpoint. Durability does not depend on it: a commit is on disk in
 * the WAL (synchronous FULL) before the store acknowledges it; checkpoints only move it.
 *
 * Messages in: `commit` (a group committed), `stats` (answer the counters), `close` (finish and
 * exit). Messages out: `{ kind: 'stats', ... }` and `{ kind: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  file: string;
  intervalMs: number;
}

export interface CheckpointStats {
  /** Checkpoints run. */
  checkpoints: number;
  /** WAL frames copied into the database by them. */
  frames: number;
  /** Checkpoints that could not copy every frame (a reader still needed some). */
  partial: number;
}

type Message = { kind: 'commit' } | { kind: 'stats'; id: number } | { kind: 'close' };

const BUSY_TIMEOUT_MS = 5000;

function start(port: NonNullable<typeof parentPort>, data: CheckpointWorkerData): void {
  const db = new Database(data.file, { fileMustExist: true });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // The same durability as the store's connection: the checkpoint fsyncs the WAL before copying and
  // the database after (synchronous FULL).
  db.pragma('synchronous = FULL');
  // This connection never writes rows, so it never checkpoints on its own.
  db.pragma('wal_autocheckpoint = 0');
  const stats: CheckpointStats = { checkpoints: 0, frames: 0, partial: 0 };
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const checkpoint = (): void => {
    timer = undefined;
    if (closed) return;
    last = Date.now();
    try {
      const [row] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      stats.checkpoints++;
      if (row) {
        stats.frames += Math.max(0, row.checkpointed);
        if (row.checkpointed < row.log) stats.partial++;
      }
    } catch (e) {
      port.postMessage({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  };

  port.on('message', (m: Message) => {
    if (m.kind === 'commit') {
      if (timer === undefined && !closed) timer = setTimeout(checkpoint, Math.max(0, last + data.intervalMs - Date.now()));
    } else if (m.kind === 'stats') {
      port.postMessage({ kind: 'stats', id: m.id, ...stats });
    } else if (m.kind === 'close') {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      db.close();
      port.close();
    }
  });
}

if (parentPort) start(parentPort, workerData as CheckpointWorkerData);
