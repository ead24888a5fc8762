/**
 * Units of writes in ONE SQLite transaction, run to its end synchronously (FHIR R4 §3.1.0
 * http.html "create", "update", "delete" and "transaction": nothing acknowledged before the COMMIT
 * that makes it durable). The writer thread runs every group of units it is given with it
 * (writer-worker.ts, ADR 0044, 0045 and 0049), and the store runs a unit with it on its own
 * connection when that thread ended before answering (sqlite-store.ts).
 *
 * A unit is one of:
 * - `all`: the server's own creates (`appendCreates`): any write that fails rolls the whole unit
 *   back and is its failure. No index digest is stored for them (no interaction updates them; ADR 0046).
 * - `transaction`: the creates of a client's transaction Bundle (`commitCreates`, ADR 0047): all or
 *   nothing as `all`, with their index digests, and the write that failed is named (`CreateFailed`).
 * - `each`: independent writes of different requests (`SqliteStore.write`), as a group commit runs
 *   them (group-commit.ts): every write in a SAVEPOINT of its own, so a write that fails (a version
 *   conflict, an id that exists) is rolled back alone and reported in its outcome while the others
 *   commit.
 *
 * Each unit of a group runs in a savepoint of its own, so a unit that fails leaves the others to
 * commit. `writeGroup` throws, after rolling back, when the transaction as a whole failed: BEGIN,
 * a COMMIT that failed, or an error after which SQLite rolled the whole transaction back by itself
 * (SQLITE_FULL, SQLITE_IOERR); then nothing of any unit is stored. Instants come from `clock`, so
 * they are strictly increasing.
 */
import type Database from 'better-sqlite3';
import { runSync } from '../../cooperative';
import { CreateFailed, type WriteOp, type WriteResult } from '../store';
import type { StatementCache } from './connection';
import type { InstantClock } from './rows';
import { writeSteps } from './writes';

export type WriteBatchMode = 'all' | 'each' | 'transaction';

/** A unit of a group: its writes and how they succeed or fail together (see the module comment). */
export interface WriteUnit {
  mode: WriteBatchMode;
  ops: readonly WriteOp[];
}

/** What happened to one write of an `each` unit that committed. */
export type WriteOutcome<E = unknown> = { ok: true; result: WriteResult | undefined } | { ok: false; error: E };

/**
 * What one unit of a committed group came to: its writes' outcomes, or the failure that rolled it
 * back alone (an `all` or `transaction` unit; `op`, the index of the create that failed a
 * `transaction` unit).
 */
export type UnitOutcome<E = unknown> = { ok: true; outcomes: WriteOutcome<E>[] } | { ok: false; error: E; op?: number };

/** The savepoint of one write of an `each` unit (distinct from the group's, the session's and better-sqlite3's). */
const BATCH_WRITE = 'batch_write';
/** The savepoint of one `all` or `transaction` unit. */
const BATCH_UNIT = 'batch_unit';

/**
 * Runs `first`, then every unit `next` hands out until it hands out none, in one transaction, and
 * commits it; returns each unit's outcome in order. `next` is asked after each unit (the writer
 * thread takes the units that arrived meanwhile, within its bounds).
 */
export function writeGroup(db: Database.Database, st: StatementCache, clock: InstantClock, first: WriteUnit, next: () => WriteUnit | undefined): UnitOutcome[] {
  st.get('BEGIN IMMEDIATE').run();
  try {
    const outcomes: UnitOutcome[] = [];
    for (let unit: WriteUnit | undefined = first; unit; unit = next()) outcomes.push(unit.mode === 'each' ? { ok: true, outcomes: writeEach(db, st, clock, unit.ops) } : writeWhole(db, st, clock, unit));
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

/**
 * One unit in a transaction of its own: an `each` unit's outcomes; an `all` or `transaction` unit's
 * results, or its failure thrown (`CreateFailed` naming the create of a `transaction` unit).
 */
export function writeBatch(db: Database.Database, st: StatementCache, clock: InstantClock, ops: readonly WriteOp[], mode: WriteBatchMode): WriteOutcome[] {
  return unitResults(writeGroup(db, st, clock, { mode, ops }, () => undefined)[0]!);
}

/** The outcomes of a unit that committed; a unit rolled back alone is thrown as its failure (`CreateFailed` naming the create of a `transaction` unit). */
export function unitResults(o: UnitOutcome): WriteOutcome[] {
  if (o.ok) return o.outcomes;
  throw o.op !== undefined ? new CreateFailed(o.op, o.error) : o.error;
}

/** An `all` or `transaction` unit under its savepoint: its results, or its failure rolled back alone; throws when the transaction went with it. */
function writeWhole(db: Database.Database, st: StatementCache, clock: InstantClock, unit: WriteUnit): UnitOutcome {
  st.get(`SAVEPOINT ${BATCH_UNIT}`).run();
  const outcomes: WriteOutcome[] = [];
  for (const [index, op] of unit.ops.entries()) {
    try {
      outcomes.push({ ok: true, result: runSync(writeSteps(st, clock, op, unit.mode === 'transaction')) });
    } catch (error) {
      if (!db.inTransaction) throw error;
      st.get(`ROLLBACK TO ${BATCH_UNIT}`).run();
      st.get(`RELEASE ${BATCH_UNIT}`).run();
      return unit.mode === 'transaction' ? { ok: false, error, op: index } : { ok: false, error };
    }
  }
  st.get(`RELEASE ${BATCH_UNIT}`).run();
  return { ok: true, outcomes };
}

/** The writes of an `each` unit, each under its savepoint; throws when a failure took the whole transaction with it. */
function writeEach(db: Database.Database, st: StatementCache, clock: InstantClock, ops: readonly WriteOp[]): WriteOutcome[] {
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
