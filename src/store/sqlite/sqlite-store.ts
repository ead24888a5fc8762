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
 */
import type Database from 'better-sqlite3';
import { FhirError } from '../../fhir/outcome';
import type { SearchQuery } from '../../search/ir';
import type { HistoryPage, HistoryQuery, IdempotencyRecord, RememberedResponse, SearchPage, Store, StoreSession, StoredVersion, WriteOp, WriteResult } from '../store';
import { claimRequestRow, releaseRequestRow, rememberResponseRow } from './idempotency';
import { openConnections, StatementCache, type Connections } from './connection';
import { queryHistory } from './history';
import { DEFAULT_GROUP_LIMITS, GroupCommitter, type GroupLimits, type GroupStats } from './group-commit';
import { SqliteGroupDriver } from './group-driver';
import { InstantClock, toStoredVersion, VERSION_COLUMNS, type VersionRow } from './rows';
import { runSearch } from './search';
import { applyReindex, applyWrite } from './writes';
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

/** The session handed to a `withTransaction` callback: bound to the write connection while it runs. */
class TransactionSession implements StoreSession {
  private open = true;
  constructor(
    private readonly store: SqliteStore,
    private readonly reader: Reader,
  ) {}

  end(): void {
    this.open = false;
  }

  private check(): void {
    if (!this.open) throw new Error('this transaction session has ended: use it only inside its withTransaction callback');
  }

  async read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    this.check();
    return this.reader.read(resourceType, id);
  }

  async vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    this.check();
    return this.reader.vread(resourceType, id, versionId);
  }

  async write(op: WriteOp): Promise<WriteResult | undefined> {
    this.check();
    // A nested savepoint: a write that fails (and is caught) leaves the rest of the transaction intact.
    return this.store.writeInTransaction(op);
  }

  async history(q: HistoryQuery): Promise<HistoryPage> {
    this.check();
    return this.reader.history(q);
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    this.check();
    return this.reader.search(q);
  }
}

export interface SqliteStoreOptions {
  /** Bounds of one group commit (defaults: `DEFAULT_GROUP_LIMITS`). */
  groupLimits?: Partial<GroupLimits>;
  /**
   * Test hook: runs on the write connection just before each group's COMMIT, inside the group's
   * transaction; a throw fails that commit (every unit of the group is then rejected).
   */
  beforeCommit?: (db: Database.Database) => void;
}

export class SqliteStore implements Store {
  readonly name = 'sqlite';
  private readonly queue: GroupCommitter;
  private readonly writeSt: StatementCache;
  private readonly writer: Reader;
  private readonly reader: Reader;
  private readonly clock: InstantClock;
  private readonly writeTx: Database.Transaction<(op: WriteOp) => WriteResult | undefined>;
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
    const last = (conns.write.prepare('SELECT MAX(last_updated) AS t FROM version').get() as { t: number | null }).t;
    this.clock = new InstantClock(last ?? 0);
    // Inside a transaction better-sqlite3 runs this in a nested SAVEPOINT.
    this.writeTx = conns.write.transaction((op: WriteOp) => applyWrite(this.writeSt, this.clock, op));
    const hook = options.beforeCommit;
    this.queue = new GroupCommitter(
      new SqliteGroupDriver(conns.write),
      { ...DEFAULT_GROUP_LIMITS, ...options.groupLimits },
      hook ? () => hook(conns.write) : undefined,
    );
  }

  /** Counters of the group commits so far (diagnostics and tests). */
  get groupStats(): Readonly<GroupStats> {
    return this.queue.stats;
  }

  /** Runs a write inside the caller's open transaction (a `withTransaction` callback). */
  writeInTransaction(op: WriteOp): WriteResult | undefined {
    if (!this.conns.write.inTransaction) throw new Error('writeInTransaction outside a transaction');
    return this.writeTx(op);
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
    // The unit's savepoint makes the write all or nothing.
    return this.queue.runInGroup(() => applyWrite(this.writeSt, this.clock, op));
  }

  async withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> {
    this.checkOpen();
    this.refuseReentry('withTransaction');
    return this.queue.runInGroup(async () => {
      const session = new TransactionSession(this, this.writer);
      try {
        return await fn(session);
      } finally {
        session.end();
      }
    });
  }

  async reindex(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    this.checkOpen();
    this.refuseReentry('reindex');
    return this.queue.runInGroup(() => applyReindex(this.writeSt, resourceType, id, versionId, index));
  }

  async claimRequest(key: string, pendingUntil: number, now: number): Promise<IdempotencyRecord | undefined> {
    this.checkOpen();
    this.refuseReentry('claimRequest');
    return this.queue.runInGroup(() => claimRequestRow(this.writeSt, key, pendingUntil, now));
  }

  async rememberResponse(key: string, response: RememberedResponse, expiresAt: number): Promise<void> {
    this.checkOpen();
    this.refuseReentry('rememberResponse');
    return this.queue.runInGroup(() => rememberResponseRow(this.writeSt, key, response, expiresAt));
  }

  async releaseRequest(key: string): Promise<void> {
    this.checkOpen();
    this.refuseReentry('releaseRequest');
    return this.queue.runInGroup(() => releaseRequestRow(this.writeSt, key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.runExclusive(() => {
      if (this.conns.read !== this.conns.write) this.conns.read.close();
      this.conns.write.close();
    });
  }

  private async readOp<T>(fn: (r: Reader) => T): Promise<T> {
    this.checkOpen();
    if (!this.conns.memory) return fn(this.reader);
    // One connection: read between groups, or directly when the caller is already inside a unit.
    return this.queue.heldByCaller() ? fn(this.writer) : this.queue.runExclusive(() => fn(this.writer));
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

/** Opens (creating if needed) the store at `path`, a file or `:memory:`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(openConnections(path), options);
}
