/**
 * TEST DOUBLE of the MongoDB driver (FHIR R4 §3.1.0 http.html: the storage the store contract suite
 * exercises). Not a database: an in-memory stand-in for `MongoClient` / `Db` / `Collection` /
 * `ClientSession` implementing exactly the subset in ../driver.ts, so the MongoDB store can run its
 * contract suite on machines where no MongoDB server can be installed. Filters, updates and
 * aggregation pipelines are evaluated by mingo.
 *
 * What it models, and how faithfully:
 * - Documents per collection keyed by `_id`; documents are never mutated in place (every write
 *   stores a new object), so a snapshot is a copy of the key -> document maps.
 * - Unique indexes (`createIndex(..., { unique: true })`) and `_id` raise duplicate key errors (11000).
 * - Transactions: `startTransaction` takes a snapshot; reads in the session see the snapshot plus the
 *   transaction's own writes; other readers see only committed data; `commitTransaction` publishes
 *   the writes, `abortTransaction` drops them. Like MongoDB (first writer wins), a transaction writing
 *   a document that another open transaction has written, or that was committed after its snapshot,
 *   fails at once with WriteConflict (112, label TransientTransactionError) and is aborted.
 * - A write outside a transaction to a document an open transaction has written also fails with
 *   WriteConflict (MongoDB would make it wait); the store never does that.
 * - Failure injection: `failWith(error)` makes every operation throw (e.g. a server selection
 *   error, to test the 503 mapping); `failNextCommits(n, labels)` makes the next commits fail.
 * - Not modelled: string comparison by UTF-8 bytes (mingo compares UTF-16 code units), index use,
 *   write concern, sessions expiring, `$setOnInsert` beyond the top level.
 */
import { Aggregator, Query, update as applyUpdate } from 'mingo';
import type { Doc, DriverClient, DriverCollection, DriverCursor, DriverDb, DriverFindCursor, DriverSession, FindOptions, IndexOptions, SessionOption, UpdateOutcome } from '../driver';

/** The errors the double throws: shaped like the driver's `MongoServerError`. */
export class MingoDbError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly errorLabels: string[] = [],
    name = 'MongoServerError',
  ) {
    super(message);
    this.name = name;
  }

  hasErrorLabel(label: string): boolean {
    return this.errorLabels.includes(label);
  }
}

const duplicateKey = (coll: string, index: string, key: string): MingoDbError => new MingoDbError(`E11000 duplicate key error collection: ${coll} index: ${index} dup key: ${key}`, 11000);
const writeConflict = (): MingoDbError =>
  new MingoDbError('WriteConflict error: this operation conflicted with another operation. Please retry your operation or multi-document transaction.', 112, ['TransientTransactionError']);

type Docs = Map<string, Doc>;

interface IndexDef {
  name: string;
  key: Record<string, 1 | -1>;
  unique: boolean;
}

function idKey(id: unknown): string {
  return JSON.stringify(id);
}

function getPath(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const clone = <T>(v: T): T => structuredClone(v);

let nextTxId = 0;

/** One open transaction: its snapshot, its writes, the keys it holds. */
class Txn {
  readonly id = ++nextTxId;
  readonly view = new Map<string, Docs>();
  readonly written = new Map<string, Set<string>>();
  constructor(
    readonly server: MingoServer,
    readonly snapshotStamp: number,
  ) {}

  docs(coll: string): Docs {
    let v = this.view.get(coll);
    if (!v) {
      // A collection created after the snapshot was taken: empty in this snapshot.
      v = new Map();
      this.view.set(coll, v);
    }
    return v;
  }
}

/** The shared state of the double: what a MongoDB deployment would hold. */
export class MingoServer {
  private readonly data = new Map<string, Docs>();
  /** Commit stamp of the last write of each document (deletes included). */
  private readonly stamps = new Map<string, Map<string, number>>();
  /** Documents written by open transactions. */
  private readonly locks = new Map<string, Map<string, Txn>>();
  readonly indexes = new Map<string, IndexDef[]>();
  private clock = 0;
  private failure: Error | undefined;
  private commitFailures: { count: number; labels: string[] } = { count: 0, labels: [] };
  /** Counters for tests: commits, aborts, write conflicts. */
  readonly stats = { commits: 0, aborts: 0, conflicts: 0 };

  constructor(readonly options: { replicaSet: boolean } = { replicaSet: true }) {}

  committed(coll: string): Docs {
    let d = this.data.get(coll);
    if (!d) {
      d = new Map();
      this.data.set(coll, d);
    }
    return d;
  }

  /** Every operation throws `error` until called again with undefined. */
  failWith(error: Error | undefined): void {
    this.failure = error;
  }

  /** The next `count` commits fail with an error carrying `labels` (nothing is committed). */
  failNextCommits(count: number, labels: string[]): void {
    this.commitFailures = { count, labels };
  }

  checkAvailable(): void {
    if (this.failure) throw this.failure;
  }

  /** A transaction whose snapshot is the committed state now. */
  begin(): Txn {
    const txn = new Txn(this, this.clock);
    for (const [coll, docs] of this.data) txn.view.set(coll, new Map(docs));
    return txn;
  }

  /** Records that `txn` (or a write outside any transaction) writes `key`; throws WriteConflict when it may not. */
  lock(coll: string, key: string, txn: Txn | undefined): void {
    const holders = this.locks.get(coll) ?? new Map<string, Txn>();
    this.locks.set(coll, holders);
    const holder = holders.get(key);
    const stamp = this.stamps.get(coll)?.get(key) ?? 0;
    if ((holder && holder !== txn) || (txn && stamp > txn.snapshotStamp)) {
      this.stats.conflicts++;
      throw writeConflict();
    }
    if (txn) {
      holders.set(key, txn);
      let w = txn.written.get(coll);
      if (!w) txn.written.set(coll, (w = new Set()));
      w.add(key);
    }
  }

  /** Publishes a write outside a transaction. */
  stamp(coll: string, key: string): void {
    const s = this.stamps.get(coll) ?? new Map<string, number>();
    this.stamps.set(coll, s);
    s.set(key, ++this.clock);
  }

  commit(txn: Txn): void {
    this.checkAvailable();
    if (this.commitFailures.count > 0) {
      this.commitFailures.count--;
      throw new MingoDbError('injected commit failure', 251, [...this.commitFailures.labels]);
    }
    // Unique indexes against what others committed meanwhile.
    for (const [coll, keys] of txn.written) {
      const view = txn.docs(coll);
      const merged = new Map(this.committed(coll));
      for (const key of keys) {
        const doc = view.get(key);
        if (doc) merged.set(key, doc);
        else merged.delete(key);
      }
      for (const key of keys) {
        const doc = view.get(key);
        if (doc) this.checkUnique(coll, merged, key, doc);
      }
    }
    for (const [coll, keys] of txn.written) {
      const view = txn.docs(coll);
      const target = this.committed(coll);
      for (const key of keys) {
        const doc = view.get(key);
        if (doc) target.set(key, doc);
        else target.delete(key);
        this.stamp(coll, key);
      }
    }
    this.release(txn);
    this.stats.commits++;
  }

  abort(txn: Txn): void {
    this.release(txn);
    this.stats.aborts++;
  }

  private release(txn: Txn): void {
    for (const [coll, keys] of txn.written) {
      const holders = this.locks.get(coll);
      for (const key of keys) if (holders?.get(key) === txn) holders.delete(key);
    }
  }

  /** Throws a duplicate key error when `doc` (at `key`) collides with another document of `docs` on a unique index. */
  checkUnique(coll: string, docs: Docs, key: string, doc: Doc): void {
    for (const index of this.indexes.get(coll) ?? []) {
      if (!index.unique) continue;
      const fields = Object.keys(index.key);
      const value = JSON.stringify(fields.map((f) => getPath(doc, f) ?? null));
      for (const [other, d] of docs) {
        if (other !== key && JSON.stringify(fields.map((f) => getPath(d, f) ?? null)) === value) throw duplicateKey(coll, index.name, value);
      }
    }
  }
}

class MingoSession implements DriverSession {
  txn: Txn | undefined;
  private ended = false;
  constructor(private readonly server: MingoServer) {}

  startTransaction(): void {
    if (this.ended) throw new MingoDbError('Cannot use a session that has ended', undefined, [], 'MongoExpiredSessionError');
    if (this.txn) throw new MingoDbError('Transaction already in progress', 256, [], 'MongoTransactionError');
    this.server.checkAvailable();
    this.txn = this.server.begin();
  }

  async commitTransaction(): Promise<void> {
    const txn = this.txn;
    if (!txn) throw new MingoDbError('No transaction started', 251, [], 'MongoTransactionError');
    // A failed commit throws here and leaves the transaction open for a retry of the commit, or an abort.
    this.server.commit(txn);
    this.txn = undefined;
  }

  async abortTransaction(): Promise<void> {
    const txn = this.txn;
    if (!txn) throw new MingoDbError('No transaction started', 251, [], 'MongoTransactionError');
    this.txn = undefined;
    this.server.abort(txn);
  }

  inTransaction(): boolean {
    return this.txn !== undefined;
  }

  /** Called by operations that failed inside the transaction: MongoDB aborts the transaction then. */
  failed(): void {
    if (this.txn) {
      this.server.abort(this.txn);
      this.txn = undefined;
    }
  }

  async endSession(): Promise<void> {
    if (this.txn) this.server.abort(this.txn);
    this.txn = undefined;
    this.ended = true;
  }
}

class MingoCursor implements DriverFindCursor {
  private spec: FindOptions;
  constructor(
    private readonly run: (o: FindOptions) => Doc[],
    options: FindOptions,
  ) {
    this.spec = { ...options };
  }

  sort(spec: Record<string, 1 | -1>): DriverFindCursor {
    this.spec = { ...this.spec, sort: spec };
    return this;
  }

  limit(n: number): DriverFindCursor {
    this.spec = { ...this.spec, limit: n };
    return this;
  }

  skip(n: number): DriverFindCursor {
    this.spec = { ...this.spec, skip: n };
    return this;
  }

  async toArray(): Promise<Doc[]> {
    return this.run(this.spec);
  }
}

class MingoCollection implements DriverCollection {
  constructor(
    private readonly db: MingoDb,
    readonly name: string,
  ) {}

  private get server(): MingoServer {
    return this.db.server;
  }

  /** The documents this session sees, and its transaction (if any); checks availability. */
  private scope(options: SessionOption | undefined): { docs: Docs; txn: Txn | undefined; session: MingoSession | undefined } {
    this.server.checkAvailable();
    const session = options?.session as MingoSession | undefined;
    const txn = session?.txn;
    return { docs: txn ? txn.docs(this.name) : this.server.committed(this.name), txn, session };
  }

  /** Runs a write; an error inside a transaction aborts it, as MongoDB does. */
  private write<T>(options: SessionOption | undefined, fn: (docs: Docs, txn: Txn | undefined) => T): T {
    const { docs, txn, session } = this.scope(options);
    try {
      return fn(docs, txn);
    } catch (e) {
      session?.failed();
      throw e;
    }
  }

  private put(docs: Docs, txn: Txn | undefined, key: string, doc: Doc | undefined): void {
    this.server.lock(this.name, key, txn);
    if (doc) this.server.checkUnique(this.name, docs, key, doc);
    if (doc) docs.set(key, doc);
    else docs.delete(key);
    if (!txn) this.server.stamp(this.name, key);
  }

  private select(docs: Docs, filter: Doc, o: FindOptions = {}): Doc[] {
    let cursor = new Query(filter, {}).find<Doc>([...docs.values()], o.projection ? { ...o.projection } : undefined);
    if (o.sort) cursor = cursor.sort(o.sort);
    if (o.skip) cursor = cursor.skip(o.skip);
    if (o.limit) cursor = cursor.limit(o.limit);
    return cursor.all().map(clone);
  }

  private first(docs: Docs, filter: Doc): Doc | undefined {
    const q = new Query(filter, {});
    for (const d of docs.values()) if (q.test(d)) return d;
    return undefined;
  }

  async findOne(filter: Doc, options?: FindOptions): Promise<Doc | null> {
    const { docs } = this.scope(options);
    return this.select(docs, filter, { ...options, limit: 1 })[0] ?? null;
  }

  find(filter: Doc, options: FindOptions = {}): DriverFindCursor {
    return new MingoCursor((o) => this.select(this.scope(o).docs, filter, o), options);
  }

  async insertOne(doc: Doc, options?: SessionOption): Promise<{ insertedId: unknown }> {
    return this.write(options, (docs, txn) => {
      const d = clone(doc);
      if (d._id === undefined) d._id = `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
      const key = idKey(d._id);
      if (docs.has(key)) throw duplicateKey(this.name, '_id_', key);
      this.put(docs, txn, key, d);
      return { insertedId: d._id };
    });
  }

  async replaceOne(filter: Doc, replacement: Doc, options?: SessionOption & { upsert?: boolean }): Promise<UpdateOutcome> {
    return this.write(options, (docs, txn) => {
      const found = this.first(docs, filter);
      if (replacement._id !== undefined && found && idKey(replacement._id) !== idKey(found._id)) throw new MingoDbError('the _id field cannot be changed', 66);
      if (found) {
        this.put(docs, txn, idKey(found._id), { ...clone(replacement), _id: found._id });
        return { matchedCount: 1, modifiedCount: 1, upsertedCount: 0 };
      }
      if (!options?.upsert) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
      const d = { ...equalityFields(filter), ...clone(replacement) };
      const key = idKey(d._id);
      if (docs.has(key)) throw duplicateKey(this.name, '_id_', key);
      this.put(docs, txn, key, d);
      return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
    });
  }

  async updateOne(filter: Doc, update: Doc, options?: SessionOption & { upsert?: boolean }): Promise<UpdateOutcome> {
    return this.write(options, (docs, txn) => {
      const r = this.modify(docs, txn, filter, update, options?.upsert === true);
      return { matchedCount: r.before ? 1 : 0, modifiedCount: r.before ? 1 : 0, upsertedCount: r.before ? 0 : r.after ? 1 : 0 };
    });
  }

  async findOneAndUpdate(filter: Doc, update: Doc, options: SessionOption & { upsert?: boolean; returnDocument: 'before' | 'after' }): Promise<Doc | null> {
    return this.write(options, (docs, txn) => {
      const r = this.modify(docs, txn, filter, update, options.upsert === true);
      const d = options.returnDocument === 'after' ? r.after : r.before;
      return d ? clone(d) : null;
    });
  }

  private modify(docs: Docs, txn: Txn | undefined, filter: Doc, update: Doc, upsert: boolean): { before?: Doc; after?: Doc } {
    const { $setOnInsert, ...ops } = update as { $setOnInsert?: Doc } & Doc;
    if (Object.keys(ops).some((k) => !k.startsWith('$'))) throw new MingoDbError('update document requires atomic operators', 9);
    const found = this.first(docs, filter);
    if (found) {
      const after = clone(found);
      applyUpdate(after, ops);
      this.put(docs, txn, idKey(found._id), after);
      return { before: found, after };
    }
    if (!upsert) return {};
    const after: Doc = { ...equalityFields(filter), ...clone($setOnInsert ?? {}) };
    applyUpdate(after, ops);
    if (after._id === undefined) after._id = `${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
    const key = idKey(after._id);
    if (docs.has(key)) throw duplicateKey(this.name, '_id_', key);
    this.put(docs, txn, key, after);
    return { after };
  }

  async deleteOne(filter: Doc, options?: SessionOption): Promise<{ deletedCount: number }> {
    return this.write(options, (docs, txn) => {
      const found = this.first(docs, filter);
      if (!found) return { deletedCount: 0 };
      this.put(docs, txn, idKey(found._id), undefined);
      return { deletedCount: 1 };
    });
  }

  async countDocuments(filter: Doc, options?: SessionOption): Promise<number> {
    const { docs } = this.scope(options);
    const q = new Query(filter, {});
    let n = 0;
    for (const d of docs.values()) if (q.test(d)) n++;
    return n;
  }

  aggregate(pipeline: Doc[], options?: SessionOption): DriverCursor {
    return {
      toArray: async () => {
        const { txn } = this.scope(options);
        const docsOf = (name: string): Doc[] => [...(txn ? txn.docs(name) : this.server.committed(name)).values()];
        const agg = new Aggregator(pipeline, { collectionResolver: (name: string) => docsOf(name) });
        return clone(agg.run<Doc>(docsOf(this.name)));
      },
    };
  }

  async createIndex(key: Record<string, 1 | -1>, options: IndexOptions = {}): Promise<string> {
    this.server.checkAvailable();
    const name = options.name ?? Object.entries(key).map(([k, v]) => `${k}_${v}`).join('_');
    const list = this.server.indexes.get(this.name) ?? [];
    const existing = list.find((i) => i.name === name);
    if (existing) {
      if (JSON.stringify(existing.key) !== JSON.stringify(key) || existing.unique !== (options.unique === true)) {
        throw new MingoDbError(`An existing index has the same name as the requested index: ${name}`, 86);
      }
      return name;
    }
    const def: IndexDef = { name, key: { ...key }, unique: options.unique === true };
    const docs = this.server.committed(this.name);
    if (def.unique) {
      this.server.indexes.set(this.name, [def]);
      try {
        for (const [k, d] of docs) this.server.checkUnique(this.name, docs, k, d);
      } finally {
        this.server.indexes.set(this.name, list);
      }
    }
    this.server.indexes.set(this.name, [...list, def]);
    return name;
  }
}

/** Equality conditions of a filter (`{ _id: 'x', v: 3 }`), the fields an upsert inserts. */
function equalityFields(filter: Doc): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(filter)) {
    if (k.startsWith('$') || k.includes('.')) continue;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).some((op) => op.startsWith('$'))) continue;
    out[k] = clone(v);
  }
  return out;
}

export class MingoDb implements DriverDb {
  private readonly collections = new Map<string, MingoCollection>();
  constructor(readonly server: MingoServer) {}

  collection(name: string): MingoCollection {
    let c = this.collections.get(name);
    if (!c) this.collections.set(name, (c = new MingoCollection(this, name)));
    return c;
  }

  async createCollection(name: string): Promise<unknown> {
    this.server.checkAvailable();
    if (this.server.committed(name).size > 0 || this.server.indexes.has(name)) throw new MingoDbError(`Collection ${name} already exists.`, 48);
    this.server.indexes.set(name, []);
    return this.collection(name);
  }

  async command(command: Doc): Promise<Doc> {
    this.server.checkAvailable();
    if ('hello' in command) return { isWritablePrimary: true, ok: 1, ...(this.server.options.replicaSet ? { setName: 'mingo-double' } : {}) };
    if ('ping' in command) return { ok: 1 };
    throw new MingoDbError(`no such command: ${Object.keys(command)[0] ?? ''}`, 59);
  }
}

/** A client over one MingoServer; several clients over the same server act as several instances. */
export class MingoClient implements DriverClient {
  private readonly dbs = new Map<string, MingoDb>();
  constructor(readonly server: MingoServer = new MingoServer()) {}

  db(name: string): MingoDb {
    let d = this.dbs.get(name);
    // Collections are keyed by name only: one double holds one database.
    if (!d) this.dbs.set(name, (d = new MingoDb(this.server)));
    return d;
  }

  startSession(): MingoSession {
    return new MingoSession(this.server);
  }

  async close(): Promise<void> {
    // Nothing to release; the data stays with the server (another client may still use it).
  }
}
