/**
 * SQLite schema and migrations of the embedded store (FHIR R4 §3.1.0 http.html "versioning" and
 * "history"; §3.1.1 search.html "Search Parameter Types" for the typed index tables).
 *
 * - `resource`: one row per (type, id) holding the current version (a delete leaves a tombstone row
 *   with `deleted = 1` and no JSON). Its `rid` keys the index rows and never changes on update.
 * - `version`: every version, with a global, monotonically increasing `seq` (history order, paging).
 * - `ix_*`: one table per IndexEntry kind. Rows of a resource are replaced on every write and removed
 *   on delete, so index tables only ever describe live resources. Components of a composite entry live
 *   in the typed tables with `cid` pointing at their `ix_composite` row and `param` set to
 *   `<composite>$<component>` so that plain searches never see them.
 *
 * - `ix_text` / `ix_content`: FTS5 tables (contentless, rowid = the resource's rid) holding the words of
 *   the `_text` (narrative) and `_content` (all strings) entries (§3.1.1.5.x "_text", "_content").
 *   The tokenizer is unicode61 without diacritic folding: the words are already normalised by
 *   normalize.ts `textWords` and joined by spaces, so FTS tokens are exactly those words.
 *   Resources written before schema version 2 have no text rows until they are reindexed.
 * - `resource_live_updated` / `resource_live_id` (version 2) serve the `_lastUpdated` / `_id` sorts
 *   and their keyset pages straight from an index (type, deleted, key; rid as the tiebreak).
 * - Version 3 widens four index-table indexes into covering ones (see V3).
 * - Version 5 keeps a digest of each resource's index rows per parameter (see V5).
 *
 * Times are epoch milliseconds (INTEGER); ranges are REAL (±Infinity allowed).
 * Migrations are applied in order and recorded in `PRAGMA user_version`.
 */
import type Database from 'better-sqlite3';
import type { IndexKind } from '../../search/index-entry';

/** The index table of each IndexEntry kind. */
export const INDEX_TABLE: Readonly<Record<Exclude<IndexKind, 'text'>, string>> = Object.freeze({
  token: 'ix_token',
  string: 'ix_string',
  date: 'ix_date',
  number: 'ix_number',
  quantity: 'ix_quantity',
  reference: 'ix_reference',
  uri: 'ix_uri',
  composite: 'ix_composite',
});

/** The FTS5 table of each TextEntry param. */
export const TEXT_TABLE: Readonly<Record<'_text' | '_content', string>> = Object.freeze({ _text: 'ix_text', _content: 'ix_content' });

/** Separator between a composite parameter and its component's parameter in component rows. */
export const COMPONENT_SEPARATOR = '$';

const V1 = `
CREATE TABLE resource (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  method TEXT NOT NULL,
  json TEXT,
  UNIQUE (type, id)
);
CREATE INDEX resource_type_updated ON resource (type, last_updated);
-- Live rows of a type in rid order: an unfiltered search pages without sorting the whole type.
CREATE INDEX resource_type_live ON resource (type, deleted);

CREATE TABLE version (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  method TEXT NOT NULL,
  json TEXT,
  UNIQUE (type, id, version)
);
CREATE INDEX version_updated ON version (last_updated);
CREATE INDEX version_type_updated ON version (type, last_updated);
CREATE INDEX version_type_seq ON version (type, seq);

CREATE TABLE ix_composite (
  cid INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL
);
CREATE INDEX ix_composite_rid ON ix_composite (rid, param);
CREATE INDEX ix_composite_param ON ix_composite (type, param);

CREATE TABLE ix_token (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  system TEXT,
  code TEXT,
  text TEXT,
  type_system TEXT,
  type_code TEXT,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_token_code ON ix_token (type, param, code, system);
CREATE INDEX ix_token_text ON ix_token (type, param, text) WHERE text IS NOT NULL;
CREATE INDEX ix_token_rid ON ix_token (rid, param);
CREATE INDEX ix_token_cid ON ix_token (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_string (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  norm TEXT NOT NULL,
  exact TEXT NOT NULL,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_string_norm ON ix_string (type, param, norm);
CREATE INDEX ix_string_rid ON ix_string (rid, param);
CREATE INDEX ix_string_cid ON ix_string (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_date (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  low REAL NOT NULL,
  high REAL NOT NULL,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_date_low ON ix_date (type, param, low, high);
CREATE INDEX ix_date_high ON ix_date (type, param, high);
CREATE INDEX ix_date_rid ON ix_date (rid, param);
CREATE INDEX ix_date_cid ON ix_date (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_number (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  value REAL NOT NULL,
  low REAL NOT NULL,
  high REAL NOT NULL,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_number_low ON ix_number (type, param, low, high);
CREATE INDEX ix_number_high ON ix_number (type, param, high);
CREATE INDEX ix_number_rid ON ix_number (rid, param);
CREATE INDEX ix_number_cid ON ix_number (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_quantity (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  system TEXT,
  code TEXT,
  unit TEXT,
  value REAL NOT NULL,
  low REAL NOT NULL,
  high REAL NOT NULL,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_quantity_low ON ix_quantity (type, param, low, high);
CREATE INDEX ix_quantity_high ON ix_quantity (type, param, high);
CREATE INDEX ix_quantity_rid ON ix_quantity (rid, param);
CREATE INDEX ix_quantity_cid ON ix_quantity (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_reference (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  target_type TEXT,
  target_id TEXT,
  target_version TEXT,
  url TEXT,
  url_version TEXT,
  identifier_system TEXT,
  identifier_value TEXT,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_reference_target ON ix_reference (type, param, target_id, target_type);
CREATE INDEX ix_reference_reverse ON ix_reference (target_type, target_id, param, type);
CREATE INDEX ix_reference_url ON ix_reference (type, param, url) WHERE url IS NOT NULL;
CREATE INDEX ix_reference_identifier ON ix_reference (type, param, identifier_value) WHERE identifier_value IS NOT NULL;
CREATE INDEX ix_reference_rid ON ix_reference (rid, param);
CREATE INDEX ix_reference_cid ON ix_reference (cid) WHERE cid IS NOT NULL;

CREATE TABLE ix_uri (
  rid INTEGER NOT NULL REFERENCES resource (rid),
  type TEXT NOT NULL,
  param TEXT NOT NULL,
  value TEXT NOT NULL,
  cid INTEGER REFERENCES ix_composite (cid)
);
CREATE INDEX ix_uri_value ON ix_uri (type, param, value);
CREATE INDEX ix_uri_rid ON ix_uri (rid, param);
CREATE INDEX ix_uri_cid ON ix_uri (cid) WHERE cid IS NOT NULL;
`;

const V2 = `
CREATE VIRTUAL TABLE ix_text USING fts5(words, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE ix_content USING fts5(words, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
CREATE INDEX resource_live_updated ON resource (type, deleted, last_updated);
CREATE INDEX resource_live_id ON resource (type, deleted, id);
`;

/**
 * Version 3: covering indexes for the probes and drivers of the common search shapes ("drive and
 * probe", search-compiler.ts), so they are answered from the index without reading the table row:
 * - a string prefix driver yields the rid from `(type, param, norm, rid)`;
 * - a date probe reads `low`/`high` from `(rid, param, low, high)`;
 * - a token probe reads `code`/`system` from `(rid, param, code, system)`;
 * - a `_has` probe reaches the referring rid from `(target_type, target_id, param, type, rid)`.
 * Each replaces, under the same name, the narrower index it extends (same leading columns, so every
 * earlier plan keeps its index; EXPLAIN QUERY PLAN now says `USING COVERING INDEX`).
 */
const V3 = `
DROP INDEX ix_string_norm;
CREATE INDEX ix_string_norm ON ix_string (type, param, norm, rid);
DROP INDEX ix_date_rid;
CREATE INDEX ix_date_rid ON ix_date (rid, param, low, high);
DROP INDEX ix_token_rid;
CREATE INDEX ix_token_rid ON ix_token (rid, param, code, system);
DROP INDEX ix_reference_reverse;
CREATE INDEX ix_reference_reverse ON ix_reference (target_type, target_id, param, type, rid);
`;

/**
 * Version 4 (NHS layer, issue 6): responses to writes kept for replay under their X-Request-ID
 * (`key` = request id, method and path). `state` is `pending` while the first request runs, then
 * `done` with the response; rows past `expires_at` (epoch ms) are ignored and purged.
 * IF NOT EXISTS: safe whatever the position at which the lead orders it after V3.
 */
const V4 = `
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  status INTEGER,
  headers TEXT,
  body TEXT,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency (expires_at);
`;

/**
 * V5: `resource.index_digest`, a digest per search parameter of the resource's index rows
 * (index-rows.ts `planIndexRows`), so an update rewrites only the rows of the parameters whose
 * entries changed. NULL (rows written before V5): the next write rewrites every row, as before.
 */
const V5 = `
ALTER TABLE resource ADD COLUMN index_digest TEXT;
`;

/** Ordered migrations; entry i brings the schema from user_version i to i + 1. Never edit a released one. */
const MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the missing migrations in one transaction. Refuses a database written by a newer version. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`The SQLite database has schema version ${current}, newer than this server's ${SCHEMA_VERSION}; upgrade the server.`);
  }
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
