/**
 * Canonical references and versions of conformance resources (FHIR R4 §2.16 references.html
 * "Canonical URLs": `url|version`), and a registry of CodeSystems / ValueSets indexed by canonical
 * url and version (the newest version answers when none is asked for).
 */

export interface Canonical {
  url: string;
  version?: string;
}

/** Splits `url|version` (the version part is optional). */
export function parseCanonical(ref: string): Canonical {
  const bar = ref.indexOf('|');
  if (bar < 0) return { url: ref };
  const version = ref.slice(bar + 1);
  return version === '' ? { url: ref.slice(0, bar) } : { url: ref.slice(0, bar), version };
}

export function canonicalKey(url: string, version?: string): string {
  return version === undefined ? url : `${url}|${version}`;
}

/**
 * Orders version strings: dotted/dashed numeric parts compare numerically (`1.10.0` > `1.9`,
 * `2019-11-01` > `2019-02-28`), other parts as strings; a missing version is the oldest.
 * FHIR leaves version ordering to the code system (ValueSet/CodeSystem.versionAlgorithm arrives
 * only in R5): this is the usual semver-like heuristic.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  const pa = a.split(/[.\-+]/);
  const pb = b.split(/[.\-+]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx < ny ? -1 : 1;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

interface Versioned {
  url?: string;
  version?: string;
}

/** Resources of one kind by canonical url, every version kept. */
export class CanonicalRegistry<T extends Versioned> {
  private readonly byUrl = new Map<string, T[]>();

  /** Adds (or replaces the same url|version). Resources without a url are ignored; returns whether added. */
  add(resource: T): boolean {
    if (!resource.url) return false;
    const list = (this.byUrl.get(resource.url) ?? []).filter((r) => r.version !== resource.version);
    list.push(resource);
    this.byUrl.set(resource.url, list);
    return true;
  }

  /** Removes every version of a url, or one version when given; returns whether anything was removed. */
  remove(url: string, version?: string): boolean {
    const list = this.byUrl.get(url);
    if (!list) return false;
    if (version === undefined) return this.byUrl.delete(url);
    const rest = list.filter((r) => r.version !== version);
    if (rest.length === list.length) return false;
    if (rest.length === 0) this.byUrl.delete(url);
    else this.byUrl.set(url, rest);
    return true;
  }

  /** The exact version when asked for, else the newest version. */
  get(url: string, version?: string): T | undefined {
    const list = this.byUrl.get(url);
    if (!list) return undefined;
    if (version !== undefined) return list.find((r) => r.version === version);
    return newest(list);
  }

  get size(): number {
    return this.byUrl.size;
  }
}

/** The newest of a list by `compareVersions`; on a tie, the first one (callers list by priority). */
export function newest<T extends Versioned>(list: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const r of list) if (best === undefined || compareVersions(r.version, best.version) > 0) best = r;
  return best;
}
