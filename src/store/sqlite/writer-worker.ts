/**
 * The SQLite store's writer thread (ADR 0044 and 0045; FHIR R4 §3.1.0 http.html "create", "update",
 * "delete" and "transaction": acknowledged once durable; SQLite "Write-Ahead Logging",
 * https://sqlite.org/wal.html).
 *
 * It holds a write connection of its own to the store's database file and writes each batch it is
 * given in ONE transaction with `writeBatch` (write-batch.ts: the same resource, version and index
 * rows as `writeSteps` writes on the store's connection; COMMIT with synchronous FULL, so on disk
 * before the reply): the server's own creates (`appendCreates`, the audit trail) all or nothing, and
 * the independent writes of requests (`SqliteStore.write`) each on its own. So the rows and the
 * commit run on the second core instead of the event loop. The store gives it a batch only while its
 * own write queue is held for it (an exclusive unit), so the two connections never write at the
 * same time, and the batch's instants continue from the store's clock (`after`) and are handed back
 * (`latest`): lastUpdated stays in commit order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CreateFailed } from '../store';
import { transferError, type WriterReply, type WriterRequest, type WriterWorkerData } from './writer-protocol';
import { StatementCache } from './connection';
import { InstantClock } from './rows';
import { writeBatch } from './write-batch';

function openConnection(data: WriterWorkerData): Database.Database {
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

function start(port: NonNullable<typeof parentPort>, data: WriterWorkerData): void {
  const db = openConnection(data);
  const st = new StatementCache(db);
  port.on('message', (m: WriterRequest) => {
    if (m.kind === 'close') {
      db.close();
      port.close();
      return;
    }
    let reply: WriterReply;
    try {
      const clock = new InstantClock(m.after);
      const outcomes = writeBatch(db, st, clock, m.ops, m.mode).map((o) => (o.ok ? o : { ok: false as const, error: transferError(o.error) }));
      reply = { kind: 'done', id: m.id, outcomes, latest: clock.latest };
      if (data.exitAfterCommit) process.exit(1);
    } catch (e) {
      reply = e instanceof CreateFailed ? { kind: 'failed', id: m.id, error: transferError(e.error), op: e.index } : { kind: 'failed', id: m.id, error: transferError(e) };
    }
    port.postMessage(reply);
  });
}

if (parentPort) start(parentPort, workerData as WriterWorkerData);
