/**
 * Persisting search index entries into the typed index tables (FHIR R4 §3.1.1 search.html
 * "Search Parameter Types"). The rows of a resource are removed on delete; on update only the rows of
 * the search parameters whose entries changed are replaced (`planIndexRows`, by a digest per parameter
 * kept on the resource row): unchanged rows are never deleted and re-inserted, which saves most of the
 * page writes of a typical update (docs/performance.md "Write path profile"). Inserting rows is a
 * generator of steps (`indexRowSteps`), run at once or cooperatively.
 */
import { hash } from 'node:crypto';
import type { IndexEntry } from '../../search/index-entry';
import { textWords } from '../../search/normalize';
import type { StatementCache } from './connection';
import { COMPONENT_SEPARATOR, INDEX_TABLE, TEXT_TABLE } from './schema';
import { runSync } from '../../cooperative';

const TABLES = Object.values(INDEX_TABLE);
const TEXT_TABLES = Object.values(TEXT_TABLE);

/** Removes every index row of a resource (components first: they reference composite rows). */
export function deleteIndexRows(st: StatementCache, rid: number): void {
  for (const table of TABLES) if (table !== INDEX_TABLE.composite) st.get(`DELETE FROM ${table} WHERE rid = ?`).run(rid);
  st.get(`DELETE FROM ${INDEX_TABLE.composite} WHERE rid = ?`).run(rid);
  for (const table of TEXT_TABLES) st.get(`DELETE FROM ${table} WHERE rowid = ?`).run(rid);
}

/** The table holding a parameter's rows (its components' rows too, for a composite). */
function tableOf(e: IndexEntry): string {
  return e.kind === 'text' ? TEXT_TABLE[e.param] : INDEX_TABLE[e.kind];
}

/**
 * What a write does to a resource's index rows: `full` (delete every row first, when there is no
 * usable digest of the stored rows or a composite parameter changed) or the parameters whose rows are
 * deleted; then the entries to insert; and the digest to store. The digest maps each parameter to
 * its table and a hash of its entries in order, so equal digests mean equal rows.
 */
export interface IndexRowPlan {
  full: boolean;
  remove: Array<{ table: string; param: string }>;
  insert: IndexEntry[];
  /** Null when none is recorded: the next write of the resource then rewrites every row (`full`). */
  digest: string | null;
}

function digestsOf(entries: readonly IndexEntry[]): { byParam: Map<string, IndexEntry[]>; digest: Record<string, string> } {
  const byParam = new Map<string, IndexEntry[]>();
  for (const e of entries) {
    const list = byParam.get(e.param);
    if (list) list.push(e);
    else byParam.set(e.param, [e]);
  }
  const digest: Record<string, string> = {};
  for (const [param, list] of byParam) {
    // Every table the parameter's rows are in (normally one), then the hash of its entries.
    const tables = list.length === 1 ? tableOf(list[0]!) : [...new Set(list.map(tableOf))].sort().join(',');
    // One-shot `hash` (Node >= 20.12): the same sha1 as createHash, without a Hash object per parameter.
    digest[param] = `${tables}:${hash('sha1', JSON.stringify(list), 'base64').slice(0, 16)}`;
  }
  return { byParam, digest };
}

function parseDigest(stored: string | null | undefined): Record<string, string> | undefined {
  if (stored === null || stored === undefined) return undefined;
  try {
    const v = JSON.parse(stored) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The plan for writing `entries` over the rows described by `stored` (the resource row's
 * `index_digest`; undefined when the resource has no live rows, null when they predate digests or
 * none was recorded). `recordDigest` false (the server-recorded creates of `appendCreates`, which no
 * interaction updates: ADR 0046) spares computing and storing the digest; the rows are the same.
 */
export function planIndexRows(entries: readonly IndexEntry[], stored: string | null | undefined, live: boolean, recordDigest = true): IndexRowPlan {
  if (!recordDigest) return { full: live, remove: [], insert: [...entries], digest: null };
  const { byParam, digest } = digestsOf(entries);
  const text = JSON.stringify(digest);
  const old = live ? parseDigest(stored) : undefined;
  if (!live) return { full: false, remove: [], insert: [...entries], digest: text };
  if (!old) return { full: true, remove: [], insert: [...entries], digest: text };
  const changed = new Set<string>();
  for (const p of new Set([...Object.keys(old), ...Object.keys(digest)])) if (old[p] !== digest[p]) changed.add(p);
  const tablesOf = (d: string | undefined): string[] => (d === undefined ? [] : d.slice(0, d.lastIndexOf(':')).split(','));
  if ([...changed].some((p) => tablesOf(old[p]).includes(INDEX_TABLE.composite) || tablesOf(digest[p]).includes(INDEX_TABLE.composite))) {
    return { full: true, remove: [], insert: [...entries], digest: text };
  }
  const remove: IndexRowPlan['remove'] = [];
  const insert: IndexEntry[] = [];
  for (const p of changed) {
    for (const table of tablesOf(old[p])) remove.push({ table, param: p });
    insert.push(...(byParam.get(p) ?? []));
  }
  return { full: false, remove, insert, digest: text };
}

const TEXT_TABLE_NAMES = new Set<string>(TEXT_TABLES);

/** Deletes the rows of the given (non-composite) parameters of a resource. */
export function deleteParamRows(st: StatementCache, rid: number, remove: IndexRowPlan['remove']): void {
  for (const { table, param } of remove) {
    if (TEXT_TABLE_NAMES.has(table)) st.get(`DELETE FROM ${table} WHERE rowid = ?`).run(rid);
    else if ((TABLES as readonly string[]).includes(table) && table !== INDEX_TABLE.composite) st.get(`DELETE FROM ${table} WHERE rid = ? AND param = ?`).run(rid, param);
    else throw new Error(`index digest names an unknown table ${table}`);
  }
}

/** Index rows inserted between two steps of `indexRowSteps` (a few milliseconds of inserts). */
const ROWS_PER_STEP = 500;

export function insertIndexRows(st: StatementCache, rid: number, type: string, entries: readonly IndexEntry[]): void {
  runSync(indexRowSteps(st, rid, type, entries));
}

/**
 * The inserts of `insertIndexRows`, one step (`yield`) per ROWS_PER_STEP entries, so that a caller
 * holding the write connection in a transaction may give the event loop a turn between them
 * (src/cooperative.ts). The rows of one resource are all inserted or, when the caller rolls back,
 * none.
 */
export function* indexRowSteps(st: StatementCache, rid: number, type: string, entries: readonly IndexEntry[]): Generator<void, void, void> {
  const text: Record<'_text' | '_content', Set<string>> = { _text: new Set(), _content: new Set() };
  let n = 0;
  for (const e of entries) {
    if (++n % ROWS_PER_STEP === 0) yield;
    if (e.kind === 'text') {
      for (const w of textWords(e.text)) text[e.param].add(w);
    } else if (e.kind === 'composite') {
      const cid = Number(st.get('INSERT INTO ix_composite (rid, type, param) VALUES (?, ?, ?)').run(rid, type, e.param).lastInsertRowid);
      for (const c of e.components) {
        if (c.kind === 'composite' || c.kind === 'text') throw new Error(`composite ${e.param} has a ${c.kind} component ${c.param}: not supported`);
        insertEntry(st, rid, type, `${e.param}${COMPONENT_SEPARATOR}${c.param}`, c, cid);
      }
    } else {
      insertEntry(st, rid, type, e.param, e, null);
    }
  }
  // One FTS row per resource and param: the distinct words of all its text entries.
  for (const param of ['_text', '_content'] as const) {
    if (text[param].size > 0) st.get(`INSERT INTO ${TEXT_TABLE[param]} (rowid, words) VALUES (?, ?)`).run(rid, [...text[param]].join(' '));
  }
}

function insertEntry(st: StatementCache, rid: number, type: string, param: string, e: Exclude<IndexEntry, { kind: 'composite' | 'text' }>, cid: number | null): void {
  switch (e.kind) {
    case 'token':
      st.get('INSERT INTO ix_token (rid, type, param, system, code, text, type_system, type_code, cid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        rid,
        type,
        param,
        e.system,
        e.code,
        e.text ?? null,
        e.typeSystem ?? null,
        e.typeCode ?? null,
        cid,
      );
      return;
    case 'string':
      st.get('INSERT INTO ix_string (rid, type, param, norm, exact, cid) VALUES (?, ?, ?, ?, ?, ?)').run(rid, type, param, e.norm, e.exact, cid);
      return;
    case 'date':
      st.get('INSERT INTO ix_date (rid, type, param, low, high, cid) VALUES (?, ?, ?, ?, ?, ?)').run(rid, type, param, e.low, e.high, cid);
      return;
    case 'number':
      st.get('INSERT INTO ix_number (rid, type, param, value, low, high, cid) VALUES (?, ?, ?, ?, ?, ?, ?)').run(rid, type, param, e.value, e.low, e.high, cid);
      return;
    case 'quantity':
      st.get('INSERT INTO ix_quantity (rid, type, param, system, code, unit, value, low, high, cid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        rid,
        type,
        param,
        e.system,
        e.code,
        e.unit ?? null,
        e.value,
        e.low,
        e.high,
        cid,
      );
      return;
    case 'reference':
      st.get(
        'INSERT INTO ix_reference (rid, type, param, target_type, target_id, target_version, url, url_version, identifier_system, identifier_value, cid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(rid, type, param, e.targetType, e.targetId, e.targetVersion ?? null, e.url, e.urlVersion ?? null, e.identifierSystem ?? null, e.identifierValue ?? null, cid);
      return;
    case 'uri':
      st.get('INSERT INTO ix_uri (rid, type, param, value, cid) VALUES (?, ?, ?, ?, ?)').run(rid, type, param, e.value, cid);
      return;
  }
}
