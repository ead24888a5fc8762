/**
 * The database-neutral search IR (FHIR R4 §3.1.1 search.html).
 *
 * The query string is parsed into this tree; rewrite passes add restrictions (compartments, SMART
 * scopes); each store compiles it (SQLite to SQL over the typed index tables, MongoDB to a filter over
 * the embedded index array) and the in-memory matcher evaluates it over one resource's index entries.
 * All values are data: nothing in here is ever spliced into a query as text.
 */

/** Comparison prefixes of ordered types (§3.1.1.4 "prefixes"). */
export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export interface TokenPredicate {
  op: 'token';
  param: string;
  /** undefined: any system; null: no system (`|code`); string: that system. */
  system?: string | null;
  /** undefined: any code (`system|`). */
  code?: string;
  /** :text search over display/text (normalised like a string). */
  text?: string;
  /** :of-type on identifiers: type system|code plus value. */
  ofType?: { system: string; code: string; value: string };
  /** Codes expanded from :in/:below/:above against local terminology: any of these (system, code). */
  anyOf?: Array<{ system: string | null; code: string }>;
  /**
   * Unresolved terminology modifiers as parsed: `:in` / `:not-in` name a ValueSet, token `:below` /
   * `:above` a concept. The async terminology rewrite (src/search/rewrite.ts) replaces them with
   * `anyOf` before a store sees the predicate; stores never receive these fields.
   */
  valueSet?: string;
  hierarchy?: { system: string; code: string; direction: 'below' | 'above' };
}

export interface StringPredicate {
  op: 'string';
  param: string;
  /** Already normalised for 'start' and 'contains'; raw for 'exact'. */
  value: string;
  mode: 'start' | 'exact' | 'contains';
}

export interface RangePredicate {
  op: 'date' | 'number' | 'quantity';
  param: string;
  prefix: Prefix;
  /** The query value's own range (from its precision), inclusive, epoch ms for dates. */
  low: number;
  high: number;
  /**
   * The query value as written (number and quantity; never for dates). With it, the prefixes gt, lt,
   * ge, le, sa and eb compare against this exact value instead of the precision range (§3.1.1.4.6
   * "the implicit precision of the number is ignored"; range-semantics.ts effectiveQueryRange).
   */
  value?: number;
  /**
   * Half-width added on each side for the `ap` prefix, computed once by the parser (10% of the value
   * for numbers/quantities, 10% of the distance to "now" for dates): pass it as rangeCondition's
   * approxDelta so every store and the matcher agree. Absent (0) for the other prefixes.
   */
  approxDelta?: number;
  /** quantity only */
  system?: string | null;
  code?: string | null;
}

export interface ReferencePredicate {
  op: 'reference';
  param: string;
  /** Any of these target types (empty = any). */
  targetTypes?: string[];
  id?: string;
  version?: string;
  /** Absolute/canonical url (without version). */
  url?: string;
  urlVersion?: string;
  /** :identifier modifier. */
  identifier?: { system?: string | null; value: string };
}

export interface UriPredicate {
  op: 'uri';
  param: string;
  value: string;
  mode: 'exact' | 'above' | 'below';
}

export interface MissingPredicate {
  op: 'missing';
  param: string;
  /** The index kind of the parameter (which table/array holds its entries). */
  kind: import('./index-entry').IndexKind;
  missing: boolean;
}

/** Special `_id`. */
export interface IdPredicate {
  op: 'id';
  ids: string[];
}

/** Special `_lastUpdated`, evaluated on the resource's own lastUpdated. */
export interface LastUpdatedPredicate {
  op: 'lastUpdated';
  prefix: Prefix;
  low: number;
  high: number;
  /** As RangePredicate.approxDelta. */
  approxDelta?: number;
}

/** Forward chain: reference `param` points at a resource of one of `targetTypes` matching `where`. */
export interface ChainPredicate {
  op: 'chain';
  param: string;
  targetTypes: string[];
  where: SearchExpr;
}

/** Reverse chain `_has:targetType:param:...`: some `targetType` resource whose `param` references us matches `where`. */
export interface HasPredicate {
  op: 'has';
  targetType: string;
  param: string;
  where: SearchExpr;
}

/** `_text` (narrative) and `_content` (all string content): full-text match of every word in `query`. */
export interface TextPredicate {
  op: 'text';
  scope: 'narrative' | 'content';
  query: string;
}

/** `_list=id`: members of List/id. Resolved by the async rewrite into `id` predicates; stores never see it. */
export interface ListPredicate {
  op: 'list';
  listId: string;
}

/** Composite parameter: all components must match within the same composite entry. */
export interface CompositePredicate {
  op: 'composite';
  param: string;
  components: Predicate[];
}

export type Predicate =
  | TokenPredicate
  | StringPredicate
  | RangePredicate
  | ReferencePredicate
  | UriPredicate
  | MissingPredicate
  | IdPredicate
  | LastUpdatedPredicate
  | ChainPredicate
  | HasPredicate
  | CompositePredicate
  | TextPredicate
  | ListPredicate;

export type SearchExpr =
  | { op: 'and'; args: SearchExpr[] }
  | { op: 'or'; args: SearchExpr[] }
  | { op: 'not'; arg: SearchExpr }
  | Predicate;

export interface SortKey {
  /** A search parameter code, or the special `_id` / `_lastUpdated`. */
  param: string;
  /** Index kind of the parameter; 'special' for `_id` and `_lastUpdated`. */
  kind: import('./index-entry').IndexKind | 'special';
  descending: boolean;
  /**
   * Chained sort (`_sort=patient.birthdate`): the reference hops from the sorted resource to the one
   * whose `param` gives the value, outermost first. Absent for a plain sort. A resource's value is the
   * lowest (ascending) / highest (descending) over every resource reached through the hops.
   */
  chain?: Array<{ param: string; targetTypes: string[] }>;
}

export interface SearchQuery {
  /** One type for a type-level search, several (or all) for a system search. */
  resourceTypes: string[];
  where?: SearchExpr;
  sort: SortKey[];
  /** Page size; 0 asks for the total only. */
  count: number;
  /** Offset into the sorted result (used when no keyset position is given or the sort does not allow one). */
  offset: number;
  /**
   * Keyset paging: start strictly after this position, as returned in `SearchPage.next` by the same
   * store for the same query and sort. Opaque to callers (they sign and embed it in page links).
   * Values may be ±Infinity (open date ranges, unbounded Ranges); the cursor encodes them.
   */
  after?: SearchPosition;
  /** Ask for `SearchPage.watermark` (the first page of a walk whose sort a write can change). */
  watermark?: boolean;
  total: 'none' | 'estimate' | 'accurate';
}

export const and = (...args: SearchExpr[]): SearchExpr => (args.length === 1 ? args[0]! : { op: 'and', args });
export const or = (...args: SearchExpr[]): SearchExpr => (args.length === 1 ? args[0]! : { op: 'or', args });

/** A store-defined position in a sorted result (sort key values plus a unique tiebreak); numbers may be ±Infinity. */
export type SearchPosition = ReadonlyArray<string | number | null>;
