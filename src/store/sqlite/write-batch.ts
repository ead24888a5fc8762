/**
 * A batch of writes in ONE SQLite transaction, run to its end synchronously (FHIR R4 §3.1.0
 * http.html "create", "update", "delete" and "transaction": nothing acknowledged before the COMMIT
 * that makes it durable). The writer thread runs every batch it is given with it (writer-worker.ts,
 * ADR 0044 and 0045), and the store runs a batch with it on its own connection when that thread
 * ended before answering (sqlite-store.ts).
 *
 * - `all`: the server's own creates (`appendCreates`): any write that fails rolls the whole batch
 *   back and is thrown. No index digest is stored for them (no interaction updates them; ADR 0046).
 * - `transaction`: the creates of a client's transaction Bundle (`commitCreates`, ADR 0047): all or
 *   nothing as `all`, with their index digests, and the write that failed is named (`CreateFailed`).
 * - `each`: independent writes of different requests (`SqliteStore.write`), as a group commit runs
 *   them (group-commit.ts): every write in a SAVEPOINT of its own, so a write that fails (a version
 *   conflict, an id that exists) is rolled back alone and reported in its outcome while the others
 *   commit. A lone write needs no savepoint: the transaction holds nothing else.
 *
 * Either way the function throws, after rolling back, when the transaction as a whole failed: BEGIN,
 * a COMMIT that failed, or an error after which SQLite rolled the whole transaction back by itself
 * (SQLITE_FULL, SQLITE_IOERR). Instants come from `clock`, so they are strictly increasing.
 */
import type Database from 'better-sqlite3';
import { runSync } from '../../cooperative';
import { CreateFailed, type WriteOp, type WriteResult } from '../store';
import type { StatementCache } from './connection';
import type { InstantClock } from './rows';
import { writeSteps } from './writes';

export type WriteBatchMode = 'all' | 'each' | 'transaction';

/** What happened to one write of an `each` batch that committed. */
export type WriteOutcome<E = unknown> = { ok: true; result: WriteResult | undefined } | { ok: false; error: E };

/** The savepoint of one write of a batch (distinct from the group's, the session's and better-sqlite3's). */
const BATCH_WRITE = 'batch_write';

/** Runs `ops` in one transaction on `db` and commits it; see the module comment for the two modes. */
export function writeBatch(db: Database.Database, st: StatementCache, clock: InstantClock, ops: readonly WriteOp[], mode: WriteBatchMode): WriteOutcome[] {
  st.get('BEGIN IMMEDIATE').run();
  try {
    const outcomes = mode === 'each' ? writeEach(db, st, clock, ops) : mode === 'all' ? ops.map((op): WriteOutcome => ({ ok: true, result: runSync(writeSteps(st, clock, op, false)) })) : ops.map(transactionWrite(st, clock));
    st.get('COMMIT').run();
    return outcomes;
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

/** One write of a `transaction` batch: what it throws names it. */
function transactionWrite(st: StatementCache, clock: InstantClock): (op: WriteOp, index: number) => WriteOutcome {
  return (op, index) => {
    try {
      return { ok: true, result: runSync(writeSteps(st, clock, op)) };
    } catch (e) {
      throw new CreateFailed(index, e);
    }
  };
}

/** The writes of an `each` batch; throws when a failure took the whole transaction with it. */
function writeEach(db: Database.Database, st: StatementCache, clock: InstantClock, ops: readonly WriteOp[]): WriteOutcome[] {
  if (ops.length === 1) {
    // Alone in the transaction: its failure is the batch's (rolled back by writeBatch, reported here).
    try {
      return [{ ok: true, result: runSync(writeSteps(st, clock, ops[0]!)) }];
    } catch (error) {
      if (!db.inTransaction) throw error;
      st.get('ROLLBACK').run();
      st.get('BEGIN IMMEDIATE').run();
      return [{ ok: false, error }];
    }
  }
  const outcomes: WriteOutcome[] = [];
  for (const op of ops) {
    st.get(`SAVEPOINT ${BATCH_WRITE}`).run();
    try {
      outcomes.push({ ok: true, result: runSync(writeSteps(st, clock, op)) });
      st.get(`RELEASE ${BATCH_WRITE}`).run();
    } catch (error) {
      if (!db.inTransaction) throw error;
      st.get(`ROLLBACK TO ${BATCH_WRITE}`).run();
      st.get(`RELEASE ${BATCH_WRITE}`).run();
      outcomes.push({ ok: false, error });
    }
  }
  return outcomes;
}
