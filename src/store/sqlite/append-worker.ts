/**
 * The append writer's worker thread (ADR 0044; FHIR R4 §3.1.0 http.html "create" and "transaction":
 * all or nothing, acknowledged once durable; SQLite "Write-Ahead Logging", https://sqlite.org/wal.html).
 *
 * It holds a write connection of its own to the store's database file and writes each batch of
 * server-recorded creates it is given (`SqliteStore.appendCreates`, the audit trail) in ONE
 * transaction: BEGIN IMMEDIATE, `writeSteps` for every create (the same resource, version and index
 * rows as on the store's connection), COMMIT (synchronous FULL: on disk before the reply), so that
 * the rows and the commit of the audit trail run on the second core instead of the event loop. The
 * store gives it a batch only while its own write queue is held for it (an exclusive unit), so the
 * two connections never write at the same time, and the batch's instants continue from the store's
 * clock (`after`) and are handed back (`latest`): lastUpdated stays in commit order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { runSync } from '../../cooperative';
import type { WriteOp, WriteResult } from '../store';
import type { AppendReply, AppendRequest, AppendWorkerData } from './append-protocol';
import { transferError } from './append-protocol';
import { StatementCache } from './connection';
import { InstantClock } from './rows';
import { writeSteps } from './writes';

function openConnection(data: AppendWorkerData): Database.Database {
  const db = new Database(data.file, { fileMustExist: true });
  db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  // The store's connection's settings (connection.ts, sqlite-store.ts): durable commits, foreign
  // keys, temporary storage in memory, the same automatic checkpoint bound.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma(`wal_autocheckpoint = ${data.autocheckpointPages}`);
  return db;
}

/** One batch in one transaction; throws (after rolling back) when any create or the COMMIT fails. */
function appendBatch(db: Database.Database, st: StatementCache, ops: readonly WriteOp[], after: number): { results: WriteResult[]; latest: number } {
  const clock = new InstantClock(after);
  st.get('BEGIN IMMEDIATE').run();
  try {
    const results: WriteResult[] = [];
    // Creates only: SqliteStore.appendCreates refuses any other op before it sends the batch.
    for (const op of ops) results.push(runSync(writeSteps(st, clock, op))!);
    st.get('COMMIT').run();
    return { results, latest: clock.latest };
  } catch (e) {
    if (db.inTransaction) {
      try {
        st.get('ROLLBACK').run();
      } catch {
        // SQLite rolled back by itself, or the connection is broken: the next BEGIN reports it.
      }
    }
    throw e;
  }
}

function start(port: NonNullable<typeof parentPort>, data: AppendWorkerData): void {
  const db = openConnection(data);
  const st = new StatementCache(db);
  port.on('message', (m: AppendRequest) => {
    if (m.kind === 'close') {
      db.close();
      port.close();
      return;
    }
    let reply: AppendReply;
    try {
      reply = { kind: 'done', id: m.id, ...appendBatch(db, st, m.ops, m.after) };
      if (data.exitAfterCommit) process.exit(1);
    } catch (e) {
      reply = { kind: 'failed', id: m.id, error: transferError(e) };
    }
    port.postMessage(reply);
  });
}

if (parentPort) start(parentPort, workerData as AppendWorkerData);
