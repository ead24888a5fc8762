/**
 * An in-memory index of one CodeSystem's concepts (FHIR R4 §4.7 codesystem.html: concept hierarchy
 * by nesting of `concept.concept` and the `parent` / `child` concept properties, and the standard
 * `subsumedBy` property of codesystem-concept-properties), answering look-up and subsumption
 * (§4.7.11 "$subsumes": a concept subsumes itself and its descendants).
 *
 * Built once per CodeSystem resource object (cached in a WeakMap), on first use.
 */
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptDesignation, CodeSystemConceptProperty } from 'fhir/r4';

export interface ConceptNode {
  code: string;
  display?: string;
  definition?: string;
  /** Additional representations (language, use, value), for `$lookup` and `$expand` `includeDesignations`. */
  designations: CodeSystemConceptDesignation[];
  properties: CodeSystemConceptProperty[];
  /** Codes of the direct parents (nesting, `parent`, `subsumedBy`, or another concept's `child`). */
  parents: Set<string>;
  /** Codes of the direct children. */
  children: Set<string>;
}

/** Properties whose values name a parent (the value is a code of the same system). */
const PARENT_PROPERTIES = new Set(['parent', 'subsumedBy']);

const cache = new WeakMap<CodeSystem, CodeSystemIndex>();

export class CodeSystemIndex {
  readonly url: string;
  readonly version: string | undefined;
  readonly content: CodeSystem['content'];
  readonly caseSensitive: boolean;
  /** CodeSystem.hierarchyMeaning (R4 codesystem-hierarchy-meaning): what the hierarchy means; absent: not said. */
  readonly hierarchyMeaning: CodeSystem['hierarchyMeaning'];
  /** The CodeSystem's name (or title, or url), as `$lookup` reports it. */
  readonly name: string;
  /** Codes of the properties the CodeSystem declares (CodeSystem.property.code). */
  readonly declaredProperties: ReadonlySet<string>;
  private readonly byCode = new Map<string, ConceptNode>();
  private readonly byLowerCode: Map<string, ConceptNode> | undefined;

  /** The (cached) index of a CodeSystem resource. */
  static of(cs: CodeSystem): CodeSystemIndex {
    let idx = cache.get(cs);
    if (!idx) {
      idx = new CodeSystemIndex(cs);
      cache.set(cs, idx);
    }
    return idx;
  }

  private constructor(cs: CodeSystem) {
    this.url = cs.url ?? '';
    this.version = cs.version;
    this.content = cs.content;
    this.hierarchyMeaning = cs.hierarchyMeaning;
    this.name = cs.title ?? cs.name ?? cs.url ?? '';
    // R4: "If this value is missing, then it is not specified whether a code system is case
    // sensitive or not": codes are then compared exactly.
    this.caseSensitive = cs.caseSensitive !== false;
    this.declaredProperties = new Set((cs.property ?? []).map((p) => p.code));
    const edges: Array<[parent: string, child: string]> = [];
    const walk = (concepts: CodeSystemConcept[] | undefined, parent: string | undefined): void => {
      for (const c of concepts ?? []) {
        if (typeof c.code !== 'string') continue;
        let node = this.byCode.get(c.code);
        if (!node) {
          node = { code: c.code, designations: [], properties: [], parents: new Set(), children: new Set() };
          if (c.display !== undefined) node.display = c.display;
          if (c.definition !== undefined) node.definition = c.definition;
          this.byCode.set(c.code, node);
        }
        node.properties.push(...(c.property ?? []));
        node.designations.push(...(c.designation ?? []));
        if (parent !== undefined) edges.push([parent, c.code]);
        for (const p of c.property ?? []) {
          const target = p.valueCode ?? p.valueCoding?.code;
          if (target === undefined) continue;
          if (PARENT_PROPERTIES.has(p.code)) edges.push([target, c.code]);
          else if (p.code === 'child') edges.push([c.code, target]);
        }
        walk(c.concept, c.code);
      }
    };
    walk(cs.concept, undefined);
    for (const [p, c] of edges) {
      const pn = this.byCode.get(p);
      const cn = this.byCode.get(c);
      // Edges naming codes the system does not define are ignored (they cannot be answered).
      if (!pn || !cn || p === c) continue;
      pn.children.add(c);
      cn.parents.add(p);
    }
    if (!this.caseSensitive) {
      this.byLowerCode = new Map();
      for (const n of this.byCode.values()) if (!this.byLowerCode.has(n.code.toLowerCase())) this.byLowerCode.set(n.code.toLowerCase(), n);
    }
  }

  get size(): number {
    return this.byCode.size;
  }

  /** Every concept, in document order (depth first). */
  concepts(): IterableIterator<ConceptNode> {
    return this.byCode.values();
  }

  /** The concept with this code (case-insensitively when the CodeSystem says `caseSensitive: false`). */
  lookup(code: string): ConceptNode | undefined {
    return this.byCode.get(code) ?? this.byLowerCode?.get(code.toLowerCase());
  }

  /** The concept and everything below it (breadth first, cycle-safe), or undefined for an unknown code. */
  descendants(code: string, includeSelf = true): ConceptNode[] | undefined {
    return this.closure(code, includeSelf, (n) => n.children);
  }

  /** The concept and everything above it, or undefined for an unknown code. */
  ancestors(code: string, includeSelf = true): ConceptNode[] | undefined {
    return this.closure(code, includeSelf, (n) => n.parents);
  }

  private closure(code: string, includeSelf: boolean, next: (n: ConceptNode) => Set<string>): ConceptNode[] | undefined {
    const start = this.lookup(code);
    if (!start) return undefined;
    const seen = new Set<string>([start.code]);
    const out: ConceptNode[] = includeSelf ? [start] : [];
    const queue: ConceptNode[] = [start];
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i];
      if (!node) break;
      for (const c of next(node)) {
        if (seen.has(c)) continue;
        seen.add(c);
        const n = this.byCode.get(c);
        if (!n) continue;
        out.push(n);
        queue.push(n);
      }
    }
    return out;
  }
}

/** The values of a concept property as strings (code, Coding.code, string, boolean, number, dateTime). */
export function propertyValues(node: ConceptNode, property: string): string[] {
  const out: string[] = [];
  for (const p of node.properties) {
    if (p.code !== property) continue;
    const v =
      p.valueCode ??
      p.valueCoding?.code ??
      p.valueString ??
      (p.valueBoolean !== undefined ? String(p.valueBoolean) : undefined) ??
      (p.valueInteger !== undefined ? String(p.valueInteger) : undefined) ??
      (p.valueDecimal !== undefined ? String(p.valueDecimal) : undefined) ??
      p.valueDateTime;
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Whether a concept is inactive (status retired/inactive, or `inactive: true`), for `compose.inactive: false`. */
export function isInactive(node: ConceptNode): boolean {
  return (
    propertyValues(node, 'status').some((s) => s === 'retired' || s === 'inactive') || propertyValues(node, 'inactive').includes('true')
  );
}
