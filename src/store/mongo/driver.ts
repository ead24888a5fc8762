/**
 * The driver boundary of the MongoDB store (FHIR R4 §3.1.0 http.html: the storage behind the RESTful
 * API; MongoDB Node.js driver 7 API).
 *
 * The store talks to MongoDB only through these narrow interfaces, the subset of the official
 * driver's `MongoClient` / `Db` / `Collection` / `ClientSession` that it uses. The real driver
 * satisfies them (see `connect.ts`); the test double `testing/mingo-db.ts` implements them over
 * in-memory documents evaluated by mingo. Nothing above this file knows which one it talks to.
 */

/** A BSON document as the store sees it: plain JSON-like values. */
export type Doc = Record<string, unknown>;

/** The session (and transaction) handle: `ClientSession` of the driver. */
export interface DriverSession {
  startTransaction(options?: {
    readConcern?: { level: 'snapshot' | 'majority' | 'local' };
    writeConcern?: { w?: number | 'majority'; journal?: boolean };
  }): void;
  commitTransaction(): Promise<unknown>;
  abortTransaction(): Promise<unknown>;
  inTransaction(): boolean;
  endSession(): Promise<void>;
}

export interface SessionOption {
  session?: DriverSession;
}

export interface WriteOptions extends SessionOption {
  writeConcern?: { w?: number | 'majority'; journal?: boolean };
}

export interface FindOptions extends SessionOption {
  sort?: Record<string, 1 | -1>;
  limit?: number;
  skip?: number;
  projection?: Record<string, 0 | 1>;
}

/** `FindCursor` / `AggregationCursor`: only `toArray` (and, on find, the chained modifiers). */
export interface DriverCursor {
  toArray(): Promise<Doc[]>;
}

export interface DriverFindCursor extends DriverCursor {
  sort(spec: Record<string, 1 | -1>): DriverFindCursor;
  limit(n: number): DriverFindCursor;
  skip(n: number): DriverFindCursor;
}

export interface UpdateOutcome {
  matchedCount: number;
  modifiedCount: number;
  upsertedCount: number;
}

export interface IndexOptions {
  name?: string;
  unique?: boolean;
  /** A TTL index: documents expire this many seconds after the Date in the indexed field. */
  expireAfterSeconds?: number;
}

export interface DriverCollection {
  findOne(filter: Doc, options?: FindOptions): Promise<Doc | null>;
  find(filter: Doc, options?: FindOptions): DriverFindCursor;
  insertOne(doc: Doc, options?: WriteOptions): Promise<unknown>;
  replaceOne(filter: Doc, replacement: Doc, options?: WriteOptions & { upsert?: boolean }): Promise<UpdateOutcome>;
  updateOne(filter: Doc, update: Doc, options?: WriteOptions & { upsert?: boolean }): Promise<UpdateOutcome>;
  findOneAndUpdate(filter: Doc, update: Doc, options: WriteOptions & { upsert?: boolean; returnDocument: 'before' | 'after' }): Promise<Doc | null>;
  deleteOne(filter: Doc, options?: WriteOptions): Promise<{ deletedCount: number }>;
  countDocuments(filter: Doc, options?: SessionOption): Promise<number>;
  aggregate(pipeline: Doc[], options?: SessionOption): DriverCursor;
  createIndex(spec: Record<string, 1 | -1>, options?: IndexOptions): Promise<string>;
}

export interface DriverDb {
  collection(name: string): DriverCollection;
  /** `createCollection`; throws (code 48, NamespaceExists) when the collection exists. */
  createCollection(name: string): Promise<unknown>;
  /** A database command, e.g. `{ hello: 1 }`. */
  command(command: Doc): Promise<Doc>;
}

export interface DriverClient {
  db(name: string): DriverDb;
  startSession(): DriverSession;
  close(): Promise<void>;
}
