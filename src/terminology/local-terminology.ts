/**
 * A local terminology service (FHIR R4 §4.1 terminologies.html; ValueSet `$expand` §4.9.8 and
 * CodeSystem subsumption §4.7) over three sources of CodeSystems and ValueSets:
 * 1. resources added at run time (`addResource` / `removeResource`), e.g. from profiles/ and packages;
 * 2. an optional async loader, e.g. a search by url in the FHIR store (connected by the composition root);
 * 3. base content read lazily on first use (the R4 definitions for `defaultTerminology()`).
 * Resources are indexed by canonical url and version; without a version the newest one answers (on
 * equal versions, the first source in the order above wins).
 *
 * Expansions are cached until `addResource`, `removeResource` or `invalidate` (call it when a
 * CodeSystem/ValueSet is written to the store). Expansions larger than `maxExpansionSize` (default
 * 100 000 codes) are refused: `expand` answers undefined, as for value sets needing an external
 * terminology server. Concept indexes of CodeSystems are built on first use, once per resource.
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import { CanonicalRegistry, canonicalKey, newest, parseCanonical } from './canonical';
import { CodeSystemIndex } from './code-system-index';
import { expandValueSet, type ExpansionContext, type ExpansionProblem } from './expand';
import { r4TerminologyResources, type TerminologyResource } from './r4-content';
import type { CodeRef, TerminologyService } from './terminology';

export type { TerminologyResource } from './r4-content';

/** Finds a stored CodeSystem/ValueSet by canonical url (and version when given). */
export type TerminologyLoader = (
  resourceType: 'CodeSystem' | 'ValueSet',
  url: string,
  version?: string,
) => Promise<TerminologyResource | undefined>;

export interface LocalTerminologyOptions {
  /** Base content, read on first use (e.g. `r4TerminologyResources`). */
  base?: () => Iterable<TerminologyResource>;
  /** Resources stored in the FHIR store. Its answers are cached until `invalidate()`. */
  loader?: TerminologyLoader;
  /** Largest expansion answered (default MAX_EXPANSION_SIZE). */
  maxExpansionSize?: number;
  /** Most entries in each cache before it is emptied (default MAX_CACHE_ENTRIES). */
  maxCacheEntries?: number;
}

export const MAX_EXPANSION_SIZE = 100_000;

/**
 * Default for the most entries kept in each cache (expansions, loader answers): the urls come from
 * users' queries, so a cache is emptied when it reaches this size rather than growing without bound.
 */
export const MAX_CACHE_ENTRIES = 10_000;

/** Deepest chain of ValueSet imports followed (cycles are caught before; this bounds pathological chains). */
const MAX_IMPORT_DEPTH = 64;

interface Registries {
  codeSystems: CanonicalRegistry<CodeSystem>;
  valueSets: CanonicalRegistry<ValueSet>;
}

function registries(): Registries {
  return { codeSystems: new CanonicalRegistry<CodeSystem>(), valueSets: new CanonicalRegistry<ValueSet>() };
}

function register(regs: Registries, r: TerminologyResource): boolean {
  return r.resourceType === 'CodeSystem' ? regs.codeSystems.add(r) : regs.valueSets.add(r);
}

export class LocalTerminology implements TerminologyService {
  private readonly runtime = registries();
  private baseRegs: Registries | undefined;
  private readonly baseSource: (() => Iterable<TerminologyResource>) | undefined;
  private readonly loader: TerminologyLoader | undefined;
  private readonly maxExpansionSize: number;
  private readonly maxCacheEntries: number;
  private readonly loaded = new Map<string, Promise<TerminologyResource | undefined>>();
  private readonly expansions = new Map<string, CodeRef[] | undefined>();
  private readonly memberSets = new WeakMap<CodeRef[], Set<string>>();
  /** Bumped on every invalidation, so an expansion computed across one is not cached. */
  private generation = 0;

  constructor(options: LocalTerminologyOptions = {}) {
    this.baseSource = options.base;
    this.loader = options.loader;
    this.maxExpansionSize = options.maxExpansionSize ?? MAX_EXPANSION_SIZE;
    this.maxCacheEntries = options.maxCacheEntries ?? MAX_CACHE_ENTRIES;
  }

  /** Adds (or replaces, same url|version) a CodeSystem or ValueSet; throws for a resource without url. */
  addResource(resource: TerminologyResource): void {
    if (!register(this.runtime, resource)) throw new Error(`${resource.resourceType} without a url cannot be added to the terminology`);
    this.invalidate();
  }

  /** Removes run-time added resources with this canonical (`url` = every version, or `url|version`). */
  removeResource(canonical: string): boolean {
    const { url, version } = parseCanonical(canonical);
    const a = this.runtime.codeSystems.remove(url, version);
    const b = this.runtime.valueSets.remove(url, version);
    this.invalidate();
    return a || b;
  }

  /** Forgets cached expansions and loader answers (call after a CodeSystem/ValueSet is written to the store). */
  invalidate(): void {
    this.generation++;
    this.expansions.clear();
    this.loaded.clear();
  }

  /** The CodeSystem with this canonical (`url` or `url|version`), from any source. */
  async codeSystem(canonical: string): Promise<CodeSystem | undefined> {
    const { url, version } = parseCanonical(canonical);
    return this.resolve('CodeSystem', url, version);
  }

  /** The ValueSet with this canonical (`url` or `url|version`), from any source. */
  async valueSet(canonical: string): Promise<ValueSet | undefined> {
    const { url, version } = parseCanonical(canonical);
    return this.resolve('ValueSet', url, version);
  }

  async expand(valueSetUrl: string): Promise<CodeRef[] | undefined> {
    return this.expandWithin(valueSetUrl, []);
  }

  /**
   * The codes of a value set (a canonical, or a ValueSet resource given inline), or why they cannot be
   * computed locally (the `$expand` and `$validate-code` operations answer with the reason).
   */
  async expandExplained(valueSet: string | ValueSet): Promise<{ codes: CodeRef[] } | { problem: ExpansionProblem }> {
    let problem: ExpansionProblem | undefined;
    const report = (p: ExpansionProblem): void => {
      problem ??= p;
    };
    let codes: CodeRef[] | undefined;
    if (typeof valueSet === 'string') {
      if (!(await this.valueSet(valueSet))) return { problem: { kind: 'unknown-value-set', about: valueSet, detail: `the value set ${valueSet} is not known to this server` } };
      codes = await this.expandWithin(valueSet, [], report);
    } else {
      codes = await expandValueSet(valueSet, this.expansionContext(valueSet.url ? [canonicalKey(valueSet.url, valueSet.version)] : [], report));
    }
    if (codes) return { codes };
    return { problem: problem ?? { kind: 'cycle', about: typeof valueSet === 'string' ? valueSet : (valueSet.url ?? 'the value set'), detail: 'its imports form a cycle (or a chain deeper than 64)' } };
  }

  /** The concept index of a CodeSystem (any content; callers check `content`), or undefined when not known locally. */
  async codeSystemIndex(canonical: string): Promise<CodeSystemIndex | undefined> {
    const cs = await this.codeSystem(canonical);
    return cs && CodeSystemIndex.of(cs);
  }

  /**
   * Whether a code is in a value set: undefined when the value set cannot be expanded locally
   * (for binding validation: "not checked" rather than invalid).
   */
  async validateCode(valueSetUrl: string, system: string, code: string): Promise<boolean | undefined> {
    const codes = await this.expand(valueSetUrl);
    if (!codes) return undefined;
    let set = this.memberSets.get(codes);
    if (!set) {
      set = new Set(codes.map((c) => `${c.system}\u0000${c.code}`));
      this.memberSets.set(codes, set);
    }
    return set.has(`${system}\u0000${code}`);
  }

  async hierarchy(system: string, code: string, direction: 'below' | 'above'): Promise<CodeRef[] | undefined> {
    const idx = await this.knownIndex(system);
    if (!idx) return undefined;
    const nodes = direction === 'below' ? idx.descendants(code) : idx.ancestors(code);
    const url = parseCanonical(system).url;
    return nodes?.map((n) => (n.display === undefined ? { system: url, code: n.code } : { system: url, code: n.code, display: n.display }));
  }

  /**
   * Whether a CodeSystem with `content` complete or fragment is known locally. A fragment is
   * reported as known although it lists only some of its codes: a code missing from it may still
   * be valid, so callers validating codes must check `content` (see `codeSystem`) before calling a
   * code invalid; `expand` never enumerates a fragment.
   */
  async knowsSystem(system: string): Promise<boolean> {
    return (await this.knownIndex(system)) !== undefined;
  }

  private async knownIndex(system: string): Promise<CodeSystemIndex | undefined> {
    const cs = await this.codeSystem(system);
    if (!cs || (cs.content !== 'complete' && cs.content !== 'fragment')) return undefined;
    return CodeSystemIndex.of(cs);
  }

  /** `report`: told why the expansion is undefined (a cached undefined is then computed again to find out). */
  private async expandWithin(canonical: string, stack: readonly string[], report?: (p: ExpansionProblem) => void): Promise<CodeRef[] | undefined> {
    if (this.expansions.has(canonical)) {
      const cached = this.expansions.get(canonical);
      if (cached !== undefined || !report) return cached;
    }
    const generation = this.generation;
    const vs = await this.valueSet(canonical);
    let codes: CodeRef[] | undefined;
    if (vs) {
      const self = canonicalKey(vs.url ?? canonical, vs.version);
      // An import cycle (or a pathological chain) cannot be expanded. Every value set on a cycle
      // gives undefined whichever one is asked first, so caching the answer is safe.
      if (stack.includes(self) || stack.length >= MAX_IMPORT_DEPTH) {
        report?.({ kind: 'cycle', about: self, detail: `the value set ${self} imports itself (or the chain of imports is deeper than ${MAX_IMPORT_DEPTH})` });
        return undefined;
      }
      codes = await expandValueSet(vs, this.expansionContext([...stack, self], report));
    } else report?.({ kind: 'unknown-value-set', about: canonical, detail: `the value set ${canonical} is not known to this server` });
    if (generation === this.generation) this.remember(this.expansions, canonical, codes);
    return codes;
  }

  private expansionContext(inner: readonly string[], report?: (p: ExpansionProblem) => void): ExpansionContext {
    return {
      codeSystem: async (url, version) => {
        const cs = await this.resolve('CodeSystem', url, version);
        return cs && CodeSystemIndex.of(cs);
      },
      importValueSet: (ref) => this.expandWithin(ref, inner, report),
      maxCodes: this.maxExpansionSize,
      ...(report ? { report } : {}),
    };
  }

  private resolve(type: 'CodeSystem', url: string, version?: string): Promise<CodeSystem | undefined>;
  private resolve(type: 'ValueSet', url: string, version?: string): Promise<ValueSet | undefined>;
  private async resolve(type: 'CodeSystem' | 'ValueSet', url: string, version?: string): Promise<TerminologyResource | undefined> {
    const pick = (regs: Registries): TerminologyResource | undefined =>
      type === 'CodeSystem' ? regs.codeSystems.get(url, version) : regs.valueSets.get(url, version);
    const candidates: TerminologyResource[] = [];
    const runtime = pick(this.runtime);
    if (runtime) candidates.push(runtime);
    const stored = await this.load(type, url, version);
    if (stored) candidates.push(stored);
    const base = pick(this.base());
    if (base) candidates.push(base);
    return version === undefined ? newest(candidates) : candidates[0];
  }

  private remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (map.size >= this.maxCacheEntries) map.clear();
    map.set(key, value);
  }

  private base(): Registries {
    if (!this.baseRegs) {
      const regs = registries();
      for (const r of this.baseSource?.() ?? []) register(regs, r);
      this.baseRegs = regs;
    }
    return this.baseRegs;
  }

  private load(type: 'CodeSystem' | 'ValueSet', url: string, version?: string): Promise<TerminologyResource | undefined> {
    const loader = this.loader;
    if (!loader) return Promise.resolve(undefined);
    const key = `${type} ${canonicalKey(url, version)}`;
    let p = this.loaded.get(key);
    if (!p) {
      p = loader(type, url, version).then((r) =>
        // Only a resource of the kind, url (and version) asked for is believed.
        r && r.resourceType === type && r.url === url && (version === undefined || r.version === version) ? r : undefined,
      );
      // A failing loader is not cached: the next call asks again (the error reaches the caller).
      p.catch(() => {
        if (this.loaded.get(key) === p) this.loaded.delete(key);
      });
      this.remember(this.loaded, key, p);
    }
    return p;
  }
}

let defaultInstance: LocalTerminology | undefined;

/**
 * A shared service over the R4 CodeSystems and ValueSets only (read on first use). For read-only use
 * (tests, tools); the server builds its own `LocalTerminology` with a store loader.
 */
export function defaultTerminology(): LocalTerminology {
  defaultInstance ??= new LocalTerminology({ base: r4TerminologyResources });
  return defaultInstance;
}
