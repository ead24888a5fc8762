/**
 * Search query parsing (FHIR R4 §3.1.1 search.html): parameter names with modifiers (§3.1.1.5),
 * prefixes (§3.1.1.4), OR by comma and AND by repetition (§3.1.1.3), escaping (§3.1.1.6), chained
 * parameters (§3.1.1.4.12 "chaining") and reverse chaining (`_has`, §3.1.1.4.13), the special `_id`,
 * `_lastUpdated` and `_type`, and the result parameters of §3.1.1.7 / §3.2.1.x (`_sort`, `_count`,
 * `_total`, `_include`, `_revinclude`, `_summary`, `_elements`, `_contained`, `_containedType`) plus the
 * HTTP `_format` / `_pretty`.
 *
 * The output is the database-neutral IR of ir.ts. User text is only ever data in the IR. Every problem
 * with a value (bad date, bad number, unknown prefix, unknown modifier, malformed chain) raises
 * `FhirError('invalid')` quoting the parameter; features recognised but not implemented
 * (`:above`/`:below` on references, `_filter`, `_query`, functional lists `_list=$...`, special
 * parameters such as `near`) raise `FhirError('unsupported')` — except that in lenient mode unknown
 * and unsupported *parameters* are listed in `ignored` instead.
 * `:not` on a token parses to `not(token)`. Empty values (`name=`) are ignored, as §3.1.1 allows.
 *
 * Terminology and list parameters parse to unresolved IR that the async rewrite (rewrite.ts) resolves
 * before any store sees it: token `:in` -> TokenPredicate.valueSet, `:not-in` -> not(that), token
 * `:below` / `:above` (`system|code`) -> TokenPredicate.hierarchy, `_list=id` -> ListPredicate.
 * `_text` / `_content` -> TextPredicate (every word of the value; comma for OR).
 * `_sort` accepts several keys, `-` for descending, `_id`, `_lastUpdated`, and chained keys through
 * reference parameters (`patient.birthdate`, `subject:Patient.name`; SortKey.chain).
 * With `baseUrl`, reference values under this server's base are read as local `Type/id`.
 */
import { FhirError } from '../fhir/outcome';
import { and, or, type Predicate, type Prefix, type SearchExpr, type SearchQuery, type SortKey } from './ir';
import { normalizeString, parseDateRange, parseNumberRange, textWords, type Range } from './normalize';
import type { SearchParameterDef, SearchParameterRegistry, SearchParamType } from './parameters';
import type { IndexKind } from './index-entry';
import { isResourceType } from '../definitions/resource-types';
import { ID_PATTERN } from '../fhir/types';
import type { RequestLimits } from '../config/config';

export interface ParseOptions {
  /** Strict handling (Prefer: handling=strict): unknown parameters are an error. */
  strict: boolean;
  defaultCount: number;
  maxCount: number;
  /** Total asked when `_total` is absent (default 'accurate'). */
  defaultTotal?: SearchQuery['total'];
  /** "Now" in epoch ms for the `ap` prefix on dates (tests pin it; default Date.now()). */
  now?: number;
  /** This server's base URL: reference values under it are local references. */
  baseUrl?: string;
  /** The query limits (config `limits`, docs/limits.md); absent: none. */
  limits?: QueryLimits;
}

/** What one search query may ask (MAX_QUERY_PARAMETERS, MAX_PARAMETER_REPEATS, MAX_OR_VALUES, MAX_QUERY_VALUES, MAX_SORT_KEYS, MAX_TEXT_TERMS). */
export type QueryLimits = Pick<RequestLimits, 'maxQueryParameters' | 'maxParameterRepeats' | 'maxOrValues' | 'maxQueryValues' | 'maxSortKeys' | 'maxTextTerms'>;

export interface IncludeParameter {
  /** Source resource type, or '*' for `_include=*`. */
  sourceType: string;
  /** The reference search parameter code, or '*'. */
  param: string;
  targetType?: string;
  iterate: boolean;
}

export interface ResultParameters {
  include: IncludeParameter[];
  revinclude: IncludeParameter[];
  summary?: 'true' | 'text' | 'data' | 'count' | 'false';
  elements?: string[];
  contained?: 'true' | 'false' | 'both';
  containedType?: 'container' | 'contained';
  format?: string;
  pretty?: boolean;
}

export interface ParsedSearch {
  query: SearchQuery;
  result: ResultParameters;
  ignored: Array<{ name: string; reason: string }>;
  /**
   * The parameters as applied, in request order except `_sort` (last, listing only the keys used):
   * the input without what was ignored. Page links repeat these (search.html: the self link tells
   * the client how the search was understood).
   */
  applied: Array<[string, string]>;
}

const PREFIXES: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);
const UNSUPPORTED_PARAMS = new Set(['_filter', '_query']);
const MAX_CHAIN_DEPTH = 8;
const LOCAL_REF_RE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;
const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * Whether the parser accepts a search parameter in a query (what the CapabilityStatement may list):
 * not `_filter`/`_query`, not a `special` one other than the ones parsed here, and not one without an
 * expression for its type (nothing indexes it: R4 parameters whose element R4 does not have, such as
 * DeviceDefinition `classification`, and parameters computed by a layer for its own lookups, such as
 * the NHS trace's `spine-*` keys).
 */
export function isSearchable(d: Pick<SearchParameterDef, 'code' | 'type' | 'expression'>): boolean {
  if (d.code === '_text' || d.code === '_content' || d.code === '_id' || d.code === '_lastUpdated') return true;
  if (UNSUPPORTED_PARAMS.has(d.code)) return false;
  return d.type !== 'special' && (d.expression !== undefined || d.type === 'composite');
}

/** A parameter the registry does not know (strict: error; lenient: ignored). */
class UnknownParameter extends Error {}
/** A known parameter the server does not implement (strict: error; lenient: ignored). */
class UnsupportedParameter extends Error {}

/** Quotes user text for a diagnostic (JSON string syntax, truncated). */
function q(s: string): string {
  return JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);
}

function invalid(name: string, msg: string): FhirError {
  return new FhirError('invalid', { diagnostics: `Search parameter ${q(name)}: ${msg}` });
}

/** A query over one of the limits (400 `too-costly`, naming the parameter). */
function tooCostly(name: string, msg: string): FhirError {
  return new FhirError('too-costly', { diagnostics: `Search parameter ${q(name)}: ${msg}; the search was not run`, expression: [name] });
}

function unsupported(name: string, msg: string): FhirError {
  return new FhirError('unsupported', { diagnostics: `Search parameter ${q(name)}: ${msg}` });
}

/** Escapes a value so that it is read back literally (§3.1.1.6). */
export function escapeSearchValue(s: string): string {
  return s.replace(/[\\,$|]/g, '\\$&');
}

/** Splits on `sep` where it is not escaped by a backslash; the pieces keep their escapes. */
export function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Removes the escapes of `\,` `\$` `\|` `\\`; any other backslash is kept as written. */
export function unescapeSearchValue(s: string): string {
  return s.replace(/\\([\\,$|])/g, '$1');
}

interface ParamInfo {
  code: string;
  type: SearchParamType;
  kind: IndexKind | 'special';
  targets: string[];
  modifiers: string[];
  hasExpression: boolean;
  components: Array<{ definition: string }>;
}

class Parser {
  /** `baseUrl` with one trailing slash, or undefined. */
  private readonly base: string | undefined;
  constructor(
    private readonly registry: SearchParameterRegistry,
    private readonly now: number,
    baseUrl?: string,
  ) {
    this.base = baseUrl ? `${baseUrl.replace(/\/+$/, '')}/` : undefined;
  }

  /** The definition of `code` on any of `types` (the first found). */
  private lookup(types: readonly string[], code: string): ParamInfo | undefined {
    for (const t of types) {
      const d = this.registry.get(t, code);
      if (d)
        return {
          code: d.code,
          type: d.type,
          kind: d.kind,
          targets: d.targets,
          modifiers: d.modifiers,
          hasExpression: d.expression !== undefined,
          components: d.components,
        };
    }
    return undefined;
  }

  /** Parses one `name=value` against the resource types in scope. */
  param(types: readonly string[], fullName: string, name: string, raw: string, depth: number): SearchExpr {
    if (depth > MAX_CHAIN_DEPTH) throw invalid(fullName, `chains deeper than ${MAX_CHAIN_DEPTH} are not allowed`);
    if (name.startsWith('_has:') || name === '_has') return this.has(types, fullName, name, raw, depth);
    const dot = name.indexOf('.');
    const head = dot >= 0 ? name.slice(0, dot) : name;
    const colon = head.indexOf(':');
    const code = colon >= 0 ? head.slice(0, colon) : head;
    const modifier = colon >= 0 ? head.slice(colon + 1) : undefined;
    if (dot >= 0) return this.chain(types, fullName, code, modifier, name.slice(dot + 1), raw, depth);

    if (code === '_id') {
      // _id is a token parameter (search.html#all): `:not` is every resource whose id is none of these.
      if (modifier !== undefined && modifier !== 'not') throw invalid(fullName, `unknown modifier ${q(modifier)}`);
      const ids = splitUnescaped(raw, ',').map(unescapeSearchValue).filter((x) => x !== '');
      return modifier === 'not' ? { op: 'not', arg: { op: 'id', ids } } : { op: 'id', ids };
    }
    if (code === '_lastUpdated') {
      if (modifier !== undefined) throw invalid(fullName, `unknown modifier ${q(modifier)}`);
      return or(
        ...this.pieces(raw).map((v): SearchExpr => {
          const { prefix, rest } = splitPrefix(fullName, v);
          const r = dateRange(fullName, rest);
          const p: SearchExpr = { op: 'lastUpdated', prefix, low: r.low, high: r.high };
          if (prefix === 'ap') p.approxDelta = this.dateDelta(r);
          return p;
        }),
      );
    }
    if (code === '_text' || code === '_content') {
      if (modifier !== undefined) throw invalid(fullName, `unknown modifier ${q(modifier)}`);
      const scope = code === '_text' ? 'narrative' : 'content';
      return or(
        ...this.pieces(raw).map((v): SearchExpr => {
          const words = textWords(unescapeSearchValue(v));
          if (words.length === 0) throw invalid(fullName, `${q(v)} contains no word to search for`);
          return { op: 'text', scope, query: words.join(' ') };
        }),
      );
    }
    if (code === '_list') {
      if (modifier !== undefined) throw invalid(fullName, `unknown modifier ${q(modifier)}`);
      return or(
        ...this.pieces(raw).map((v): SearchExpr => {
          const id = unescapeSearchValue(v);
          if (id.startsWith('$')) throw new UnsupportedParameter(`functional lists such as ${q(id)} are not supported`);
          if (!ID_PATTERN.test(id)) throw invalid(fullName, `${q(id)} is not a List id`);
          return { op: 'list', listId: id };
        }),
      );
    }
    if (UNSUPPORTED_PARAMS.has(code)) throw new UnsupportedParameter(`the parameter ${q(code)} is not supported`);
    const info = this.lookup(types, code);
    if (!info) throw new UnknownParameter(`unknown search parameter ${q(code)} for ${types.length === 1 ? types[0]! : 'these types'}`);
    if (info.type === 'special' || (!info.hasExpression && info.type !== 'composite'))
      throw new UnsupportedParameter(`the parameter ${q(code)} is not supported`);

    if (modifier === 'missing') {
      if (raw !== 'true' && raw !== 'false') throw invalid(fullName, ':missing takes true or false');
      return { op: 'missing', param: code, kind: info.kind === 'special' ? 'token' : info.kind, missing: raw === 'true' };
    }
    let targetType: string | undefined;
    if (modifier !== undefined) {
      if (info.type === 'reference' && isResourceType(modifier)) {
        if (info.targets.length > 0 && !info.targets.includes(modifier)) throw invalid(fullName, `${q(modifier)} is not a target type of ${q(code)}`);
        targetType = modifier;
      } else if (modifier === '[type]' || !info.modifiers.includes(modifier)) throw invalid(fullName, `unknown modifier ${q(modifier)}`);
      if (info.type === 'reference' && (modifier === 'above' || modifier === 'below')) throw unsupported(fullName, `the :${modifier} modifier is not supported on references`);
    }
    const values = this.pieces(raw);
    if (values.length === 0) throw invalid(fullName, 'empty value');
    if (info.type === 'token' && modifier === 'not') return { op: 'not', arg: or(...values.map((v) => this.value(fullName, info, undefined, v))) };
    if (info.type === 'token' && modifier === 'not-in') return { op: 'not', arg: or(...values.map((v) => this.value(fullName, info, 'in', v))) };
    return or(...values.map((v) => this.value(fullName, info, targetType ?? modifier, v)));
  }

  private pieces(raw: string): string[] {
    return splitUnescaped(raw, ',').filter((v) => v !== '');
  }

  private dateDelta(r: Range): number {
    return Math.abs(this.now - (r.low + r.high) / 2) * 0.1;
  }

  /** One comma-separated value of a parameter with its modifier (or target type for references). */
  private value(name: string, info: ParamInfo, modifier: string | undefined, v: string): Predicate {
    const param = info.code;
    switch (info.type) {
      case 'token': {
        if (modifier === 'text') return { op: 'token', param, text: normalizeString(unescapeSearchValue(v)) };
        if (modifier === 'in') return { op: 'token', param, valueSet: unescapeSearchValue(v) };
        const parts = splitUnescaped(v, '|').map(unescapeSearchValue);
        if (modifier === 'below' || modifier === 'above') {
          if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw invalid(name, `:${modifier} takes system|code, not ${q(v)}`);
          return { op: 'token', param, hierarchy: { system: parts[0]!, code: parts[1]!, direction: modifier } };
        }
        if (modifier === 'of-type') {
          if (parts.length !== 3 || parts.some((x) => x === '')) throw invalid(name, ':of-type takes system|code|value');
          return { op: 'token', param, ofType: { system: parts[0]!, code: parts[1]!, value: parts[2]! } };
        }
        if (parts.length === 1) return { op: 'token', param, code: parts[0]! };
        if (parts.length !== 2) throw invalid(name, `malformed token ${q(v)}`);
        const [sys, code] = parts as [string, string];
        if (sys === '' && code === '') throw invalid(name, `malformed token ${q(v)}`);
        const p: Predicate = { op: 'token', param, system: sys === '' ? null : sys };
        if (code !== '') p.code = code;
        return p;
      }
      case 'string': {
        const text = unescapeSearchValue(v);
        if (modifier === 'exact') return { op: 'string', param, value: text, mode: 'exact' };
        return { op: 'string', param, value: normalizeString(text), mode: modifier === 'contains' ? 'contains' : 'start' };
      }
      case 'date': {
        const { prefix, rest } = splitPrefix(name, v);
        const r = dateRange(name, unescapeSearchValue(rest));
        const p: Predicate = { op: 'date', param, prefix, low: r.low, high: r.high };
        if (prefix === 'ap') p.approxDelta = this.dateDelta(r);
        return p;
      }
      case 'number': {
        const { prefix, rest } = splitPrefix(name, v);
        const n = numberValue(name, unescapeSearchValue(rest));
        const p: Predicate = { op: 'number', param, prefix, low: n.low, high: n.high, value: n.value };
        if (prefix === 'ap') p.approxDelta = Math.abs(n.value) * 0.1;
        return p;
      }
      case 'quantity': {
        const parts = splitUnescaped(v, '|').map(unescapeSearchValue);
        if (parts.length !== 1 && parts.length !== 3) throw invalid(name, `malformed quantity ${q(v)} (number or number|system|code)`);
        const { prefix, rest } = splitPrefix(name, parts[0]!);
        const n = numberValue(name, rest);
        const p: Predicate = { op: 'quantity', param, prefix, low: n.low, high: n.high, value: n.value };
        if (prefix === 'ap') p.approxDelta = Math.abs(n.value) * 0.1;
        if (parts.length === 3) {
          if (parts[1] !== '') p.system = parts[1]!;
          if (parts[2] !== '') p.code = parts[2]!;
        }
        return p;
      }
      case 'reference':
        return this.reference(name, info, modifier, v);
      case 'uri': {
        const mode = modifier === 'above' ? 'above' : modifier === 'below' ? 'below' : 'exact';
        return { op: 'uri', param, value: unescapeSearchValue(v), mode };
      }
      case 'composite':
        return this.composite(name, info, v);
      case 'special':
        throw unsupported(name, 'special parameters are not supported');
    }
  }

  private reference(name: string, info: ParamInfo, modifier: string | undefined, v: string): Predicate {
    const param = info.code;
    if (modifier === 'identifier') {
      const parts = splitUnescaped(v, '|').map(unescapeSearchValue);
      if (parts.length === 1 && parts[0] !== '') return { op: 'reference', param, identifier: { value: parts[0]! } };
      if (parts.length === 2 && parts[1] !== '') return { op: 'reference', param, identifier: { system: parts[0] === '' ? null : parts[0]!, value: parts[1]! } };
      throw invalid(name, `malformed identifier ${q(v)}`);
    }
    const written = unescapeSearchValue(v);
    const text = this.base !== undefined && written.startsWith(this.base) && LOCAL_REF_RE.test(written.slice(this.base.length)) ? written.slice(this.base.length) : written;
    const local = LOCAL_REF_RE.exec(text);
    if (local && isResourceType(local[1]!)) {
      const type = local[1]!;
      if (modifier !== undefined && modifier !== type) throw invalid(name, `${q(text)} is not a ${modifier} reference`);
      if (info.targets.length > 0 && !info.targets.includes(type)) throw invalid(name, `${q(type)} is not a target type of ${q(param)}`);
      const p: Predicate = { op: 'reference', param, targetTypes: [type], id: local[2]! };
      if (local[3] !== undefined) p.version = local[3];
      return p;
    }
    if (ABSOLUTE_RE.test(text)) {
      const parts = splitUnescaped(v, '|').map(unescapeSearchValue);
      if (parts.length > 2) throw invalid(name, `malformed reference ${q(text)}`);
      const p: Predicate = { op: 'reference', param, url: parts[0]! };
      if (parts.length === 2 && parts[1] !== '') p.urlVersion = parts[1]!;
      return p;
    }
    if (ID_PATTERN.test(text)) return { op: 'reference', param, targetTypes: modifier !== undefined ? [modifier] : [], id: text };
    throw invalid(name, `malformed reference ${q(text)}`);
  }

  private composite(name: string, info: ParamInfo, v: string): Predicate {
    const parts = splitUnescaped(v, '$');
    if (parts.length !== info.components.length) throw invalid(name, `a value needs ${info.components.length} components separated by $`);
    const components = parts.map((part, i): Predicate => {
      const sp = this.registry.byCanonical(info.components[i]!.definition);
      if (!sp?.code) throw unsupported(name, 'a component definition is missing');
      const ci: ParamInfo = {
        code: sp.code,
        type: sp.type as SearchParamType,
        kind: 'token',
        targets: [],
        modifiers: [],
        hasExpression: true,
        components: [],
      };
      if (ci.type === 'composite' || ci.type === 'special') throw unsupported(name, 'nested composite components are not supported');
      if (part === '') throw invalid(name, `empty component ${i + 1}`);
      return this.value(name, ci, undefined, part);
    });
    return { op: 'composite', param: info.code, components };
  }

  private chain(types: readonly string[], fullName: string, code: string, modifier: string | undefined, rest: string, raw: string, depth: number): SearchExpr {
    const info = this.lookup(types, code);
    if (!info) throw new UnknownParameter(`unknown search parameter ${q(code)} in chain`);
    if (info.type !== 'reference') throw invalid(fullName, `${q(code)} is not a reference parameter, so it cannot be chained`);
    let targets: string[];
    if (modifier !== undefined) {
      if (!isResourceType(modifier)) throw invalid(fullName, `${q(modifier)} is not a resource type`);
      if (info.targets.length > 0 && !info.targets.includes(modifier)) throw invalid(fullName, `${q(modifier)} is not a target type of ${q(code)}`);
      targets = [modifier];
    } else targets = info.targets;
    const nextCode = rest.startsWith('_has') ? '_has' : (rest.split(/[.:]/)[0] ?? '');
    const special = nextCode === '_id' || nextCode === '_lastUpdated' || nextCode === '_has';
    const usable = targets.filter((t) => special || this.registry.get(t, nextCode) !== undefined);
    if (usable.length === 0) throw new UnknownParameter(`unknown search parameter ${q(nextCode)} on the targets of ${q(code)}`);
    return { op: 'chain', param: code, targetTypes: usable, where: this.param(usable, fullName, rest, raw, depth + 1) };
  }

  private has(types: readonly string[], fullName: string, name: string, raw: string, depth: number): SearchExpr {
    const parts = name.split(':');
    if (parts.length < 4) throw invalid(fullName, '_has takes _has:Type:parameter:search-parameter');
    const targetType = parts[1]!;
    const refParam = parts[2]!;
    if (!isResourceType(targetType)) throw invalid(fullName, `${q(targetType)} is not a resource type`);
    const ref = this.registry.get(targetType, refParam);
    if (!ref) throw new UnknownParameter(`unknown search parameter ${q(refParam)} for ${targetType}`);
    if (ref.type !== 'reference') throw invalid(fullName, `${q(refParam)} is not a reference parameter of ${targetType}`);
    if (ref.targets.length > 0 && !types.some((t) => ref.targets.includes(t)))
      throw invalid(fullName, `${targetType}.${refParam} cannot refer to ${types.join(', ')}`);
    const rest = parts.slice(3).join(':');
    return { op: 'has', targetType, param: refParam, where: this.param([targetType], fullName, rest, raw, depth + 1) };
  }
}

function splitPrefix(name: string, v: string): { prefix: Prefix; rest: string } {
  const m = /^([a-z]{2})(.*)$/s.exec(v);
  if (m && PREFIXES.has(m[1]!)) return { prefix: m[1] as Prefix, rest: m[2]! };
  if (/^[A-Za-z]/.test(v)) throw invalid(name, `unknown prefix in ${q(v)}`);
  return { prefix: 'eq', rest: v };
}

function dateRange(name: string, v: string): Range {
  const r = parseDateRange(v);
  if (!r) throw invalid(name, `${q(v)} is not a valid date (yyyy[-mm[-dd[Thh:mm[:ss[.fff]][Z|±hh:mm]]]])`);
  return r;
}

function numberValue(name: string, v: string): Range & { value: number } {
  const r = parseNumberRange(v);
  if (!r) throw invalid(name, `${q(v)} is not a valid number`);
  return r;
}

function parseInclude(name: string, value: string, iterate: boolean, registry: SearchParameterRegistry): IncludeParameter {
  if (value === '*') return { sourceType: '*', param: '*', iterate };
  const parts = value.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalid(name, `takes SourceType:parameter[:TargetType], not ${q(value)}`);
  const [sourceType, param, targetType] = parts as [string, string, string | undefined];
  if (!isResourceType(sourceType)) throw invalid(name, `${q(sourceType)} is not a resource type`);
  if (param !== '*') {
    const def = registry.get(sourceType, param);
    if (!def) throw invalid(name, `unknown search parameter ${q(param)} for ${sourceType}`);
    if (def.type !== 'reference') throw invalid(name, `${q(param)} is not a reference parameter`);
    if (targetType !== undefined && def.targets.length > 0 && !def.targets.includes(targetType)) throw invalid(name, `${q(targetType)} is not a target of ${q(param)}`);
  }
  if (targetType !== undefined && !isResourceType(targetType)) throw invalid(name, `${q(targetType)} is not a resource type`);
  const inc: IncludeParameter = { sourceType, param, iterate };
  if (targetType !== undefined) inc.targetType = targetType;
  return inc;
}

const SORTABLE_KINDS: ReadonlySet<string> = new Set(['string', 'token', 'date', 'number', 'quantity', 'reference', 'uri']);

/**
 * One `_sort` key (§3.1.1.7.1 "Sorting"): `[-]code`, `_id`, `_lastUpdated`, or a chain of reference
 * parameters ending in one of those (`patient.birthdate`, `subject:Patient.name`, `subject._id`).
 */
function sortKey(name: string, spec: string, types: readonly string[], registry: SearchParameterRegistry): SortKey {
  const descending = spec.startsWith('-');
  const path = (descending ? spec.slice(1) : spec).split('.');
  const chain: Array<{ param: string; targetTypes: string[] }> = [];
  let scope: readonly string[] = types;
  for (const hop of path.slice(0, -1)) {
    const [code, typeModifier, extra] = hop.split(':') as [string, string | undefined, string | undefined];
    if (extra !== undefined) throw invalid(name, `malformed sort chain ${q(spec)}`);
    const defs = scope.map((t) => registry.get(t, code)).filter((d) => d !== undefined);
    if (defs.length === 0) throw new UnknownParameter(`unknown search parameter ${q(code)} in the sort chain ${q(spec)}`);
    if (defs.some((d) => d.type !== 'reference')) throw invalid(name, `${q(code)} is not a reference parameter, so a sort cannot follow it`);
    let targets = [...new Set(defs.flatMap((d) => d.targets))];
    if (typeModifier !== undefined) {
      if (!isResourceType(typeModifier)) throw invalid(name, `${q(typeModifier)} is not a resource type`);
      if (targets.length > 0 && !targets.includes(typeModifier)) throw invalid(name, `${q(typeModifier)} is not a target type of ${q(code)}`);
      targets = [typeModifier];
    }
    if (targets.length === 0) throw new UnsupportedParameter(`the sort chain ${q(spec)} needs a target type (${code}:Type)`);
    chain.push({ param: code, targetTypes: targets });
    scope = targets;
  }
  const code = path[path.length - 1]!;
  if (code.includes(':')) throw new UnsupportedParameter(`sorting by a modified parameter (${q(code)}) is not supported`);
  const withChain = (k: SortKey): SortKey => (chain.length > 0 ? { ...k, chain } : k);
  if (code === '_id' || code === '_lastUpdated') return withChain({ param: code, kind: 'special', descending });
  const defs = scope.map((t) => registry.get(t, code)).filter((d) => d !== undefined);
  const def = defs[0];
  if (!def) throw new UnknownParameter(`unknown search parameter ${q(code)} to sort by`);
  if (!SORTABLE_KINDS.has(def.kind) || def.expression === undefined) throw new UnsupportedParameter(`sorting by ${q(code)} (a ${def.type} parameter) is not supported`);
  if (defs.some((d) => d.kind !== def.kind)) throw invalid(name, `${q(code)} has different types on the sorted resource types`);
  return withChain({ param: code, kind: def.kind, descending });
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw invalid(name, `must be one of ${allowed.join(', ')}, not ${q(v)}`);
}

/** Result and control parameters: an empty value is theirs to judge (it is not an ignored criterion). */
const RESULT_PARAMS: ReadonlySet<string> = new Set(['_type', '_count', '_offset', '_total', '_summary', '_elements', '_contained', '_containedType', '_format', '_pretty', '_include', '_revinclude']);

/** Parameters whose comma-separated values are not OR alternatives (`_sort` keys have their own limit; `_type` is bounded by the resource types). */
const NOT_OR_LISTS: ReadonlySet<string> = new Set(['_sort', '_type', '_elements']);

/**
 * The query limits (docs/limits.md), checked before anything is parsed: every check is linear in the
 * query's length, so an oversized query costs no more than reading it. Search queries and
 * conditional criteria (which are searches) both come through here.
 */
export function checkQueryLimits(params: ReadonlyArray<readonly [string, string]>, limits: QueryLimits): void {
  if (params.length > limits.maxQueryParameters) {
    throw tooCostly(params[limits.maxQueryParameters]![0], `the query has ${params.length} parameters, more than the limit of ${limits.maxQueryParameters} parameters in one search (MAX_QUERY_PARAMETERS)`);
  }
  const repeats = new Map<string, number>();
  let sortKeys = 0;
  let allValues = 0;
  for (const [name, value] of params) {
    const segments = name.split(/[.:]/);
    const code = segments[0]!;
    const n = (repeats.get(code) ?? 0) + 1;
    repeats.set(code, n);
    if (n > limits.maxParameterRepeats) throw tooCostly(name, `${q(code)} is given ${n} times, more than the limit of ${limits.maxParameterRepeats} times one parameter may be repeated (MAX_PARAMETER_REPEATS)`);
    if (code === '_sort') {
      sortKeys += value.split(',').filter((k) => k !== '').length;
      if (sortKeys > limits.maxSortKeys) throw tooCostly(name, `${sortKeys} sort keys, more than the limit of ${limits.maxSortKeys} (MAX_SORT_KEYS)`);
      continue;
    }
    if (NOT_OR_LISTS.has(code)) continue;
    const values = splitUnescaped(value, ',').filter((v) => v !== '');
    if (values.length > limits.maxOrValues) throw tooCostly(name, `${values.length} comma-separated values, more than the limit of ${limits.maxOrValues} values of one parameter (MAX_OR_VALUES)`);
    allValues += values.length;
    if (allValues > limits.maxQueryValues) throw tooCostly(name, `the query has more than ${limits.maxQueryValues} values, its parameters' comma-separated values counted together, the limit for one search (MAX_QUERY_VALUES)`);
    if (segments.includes('_text') || segments.includes('_content')) {
      const words = values.reduce((sum, v) => sum + textWords(unescapeSearchValue(v)).length, 0);
      if (words > limits.maxTextTerms) throw tooCostly(name, `${words} words to search for, more than the limit of ${limits.maxTextTerms} words of one _text or _content parameter (MAX_TEXT_TERMS)`);
    }
  }
}

/**
 * Parses the query parameters of a search on `resourceTypes` (one type, or several for a system
 * search) into the IR and the result parameters. With `opts.limits`, a query over a limit is a 400
 * `too-costly` before anything else (checkQueryLimits).
 */
export function parseSearchQuery(resourceTypes: string[], params: Array<[string, string]>, registry: SearchParameterRegistry, opts: ParseOptions): ParsedSearch {
  if (opts.limits) checkQueryLimits(params, opts.limits);
  const parser = new Parser(registry, opts.now ?? Date.now(), opts.baseUrl);
  let types = [...resourceTypes];
  const exprs: SearchExpr[] = [];
  const sort: SortKey[] = [];
  const result: ResultParameters = { include: [], revinclude: [] };
  const ignored: ParsedSearch['ignored'] = [];
  const applied: ParsedSearch['applied'] = [];
  let count = opts.defaultCount;
  let offset = 0;
  let total: SearchQuery['total'] = opts.defaultTotal ?? 'accurate';
  const sortSpecs: Array<[string, string]> = [];

  const skipOrThrow = (name: string, err: UnknownParameter | UnsupportedParameter): void => {
    if (opts.strict) throw err instanceof UnknownParameter ? invalid(name, err.message) : unsupported(name, err.message);
    ignored.push({ name, reason: err.message });
  };

  // `_type` first: it narrows the types every other parameter is resolved against.
  for (const [name, value] of params) {
    if (name !== '_type') continue;
    const wanted = value.split(',').filter((t) => t !== '');
    for (const t of wanted) if (!isResourceType(t)) throw invalid(name, `${q(t)} is not a resource type`);
    if (wanted.length > 0) types = types.filter((t) => wanted.includes(t));
  }

  for (const [name, value] of params) {
    const base = name.split(':')[0]!;
    if (base !== '_sort' && !(value === '' && !RESULT_PARAMS.has(base))) applied.push([name, value]);
    switch (base) {
      case '_type':
        continue;
      case '_count':
        if (!/^\d{1,9}$/.test(value)) throw invalid(name, `${q(value)} is not a non-negative integer`);
        count = Math.min(Number(value), opts.maxCount);
        continue;
      case '_offset':
        if (!/^\d{1,9}$/.test(value)) throw invalid(name, `${q(value)} is not a non-negative integer`);
        offset = Number(value);
        continue;
      case '_total':
        total = oneOf(name, value, ['none', 'estimate', 'accurate'] as const);
        continue;
      case '_sort':
        sortSpecs.push([name, value]);
        continue;
      case '_summary':
        result.summary = oneOf(name, value, ['true', 'text', 'data', 'count', 'false'] as const);
        continue;
      case '_elements':
        result.elements = value
          .split(',')
          .map((e) => e.trim())
          .filter((e) => e !== '');
        for (const e of result.elements) if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/.test(e)) throw invalid(name, `${q(e)} is not an element name`);
        continue;
      case '_contained':
        result.contained = oneOf(name, value, ['true', 'false', 'both'] as const);
        continue;
      case '_containedType':
        result.containedType = oneOf(name, value, ['container', 'contained'] as const);
        continue;
      case '_format':
        result.format = value;
        continue;
      case '_pretty':
        result.pretty = oneOf(name, value, ['true', 'false'] as const) === 'true';
        continue;
      case '_include':
      case '_revinclude': {
        const mod = name.slice(base.length + 1);
        if (name !== base && mod !== 'iterate' && mod !== 'recurse') throw invalid(name, `unknown modifier ${q(mod)}`);
        const inc = parseInclude(name, value, name !== base, registry);
        if (base === '_revinclude' && inc.sourceType === '*') {
          applied.pop();
          skipOrThrow(name, new UnsupportedParameter('_revinclude=* is not supported: name the referring type, e.g. _revinclude=Provenance:target or Provenance:*'));
          continue;
        }
        (base === '_include' ? result.include : result.revinclude).push(inc);
        continue;
      }
      default:
        break;
    }
    if (value === '') {
      ignored.push({ name, reason: 'empty value' });
      continue;
    }
    try {
      exprs.push(parser.param(types, name, name, value, 0));
    } catch (err) {
      if (err instanceof UnknownParameter || err instanceof UnsupportedParameter) {
        applied.pop();
        skipOrThrow(name, err);
      } else throw err;
    }
  }

  for (const [name, value] of sortSpecs) {
    const keys: string[] = [];
    for (const spec of value.split(',')) {
      if (spec === '') continue;
      try {
        sort.push(sortKey(name, spec, types, registry));
        keys.push(spec);
      } catch (err) {
        if (err instanceof UnknownParameter || err instanceof UnsupportedParameter) skipOrThrow(name, err);
        else throw err;
      }
    }
    if (keys.length > 0) applied.push([name, keys.join(',')]);
  }

  if (result.summary === 'count') {
    count = 0;
    if (total === 'none') total = 'accurate';
  }
  const query: SearchQuery = { resourceTypes: types, sort, count, offset, total };
  if (exprs.length > 0) query.where = and(...exprs);
  return { query, result, ignored, applied };
}
