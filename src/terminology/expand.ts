/**
 * Local ValueSet expansion (FHIR R4 §4.9 valueset.html, "Value Set Expansion" §4.9.8 and the
 * compose rules §4.9.5: include/exclude, concept lists, filters, valueSet imports; filter operators
 * from the filter-operator code system). Only what can be computed from local CodeSystems: a whole
 * code system or a filter needs a local CodeSystem with `content: complete`; explicit concept lists
 * from any system (SNOMED CT, LOINC, ...) are fine. Anything else makes the expansion undefined.
 *
 * Semantics implemented (R4 ValueSet.compose.include):
 * - the codes of one include are those of its system part (concepts, or filters ANDed, or the whole
 *   system), intersected with every value set it names in `valueSet`;
 * - an include with `system` and `valueSet` but no concept/filter is the imports restricted to the
 *   system (computable without the code system);
 * - `exclude` removes codes; an exclude that cannot be computed makes the expansion undefined;
 * - `compose.inactive: false` drops concepts whose status is retired/inactive (or `inactive: true`);
 * - filters: `is-a`, `descendent-of`, `is-not-a`, `generalizes`, `in`, `not-in`, `=`, `regex`,
 *   `exists` over `concept`/`code`, `display`, the hierarchy properties `parent`/`child`, and
 *   properties the CodeSystem declares. Regexes must match the whole value.
 *
 * Why an expansion is undefined is reported to `ExpansionContext.report` when the caller passes one
 * (the `$expand` and `$validate-code` operations answer with it; bindings and search modifiers do not
 * need it): a code system not available locally (or not complete), a filter not supported, a value set
 * imported that cannot be expanded, an expansion over `maxCodes`.
 */
import type { ValueSet, ValueSetComposeInclude, ValueSetComposeIncludeFilter, ValueSetExpansionContains } from 'fhir/r4';
import { CodeSystemIndex, isInactive, propertyValues, type ConceptNode } from './code-system-index';
import type { CodeRef } from './terminology';
import { backtrackingRisk } from '../fhirpath/safe-regex';

export interface ExpansionContext {
  /** A local CodeSystem (any content), or undefined when not known locally. */
  codeSystem(url: string, version?: string): Promise<CodeSystemIndex | undefined>;
  /** The expansion of an imported value set (canonical, maybe `url|version`); the caller handles cycles. */
  importValueSet(canonical: string): Promise<CodeRef[] | undefined>;
  /** Expansions larger than this are refused (undefined). */
  maxCodes: number;
  /** Told why the expansion is undefined (the first reason found). */
  report?(problem: ExpansionProblem): void;
}

/** Why a value set cannot be expanded locally. */
export interface ExpansionProblem {
  kind: 'unknown-value-set' | 'unavailable-system' | 'unsupported-filter' | 'too-large' | 'no-definition' | 'cycle';
  /** The canonical (value set or code system) the problem is about. */
  about: string;
  detail: string;
}

/** Longest regex pattern accepted in a filter (the regex comes from a ValueSet a user may write). */
const MAX_REGEX_LENGTH = 1000;

const UNCLOSED = 'http://hl7.org/fhir/StructureDefinition/valueset-unclosed';

const refKey = (system: string, code: string): string => `${system}\u0000${code}`;

/** The codes of a value set, or undefined when they cannot be computed locally (or exceed maxCodes). */
export async function expandValueSet(vs: ValueSet, ctx: ExpansionContext): Promise<CodeRef[] | undefined> {
  // The compose's reason wins over the expansion's: a value set with a compose is defined by it.
  let composeProblem: ExpansionProblem | undefined;
  if (vs.compose) {
    const codes = await expandCompose(vs.compose, { ...ctx, report: (p) => (composeProblem ??= p) });
    if (codes) return codes;
  }
  const fromStored = fromExpansion(vs.expansion, ctx.maxCodes);
  if (fromStored) return fromStored;
  ctx.report?.(
    composeProblem ?? {
      kind: vs.expansion?.contains && fromExpansion(vs.expansion, Number.MAX_SAFE_INTEGER) ? 'too-large' : 'no-definition',
      about: vs.url ?? 'the value set',
      detail: vs.expansion?.contains ? 'its stored expansion is partial (paged, unclosed or short of its total) or too large' : 'it has neither a compose nor a complete expansion',
    },
  );
  return undefined;
}

async function expandCompose(compose: NonNullable<ValueSet['compose']>, ctx: ExpansionContext): Promise<CodeRef[] | undefined> {
  const out = new Map<string, CodeRef>();
  for (const inc of compose.include) {
    const part = await includeCodes(inc, compose.inactive !== false, ctx);
    if (!part) return undefined;
    for (const c of part) if (!out.has(refKey(c.system, c.code))) out.set(refKey(c.system, c.code), c);
    if (out.size > ctx.maxCodes) {
      ctx.report?.({ kind: 'too-large', about: inc.system ?? 'the value set', detail: `the expansion has more than ${ctx.maxCodes} codes` });
      return undefined;
    }
  }
  for (const exc of compose.exclude ?? []) {
    const part = await includeCodes(exc, true, ctx);
    if (!part) return undefined;
    for (const c of part) out.delete(refKey(c.system, c.code));
  }
  return [...out.values()];
}

/** The codes one include (or exclude) designates, or undefined when not computable locally. */
async function includeCodes(inc: ValueSetComposeInclude, withInactive: boolean, ctx: ExpansionContext): Promise<CodeRef[] | undefined> {
  const imports: CodeRef[][] = [];
  for (const url of inc.valueSet ?? []) {
    const codes = await ctx.importValueSet(url);
    if (!codes) {
      ctx.report?.({ kind: 'unknown-value-set', about: url, detail: `the imported value set ${url} cannot be expanded locally` });
      return undefined;
    }
    imports.push(codes);
  }
  const system = inc.system;
  if (system === undefined) return imports.length ? intersect(imports) : [];

  let own: CodeRef[] | undefined;
  if (inc.concept?.length) {
    // An explicit list: fine for any system; displays come from a local CodeSystem when missing.
    const idx = await ctx.codeSystem(system, inc.version);
    own = inc.concept.map((c) => {
      const display = c.display ?? idx?.lookup(c.code)?.display;
      return display === undefined ? { system, code: c.code } : { system, code: c.code, display };
    });
  } else if (!inc.filter?.length && imports.length) {
    return intersect(imports).filter((c) => c.system === system);
  } else {
    const idx = await ctx.codeSystem(system, inc.version);
    if (!idx || idx.content !== 'complete') {
      const what = inc.version !== undefined ? `${system}|${inc.version}` : system;
      ctx.report?.({ kind: 'unavailable-system', about: what, detail: idx ? `the local CodeSystem ${what} has content ${idx.content ?? '(none)'}, not complete` : `the code system ${what} is not available locally` });
      return undefined;
    }
    if (idx.size > ctx.maxCodes && !inc.filter?.length) {
      ctx.report?.({ kind: 'too-large', about: system, detail: `the code system has ${idx.size} codes, more than ${ctx.maxCodes}` });
      return undefined;
    }
    const predicates: Array<(n: ConceptNode) => boolean> = [];
    for (const f of inc.filter ?? []) {
      const p = filterPredicate(idx, f);
      if (!p) {
        ctx.report?.({ kind: 'unsupported-filter', about: system, detail: `the filter ${f.property} ${f.op} ${JSON.stringify(f.value)} is not supported on ${system}` });
        return undefined;
      }
      predicates.push(p);
    }
    own = [];
    for (const n of idx.concepts()) {
      if (!withInactive && isInactive(n)) continue;
      if (predicates.every((p) => p(n))) own.push(toRef(system, n));
    }
  }
  return imports.length ? intersect([own, ...imports]) : own;
}

function toRef(system: string, n: ConceptNode): CodeRef {
  return n.display === undefined ? { system, code: n.code } : { system, code: n.code, display: n.display };
}

/** The codes present in every list (order and displays of the first list). */
function intersect(lists: CodeRef[][]): CodeRef[] {
  const [first, ...rest] = lists;
  if (!first) return [];
  const sets = rest.map((l) => new Set(l.map((c) => refKey(c.system, c.code))));
  return first.filter((c) => sets.every((s) => s.has(refKey(c.system, c.code))));
}

/** A membership test for one filter, or undefined when the filter is not supported for this system. */
export function filterPredicate(idx: CodeSystemIndex, f: ValueSetComposeIncludeFilter): ((n: ConceptNode) => boolean) | undefined {
  const { property, op, value } = f;
  const list = (): string[] => value.split(',').map((v) => v.trim()).filter((v) => v !== '');
  // Codes named in a filter value, in this system's spelling (case-insensitive systems).
  const canon = (code: string): string => idx.lookup(code)?.code ?? code;
  const regex = (): RegExp | undefined => {
    // Too long, or backtracking-prone (ReDoS, src/fhirpath/safe-regex.ts): the filter is not supported.
    if (value.length > MAX_REGEX_LENGTH || backtrackingRisk(value) !== undefined) return undefined;
    try {
      return new RegExp(`^(?:${value})$`);
    } catch {
      return undefined;
    }
  };
  const valuesFilter = (get: (n: ConceptNode) => string[]): ((n: ConceptNode) => boolean) | undefined => {
    switch (op) {
      case '=':
        return (n) => get(n).includes(value);
      case 'in': {
        const s = new Set(list());
        return (n) => get(n).some((v) => s.has(v));
      }
      case 'not-in': {
        const s = new Set(list());
        return (n) => !get(n).some((v) => s.has(v));
      }
      case 'regex': {
        const re = regex();
        return re && ((n) => get(n).some((v) => re.test(v)));
      }
      case 'exists':
        if (value !== 'true' && value !== 'false') return undefined;
        return (n) => (get(n).length > 0) === (value === 'true');
      default:
        return undefined;
    }
  };

  if (property === 'concept' || property === 'code') {
    const codeSet = (nodes: ConceptNode[] | undefined): Set<string> => new Set((nodes ?? []).map((n) => n.code));
    switch (op) {
      case 'is-a': {
        const s = codeSet(idx.descendants(value, true));
        return (n) => s.has(n.code);
      }
      case 'descendent-of': {
        const s = codeSet(idx.descendants(value, false));
        return (n) => s.has(n.code);
      }
      case 'is-not-a': {
        const s = codeSet(idx.descendants(value, true));
        return (n) => !s.has(n.code);
      }
      case 'generalizes': {
        const s = codeSet(idx.ancestors(value, true));
        return (n) => s.has(n.code);
      }
      case '=': {
        const c = canon(value);
        return (n) => n.code === c;
      }
      case 'in':
      case 'not-in': {
        const s = new Set(list().map(canon));
        return op === 'in' ? (n) => s.has(n.code) : (n) => !s.has(n.code);
      }
      case 'regex': {
        const re = regex();
        return re && ((n) => re.test(n.code));
      }
      default:
        return undefined;
    }
  }
  if (property === 'display') return valuesFilter((n) => (n.display === undefined ? [] : [n.display]));
  if (property === 'parent' || property === 'child') {
    // The hierarchy properties (declared or not): nesting and parent/child/subsumedBy values, folded.
    return valuesFilter((n) => [...(property === 'parent' ? n.parents : n.children)]);
  }
  if (idx.declaredProperties.has(property)) return valuesFilter((n) => propertyValues(n, property));
  return undefined;
}

/** The codes of an existing `expansion` (nested contains flattened, abstract entries skipped). */
function fromExpansion(expansion: ValueSet['expansion'], maxCodes: number): CodeRef[] | undefined {
  if (!expansion?.contains) return undefined;
  // A paged or truncated expansion is not the whole value set, nor is an "unclosed" one (R4
  // extension valueset-unclosed: "values other than those listed may be valid", e.g. SNOMED CT).
  if ((expansion.offset ?? 0) > 0) return undefined;
  if (expansion.extension?.some((e) => e.url === UNCLOSED && e.valueBoolean === true)) return undefined;
  const out = new Map<string, CodeRef>();
  const walk = (items: ValueSetExpansionContains[]): void => {
    for (const c of items) {
      if (c.system !== undefined && c.code !== undefined && c.abstract !== true) {
        out.set(refKey(c.system, c.code), c.display === undefined ? { system: c.system, code: c.code } : { system: c.system, code: c.code, display: c.display });
      }
      walk(c.contains ?? []);
    }
  };
  walk(expansion.contains);
  if (expansion.total !== undefined && expansion.total > out.size) return undefined;
  if (out.size > maxCodes) return undefined;
  return [...out.values()];
}
