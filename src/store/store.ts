/**
 * The storage interface (FHIR R4 §3.1.0 http.html: versioning, history, transactions).
 *
 * Both the embedded SQLite store and the MongoDB store implement it; a single contract suite
 * (`src/store/contract/`) runs against each. The store is the authority for versions: it assigns
 * `meta.versionId` (1, 2, 3 ...) and `meta.lastUpdated`, writes them into the stored JSON, and keeps
 * every version. Conditional interactions and PATCH are built above this interface, inside
 * `withTransaction`, so they are written once for every store.
 */
import type { Resource } from 'fhir/r4';
import type { IndexEntry } from '../search/index-entry';
import type { SearchPosition, SearchQuery } from '../search/ir';

/** One stored version of a resource. */
export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO 8601 instant with milliseconds and `Z`. */
  lastUpdated: string;
  deleted: boolean;
  /** The resource JSON exactly as served (meta.versionId/lastUpdated included); undefined for a delete. */
  json: string | undefined;
  /** The HTTP verb that produced the version, as recorded in history Bundles. */
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
}

export interface WriteOp {
  kind: 'create' | 'update' | 'delete';
  resourceType: string;
  id: string;
  /** The resource to store (create/update). Its meta.versionId and meta.lastUpdated are overwritten. */
  resource?: Resource;
  /** Search index entries of `resource` (create/update). */
  index?: IndexEntry[];
  /**
   * Optimistic lock: the version the caller expects to be current. 0 means "must not exist"
   * (or exist only as deleted). A mismatch throws `FhirError('precondition')` (412); callers that must
   * answer another status (e.g. a Spine 409) catch and map it.
   */
  expectedVersion?: number;
  /** The verb recorded in history; defaults from `kind`. */
  method?: StoredVersion['method'];
}

export interface WriteResult {
  version: StoredVersion;
  /** True when no live version existed before (create, or update-as-create). */
  created: boolean;
}

/** A period of time, both ends inclusive ISO instants (`_at` with a partial date: search.html#date). */
export interface InstantPeriod {
  low: string;
  high: string;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions with lastUpdated >= since (ISO instant). */
  since?: string;
  /**
   * Only versions that were current at some time in this period (http.html#history `_at`): those
   * written at or before its end and not replaced by a later version at or before its start. An
   * instant is the period [at, at]: of each resource, the version current at that instant.
   */
  at?: string | InstantPeriod;
  count: number;
  /** Offset of the page's first entry (a starting point; ignored when `after` is given). */
  offset: number;
  /**
   * Keyset paging: start strictly after this position, as returned in `HistoryPage.next` by the
   * same store for the same query. Versions written after the walk began are newer than every
   * position (history is newest first), so they never appear on later pages and never shift them.
   */
  after?: SearchPosition;
}

export interface HistoryPage {
  /** Newest first; ties on lastUpdated in a store-defined order that never changes (a unique tiebreak). */
  entries: StoredVersion[];
  total: number;
  /** Keyset position after the last entry, when more versions follow. */
  next?: SearchPosition;
}

export interface SearchPage {
  /** Current, non-deleted versions, in the query's sort order. */
  entries: StoredVersion[];
  /** Present when the query asked for a total. */
  total?: number;
  /** Keyset position after the last entry, when more results follow. */
  next?: SearchPosition;
  /**
   * When the query asked for it (`SearchQuery.watermark`): the newest lastUpdated (epoch ms) the store
   * held when it served the page. A version committed after the page has a later lastUpdated
   * (SQLite: exactly, its instants grow with each commit; MongoDB: as far as the instances' clocks
   * agree), so `_lastUpdated le watermark` on later pages leaves out what changed since.
   */
  watermark?: number;
}

/** The operations available both inside and outside a transaction. */
export interface StoreSession {
  /** The current version (possibly a delete tombstone), or undefined when the id never existed. */
  read(resourceType: string, id: string): Promise<StoredVersion | undefined>;
  vread(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined>;
  /** Create, update or delete. Delete of an absent or already deleted resource returns undefined. */
  write(op: WriteOp): Promise<WriteResult | undefined>;
  history(query: HistoryQuery): Promise<HistoryPage>;
  search(query: SearchQuery): Promise<SearchPage>;
  /**
   * Optional, inside `withTransaction` only: claims `key` (e.g. a conditional create's type and
   * criteria) for this transaction, so that two transactions claiming the same key cannot both
   * commit, even on different server instances (one fails and is retried, then sees the other's
   * result). A store whose transactions are serialisable (SQLite) needs no claims and omits it.
   */
  claim?(key: string): Promise<void>;
}

export interface Store extends StoreSession {
  readonly name: string;
  /**
   * Runs `fn` atomically: every write inside commits together or not at all, and no other write
   * interleaves (serialisable for the SQLite store). A thrown error rolls back and is rethrown.
   */
  withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T>;
  /**
   * Replaces the search index entries of the current version of a resource without writing a new
   * version (the `$reindex` operation, after search parameters changed). Returns false, changing
   * nothing, when the resource is absent, deleted or no longer at `versionId`. Optional: a store
   * without it cannot serve `$reindex`.
   */
  reindex?(resourceType: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean>;
  /**
   * Creates of fresh resources the server itself records (the audit trail, src/audit) as one atomic
   * batch: all stored or none, resolved after the commit that makes every one durable, the same rows
   * as `withTransaction` writing each op in turn (a create whose id exists fails the batch). Optional:
   * without it the audit trail writes through `withTransaction`.
   */
  appendCreates?(ops: readonly WriteOp[]): Promise<WriteResult[]>;
  /**
   * Creates of fresh resources a client asked for together (a transaction Bundle of plain creates,
   * prepared without the store: src/fhir/interactions/staged-transaction.ts) as ONE transaction: all
   * stored or none, the same rows as `withTransaction` writing each op in turn (index digests
   * included), resolved after the COMMIT that makes every one durable. A create that fails (its id
   * exists) rolls the whole call back and rejects it with a `CreateFailed` naming that op. Optional:
   * without it such a Bundle runs in `withTransaction`.
   */
  commitCreates?(ops: readonly WriteOp[]): Promise<WriteResult[]>;
  /**
   * Idempotent writes (the X-Request-ID of the NHS layer): atomically claims `key` (request id,
   * method and path) for a request about to run. Expired records (`expiresAt <= now`, epoch ms) are
   * ignored and replaced. Returns undefined when the claim was taken (a `pending` record expiring at
   * `pendingUntil` now exists; the caller must later `rememberResponse` or `releaseRequest`), or the
   * live record already held under the key: `pending` (the same request is in flight, possibly on
   * another instance sharing the store) or `done` with the response to replay. Optional: a store
   * without it makes writes non-idempotent (the NHS layer then applies every retry).
   */
  claimRequest?(key: string, pendingUntil: number, now: number): Promise<IdempotencyRecord | undefined>;
  /** Stores the response of a claimed key (state `done`) until `expiresAt` (epoch ms). */
  rememberResponse?(key: string, response: RememberedResponse, expiresAt: number): Promise<void>;
  /** Drops a claim whose request produced nothing worth replaying (e.g. an internal fault): a retry runs again. */
  releaseRequest?(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A response kept for replay under its request key (see `Store.claimRequest`). */
export interface RememberedResponse {
  status: number;
  headers: Record<string, string>;
  /** The serialised body (FHIR JSON), absent for a body-less response. */
  body?: string;
}

export interface IdempotencyRecord {
  state: 'pending' | 'done';
  /** Present when `done`. */
  response?: RememberedResponse;
  /** Epoch ms. */
  expiresAt: number;
}

/** `commitCreates` failed at one of its creates (`index`, in the order given), for `error`; nothing was stored. */
export class CreateFailed extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'CreateFailed';
  }
}
