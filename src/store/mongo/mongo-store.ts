/**
 * The MongoDB store (FHIR R4 §3.1.0 http.html: read, vread, create, update, delete, history,
 * transaction; §3.1.1 search.html for search), behind the same `Store` interface as the SQLite store.
 *
 * Document model: documents.ts and docs/decisions/0009-mongodb-document-model.md. Every write is a
 * multi-document transaction (snapshot read concern, majority + journal write concern) retried on
 * transient errors (retry.ts); within one instance, `withTransaction` callbacks run one at a time
 * (serial-queue.ts), so "search, then create if absent" is serialised as in SQLite, while single
 * writes and reindexes run concurrently, each in its own transaction (they share no document: history
 * is ordered by lastUpdated then `_id`, not by a global counter); as across instances the database
 * arbitrates: the version compare-and-swap on `resources`, the unique
 * (t, i, v) of `versions`, write conflicts, and `claim` (conditional create). Reads outside a
 * transaction read the majority-committed state. Driver errors meaning "unreachable" become 503.
 * With transactions switched off (a standalone server) single writes still work, each a
 * compare-and-swap, and `withTransaction` is refused with an OperationOutcome.
 */
import { createHash } from 'node:crypto';
import { FhirError } from '../../fhir/outcome';
import type { IndexEntry } from '../../search/index-entry';
import type { SearchQuery } from '../../search/ir';
import { InstantClock } from '../sqlite/rows';
import type { HistoryPage, HistoryQuery, IdempotencyRecord, RememberedResponse, SearchPage, Store, StoreSession, StoredVersion, WriteOp, WriteResult } from '../store';
import type { Doc, DriverClient, DriverCollection, DriverDb, DriverSession, WriteOptions } from './driver';
import { CLAIMS, HISTORY_ORDER, RESOURCES, resourceKey, toStoredVersion, VERSION_PROJECTION, VERSIONS, versionKey } from './documents';
import { errorCode, mapDriverError, mapped, WRITE_CONFLICT } from './errors';
import { queryHistory } from './history';
import { claimRequest, releaseRequest, rememberResponse, REQUESTS } from './idempotency';
import { DEFAULT_MAX_ATTEMPTS, runTransaction, TransactionRetriesExhausted } from './retry';
import { ensureSchema, type IndexSpec } from './schema';
import { INDEX_ARRAYS, SEARCH_INDEXES, toIndexDocs } from './search/index-docs';
import { runSearch } from './search/run';
import { SerialQueue } from './serial-queue';
import { applyReindex, applyWrite, type WriteTarget } from './writes';

export interface MongoStoreOptions {
  client: DriverClient;
  /** Database name (MONGODB_DB). */
  dbName: string;
  /** Multi-document transactions (MONGODB_TRANSACTIONS; needs a replica set). Default true. */
  transactions?: boolean;
  /** Attempts of a transaction on transient errors. Default DEFAULT_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** Back-off between attempts (tests pass a fast one). */
  sleep?: (attempt: number) => Promise<void>;
  /** Whether `close()` closes the client too. Default true. */
  ownsClient?: boolean;
}

const MAJORITY: NonNullable<WriteOptions['writeConcern']> = Object.freeze({ w: 'majority', journal: true });
const TRANSACTION_OPTIONS = Object.freeze({ readConcern: { level: 'snapshot' as const }, writeConcern: MAJORITY });

interface Collections {
  resources: DriverCollection;
  versions: DriverCollection;
  claims: DriverCollection;
  requests: DriverCollection;
}

/** Reads, writes and searches over the collections, in a transaction's session or in none. */
class Operations implements StoreSession {
  constructor(
    protected readonly c: Collections,
    protected readonly session: DriverSession | undefined,
    private readonly clock: InstantClock,
  ) {}

  protected opts(): { session?: DriverSession } {
    return this.session ? { session: this.session } : {};
  }

  async read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const doc = await this.c.resources.findOne({ _id: resourceKey(resourceType, id) }, { ...this.opts(), projection: { ...VERSION_PROJECTION } });
    return doc ? toStoredVersion(doc) : undefined;
  }

  async vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    if (!Number.isSafeInteger(versionId)) return undefined;
    const doc = await this.c.versions.findOne({ _id: versionKey(resourceType, id, versionId) }, { ...this.opts(), projection: { ...VERSION_PROJECTION } });
    if (doc) return toStoredVersion(doc);
    // A write without a transaction that stopped between its two documents: the current version is in `resources`.
    const cur = await this.read(resourceType, id);
    return cur && cur.versionId === versionId ? cur : undefined;
  }

  write(op: WriteOp): Promise<WriteResult | undefined> {
    return applyWrite(this.target(), op);
  }

  history(q: HistoryQuery): Promise<HistoryPage> {
    return queryHistory(this.c.versions, this.session, q);
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    const opts = this.opts();
    // Read before the page: a write the page may already show is then newer than the watermark, so
    // later pages leave it out instead of showing it twice (src/store/store.ts SearchPage.watermark).
    const newest = q.watermark ? await this.c.versions.find({}, { ...opts, sort: { ...HISTORY_ORDER }, limit: 1, projection: { u: 1 } }).toArray() : undefined;
    const page = await runSearch({ collectionName: RESOURCES, aggregate: (pipeline: Doc[]) => this.c.resources.aggregate(pipeline, opts).toArray() }, q);
    if (newest) page.watermark = Number(newest[0]?.u ?? 0);
    return page;
  }

  reindex(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    return applyReindex(this.target(), resourceType, id, versionId, index);
  }

  private target(): WriteTarget {
    return { ...this.c, session: this.session, writeConcern: MAJORITY, clock: this.clock, toIndexDocs: (e) => toIndexDocs(e), indexArrays: INDEX_ARRAYS };
  }
}

/** The session handed to a `withTransaction` callback; usable only while the callback runs. */
class TransactionSession extends Operations {
  private open = true;

  end(): void {
    this.open = false;
  }

  private check(): void {
    if (!this.open) throw new Error('this transaction session has ended: use it only inside its withTransaction callback');
  }

  override async read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    this.check();
    return super.read(resourceType, id);
  }

  override async vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    this.check();
    return super.vread(resourceType, id, versionId);
  }

  override async write(op: WriteOp): Promise<WriteResult | undefined> {
    this.check();
    return super.write(op);
  }

  override async history(q: HistoryQuery): Promise<HistoryPage> {
    this.check();
    return super.history(q);
  }

  override async search(q: SearchQuery): Promise<SearchPage> {
    this.check();
    return super.search(q);
  }

  /**
   * Claims `key` (e.g. a conditional create's type and criteria) for this transaction: an upsert of
   * the `claims` document keyed by its hash. Two transactions claiming the same key write the same
   * document, so one of them fails with a write conflict and is retried, then sees the other's result.
   */
  async claim(key: string): Promise<void> {
    this.check();
    const _id = createHash('sha256').update(key).digest('hex');
    await this.c.claims.updateOne({ _id }, { $set: { k: key.slice(0, 512), at: Date.now() }, $inc: { n: 1 } }, { ...this.opts(), upsert: true });
  }
}

export class MongoStore implements Store {
  readonly name = 'mongodb';
  private readonly queue = new SerialQueue();
  private readonly direct: Operations;
  private closed = false;

  private constructor(
    private readonly options: MongoStoreOptions,
    private readonly c: Collections,
    private readonly clock: InstantClock,
  ) {
    this.direct = new Operations(c, undefined, clock);
  }

  /**
   * Opens the store on a connected client: checks the server (a replica set when transactions are
   * on), creates the collections and indexes if needed, and starts the clock after the newest version.
   */
  static async open(options: MongoStoreOptions): Promise<MongoStore> {
    const db = options.client.db(options.dbName);
    const transactions = options.transactions ?? true;
    await mapped(async () => {
      await checkServer(db, transactions);
      await ensureSchema(db, SEARCH_INDEXES as readonly IndexSpec[]);
    });
    const c: Collections = { resources: db.collection(RESOURCES), versions: db.collection(VERSIONS), claims: db.collection(CLAIMS), requests: db.collection(REQUESTS) };
    const newest = await mapped(() => c.versions.find({}, { sort: { u: -1 }, limit: 1, projection: { u: 1 } }).toArray());
    return new MongoStore(options, c, new InstantClock(Number(newest[0]?.u ?? 0)));
  }

  get transactions(): boolean {
    return this.options.transactions ?? true;
  }

  read(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.outside(() => this.direct.read(resourceType, id));
  }

  vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    return this.outside(() => this.direct.vread(resourceType, id, versionId));
  }

  history(q: HistoryQuery): Promise<HistoryPage> {
    return this.outside(() => this.direct.history(q));
  }

  search(q: SearchQuery): Promise<SearchPage> {
    return this.outside(() => this.direct.search(q));
  }

  async write(op: WriteOp): Promise<WriteResult | undefined> {
    this.checkUsable('write');
    if (!this.transactions) return this.queue.run(() => mapped(() => this.direct.write(op)));
    // Its own transaction: no document is shared with writes of other resources (no global
    // counter), and the database arbitrates writes of the same resource (retried write conflicts).
    return this.queue.concurrent(() => this.transaction((tx) => tx.write(op)));
  }

  async withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> {
    this.checkUsable('withTransaction');
    if (!this.transactions) {
      throw new FhirError(
        'unsupported',
        'This server runs its MongoDB store without multi-document transactions (MONGODB_TRANSACTIONS=off): transaction Bundles and conditional interactions are not available; single reads and writes are.',
        { status: 501 },
      );
    }
    return this.queue.run(() => this.transaction(fn));
  }

  async reindex(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    this.checkUsable('reindex');
    if (!this.transactions) return this.queue.run(() => mapped(() => this.direct.reindex(resourceType, id, versionId, index)));
    return this.queue.concurrent(() => this.transaction((tx) => tx.reindex(resourceType, id, versionId, index)));
  }

  claimRequest(key: string, pendingUntil: number, now: number): Promise<IdempotencyRecord | undefined> {
    return this.outside(() => claimRequest(this.c.requests, key, pendingUntil, now));
  }

  rememberResponse(key: string, response: RememberedResponse, expiresAt: number): Promise<void> {
    return this.outside(() => rememberResponse(this.c.requests, key, response, expiresAt));
  }

  releaseRequest(key: string): Promise<void> {
    return this.outside(() => releaseRequest(this.c.requests, key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.drain();
    if (this.options.ownsClient ?? true) await this.options.client.close();
  }

  /** Runs `fn` in a driver transaction with retries; the session it gets ends with the attempt. */
  private async transaction<T>(fn: (tx: TransactionSession) => Promise<T>): Promise<T> {
    const session = this.options.client.startSession();
    try {
      return await runTransaction(
        session,
        async () => {
          const tx = new TransactionSession(this.c, session, this.clock);
          try {
            return await fn(tx);
          } finally {
            tx.end();
          }
        },
        { maxAttempts: this.options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, transactionOptions: TRANSACTION_OPTIONS, ...(this.options.sleep ? { sleep: this.options.sleep } : {}) },
      );
    } catch (e) {
      if (e instanceof TransactionRetriesExhausted) {
        const cause = mapDriverError(e.cause);
        if (cause instanceof FhirError) throw cause;
        if (errorCode(e.cause) === WRITE_CONFLICT) throw new FhirError('conflict', `the transaction conflicted with concurrent writes ${e.attempts} times; retry the request`);
        throw new FhirError('busy', { code: 'transient', diagnostics: `the transaction could not commit after ${e.attempts} attempts; retry the request` });
      }
      throw mapDriverError(e);
    } finally {
      await session.endSession().catch(() => undefined);
    }
  }

  private outside<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new FhirError('busy', 'the store is closed'));
    return mapped(fn);
  }

  private checkUsable(what: string): void {
    if (this.closed) throw new FhirError('busy', 'the store is closed');
    if (this.queue.heldByCaller()) {
      throw new Error(`store.${what} was called inside withTransaction: use the session passed to the callback (this would deadlock)`);
    }
  }
}

/** `hello`: a replica set (or sharded cluster) is required for transactions. */
export async function checkServer(db: DriverDb, transactions: boolean): Promise<void> {
  const hello = await db.command({ hello: 1 });
  const replicaSet = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
  if (transactions && !replicaSet) {
    throw new Error(
      'MongoDB at MONGODB_URI is a standalone server: the store needs a replica set (or a sharded cluster) for multi-document transactions. ' +
        'Start mongod with --replSet and run rs.initiate() (a single-member replica set is enough for development), or set MONGODB_TRANSACTIONS=off to run without transaction Bundles and conditional interactions.',
    );
  }
}
