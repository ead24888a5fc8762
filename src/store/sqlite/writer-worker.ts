/**
 * The SQLite store's writer thread (ADR 0044 and 0045; FHIR R4 §3.1.0 http.html "create", "update",
 * "delete" and "transaction": acknowledged once durable; SQLite "Write-Ahead Logging",
 * https://sqlite.org/wal.html).
 *
 * It holds a write connection of its own to the store's database file and writes the batches it is
 * given with `writeGroup` (write-batch.ts: the same resource, version and index rows as `writeSteps`
 * writes on the store's connection; COMMIT with synchronous FULL, so on disk before the reply): the
 * server's own creates (`appendCreates`, the audit trail) all or nothing, a transaction Bundle's
 * creates all or nothing, and the independent writes of requests (`SqliteStore.write`) each on its
 * own. So the rows and the commit run on the second core instead of the event loop.
 *
 * The store posts a batch as soon as it has it, while earlier ones are still being written (ADR
 * 0049). A batch taken from the port starts a transaction; the batches already waiting behind it
 * join that transaction (up to `maxOps` writes and `maxMillis` since it began), each unit in a
 * savepoint of its own; then one COMMIT answers them all. The store posts batches only while its
 * own write queue is held for the thread (an exclusive unit), so the two connections never write at
 * the same time, and the instants continue from the store's clock (`after`) and are handed back
 * (`latest`): lastUpdated stays in commit order.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { transferError, type TransferredError, type WriterReply, type WriterRequest, type WriterWorkerData } from './writer-protocol';
import { StatementCache } from './connection';
import { InstantClock } from './rows';
import { writeGroup, type UnitOutcome, type WriteUnit } from './write-batch';

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

type Batch = Extract<WriterRequest, { kind: 'batch' }>;

const opsOf = (b: Batch): number => b.units.reduce((n, u) => n + u.ops.length, 0);

function start(port: NonNullable<typeof parentPort>, data: WriterWorkerData): void {
  const db = openConnection(data);
  const st = new StatementCache(db);
  // One clock for the thread's life: a batch posted while earlier ones were in flight carries the
  // store's instant from before their answers, so the thread continues after both.
  const clock = new InstantClock(0);
  let commits = 0;
  let closing = false;

  /**
   * One transaction: `first`, then the batches already waiting behind it, in the order posted,
   * while it holds fewer than `maxOps` writes and began less than `maxMillis` ago. Returns the
   * batch taken from the port that would have passed `maxOps`: it begins the next transaction (a
   * large batch, such as the audit trail's 100 creates, is not joined to a transaction holding
   * requests' writes, whose requests would wait for all of it).
   */
  const writeOneGroup = (first: Batch): Batch | undefined => {
    const group: Batch[] = [];
    const queued: WriteUnit[] = [];
    let ops = 0;
    let carried: Batch | undefined;
    const started = performance.now();
    const take = (b: Batch): void => {
      group.push(b);
      clock.advanceTo(b.after);
      queued.push(...b.units);
      ops += opsOf(b);
    };
    const next = (): WriteUnit | undefined => {
      const unit = queued.shift();
      if (unit || closing || ops >= data.maxOps || performance.now() - started >= data.maxMillis) return unit;
      const r = receiveMessageOnPort(port) as { message: WriterRequest } | undefined;
      if (!r) return undefined;
      if (r.message.kind === 'close') {
        closing = true;
        return undefined;
      }
      if (ops + opsOf(r.message) > data.maxOps) {
        carried = r.message;
        return undefined;
      }
      take(r.message);
      return queued.shift();
    };
    take(first);
    try {
      const outcomes = writeGroup(db, st, clock, queued.shift()!, next).map(transferUnit);
      commits++;
      if (data.exitAfterCommit) process.exit(1);
      let k = 0;
      for (const b of group) {
        const reply: WriterReply = { kind: 'done', id: b.id, units: outcomes.slice(k, k + b.units.length), latest: clock.latest, commits, groupOps: ops };
        k += b.units.length;
        port.postMessage(reply);
      }
    } catch (e) {
      for (const b of group) port.postMessage({ kind: 'failed', id: b.id, error: transferError(e) } satisfies WriterReply);
    }
    return carried;
  };

  port.on('message', (m: WriterRequest) => {
    if (m.kind === 'close') closing = true;
    else for (let b: Batch | undefined = m; b; ) b = writeOneGroup(b);
    if (closing) {
      db.close();
      port.close();
    }
  });
}

/** A unit's outcome as it crosses to the store: its errors transferred. */
function transferUnit(o: UnitOutcome): UnitOutcome<TransferredError> {
  if (!o.ok) return { ok: false, error: transferError(o.error), ...(o.op !== undefined ? { op: o.op } : {}) };
  return { ok: true, outcomes: o.outcomes.map((w) => (w.ok ? w : { ok: false as const, error: transferError(w.error) })) };
}

if (parentPort) start(parentPort, workerData as WriterWorkerData);
