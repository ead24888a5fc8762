/**
 * Index extraction on write (FHIR R4 §3.1.1 search.html, "Search Parameter Types" §3.1.1.4 and the
 * table of which datatypes each parameter type indexes).
 *
 * Every applicable SearchParameter's compiled FHIRPath expression is evaluated over the resource and
 * each result is normalised by the parameter's type and the result's FHIR datatype:
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
 * - number: decimal/integer and their subtypes; uri: any uri-like primitive.
 * - composite: one CompositeEntry per composite value, whose `components` hold the entries of every
 *   component (each with the component parameter's code).
 * _id and _lastUpdated are not indexed (they are columns of the stored resource). A failing expression
 * is skipped and counted (see `extractIndexWithStats`), never fatal.
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
import { defaultSearchParameters, type SearchParameterDef, type SearchParameterRegistry, type SearchParamType } from './parameters';
import { fhirpathR4Model } from '../definitions/r4-package';
import { isResourceType } from '../definitions/resource-types';

export interface ExtractionFailure {
  param: string;
  error: string;
}

export interface ExtractOptions {
  /** This server's base URL (config.baseUrl): absolute references under it index as local `Type/id`. */
  baseUrl?: string;
  /** Only parameters of these types (and no `_text`/`_content` entries); all when absent. */
  onlyTypes?: ReadonlySet<string>;
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

/** The resource's index entries; expression failures are skipped (see extractIndexWithStats). */
export function extractIndex(resource: Resource, registry?: SearchParameterRegistry, options: ExtractOptions = {}): IndexEntry[] {
  return extractIndexWithStats(resource, registry, options).entries;
}

/** Per-extraction settings threaded through the normalisers. */
interface Ctx {
  /** `baseUrl` with one trailing slash, or undefined. */
  base: string | undefined;
}

export function extractIndexWithStats(resource: Resource, registry: SearchParameterRegistry = defaultSearchParameters(), options: ExtractOptions = {}): ExtractionResult {
  const ctx: Ctx = { base: options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}/` : undefined };
  const entries: IndexEntry[] = [];
  const failures: ExtractionFailure[] = [];
  const seen = new Set<string>();
  for (const def of registry.forType(resource.resourceType)) {
    if (NOT_INDEXED.has(def.code) || def.type === 'special') continue;
    if (options.onlyTypes && !options.onlyTypes.has(def.type)) continue;
    try {
      const evaluate = def.evaluator();
      if (!evaluate) continue;
      const nodes = evaluate(resource);
      if (nodes.length === 0) continue;
      const produced = def.type === 'composite' ? compositeEntries(ctx, def, nodes, registry, resource) : entriesFor(ctx, def.type, def.code, nodes);
      for (const e of produced) {
        const key = JSON.stringify(e);
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push(e);
      }
    } catch (err) {
      failures.push({ param: def.code, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (!options.onlyTypes) entries.push(...textEntries(resource));
  return { entries, failures };
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
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, k);
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

/** The element path of a FHIRPath result node (`Patient.gender`, `Address.use`), when known. */
function elementPath(node: unknown): string | undefined {
  if (!isObj(node) || typeof node.propName !== 'string' || !isObj(node.parentResNode)) return undefined;
  const parent = node.parentResNode.path;
  return typeof parent === 'string' && parent !== '' ? `${parent}.${node.propName}` : undefined;
}

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
      if (r) out.push({ kind: 'number', param, value: r.value, low: r.low, high: r.high });
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
