/**
 * The embedded search index of the MongoDB store (FHIR R4 §3.1.1 search.html "Search Parameter
 * Types"): every IndexEntry of a resource's current version becomes one compact sub-document of the
 * index array of its kind in its `resources` document (the pattern of Microsoft's Cosmos DB store,
 * split by kind), and `SEARCH_INDEXES` are the compound multikey indexes over those arrays.
 *
 * One array per kind (`INDEX_ARRAY`), present only when non-empty: `xt` token, `xs` string, `xd`
 * date, `xn` number, `xq` quantity, `xr` reference, `xu` uri, `xc` composite, `xw` text words. Each
 * compound index covers exactly one array, so an entry gets one key in each index of its own kind
 * only (a single mixed array under every index gave each entry one key per index, nulls included).
 * The array is the kind: top-level sub-documents carry no kind field.
 *
 * Field names (absent means null / not applicable: no field is ever stored as null or undefined):
 *
 * | field | arrays               | meaning                                                     |
 * |-------|----------------------|-------------------------------------------------------------|
 * | p     | all                  | search parameter code (for composite components: the component's own code) |
 * | k     | composite components | kind of the component (`COMPONENT_KIND`: t, s, d, n, q, r, u) |
 * | s     | xt, xq               | system                                                      |
 * | c     | xt, xq               | code (token: code or identifier value)                      |
 * | tx    | xt                   | display / text, normalised like a string (for `:text`)      |
 * | ts,tc | xt                   | Identifier.type system and code (for `:of-type`)            |
 * | n     | xs                   | normalised text (default and `:contains`)                   |
 * | e     | xs                   | the text as written (`:exact`)                              |
 * | lo,hi | xd, xn, xq           | inclusive range (epoch ms for dates; ±Infinity allowed: BSON doubles) |
 * | v     | xn, xq               | the value as written (sorting)                              |
 * | un    | xq                   | the unit as written (`value||unit`)                         |
 * | rt,ri,rv | xr                | local target type, id, version                              |
 * | url,uv | xr                  | absolute URL / canonical and canonical version              |
 * | is,iv | xr                   | Reference.identifier system and value (`:identifier`)       |
 * | u     | xu                   | the uri                                                     |
 * | cs    | xc                   | the component entries (same shapes plus `k`), matched with `$elemMatch` inside one composite entry |
 * | w     | xw                   | the distinct words (normalize.ts `textWords`) of every `_text` or `_content` entry of the resource: one sub-document per param, only when it has words (as SQLite's one FTS row) |
 *
 * Composite components live only inside `cs`, so plain searches never see them (SQLite gives them a
 * `composite$component` param for the same reason).
 */
import type { IndexEntry, IndexKind } from '../../../search/index-entry';
import { textWords } from '../../../search/normalize';

/** The `resources` field holding the index array of each IndexEntry kind. */
export const INDEX_ARRAY: Readonly<Record<IndexKind, string>> = Object.freeze({
  token: 'xt',
  string: 'xs',
  date: 'xd',
  number: 'xn',
  quantity: 'xq',
  reference: 'xr',
  uri: 'xu',
  composite: 'xc',
  text: 'xw',
});

/** Every index array field (a reindex unsets the ones the new index does not have). */
export const INDEX_ARRAYS: readonly string[] = Object.freeze(Object.values(INDEX_ARRAY));

/** The kind code (`k`) of a composite component (components of every kind share one `cs` array). */
export const COMPONENT_KIND: Readonly<Record<Exclude<IndexKind, 'composite' | 'text'>, string>> = Object.freeze({
  token: 't',
  string: 's',
  date: 'd',
  number: 'n',
  quantity: 'q',
  reference: 'r',
  uri: 'u',
});

/** One sub-document of an index array (see the field table in the module header). */
export interface IndexDoc {
  p: string;
  k?: string;
  s?: string;
  c?: string;
  tx?: string;
  ts?: string;
  tc?: string;
  n?: string;
  e?: string;
  lo?: number;
  hi?: number;
  v?: number;
  un?: string;
  rt?: string;
  ri?: string;
  rv?: string;
  url?: string;
  uv?: string;
  is?: string;
  iv?: string;
  u?: string;
  cs?: IndexDoc[];
  w?: string[];
}

/** Sets `doc[key]` only for a present value (the driver would store `undefined` as null). */
function put<K extends keyof IndexDoc>(doc: IndexDoc, key: K, value: IndexDoc[K] | null | undefined): void {
  if (value !== null && value !== undefined) doc[key] = value;
}

/** The sub-document of one entry (text entries are merged per param by `toIndexDocs`). */
function toIndexDoc(e: Exclude<IndexEntry, { kind: 'text' }>): IndexDoc {
  const doc: IndexDoc = { p: e.param };
  switch (e.kind) {
    case 'token':
      put(doc, 's', e.system);
      put(doc, 'c', e.code);
      put(doc, 'tx', e.text);
      put(doc, 'ts', e.typeSystem);
      put(doc, 'tc', e.typeCode);
      break;
    case 'string':
      doc.n = e.norm;
      doc.e = e.exact;
      break;
    case 'date':
      doc.lo = e.low;
      doc.hi = e.high;
      break;
    case 'number':
      doc.v = e.value;
      doc.lo = e.low;
      doc.hi = e.high;
      break;
    case 'quantity':
      put(doc, 's', e.system);
      put(doc, 'c', e.code);
      put(doc, 'un', e.unit);
      doc.v = e.value;
      doc.lo = e.low;
      doc.hi = e.high;
      break;
    case 'reference':
      put(doc, 'rt', e.targetType);
      put(doc, 'ri', e.targetId);
      put(doc, 'rv', e.targetVersion);
      put(doc, 'url', e.url);
      put(doc, 'uv', e.urlVersion);
      put(doc, 'is', e.identifierSystem);
      put(doc, 'iv', e.identifierValue);
      break;
    case 'uri':
      doc.u = e.value;
      break;
    case 'composite':
      doc.cs = e.components.map((c) => {
        if (c.kind === 'composite' || c.kind === 'text') throw new Error(`composite ${e.param} has a ${c.kind} component ${c.param}: not supported`);
        return { ...toIndexDoc(c), k: COMPONENT_KIND[c.kind] };
      });
      break;
  }
  return doc;
}

/**
 * The index arrays of a resource document, by field name (only the non-empty ones): one
 * sub-document per entry in the array of its kind, text words merged per param.
 */
export function toIndexDocs(entries: readonly IndexEntry[]): Record<string, IndexDoc[]> {
  const out: Record<string, IndexDoc[]> = {};
  const add = (field: string, doc: IndexDoc): void => {
    (out[field] ??= []).push(doc);
  };
  const words: Record<'_text' | '_content', Set<string>> = { _text: new Set(), _content: new Set() };
  for (const e of entries) {
    if (e.kind === 'text') for (const w of textWords(e.text)) words[e.param].add(w);
    else add(INDEX_ARRAY[e.kind], toIndexDoc(e));
  }
  for (const param of ['_text', '_content'] as const) {
    if (words[param].size > 0) add(INDEX_ARRAY.text, { p: param, w: [...words[param]] });
  }
  return out;
}

/** An index specification on the `resources` collection (the shape of the store's schema.ts IndexSpec). */
export interface SearchIndexSpec {
  collection: 'resources';
  key: Record<string, 1 | -1>;
  options: { name: string };
}

const spec = (name: string, key: Record<string, 1 | -1>): SearchIndexSpec => ({ collection: 'resources', key, options: { name } });

/**
 * The indexes of the `resources` collection that searches use (the store creates them at start-up).
 * Every compiled predicate on an index array is `{<array>: {$elemMatch: {p, ...}}}` under
 * `{t, d: false}`, so the planner can bound `t`, `<array>.p` and the entry's value fields from one
 * index; each index covers one array, so only entries of that kind have keys in it (a document
 * without the array has a single null key there):
 * - (the store's own `{t, d, u}` index serves unfiltered searches of a type, `_lastUpdated`
 *   predicates and the `_lastUpdated` sort with its keyset pages; it is not repeated here, as two
 *   indexes with one key and different names are refused.)
 * - `search_live_id`: `_id` predicates (`i $in`) and the `_id` sort (`{t, d, i}` then `_id`).
 * - `xt_code`: token `code`, `system|code`, `:of-type` value and `anyOf` (`:in`/`:below`).
 * - `xt_text`: token `:text` (anchored prefix regex on the normalised display).
 * - `xs_norm`: string default search (anchored prefix regex `^escaped` on `n`: an index range);
 *   `:contains` scans the parameter's keys in this index.
 * - `xd_range`, `xn_range`, `xq_range`: date / number / quantity prefixes (ranges on `lo`, `hi`).
 * - `xr_ref`: `subject=Patient/1` and chains (`ri $in` of the chained ids).
 * - `xr_target`: lookups by target independent of the referring type (`_has` sub-queries bounded by
 *   the referring type use `xr_ref`'s `{t, xr.p}` prefix).
 * - `xr_identifier` / `xr_url`: `:identifier` and canonical references.
 * - `xu_uri`: uri exact, `:below` (anchored regex) and `:above` (`u $in` the value's prefixes).
 * - `xc_param`: composite predicates, bounded by `{t, xc.p}`.
 * - `xw_words`: `_text` / `_content` words (`w $all`).
 * Two fields of one array element in a compound multikey index are allowed (they share the array;
 * `w` may itself be an array inside it). Index names differ from the former single-array layout's
 * (`search_token`, ...), so a database of that layout keeps its old indexes until they are dropped.
 */
export const SEARCH_INDEXES: readonly SearchIndexSpec[] = Object.freeze([
  spec('search_live_id', { t: 1, d: 1, i: 1 }),
  spec('xt_code', { t: 1, 'xt.p': 1, 'xt.c': 1, 'xt.s': 1 }),
  spec('xt_text', { t: 1, 'xt.p': 1, 'xt.tx': 1 }),
  spec('xs_norm', { t: 1, 'xs.p': 1, 'xs.n': 1 }),
  spec('xd_range', { t: 1, 'xd.p': 1, 'xd.lo': 1, 'xd.hi': 1 }),
  spec('xn_range', { t: 1, 'xn.p': 1, 'xn.lo': 1, 'xn.hi': 1 }),
  spec('xq_range', { t: 1, 'xq.p': 1, 'xq.lo': 1, 'xq.hi': 1 }),
  spec('xr_ref', { t: 1, 'xr.p': 1, 'xr.ri': 1, 'xr.rt': 1 }),
  spec('xr_target', { 'xr.rt': 1, 'xr.ri': 1, 'xr.p': 1 }),
  spec('xr_identifier', { t: 1, 'xr.p': 1, 'xr.iv': 1 }),
  spec('xr_url', { t: 1, 'xr.p': 1, 'xr.url': 1 }),
  spec('xu_uri', { t: 1, 'xu.p': 1, 'xu.u': 1 }),
  spec('xc_param', { t: 1, 'xc.p': 1 }),
  spec('xw_words', { t: 1, 'xw.p': 1, 'xw.w': 1 }),
]);
