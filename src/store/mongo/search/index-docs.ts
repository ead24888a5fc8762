/**
 * The embedded search index of the MongoDB store (FHIR R4 §3.1.1 search.html "Search Parameter
 * Types"): every IndexEntry of a resource's current version becomes one compact sub-document of the
 * `x` array of its `resources` document (the pattern of Microsoft's Cosmos DB store), and
 * `SEARCH_INDEXES` are the compound multikey indexes over it.
 *
 * Field names (absent means null / not applicable: no field is ever stored as null or undefined):
 *
 * | field | kinds                | meaning                                                     |
 * |-------|----------------------|-------------------------------------------------------------|
 * | p     | all                  | search parameter code (for composite components: the component's own code) |
 * | k     | all                  | kind: t token, s string, d date, n number, q quantity, r reference, u uri, c composite, x text |
 * | s     | token, quantity      | system                                                      |
 * | c     | token, quantity      | code (token: code or identifier value)                      |
 * | tx    | token                | display / text, normalised like a string (for `:text`)      |
 * | ts,tc | token                | Identifier.type system and code (for `:of-type`)            |
 * | n     | string               | normalised text (default and `:contains`)                   |
 * | e     | string               | the text as written (`:exact`)                              |
 * | lo,hi | date, number, quantity | inclusive range (epoch ms for dates; ±Infinity allowed: BSON doubles) |
 * | v     | number, quantity     | the value as written (sorting)                              |
 * | un    | quantity             | the unit as written (`value||unit`)                         |
 * | rt,ri,rv | reference         | local target type, id, version                              |
 * | url,uv | reference           | absolute URL / canonical and canonical version              |
 * | is,iv | reference            | Reference.identifier system and value (`:identifier`)       |
 * | u     | uri                  | the uri                                                     |
 * | cs    | composite            | the component entries (same shapes), matched with `$elemMatch` inside one composite entry |
 * | w     | text                 | the distinct words (normalize.ts `textWords`) of every `_text` or `_content` entry of the resource: one sub-document per param, only when it has words (as SQLite's one FTS row) |
 *
 * Composite components live only inside `cs`, so plain searches on `x` never see them (SQLite gives
 * them a `composite$component` param for the same reason).
 */
import type { IndexEntry, IndexKind } from '../../../search/index-entry';
import { textWords } from '../../../search/normalize';

/** The kind code (`k`) of each IndexEntry kind. */
export const KIND_CODE: Readonly<Record<IndexKind, string>> = Object.freeze({
  token: 't',
  string: 's',
  date: 'd',
  number: 'n',
  quantity: 'q',
  reference: 'r',
  uri: 'u',
  composite: 'c',
  text: 'x',
});

/** One sub-document of `x` (see the field table in the module header). */
export interface IndexDoc {
  p: string;
  k: string;
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
  const doc: IndexDoc = { p: e.param, k: KIND_CODE[e.kind] };
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
        return toIndexDoc(c);
      });
      break;
  }
  return doc;
}

/** The `x` array of a resource document: one sub-document per entry, text words merged per param. */
export function toIndexDocs(entries: readonly IndexEntry[]): IndexDoc[] {
  const out: IndexDoc[] = [];
  const words: Record<'_text' | '_content', Set<string>> = { _text: new Set(), _content: new Set() };
  for (const e of entries) {
    if (e.kind === 'text') for (const w of textWords(e.text)) words[e.param].add(w);
    else out.push(toIndexDoc(e));
  }
  for (const param of ['_text', '_content'] as const) {
    if (words[param].size > 0) out.push({ p: param, k: KIND_CODE.text, w: [...words[param]] });
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
 * Every compiled predicate on `x` is `{x: {$elemMatch: {p, k, ...}}}` under `{t, d: false}`, so the
 * planner can bound `t`, `x.p` and the entry's value fields from one index:
 * - (the store's own `{t, d, u}` index serves unfiltered searches of a type, `_lastUpdated`
 *   predicates and the `_lastUpdated` sort with its keyset pages; it is not repeated here, as two
 *   indexes with one key and different names are refused.)
 * - `search_live_id`: `_id` predicates (`i $in`) and the `_id` sort (`{t, d, i}` then `_id`).
 * - `search_token`: token `code`, `system|code`, `:of-type` value and `anyOf` (`:in`/`:below`).
 * - `search_token_text`: token `:text` (anchored prefix regex on the normalised display).
 * - `search_string`: string default search (anchored prefix regex `^escaped` on `n`: an index range);
 *   `:contains` scans the parameter's keys in this index.
 * - `search_range`: date / number / quantity prefixes (ranges on `lo` and `hi`).
 * - `search_reference`: `subject=Patient/1` and chains (`ri $in` of the chained ids).
 * - `search_reference_target`: lookups by target independent of the referring type (`_has`
 *   sub-queries bounded by the referring type use `search_reference`'s `{t, x.p}` prefix).
 * - `search_reference_identifier` / `search_reference_url`: `:identifier` and canonical references.
 * - `search_uri`: uri exact, `:below` (anchored regex) and `:above` (`u $in` the value's prefixes).
 * - `search_text`: `_text` / `_content` words (`w $all`).
 * Composite predicates are bounded by `{t, x.p}` (the `search_token` prefix). Two fields of one `x`
 * element in a compound multikey index are allowed (they share the array `x`; `w` may itself be an
 * array inside it).
 */
export const SEARCH_INDEXES: readonly SearchIndexSpec[] = Object.freeze([
  spec('search_live_id', { t: 1, d: 1, i: 1 }),
  spec('search_token', { t: 1, 'x.p': 1, 'x.c': 1, 'x.s': 1 }),
  spec('search_token_text', { t: 1, 'x.p': 1, 'x.tx': 1 }),
  spec('search_string', { t: 1, 'x.p': 1, 'x.n': 1 }),
  spec('search_range', { t: 1, 'x.p': 1, 'x.lo': 1, 'x.hi': 1 }),
  spec('search_reference', { t: 1, 'x.p': 1, 'x.ri': 1, 'x.rt': 1 }),
  spec('search_reference_target', { 'x.rt': 1, 'x.ri': 1, 'x.p': 1 }),
  spec('search_reference_identifier', { t: 1, 'x.p': 1, 'x.iv': 1 }),
  spec('search_reference_url', { t: 1, 'x.p': 1, 'x.url': 1 }),
  spec('search_uri', { t: 1, 'x.p': 1, 'x.u': 1 }),
  spec('search_text', { t: 1, 'x.p': 1, 'x.w': 1 }),
]);
