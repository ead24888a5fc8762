/**
 * Persisting search index entries into the typed index tables (FHIR R4 §3.1.1 search.html
 * "Search Parameter Types"). The rows of a resource are replaced on every write and removed on delete.
 * Inserting them is a generator of steps (`indexRowSteps`), run at once or cooperatively.
 */
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
