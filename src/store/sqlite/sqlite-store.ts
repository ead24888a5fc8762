/**
 * The embedded, durable default store on SQLite (FHIR R4 §3.1.0 http.html: read, vread, create,
 * update, delete, history, transaction; §3.1.1 search.html for search).
 *
 * better-sqlite3 is synchronous; the Store interface is async. All writes go through one write
 * connection guarded by a FIFO lock: a single write takes the lock and runs in its own IMMEDIATE
 * transaction; `withTransaction` takes the lock for the whole callback (BEGIN IMMEDIATE ... COMMIT, or
 * ROLLBACK when it throws). Reads and searches outside a transaction use a separate read-only
 * connection that sees the last committed WAL snapshot, so they never wait for writers. With
 * `:memory:` there is one connection, so reads outside a transaction wait for the lock instead (they
 * would otherwise see a transaction's uncommitted writes).
 */
import type Database from 'better-sqlite3';
import { FhirError } from '../../fhir/outcome';
import type { SearchQuery } from '../../search/ir';
import type { HistoryPage, HistoryQuery, SearchPage, Store, StoreSession, StoredVersion, WriteOp, WriteResult } from '../store';
import { openConnections, StatementCache, type Connections } from './connection';
import { queryHistory } from './history';
import { FifoLock } from './lock';
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
    // A savepoint: a write that fails leaves the rest of the transaction intact.
    return this.store.writeNow(op);
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

export class SqliteStore implements Store {
  readonly name = 'sqlite';
  private readonly lock = new FifoLock();
  private readonly writeSt: StatementCache;
  private readonly writer: Reader;
  private readonly reader: Reader;
  private readonly clock: InstantClock;
  private readonly writeTx: Database.Transaction<(op: WriteOp) => WriteResult | undefined>;
  private readonly reindexTx: Database.Transaction<(type: string, id: string, version: number, index: IndexEntry[]) => boolean>;
  private closed = false;

  constructor(private readonly conns: Connections) {
    this.writeSt = new StatementCache(conns.write);
    this.writer = new Reader(this.writeSt);
    this.reader = conns.memory ? this.writer : new Reader(new StatementCache(conns.read));
    const last = (conns.write.prepare('SELECT MAX(last_updated) AS t FROM version').get() as { t: number | null }).t;
    this.clock = new InstantClock(last ?? 0);
    // better-sqlite3 uses a SAVEPOINT when already inside a transaction, BEGIN otherwise.
    this.writeTx = conns.write.transaction((op: WriteOp) => applyWrite(this.writeSt, this.clock, op));
    this.reindexTx = conns.write.transaction((type: string, id: string, version: number, index: IndexEntry[]) => applyReindex(this.writeSt, type, id, version, index));
  }

  /** Runs a write on the write connection; the caller holds the lock. */
  writeNow(op: WriteOp): WriteResult | undefined {
    return this.conns.write.inTransaction ? this.writeTx(op) : this.writeTx.immediate(op);
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
    return this.lock.run(() => this.writeNow(op));
  }

  async withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> {
    this.checkOpen();
    this.refuseReentry('withTransaction');
    return this.lock.run(async () => {
      const db = this.conns.write;
      db.exec('BEGIN IMMEDIATE');
      const session = new TransactionSession(this, this.writer);
      try {
        const result = await fn(session);
        session.end();
        db.exec('COMMIT');
        return result;
      } catch (e) {
        session.end();
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async reindex(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    this.checkOpen();
    this.refuseReentry('reindex');
    return this.lock.run(() => this.reindexTx.immediate(resourceType, id, versionId, index));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.run(() => {
      if (this.conns.read !== this.conns.write) this.conns.read.close();
      this.conns.write.close();
    });
  }

  private async readOp<T>(fn: (r: Reader) => T): Promise<T> {
    this.checkOpen();
    if (!this.conns.memory) return fn(this.reader);
    // One connection: read between transactions, or directly when the caller already holds the lock.
    return this.lock.heldByCaller() ? fn(this.writer) : this.lock.run(() => fn(this.writer));
  }

  private checkOpen(): void {
    if (this.closed) throw new FhirError('busy', 'the store is closed');
  }

  private refuseReentry(what: string): void {
    if (this.lock.heldByCaller()) {
      throw new Error(`store.${what} was called inside withTransaction: use the session passed to the callback (this would deadlock)`);
    }
  }
}

/** Opens (creating if needed) the store at `path`, a file or `:memory:`. */
export function openSqliteStore(path: string): SqliteStore {
  return new SqliteStore(openConnections(path));
}
