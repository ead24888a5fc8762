/**
 * Index extraction on write (FHIR R4 §3.1.1 search.html, "Search Parameter Types" §3.1.1.4 and the
 * table of which datatypes each parameter type indexes).
 *
 * Every applicable SearchParameter's compiled FHIRPath expression is evaluated over the resource and
 * each result is normalised by the parameter's type and the result's FHIR datatype. The common
 * expression shapes run compiled to plain JavaScript (compiled-expression.ts: the same values, FHIR
 * types and element paths as fhirpath.js's result nodes), the others, and any JSON the compiled form
 * hands back (FALLBACK), with fhirpath.js; `fhirpathOnly` forces fhirpath.js for every expression.
 * - token: code/string/uri/id and other primitives (system null), boolean ('true'/'false'), Coding,
 *   CodeableConcept (one entry per coding with its display as text, plus a text-only entry for
 *   CodeableConcept.text), Identifier (system|value, text from type.text, and one entry per type
 *   coding for :of-type), ContactPoint (system = ContactPoint.system, code = value).
 * - string: string/markdown/code primitives, HumanName (family, each given, prefix, suffix, text),
 *   Address (each line, city, district, state, postalCode, country, text).
 * - reference: Reference (relative `Type/id[/_history/v]`, absolute URL and `urn:` as url, `#id`
 *   contained as url, Reference.identifier), canonical/uri (`url|version`), and a contained Resource.
 * - date: date/dateTime/instant, Period, Timing (normalize.ts).
 * - quantity: Quantity, Age, Duration, Distance, Count, SimpleQuantity, Money, Range.
 * - number: decimal (the range of its precision) and integer with its subtypes (exact: the point
 *   [v, v], since search.html#number says that for integers "the significance issues cancel out and
 *   searching is based on exact matches"); uri: any uri-like primitive.
 * - composite: one CompositeEntry per composite value, whose `components` hold the entries of every
 *   component (each with the component parameter's code).
 * _id and _lastUpdated are not indexed (they are columns of the stored resource). A failing expression
 * is recorded (see `extractIndexWithStats`); the write path (`completeIndex`) then refuses the write,
 * so no resource is ever stored half-indexed. `extractIndexCooperatively` computes the same entries
 * giving the event loop a turn between parameters (src/cooperative.ts).
 *
 * Also (§3.1.1.5.x "_text" / "_content"): one TextEntry `_text` with the narrative (Resource.text.div
 * without markup) and one `_content` with every string of the resource (narrative included, base64
 * `data` excluded), each reduced to its distinct words (normalize.ts `textWords`) joined by spaces.
 * A bare `code` with a required binding to one code system is indexed with that system
 * (implied-systems.ts). References to this server's own base URL (`options.baseUrl`) index as local.
 */
import { compile, types as fhirpathTypes, util } from 'fhirpath';
import type { Resource } from 'fhir/r4';
import type { CompositeEntry, IndexEntry, ReferenceEntry, TextEntry, TokenEntry } from './index-entry';
import { impliedCodeSystem } from './implied-systems';
import { normalizeQuantity, normalizeRange, normalizeString, numberRange, parseDateRange, parseNumberRange, periodRange, textWords, timingRange, xhtmlText } from './normalize';
import { defaultSearchParameters, splitUnion, type SearchParameterDef, type SearchParameterRegistry, type SearchParamType } from './parameters';
import { fhirpathR4Model } from '../definitions/r4-package';
import { isResourceType } from '../definitions/resource-types';
import { runCooperatively, runSync } from '../cooperative';
import { compileSearchExpression, FALLBACK, type CompiledExpression, type TypedValue } from './compiled-expression';
import { FhirError } from '../fhir/outcome';

export interface ExtractionFailure {
  param: string;
  error: string;
  /** The evaluation exhausted the stack (RangeError): the resource is too large to index. */
  tooLarge?: boolean;
}

export interface ExtractOptions {
  /** This server's base URL (config.baseUrl): absolute references under it index as local `Type/id`. */
  baseUrl?: string;
  /** Only parameters of these types (and no `_text`/`_content` entries); all when absent. */
  onlyTypes?: ReadonlySet<string>;
  /**
   * Evaluate every expression, even when the resource lacks the top-level element(s) it starts from
   * (the reference behaviour, for differential tests and benchmarks). Default false: such
   * expressions are skipped (see `expressionGuard`), which gives the same entries faster.
   */
  evaluateAll?: boolean;
  /**
   * Evaluate every expression with fhirpath.js (the reference behaviour, for differential tests and
   * benchmarks). Default false: the common expression shapes run compiled to plain JavaScript
   * (compiled-expression.ts), which gives the same entries faster.
   */
  fhirpathOnly?: boolean;
}

export interface ExtractionResult {
  entries: IndexEntry[];
  failures: ExtractionFailure[];
}

/** Parameters answered from the stored resource's own columns, never from index entries. */
const NOT_INDEXED = new Set(['_id', '_lastUpdated']);

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The resource's index entries; expression failures are skipped (see extractIndexWithStats; writes use completeIndex). */
export function extractIndex(resource: Resource, registry?: SearchParameterRegistry, options: ExtractOptions = {}): IndexEntry[] {
  return extractIndexWithStats(resource, registry, options).entries;
}

/** Per-extraction settings threaded through the normalisers. */
interface Ctx {
  /** `baseUrl` with one trailing slash, or undefined. */
  base: string | undefined;
}

export function extractIndexWithStats(resource: Resource, registry: SearchParameterRegistry = defaultSearchParameters(), options: ExtractOptions = {}): ExtractionResult {
  return runSync(extractionSteps(resource, registry, options));
}

/** As `extractIndexWithStats`, giving the event loop a turn between search parameters when a slice is used up (src/cooperative.ts). */
export function extractIndexCooperatively(resource: Resource, registry: SearchParameterRegistry = defaultSearchParameters(), options: ExtractOptions = {}): Promise<ExtractionResult> {
  return runCooperatively(extractionSteps(resource, registry, options));
}

/** The extraction, one step (`yield`) per evaluated search parameter. */
function* extractionSteps(resource: Resource, registry: SearchParameterRegistry, options: ExtractOptions): Generator<void, ExtractionResult, void> {
  const ctx: Ctx = { base: options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/` : undefined };
  const entries: IndexEntry[] = [];
  const failures: ExtractionFailure[] = [];
  const present = options.evaluateAll ? undefined : presentElements(resource);
  for (const def of registry.forType(resource.resourceType)) {
    if (NOT_INDEXED.has(def.code) || def.type === 'special') continue;
    if (options.onlyTypes && !options.onlyTypes.has(def.type)) continue;
    if (present && !mayProduce(expressionGuard(def, registry), present)) continue;
    try {
      const compiled = options.fhirpathOnly ? undefined : compiledExpression(def);
      if (compiled !== undefined) {
        const values = compiled(resource);
        if (values !== FALLBACK) {
          if (values.length > 0) pushDistinct(entries, compiledEntries(ctx, def.type, def.code, values));
          yield;
          continue;
        }
      }
      const evaluate = def.evaluator();
      if (!evaluate) continue;
      const nodes = evaluate(resource);
      if (nodes.length === 0) continue;
      pushDistinct(entries, def.type === 'composite' ? compositeEntries(ctx, def, nodes, registry, resource) : entriesFor(ctx, def.type, def.code, nodes));
    } catch (err) {
      failures.push({ param: def.code, error: err instanceof Error ? err.message : String(err), ...(err instanceof RangeError ? { tooLarge: true } : {}) });
    }
    yield;
  }
  if (!options.onlyTypes) for (const e of textEntries(resource)) entries.push(e);
  return { entries, failures };
}

/**
 * Appends one parameter's entries, de-duplicated: each distinct JSON text once, the first in order
 * (entries of different parameters never collide: they hold the param). Exported for its property test.
 */
export function pushDistinct(entries: IndexEntry[], produced: IndexEntry[]): void {
  if (produced.length === 1) entries.push(produced[0]!);
  else if (produced.length <= PAIRWISE_DISTINCT) {
    for (let i = 0; i < produced.length; i++) {
      const e = produced[i]!;
      let seen = false;
      for (let j = 0; j < i && !seen; j++) seen = sameJson(produced[j]!, e);
      if (!seen) entries.push(e);
    }
  } else {
    const seen = new Set<string>();
    for (const e of produced) {
      const key = JSON.stringify(e);
      if (seen.has(key)) continue;
      seen.add(key);
      entries.push(e);
    }
  }
}

/** Up to this many entries of one parameter are compared pair by pair; more are keyed by their JSON. */
const PAIRWISE_DISTINCT = 8;

/**
 * Whether two entries have the same JSON text (`JSON.stringify(a) === JSON.stringify(b)`, the
 * equality pushDistinct keeps one of), without building it for the flat entries: the same keys with
 * a defined value, in the same order, and values equal as JSON. Strings, booleans and null are equal
 * as JSON exactly when `===`; numbers (NaN and the infinities are `null` in JSON) and nested values
 * (a composite's components) are compared by their JSON text.
 */
function sameJson(a: IndexEntry, b: IndexEntry): boolean {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  const ka = Object.keys(ra);
  const kb = Object.keys(rb);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < ka.length && ra[ka[i]!] === undefined) i++;
    while (j < kb.length && rb[kb[j]!] === undefined) j++;
    if (i === ka.length || j === kb.length) return i === ka.length && j === kb.length;
    const k = ka[i]!;
    if (k !== kb[j]) return false;
    const x = ra[k];
    const y = rb[k];
    if (x !== y && (typeof x === 'string' || typeof y === 'string' || typeof x === 'boolean' || typeof y === 'boolean' || JSON.stringify(x) !== JSON.stringify(y))) return false;
    i++;
    j++;
  }
}

const compiledExpressions = new WeakMap<SearchParameterDef, CompiledExpression | null>();

/** The compiled form of a definition's expression (composites excluded), or undefined: fhirpath.js evaluates it. */
function compiledExpression(def: SearchParameterDef): CompiledExpression | undefined {
  let c = compiledExpressions.get(def);
  if (c === undefined) {
    c = (def.expression !== undefined && def.type !== 'composite' ? compileSearchExpression(def.expression, def.resourceType) : undefined) ?? null;
    compiledExpressions.set(def, c);
  }
  return c ?? undefined;
}

/**
 * The entries of a complete extraction, or the FhirError of its first failure: a resource is never
 * stored with some of its parameters missing from the index (it could never be found by them).
 * A parameter whose evaluation exhausted the stack (`RangeError`: the resource is too large to
 * index, which the content limits should prevent) is a 413 `too-costly`; any other failure is a 422
 * `processing` naming the parameter.
 */
export function completeIndex(resourceType: string, result: ExtractionResult): IndexEntry[] {
  const failure = result.failures[0];
  if (failure === undefined) return result.entries;
  const params = [...new Set(result.failures.map((f) => f.param))].join(', ');
  if (result.failures.some((f) => f.tooLarge)) {
    throw new FhirError('too-large', {
      code: 'too-costly',
      diagnostics: `The ${resourceType} is too large to be indexed for the search parameter(s) ${params}; it was not stored (see MAX_ARRAY_LENGTH and MAX_RESOURCE_ELEMENTS)`,
      expression: [resourceType],
    });
  }
  throw new FhirError('unprocessable', {
    code: 'processing',
    diagnostics: `The ${resourceType} could not be indexed for the search parameter(s) ${params} (${failure.param}: ${failure.error.slice(0, 300)}); it was not stored, since it could not be found by them`,
    expression: [resourceType],
  });
}

/**
 * Which expressions can be skipped (FHIRPath §5 "Navigation model": a path over an absent element is
 * empty, and `where`, `ofType`, `as`, `extension`, `first`, `last`, `select` of an empty collection
 * are empty). A guard lists alternatives (one per union branch); an alternative lists requirements
 * that must all hold for it to produce a value; a requirement lists JSON property names of which one
 * must be present. A branch `Type.elem…` (or `Resource.` / `DomainResource.`, optionally in
 * parentheses) followed only by member access, `[n]` and the safe functions needs `elem`; a choice
 * element read with `.ofType(T)` / `.as(T)` right away needs `elemT` or `elemS` for a subtype S of T
 * (e.g. `valueQuantity`, `valueAge`). The branch that is the resource itself (composites such as
 * `Observation`) needs the root of every component (a composite value needs all its components).
 * Anything else (operators, `exists()`, `iif`, other functions, another type's head) makes the guard
 * `null`: always evaluate.
 */
export type ExpressionGuard = ReadonlyArray<ReadonlyArray<readonly string[]>> | null;

const SAFE_FUNCTIONS = new Set(['where', 'ofType', 'as', 'extension', 'first', 'last', 'select']);
const IDENT = /^[A-Za-z][A-Za-z0-9_]*/;

/** Index just past the `)` closing the `(` at `open` (string literals skipped), or -1. */
function closeParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      i++;
      while (i < s.length && s[i] !== "'") i += s[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

const unwrap = (expr: string): string => {
  let s = expr.trim();
  while (s.startsWith('(') && closeParen(s, 0) === s.length) s = s.slice(1, -1).trim();
  return s;
};

/** The top-level element a path starts from, and the type it is narrowed to right away (if any). */
export interface PathRoot {
  element: string;
  ofType?: string;
}

/**
 * The top-level element a FHIRPath path starts from, or undefined when `expr` is not a plain path
 * whose value is empty whenever that element is absent. `heads` are the accepted leading type names
 * (absolute paths); an empty list reads `expr` as relative to the resource. A parenthesised path may
 * be followed by more of the chain (`(Observation.value.ofType(CodeableConcept)).text`).
 */
export function pathRoot(expr: string, heads: readonly string[]): PathRoot | undefined {
  const s = expr.trim();
  if (s.startsWith('(')) {
    const close = closeParen(s, 0);
    if (close < 0) return undefined;
    const inner = pathRoot(s.slice(1, close - 1), heads);
    return inner !== undefined && chainEnd(s, close) ? inner : undefined;
  }
  let i = 0;
  if (heads.length > 0) {
    const h = IDENT.exec(s)?.[0];
    if (h === undefined || !heads.includes(h) || s[h.length] !== '.') return undefined;
    i = h.length + 1;
  }
  const element = IDENT.exec(s.slice(i))?.[0];
  if (element === undefined) return undefined;
  const out: PathRoot = { element };
  i += element.length;
  if (s[i] === '(') {
    // Only extension('url') may start a path: the resource's own `extension` element.
    if (element !== 'extension') return undefined;
    i = closeParen(s, i);
    if (i < 0) return undefined;
  } else {
    const cast = /^\.(?:ofType|as)\(\s*(?:FHIR\.)?([A-Za-z]+)\s*\)/.exec(s.slice(i));
    if (cast) out.ofType = cast[1]!;
  }
  return chainEnd(s, i) ? out : undefined;
}

/** Whether `s` from `i` on is only member access, `[n]` and safe function calls (empty in, empty out). */
function chainEnd(s: string, i: number): boolean {
  while (i < s.length) {
    if (s[i] === '.') {
      const name = IDENT.exec(s.slice(i + 1))?.[0];
      if (name === undefined) return false;
      i += 1 + name.length;
      if (s[i] === '(') {
        if (!SAFE_FUNCTIONS.has(name)) return false;
        i = closeParen(s, i);
        if (i < 0) return false;
      }
    } else if (s[i] === '[') {
      const m = /^\[\d+\]/.exec(s.slice(i));
      if (!m) return false;
      i += m[0].length;
    } else return false;
  }
  return true;
}

/** Whether the R4 datatype `type` is `ancestor` or derives from it (FHIRPath type names, any case). */
function derivesFrom(parents: Readonly<Record<string, string | undefined>>, type: string, ancestor: string): boolean {
  const want = ancestor.toLowerCase();
  let t: string | undefined = type;
  for (let depth = 0; t !== undefined && depth < 10; depth++) {
    if (t.toLowerCase() === want) return true;
    t = parents[t] ?? parents[t.charAt(0).toLowerCase() + t.slice(1)];
  }
  return false;
}

/** The JSON property names that can hold `root` of a `resourceType` (one of them must be present). */
function propertyNames(resourceType: string, root: PathRoot): string[] {
  const model = fhirpathR4Model() as ReturnType<typeof fhirpathR4Model> & { type2Parent?: Record<string, string | undefined> };
  const choices = model.choiceTypePaths[`${resourceType}.${root.element}`];
  if (root.ofType === undefined || !choices || !model.type2Parent) return [root.element];
  const parents = model.type2Parent;
  const names = choices.filter((c) => derivesFrom(parents, c, root.ofType!)).map((c) => `${root.element}${c}`);
  return names.length > 0 ? names : [root.element];
}

/** The property names any branch of a union of plain paths needs, or undefined when one is not plain. */
function unionPropertyNames(resourceType: string, expression: string, heads: readonly string[]): string[] | undefined {
  const names: string[] = [];
  for (const branch of splitUnion(expression)) {
    const root = pathRoot(branch, heads);
    if (root === undefined) return undefined;
    names.push(...propertyNames(resourceType, root));
  }
  return names;
}

const guards = new WeakMap<SearchParameterDef, ExpressionGuard>();

/** The guard of a definition's expression (computed once per definition). */
export function expressionGuard(def: SearchParameterDef, registry: SearchParameterRegistry): ExpressionGuard {
  let g = guards.get(def);
  if (g === undefined) {
    g = computeGuard(def, registry);
    guards.set(def, g);
  }
  return g;
}

function computeGuard(def: SearchParameterDef, registry: SearchParameterRegistry): ExpressionGuard {
  if (def.expression === undefined) return null;
  const heads = [def.resourceType, 'Resource', 'DomainResource'];
  const alternatives: string[][][] = [];
  for (const branch of splitUnion(def.expression)) {
    if (unwrap(branch) === def.resourceType && def.type === 'composite' && def.components.length > 0) {
      const requirements: string[][] = [];
      for (const c of def.components) {
        const names = registry.byCanonical(c.definition)?.code !== undefined ? unionPropertyNames(def.resourceType, c.expression, []) : undefined;
        if (names === undefined) return null;
        requirements.push(names);
      }
      alternatives.push(requirements);
      continue;
    }
    const root = pathRoot(branch, heads);
    if (root === undefined) return null;
    alternatives.push([propertyNames(def.resourceType, root)]);
  }
  return alternatives;
}

/**
 * The names a top-level element may have given the resource's JSON keys (over-approximated): each key,
 * without a leading `_` (primitive extensions), and every prefix of it that ends before an upper-case
 * letter (choice elements: `valueQuantity` is also `value`, `multipleBirthBoolean` `multipleBirth`).
 */
function presentElements(resource: Resource): Set<string> {
  const out = new Set<string>();
  for (const key of Object.keys(resource)) {
    const k = key.startsWith('_') ? key.slice(1) : key;
    out.add(k);
    for (let i = 1; i < k.length; i++) {
      const c = k.charCodeAt(i);
      if (c >= 65 && c <= 90) out.add(k.slice(0, i));
    }
  }
  return out;
}

function mayProduce(guard: ExpressionGuard, present: ReadonlySet<string>): boolean {
  return guard === null || guard.some((requirements) => requirements.every((names) => names.some((n) => present.has(n))));
}

/** Properties whose strings are not text: base64 content (Attachment.data, Binary.data, Signature.data). */
const NOT_TEXT = new Set(['data']);

/** The `_text` (narrative) and `_content` (all strings) entries: distinct words joined by spaces. */
export function textEntries(resource: Resource): TextEntry[] {
  const out: TextEntry[] = [];
  const narrative = (resource as { text?: { div?: unknown } }).text?.div;
  if (typeof narrative === 'string') {
    const words = distinctWords([xhtmlText(narrative)]);
    if (words !== '') out.push({ kind: 'text', param: '_text', text: words });
  }
  const strings: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (key === 'div') strings.push(xhtmlText(v));
      else if (key !== 'resourceType' && !NOT_TEXT.has(key)) strings.push(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (isObj(v)) for (const k of Object.keys(v)) walk(v[k], k);
  };
  walk(resource, '');
  const content = distinctWords(strings);
  if (content !== '') out.push({ kind: 'text', param: '_content', text: content });
  return out;
}

function distinctWords(texts: readonly string[]): string {
  const seen = new Set<string>();
  for (const t of texts) for (const w of textWords(t)) seen.add(w);
  return [...seen].join(' ');
}

/** Normalises FHIRPath result nodes (internal types kept) into entries of one parameter. */
function entriesFor(ctx: Ctx, type: SearchParamType, param: string, nodes: unknown[]): IndexEntry[] {
  const tys = fhirpathTypes(nodes);
  const out: IndexEntry[] = [];
  nodes.forEach((node, i) => {
    const value: unknown = util.valData(node);
    if (value === undefined || value === null) return;
    const fhirType = (tys[i] ?? '').replace(/^(FHIR|System)\./, '');
    if (type === 'token' && fhirType === 'code' && typeof value === 'string') {
      const path = elementPath(node);
      out.push({ kind: 'token', param, system: path !== undefined ? impliedCodeSystem(path) : null, code: value });
      return;
    }
    valueEntries(ctx, type, param, fhirType, value, out);
  });
  return out;
}

/** As `entriesFor`, over the typed results of a compiled expression (the same value, type and element path). */
function compiledEntries(ctx: Ctx, type: SearchParamType, param: string, values: readonly TypedValue[]): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const { value, fhirType, elementPath: path } of values) {
    if (value === undefined || value === null) continue;
    if (type === 'token' && fhirType === 'code' && typeof value === 'string') {
      out.push({ kind: 'token', param, system: path !== undefined ? impliedCodeSystem(path) : null, code: value });
      continue;
    }
    valueEntries(ctx, type, param, fhirType, value, out);
  }
  return out;
}

/** The element path of a FHIRPath result node (`Patient.gender`, `Address.use`), when known. */
function elementPath(node: unknown): string | undefined {
  if (!isObj(node) || typeof node.propName !== 'string' || !isObj(node.parentResNode)) return undefined;
  const parent = node.parentResNode.path;
  return typeof parent === 'string' && parent !== '' ? `${parent}.${node.propName}` : undefined;
}

/** Integer datatypes: exact values, indexed as points (see the module comment). */
const INTEGER_TYPES: ReadonlySet<string> = new Set(['integer', 'positiveInt', 'unsignedInt', 'integer64']);

function valueEntries(ctx: Ctx, type: SearchParamType, param: string, fhirType: string, value: unknown, out: IndexEntry[]): void {
  switch (type) {
    case 'token':
      return tokenEntries(param, fhirType, value, out);
    case 'string':
      return stringEntries(param, fhirType, value, out);
    case 'reference':
      return referenceEntries(ctx, param, fhirType, value, out);
    case 'date':
      return dateEntries(param, fhirType, value, out);
    case 'quantity':
      return quantityEntries(param, fhirType, value, out);
    case 'number': {
      // fhirpath.js gives decimals as an FP_Decimal object ({ value, asStr }) when internal types are kept.
      const inner = isObj(value) ? (typeof value.asStr === 'string' ? value.asStr : value.value) : value;
      const r = typeof inner === 'number' ? numberRange(inner) : typeof inner === 'string' ? parseNumberRange(inner) : undefined;
      if (!r) return;
      if (INTEGER_TYPES.has(fhirType)) out.push({ kind: 'number', param, value: r.value, low: r.value, high: r.value });
      else out.push({ kind: 'number', param, value: r.value, low: r.low, high: r.high });
      return;
    }
    case 'uri': {
      const s = str(value);
      if (s !== undefined && s !== '') out.push({ kind: 'uri', param, value: s });
      return;
    }
    case 'composite':
    case 'special':
      return;
  }
}

function tokenEntries(param: string, fhirType: string, v: unknown, out: IndexEntry[]): void {
  const text = (s: unknown): string | null => (typeof s === 'string' && s.trim() !== '' ? normalizeString(s) : null);
  if (typeof v === 'boolean') {
    out.push({ kind: 'token', param, system: null, code: String(v) });
    return;
  }
  if (typeof v === 'string' || typeof v === 'number') {
    out.push({ kind: 'token', param, system: null, code: String(v) });
    return;
  }
  if (!isObj(v)) return;
  switch (fhirType) {
    case 'Coding':
      if (str(v.code) !== undefined || str(v.display) !== undefined)
        out.push({ kind: 'token', param, system: str(v.system) ?? null, code: str(v.code) ?? null, text: text(v.display) });
      return;
    case 'CodeableConcept': {
      for (const c of Array.isArray(v.coding) ? v.coding : []) if (isObj(c)) tokenEntries(param, 'Coding', c, out);
      const t = text(v.text);
      if (t !== null) out.push({ kind: 'token', param, system: null, code: null, text: t });
      return;
    }
    case 'Identifier': {
      const value = str(v.value);
      if (value === undefined) return;
      const base: TokenEntry = { kind: 'token', param, system: str(v.system) ?? null, code: value };
      const type = isObj(v.type) ? v.type : undefined;
      const t = type ? text(type.text) : null;
      if (t !== null) base.text = t;
      out.push(base);
      for (const c of type && Array.isArray(type.coding) ? type.coding : []) {
        if (isObj(c) && str(c.code) !== undefined) out.push({ ...base, typeSystem: str(c.system) ?? null, typeCode: str(c.code) ?? null });
      }
      return;
    }
    case 'ContactPoint': {
      const value = str(v.value);
      if (value !== undefined) out.push({ kind: 'token', param, system: str(v.system) ?? null, code: value });
      return;
    }
    default:
      return;
  }
}

const NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'];
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'];

function stringEntries(param: string, fhirType: string, v: unknown, out: IndexEntry[]): void {
  const push = (s: unknown): void => {
    if (typeof s === 'string' && s.trim() !== '') out.push({ kind: 'string', param, norm: normalizeString(s), exact: s });
  };
  if (typeof v === 'string') return push(v);
  if (!isObj(v)) return;
  const parts = fhirType === 'HumanName' ? NAME_PARTS : fhirType === 'Address' ? ADDRESS_PARTS : [];
  for (const p of parts) {
    const x = v[p];
    if (Array.isArray(x)) x.forEach(push);
    else push(x);
  }
}

const LOCAL_REF = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const ABSOLUTE_REF = /^(.*)\/_history\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * Parses Reference.reference text into the reference fields of an entry. `base` (this server's base
 * URL ending with `/`) makes `base` + `Type/id` a local reference.
 */
export function parseReferenceText(ref: string, base?: string): Pick<ReferenceEntry, 'targetType' | 'targetId' | 'targetVersion' | 'url' | 'urlVersion'> {
  const local = base !== undefined && ref.startsWith(base) ? ref.slice(base.length) : ref;
  const m = LOCAL_REF.exec(local);
  if (m && isResourceType(m[1]!)) return { targetType: m[1]!, targetId: m[2]!, targetVersion: m[3] ?? null, url: null };
  const abs = ABSOLUTE_REF.exec(ref);
  if (abs) return { targetType: null, targetId: null, targetVersion: abs[2]!, url: abs[1]! };
  return { targetType: null, targetId: null, url: ref };
}

function referenceEntries(ctx: Ctx, param: string, fhirType: string, v: unknown, out: IndexEntry[]): void {
  if (typeof v === 'string') {
    // canonical / uri used as a reference
    const bar = v.indexOf('|');
    if (bar >= 0) out.push({ kind: 'reference', param, targetType: null, targetId: null, url: v.slice(0, bar), urlVersion: v.slice(bar + 1) });
    else out.push({ kind: 'reference', param, ...parseReferenceText(v, ctx.base) });
    return;
  }
  if (!isObj(v)) return;
  if (fhirType === 'Reference') {
    const e: ReferenceEntry = { kind: 'reference', param, targetType: null, targetId: null, url: null };
    const ref = str(v.reference);
    if (ref !== undefined) Object.assign(e, parseReferenceText(ref, ctx.base));
    const declared = str(v.type);
    if (e.targetType === null && declared !== undefined && isResourceType(declared) && e.url === null) e.targetType = declared;
    const ident = isObj(v.identifier) ? v.identifier : undefined;
    if (ident && str(ident.value) !== undefined) {
      e.identifierSystem = str(ident.system) ?? null;
      e.identifierValue = str(ident.value)!;
    }
    if (e.targetId !== null || e.url !== null || e.identifierValue !== undefined) out.push(e);
    return;
  }
  // A resource (e.g. Bundle.entry[0].resource for Bundle's composition/message).
  const rt = str(v.resourceType);
  const id = str(v.id);
  if (rt !== undefined && id !== undefined) out.push({ kind: 'reference', param, targetType: rt, targetId: id, url: null });
}

function dateEntries(param: string, fhirType: string, v: unknown, out: IndexEntry[]): void {
  let r;
  if (typeof v === 'string') r = parseDateRange(v);
  else if (isObj(v) && fhirType === 'Period') r = periodRange(v as { start?: string; end?: string });
  else if (isObj(v) && fhirType === 'Timing') r = timingRange(v as Parameters<typeof timingRange>[0]);
  if (r) out.push({ kind: 'date', param, low: r.low, high: r.high });
}

function quantityEntries(param: string, fhirType: string, v: unknown, out: IndexEntry[]): void {
  if (!isObj(v)) return;
  const q = fhirType === 'Range' ? normalizeRange(v) : normalizeQuantity(v);
  if (q) out.push({ kind: 'quantity', param, system: q.system, code: q.code, unit: q.unit, value: q.value, low: q.low, high: q.high });
}

type ComponentEvaluator = (data: unknown, resource: unknown) => unknown[];
const componentEvaluators = new Map<string, ComponentEvaluator>();

function componentEvaluator(base: string, expression: string): ComponentEvaluator {
  const key = `${base}\u0000${expression}`;
  let f = componentEvaluators.get(key);
  if (!f) {
    const fn = compile({ base, expression }, fhirpathR4Model() as never, { resolveInternalTypes: false });
    f = (data: unknown, resource: unknown) => fn(data as never, { resource, rootResource: resource } as never) as unknown[];
    componentEvaluators.set(key, f);
  }
  return f;
}

function compositeEntries(ctx: Ctx, def: SearchParameterDef, nodes: unknown[], registry: SearchParameterRegistry, resource: Resource): CompositeEntry[] {
  const comps = def.components.map((c) => ({ c, sp: registry.byCanonical(c.definition) }));
  const out: CompositeEntry[] = [];
  for (const node of nodes) {
    const data: unknown = util.valData(node);
    const path = isObj(node) && typeof node.path === 'string' ? node.path : def.resourceType;
    const components: IndexEntry[] = [];
    let complete = true;
    for (const { c, sp } of comps) {
      if (!sp?.code) {
        complete = false;
        break;
      }
      const values = componentEvaluator(path, c.expression)(data, resource);
      const produced = entriesFor(ctx, sp.type as SearchParamType, sp.code, values);
      if (produced.length === 0) {
        complete = false;
        break;
      }
      components.push(...produced);
    }
    if (complete && components.length > 0) out.push({ kind: 'composite', param: def.code, components });
  }
  return out;
}
