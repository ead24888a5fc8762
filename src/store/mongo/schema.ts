/**
 * Collections and indexes of the MongoDB store, created idempotently at start-up (FHIR R4 §3.1.0
 * http.html "history" and "vread" need the version indexes; §3.1.1 search.html the search indexes).
 *
 * `resources` is keyed by `_id` = `type/id` (unique by construction); its search indexes come from the
 * search module (`SEARCH_INDEXES`). `versions`: (t, i, v) unique (vread, instance history, and the
 * guarantee that one version number is written once), (u, _id) for system history and (t, u, _id)
 * for type history (their order and tiebreak, and the bounds of `_since` / `_at`). `claims` is keyed by its `_id` (the criteria key);
 * `requests` (idempotency records) by the request key, with a TTL index on `exp`.
 */
import type { DriverDb, IndexOptions } from './driver';
import { CLAIMS, RESOURCES, VERSIONS } from './documents';
import { errorCode } from './errors';
import { REQUESTS } from './idempotency';

export interface IndexSpec {
  collection: string;
  key: Record<string, 1 | -1>;
  options: IndexOptions & { name: string };
}

/** The indexes the store itself needs (the search indexes of `resources` are added to these). */
export const STORE_INDEXES: readonly IndexSpec[] = Object.freeze<IndexSpec[]>([
  { collection: VERSIONS, key: { t: 1, i: 1, v: 1 }, options: { name: 'version_unique', unique: true } },
  { collection: VERSIONS, key: { u: 1, _id: 1 }, options: { name: 'history_system_u' } },
  { collection: VERSIONS, key: { t: 1, u: 1, _id: 1 }, options: { name: 'history_type_u' } },
  { collection: RESOURCES, key: { t: 1, d: 1, u: 1 }, options: { name: 'live_by_type_lastUpdated' } },
  { collection: REQUESTS, key: { exp: 1 }, options: { name: 'requests_ttl', expireAfterSeconds: 0 } },
]);

export const COLLECTIONS: readonly string[] = Object.freeze([RESOURCES, VERSIONS, CLAIMS, REQUESTS]);

const NAMESPACE_EXISTS = 48;

/**
 * Creates the collections (transactions cannot create them on every server version) and the
 * indexes. Safe to run on every start of every instance: existing ones are left as they are.
 */
export async function ensureSchema(db: DriverDb, searchIndexes: readonly IndexSpec[]): Promise<void> {
  for (const name of COLLECTIONS) {
    try {
      await db.createCollection(name);
    } catch (e) {
      if (errorCode(e) !== NAMESPACE_EXISTS) throw e;
    }
  }
  for (const spec of [...STORE_INDEXES, ...searchIndexes]) {
    await db.collection(spec.collection).createIndex(spec.key, spec.options);
  }
}
