/**
 * Typed search index entries (FHIR R4 §3.1.1 search.html, "Search Parameter Types").
 *
 * On every write each applicable SearchParameter expression is evaluated and its values are normalised
 * into these entries. Both stores persist them (SQLite: typed tables; MongoDB: an embedded array) and
 * compile search IR predicates against them. Date-like values become an inclusive [low, high] range of
 * epoch milliseconds derived from their precision; numbers and quantities carry the range implied by
 * their precision (FHIR R4 §3.1.1.4.2 "Number": 100 means [99.5, 100.5)).
 */

export interface TokenEntry {
  kind: 'token';
  param: string;
  /** Coding/Identifier system; null when the value has none. */
  system: string | null;
  /** Code or identifier value; null when only text exists. */
  code: string | null;
  /** Display / text, normalised like a string (for :text). */
  text?: string | null;
  /** Identifier.type coding (one entry per type coding), for :of-type. Absent on other tokens. */
  typeSystem?: string | null;
  typeCode?: string | null;
}

export interface StringEntry {
  kind: 'string';
  param: string;
  /** Lower-cased, accents removed, whitespace collapsed: used for default and :contains matching. */
  norm: string;
  /** The original text, for :exact. */
  exact: string;
}

export interface DateEntry {
  kind: 'date';
  param: string;
  /** Inclusive lower bound, epoch ms (may be -Infinity for an open Period start: stored as a very small number). */
  low: number;
  /** Inclusive upper bound, epoch ms. */
  high: number;
}

export interface NumberEntry {
  kind: 'number';
  param: string;
  value: number;
  /** Range implied by the value's precision. */
  low: number;
  high: number;
}

export interface QuantityEntry {
  kind: 'quantity';
  param: string;
  system: string | null;
  code: string | null;
  /** The unit as written (Quantity.unit), for matching `||mg` style queries by unit text. */
  unit?: string | null;
  value: number;
  low: number;
  high: number;
}

export interface ReferenceEntry {
  kind: 'reference';
  param: string;
  /** Target resource type for relative/absolute-local references. */
  targetType: string | null;
  targetId: string | null;
  targetVersion?: string | null;
  /** Absolute URL or canonical (without version) for references that are not local. */
  url: string | null;
  /** Canonical version (`url|version`). */
  urlVersion?: string | null;
  /** Reference.identifier, for :identifier. */
  identifierSystem?: string | null;
  identifierValue?: string | null;
}

export interface UriEntry {
  kind: 'uri';
  param: string;
  value: string;
}

/** A composite parameter value: one tuple of component values, stored as a joined key per component set. */
export interface CompositeEntry {
  kind: 'composite';
  param: string;
  components: IndexEntry[];
}

/** Words for `_text` (narrative, param `_text`) and `_content` (all string content, param `_content`). */
export interface TextEntry {
  kind: 'text';
  param: '_text' | '_content';
  /** Plain text (markup removed), normalised like a string. */
  text: string;
}

export type IndexEntry = TokenEntry | StringEntry | DateEntry | NumberEntry | QuantityEntry | ReferenceEntry | UriEntry | CompositeEntry | TextEntry;
export type IndexKind = IndexEntry['kind'];

/** Bounds used for open-ended ranges (a Period without start or end). */
export const MIN_INSTANT = -62135596800000; // 0001-01-01T00:00:00Z
export const MAX_INSTANT = 253402300799999; // 9999-12-31T23:59:59.999Z
