/**
 * The embedded, durable default store on SQLite (FHIR R4 §3.1.0 http.html: read, vread, create,
 * update, delete, history, transaction; §3.1.1 search.html for search).
 *
 * better-sqlite3 is synchronous; the Store interface is async. All writes go through one write
 * connection and are serialised, in arrival order, by a group-commit queue (group-commit.ts): a
 * single write, a whole `withTransaction` callback and a `reindex` are each one "unit"; the units
 * waiting together run one after another inside ONE transaction (BEGIN IMMEDIATE, a SAVEPOINT per
 * unit, one COMMIT) and are acknowledged only after that COMMIT, so several writes share one fsync.
 * A unit that throws is rolled back to its savepoint and only it fails; no other unit ever runs
 * inside a `withTransaction` callback. Reads and searches outside a transaction use a separate
 * read-only connection that sees the last committed WAL snapshot, so they never wait for writers and
 * never see a group's uncommitted writes. With `:memory:` there is one connection, so reads outside a
 * transaction queue as exclusive units between groups instead.
 * On a file, the server's own batches of creates (`appendCreates`, the audit trail, ADR 0044) and the
 * independent writes of requests (`write`, ADR 0045) can be written by a worker thread's connection
 * in sessions of the queue (thread-sessions.ts, ADR 0049: a write is posted while earlier ones are
 * being written, and the thread commits those waiting together; writer-thread.ts);
 * `withTransaction`, `reindex` and the idempotency records stay on the store's connection.
 *
 * Errors of SQLite are mapped in one place (errors.ts): a full disk, a read-only database, an I/O
 * error or a lock held elsewhere make writes answer 503 `transient` with Retry-After, and nothing of
 * the failed write is stored. Writes with many index entries insert them in steps that give the
 * event loop a turn (src/cooperative.ts), so one large resource does not freeze the server.
 */
import type Database from 'better-sqlite3';
import { FhirError } from '../../fhir/outcome';
import type { SearchQuery } from '../../search/ir';
import { CreateFailed, type HistoryPage, type HistoryQuery, type IdempotencyRecord, type RememberedResponse, type SearchPage, type Store, type StoreSession, type StoredVersion, type WriteOp, type WriteResult } from '../store';
import { claimRequestRow, releaseRequestRow, rememberResponseRow } from './idempotency';
import { BUSY_TIMEOUT_MS, openConnections, StatementCache, type Connections } from './connection';
import { BackgroundCheckpointer, type CheckpointMode } from './checkpointer';
import { ThreadSessions } from './thread-sessions';
import { WriterThread, type WriterMode } from './writer-thread';
import { unitResults, writeBatch, type WriteBatchMode, type WriteOutcome } from './write-batch';
import type { CheckpointStats } from './checkpoint-worker';
import { queryHistory } from './history';
import { DEFAULT_GROUP_LIMITS, GroupCommitter, type GroupLimits, type GroupStats } from './group-commit';
import { SqliteGroupDriver } from './group-driver';
import { InstantClock, toStoredVersion, VERSION_COLUMNS, type VersionRow } from './rows';
import { runSearch } from './search';
import { applyWrite, reindexSteps, writeSteps } from './writes';
import { mapped } from './errors';
import { runCooperatively } from '../../cooperative';
import type { IndexEntry } from '../../search/index-entry';

/** The read operations over one connection. */
class Reader {
  constructor(readonly st: StatementCache) {}

  read(resourceType: string, id: string): StoredVersion | undefined {
    const row = this.st.get(`SELECT ${VERSION_COLUMNS} FROM resource WHERE type = ? AND id = ?`).get(resourceType, id) as VersionRow | undefined;
    return row ? toStoredVersion(row) : undefined;
  }

  vread(resourceType: string, id: string, versionId: number): StoredVersion | undefined {
    const row = this.st.get(`SELECT ${VERSION_COLUMNS} FROM version WHERE type = ? AND id = ? AND version = ?`).get(resourceType, id, versionId) as VersionRow | undefined;
    return row ? toStoredVersion(row) : undefined;
  }

  history(q: HistoryQuery): HistoryPage {
    return queryHistory(this.st, q);
  }

  search(q: SearchQuery): SearchPage {
    return runSearch(this.st, q);
  }
}

/**
 * The session handed to a `withTransaction` callback: bound to the write connection while it runs.
 * Its operations run one at a time in call order (a large write gives the event loop turns while it
 * inserts index rows, and nothing else may use the connection meanwhile, not even the same
 * callback's other calls); what they throw is mapped by `mapSqliteError`.
 */
class TransactionSession implements StoreSession {
  private open = true;
  /** The last operation queued; the next one starts when it has settled. */
  private tail: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly store: SqliteStore,
    private readonly reader: Reader,
  ) {}

  end(): void {
    this.open = false;
  }

  private run<T>(fn: () => T | Promise<T>): Promise<T> {
    const next = this.tail.then(() => {
      if (!this.open) throw new Error('this transaction session has ended: use it only inside its withTransaction callback');
      return mapped(fn);
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.run(() => this.reader.read(resourceType, id));
  }

  vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    return this.run(() => this.reader.vread(resourceType, id, versionId));
  }

  write(op: WriteOp): Promise<WriteResult | undefined> {
    // A nested savepoint: a write that fails (and is caught) leaves the rest of the transaction intact.
    return this.run(() => this.store.writeInTransaction(op));
  }

  history(q: HistoryQuery): Promise<HistoryPage> {
    return this.run(() => this.reader.history(q));
  }

  search(q: SearchQuery): Promise<SearchPage> {
    return this.run(() => this.reader.search(q));
  }
}

/** Writes with at least this many index entries insert them cooperatively (src/cooperative.ts); smaller ones at once. */
const COOPERATIVE_ENTRIES = 1000;

/** The savepoint of one cooperative write inside a transaction (distinct from the group's and better-sqlite3's). */
const TX_WRITE = 'tx_write';

export interface SqliteStoreOptions {
  /** Bounds of one group commit (defaults: `DEFAULT_GROUP_LIMITS`). */
  groupLimits?: Partial<GroupLimits>;
  /**
   * Test hook: runs on the write connection just before each group's COMMIT, inside the group's
   * transaction; a throw fails that commit (every unit of the group is then rejected).
   */
  beforeCommit?: (db: Database.Database) => void;
  /** Who runs WAL checkpoints of a file database (checkpointer.ts; default `inline`). Ignored for `:memory:`. */
  checkpoint?: CheckpointMode;
  /**
   * Who writes `appendCreates` batches of a file database (writer-thread.ts, ADR 0044): `worker`, a
   * thread with its own connection, or `inline`, the store's own connection (the default). Ignored
   * for `:memory:`.
   */
  appendWriter?: WriterMode;
  /**
   * Who writes the independent writes of `write` on a file database (ADR 0045): `worker`, batched
   * on the same thread, or `inline`, group commits on the store's connection (the default). Ignored
   * for `:memory:`.
   */
  writes?: WriterMode;
  /** Test hook: the writer thread ends right after its first COMMIT, without answering. */
  writerExitsAfterCommit?: boolean;
}

export class SqliteStore implements Store {
  readonly name = 'sqlite';
  private readonly queue: GroupCommitter;
  private readonly writeSt: StatementCache;
  private readonly writer: Reader;
  private readonly reader: Reader;
  private readonly clock: InstantClock;
  private readonly writeTx: Database.Transaction<(op: WriteOp) => WriteResult | undefined>;
  private readonly checkpointer: BackgroundCheckpointer | undefined;
  /** The writer thread, when `appendWriter` or `writes` is `worker` on a file. */
  private readonly thread: WriterThread | undefined;
  private readonly appendOnThread: boolean;
  private readonly writesOnThread: boolean;
  /** The writes on the writer thread (ADR 0049), when there is one. */
  private readonly sessions: ThreadSessions | undefined;
  private closed = false;

  constructor(
    private readonly conns: Connections,
    options: SqliteStoreOptions = {},
  ) {
    // Savepoints keep a statement journal of the pages they change; past 64 KiB SQLite spills it to a
    // temporary file, which cost about 0.5 ms per write here. Keep temporary storage in memory.
    conns.write.pragma('temp_store = MEMORY');
    this.writeSt = new StatementCache(conns.write);
    this.writer = new Reader(this.writeSt);
    this.reader = conns.memory ? this.writer : new Reader(new StatementCache(conns.read));
    this.clock = new InstantClock(latestInstant(conns.write));
    // Inside a transaction better-sqlite3 runs this in a nested SAVEPOINT.
    this.writeTx = conns.write.transaction((op: WriteOp) => applyWrite(this.writeSt, this.clock, op));
    const hook = options.beforeCommit;
    const checkpointer = !conns.memory && options.checkpoint === 'background' ? new BackgroundCheckpointer(conns.write.name, conns.write) : undefined;
    this.checkpointer = checkpointer;
    const limits = { ...DEFAULT_GROUP_LIMITS, ...options.groupLimits };
    this.appendOnThread = !conns.memory && options.appendWriter === 'worker';
    this.writesOnThread = !conns.memory && options.writes === 'worker';
    this.thread =
      this.appendOnThread || this.writesOnThread
        ? new WriterThread(conns.write.name, () => ({
            autocheckpointPages: Number(conns.write.pragma('wal_autocheckpoint', { simple: true })),
            busyTimeoutMs: BUSY_TIMEOUT_MS,
            maxOps: limits.maxUnits,
            maxMillis: limits.maxMillis,
            exitAfterCommit: options.writerExitsAfterCommit === true,
          }))
        : undefined;
    this.queue = new GroupCommitter(new SqliteGroupDriver(conns.write, checkpointer ? () => checkpointer.committed() : undefined), limits, hook ? () => hook(conns.write) : undefined);
    this.sessions = this.thread
      ? new ThreadSessions(this.queue, this.thread, this.clock, () => checkpointer?.committed(), (unit, after) => ({ ok: true, outcomes: this.afterThreadGone(unit.ops, after, unit.mode) }), limits.maxUnits)
      : undefined;
  }

  /** Counters of the background checkpointer (undefined with `inline` checkpoints). */
  checkpointStats(): Promise<CheckpointStats> | undefined {
    return this.checkpointer?.stats();
  }

  /** Transactions the writer thread committed (undefined without one; diagnostics and tests). */
  get writerThreadBatches(): number | undefined {
    return this.thread?.commits;
  }

  /** The most writes one writer-thread transaction held so far (diagnostics and tests). */
  get largestThreadBatch(): number {
    return this.thread?.largestCommit ?? 0;
  }

  /** Counters of the group commits so far (diagnostics and tests). */
  get groupStats(): Readonly<GroupStats> {
    return this.queue.stats;
  }

  /**
   * Runs a write inside the caller's open transaction (a `withTransaction` callback), in a savepoint
   * of its own. A write with many index entries inserts them in steps, giving the event loop a turn
   * between steps: safe, because the transaction holds the write queue (no other unit runs before
   * it commits), reads of other requests use the read connection's committed snapshot (or, over
   * `:memory:`, wait for the commit), and the session runs its operations one at a time.
   */
  async writeInTransaction(op: WriteOp): Promise<WriteResult | undefined> {
    if (!this.conns.write.inTransaction) throw new Error('writeInTransaction outside a transaction');
    if ((op.index?.length ?? 0) < COOPERATIVE_ENTRIES) return this.writeTx(op);
    this.writeSt.get(`SAVEPOINT ${TX_WRITE}`).run();
    try {
      const result = await runCooperatively(writeSteps(this.writeSt, this.clock, op));
      this.writeSt.get(`RELEASE ${TX_WRITE}`).run();
      return result;
    } catch (e) {
      if (this.conns.write.inTransaction) {
        try {
          this.writeSt.get(`ROLLBACK TO ${TX_WRITE}`).run();
          this.writeSt.get(`RELEASE ${TX_WRITE}`).run();
        } catch {
          // The group commit sees the transaction's state and fails the whole unit.
        }
      }
      throw e;
    }
  }

  read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.readOp((r) => r.read(resourceType, id));
  }

  vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    return this.readOp((r) => r.vread(resourceType, id, versionId));
  }

  history(q: HistoryQuery): Promise<HistoryPage> {
    return this.readOp((r) => r.history(q));
  }

  search(q: SearchQuery): Promise<SearchPage> {
    return this.readOp((r) => r.search(q));
  }

  async write(op: WriteOp): Promise<WriteResult | undefined> {
    this.checkOpen();
    this.refuseReentry('write');
    if (this.writesOnThread && this.thread!.available) return mapped(() => this.writeOnThread(op));
    // The unit's savepoint makes the write all or nothing; a large one gives the event loop turns
    // while it holds the queue (see writeInTransaction for why that is safe).
    return mapped(() =>
      this.queue.runInGroup(() => ((op.index?.length ?? 0) < COOPERATIVE_ENTRIES ? applyWrite(this.writeSt, this.clock, op) : runCooperatively(writeSteps(this.writeSt, this.clock, op)))),
    );
  }

  /**
   * `write` on the writer thread (ADR 0045 and 0049): an `each` unit of its own, in a session of the
   * thread (thread-sessions.ts), settled after the COMMIT that holds it.
   */
  private async writeOnThread(op: WriteOp): Promise<WriteResult | undefined> {
    const [outcome] = unitResults(await this.sessions!.submit({ mode: 'each', ops: [op] }));
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.result;
  }

  /**
   * The thread ended with a unit unanswered (`after` is the store's instant when it was posted);
   * the unit's transaction either committed or nothing of it is stored. Its writes are found under
   * their resources among the versions stored after `after`: nothing but the thread wrote meanwhile,
   * and no other write of the same resources was in flight with it (thread-sessions.ts holds such a
   * write back until the earlier one is answered), so a version there is this unit's. A write with
   * one succeeded and is answered from it; every other write (it failed inside an `each` unit, or
   * the transaction did not commit) runs again here, after it, in a transaction of its own (an `all`
   * or `transaction` unit is either wholly there or run again whole). None of them was acknowledged,
   * so running them after the others is an order they could have had. The store's clock then
   * continues after the database's latest instant, which covers whatever the thread handed out.
   */
  private afterThreadGone(ops: readonly WriteOp[], after: number, mode: WriteBatchMode): WriteOutcome[] {
    this.clock.advanceTo(latestInstant(this.conns.write));
    const written = new Map<string, VersionRow>();
    for (const row of this.writeSt.get(`SELECT ${VERSION_COLUMNS} FROM version WHERE last_updated > ? ORDER BY seq`).all(after) as VersionRow[]) written.set(`${row.type}/${row.id}`, row);
    const outcomes: Array<WriteOutcome | undefined> = ops.map((op) => {
      const row = written.get(`${op.resourceType}/${op.id}`);
      return row ? { ok: true, result: { version: toStoredVersion(row), created: !row.deleted && !this.wasLive(row) } } : undefined;
    });
    const again = ops.filter((_, i) => outcomes[i] === undefined);
    if (again.length === 0) return outcomes as WriteOutcome[];
    // Still inside the exclusive unit: no transaction is open on the store's connection.
    if (mode !== 'each') {
      const rerun = writeBatch(this.conns.write, this.writeSt, this.clock, ops, mode);
      this.checkpointer?.committed();
      return rerun;
    }
    let rerun: WriteOutcome[];
    try {
      rerun = writeBatch(this.conns.write, this.writeSt, this.clock, again, 'each');
      this.checkpointer?.committed();
    } catch (error) {
      // Only the writes run again failed: those the batch stored are still answered as stored.
      rerun = again.map(() => ({ ok: false, error }));
    }
    let k = 0;
    for (let i = 0; i < outcomes.length; i++) outcomes[i] ??= rerun[k++];
    return outcomes as WriteOutcome[];
  }

  /** Whether the version before `row` was a live one (so `row`, not a delete, was an update, not a create). */
  private wasLive(row: VersionRow): boolean {
    if (row.version === 1) return false;
    const before = this.writer.vread(row.type, row.id, row.version - 1);
    return before !== undefined && !before.deleted;
  }

  async withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> {
    this.checkOpen();
    this.refuseReentry('withTransaction');
    return mapped(() =>
      this.queue.runInGroup(async () => {
        const session = new TransactionSession(this, this.writer);
        try {
          return await fn(session);
        } finally {
          session.end();
        }
      }),
    );
  }

  /**
   * Creates of fresh resources that the server itself records (the audit trail, src/audit): ONE unit
   * of the group commit, all or nothing (a failing create rolls the whole batch back and rejects it),
   * resolved after the COMMIT that makes every create durable, like a `withTransaction` callback that
   * writes each op in turn. Each create is `writeSteps` as for `write`: the same resource, version and
   * index rows (no index digest: ADR 0046), and a create whose id exists fails (`expectedVersion: 0`
   * answers `precondition`). What
   * it saves is the per-write overhead a batch of creates cannot need: a savepoint and a session
   * operation per write. The event loop gets a turn between creates whenever a slice is used up.
   */
  async appendCreates(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    return this.createsUnit('appendCreates', ops, 'all', this.appendOnThread);
  }

  /**
   * The creates of a transaction Bundle prepared without the store (ADR 0047): ONE unit, all or
   * nothing, as `appendCreates` but with the index digests a later update compares (ADR 0037) and a
   * failure naming its create (`CreateFailed`). On a file database they are written by the writer
   * thread (with `SQLITE_WRITES=worker`, as plain writes are), so their rows and COMMIT leave the
   * event loop; else in a group commit here.
   */
  async commitCreates(ops: readonly WriteOp[]): Promise<WriteResult[]> {
    return this.createsUnit('commitCreates', ops, 'transaction', this.writesOnThread);
  }

  /** One unit of creates only: on the writer thread when `onThread` and it is there, else in a group here. */
  private createsUnit(what: string, ops: readonly WriteOp[], mode: 'all' | 'transaction', onThread: boolean): Promise<WriteResult[]> {
    this.checkOpen();
    this.refuseReentry(what);
    for (const op of ops) if (op.kind !== 'create') throw new Error(`${what} was given a ${op.kind} of ${op.resourceType}/${op.id}`);
    if (onThread && this.thread!.available) return mapped(async () => unitResults(await this.sessions!.submit({ mode, ops })).map((o) => (o as { result: WriteResult }).result));
    return mapped(() => this.queue.runInGroup(() => runCooperatively(this.createSteps(ops, mode))));
  }

  /** The creates of one unit on the store's connection (`all`: no index digest; `transaction`: digests, and a failure names its create). */
  private *createSteps(ops: readonly WriteOp[], mode: 'all' | 'transaction'): Generator<void, WriteResult[], void> {
    const results: WriteResult[] = [];
    for (const [i, op] of ops.entries()) {
      try {
        results.push((yield* writeSteps(this.writeSt, this.clock, op, mode === 'transaction'))!);
      } catch (e) {
        throw mode === 'transaction' ? new CreateFailed(i, e) : e;
      }
      yield;
    }
    return results;
  }

  async reindex(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    this.checkOpen();
    this.refuseReentry('reindex');
    return mapped(() => this.queue.runInGroup(() => runCooperatively(reindexSteps(this.writeSt, resourceType, id, versionId, index))));
  }

  async claimRequest(key: string, pendingUntil: number, now: number): Promise<IdempotencyRecord | undefined> {
    this.checkOpen();
    this.refuseReentry('claimRequest');
    return mapped(() => this.queue.runInGroup(() => claimRequestRow(this.writeSt, key, pendingUntil, now)));
  }

  async rememberResponse(key: string, response: RememberedResponse, expiresAt: number): Promise<void> {
    this.checkOpen();
    this.refuseReentry('rememberResponse');
    return mapped(() => this.queue.runInGroup(() => rememberResponseRow(this.writeSt, key, response, expiresAt)));
  }

  async releaseRequest(key: string): Promise<void> {
    this.checkOpen();
    this.refuseReentry('releaseRequest');
    return mapped(() => this.queue.runInGroup(() => releaseRequestRow(this.writeSt, key)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.checkpointer?.close();
    await this.queue.runExclusive(async () => {
      await this.thread?.close();
      if (this.conns.read !== this.conns.write) this.conns.read.close();
      this.conns.write.close();
    });
  }

  private async readOp<T>(fn: (r: Reader) => T): Promise<T> {
    this.checkOpen();
    if (!this.conns.memory) return mapped(() => fn(this.reader));
    // One connection: read between groups, or directly when the caller is already inside a unit.
    return mapped(() => (this.queue.heldByCaller() ? fn(this.writer) : this.queue.runExclusive(() => fn(this.writer))));
  }

  private checkOpen(): void {
    if (this.closed) throw new FhirError('busy', 'the store is closed');
  }

  private refuseReentry(what: string): void {
    if (this.queue.heldByCaller()) {
      throw new Error(`store.${what} was called inside withTransaction: use the session passed to the callback (this would deadlock)`);
    }
  }
}

/** The latest lastUpdated stored (epoch ms), 0 for an empty database. */
function latestInstant(db: Database.Database): number {
  return (db.prepare('SELECT MAX(last_updated) AS t FROM version').get() as { t: number | null }).t ?? 0;
}

/** Opens (creating if needed) the store at `path`, a file or `:memory:`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(openConnections(path), options);
}
