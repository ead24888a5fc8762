/**
 * `_include` and `_revinclude` (FHIR R4 §3.1.1.5.4 search.html#include "Including other resources in
 * search results"), with `:iterate` (R4's name; `:recurse` is accepted as its R3 alias), `*`
 * (every reference parameter) and a target type restriction (`_include=MedicationRequest:subject:Patient`).
 *
 * Everything goes through ordinary store searches: an `id` predicate per target type fetches included
 * resources, an OR of `reference` predicates fetches revincluded ones. Each resource appears once
 * (matches are never repeated as includes). Only literal local references (`Type/id`, relative or
 * absolute on this server, as indexed) are followed; a versioned reference includes the current
 * version. Round 0 applies every parameter to the page's matches; each further round applies the
 * `:iterate` ones to the resources the previous round added, up to MAX_INCLUDE_ROUNDS rounds. At most
 * `max` (MAX_INCLUDED by default) resources are included per page: beyond that the result is
 * `truncated`, which the search interaction reports in an OperationOutcome entry.
 */
import { FhirError } from '../fhir/outcome';
import type { ReferenceEntry } from './index-entry';
import { and, or, type SearchExpr } from './ir';
import type { IncludeParameter } from './parse';
import type { StoreSession, StoredVersion } from '../store/store';

/** Most resources included (both kinds together) on one page. */
export const MAX_INCLUDED = 1000;
/** Most rounds of `:iterate`. */
export const MAX_INCLUDE_ROUNDS = 8;
/** Ids / targets per store query. */
const CHUNK = 100;

export interface IncludeDeps {
  session: StoreSession;
  /** The reference index entries of a stored resource (evaluated with the write-time indexer). */
  references(v: StoredVersion): ReferenceEntry[];
  /** The reference search parameter codes of a type (for `Type:*`). */
  referenceParams(type: string): string[];
  /**
   * The caller's access restriction of a type (src/fhir/context.ts AccessRestriction): included
   * resources must match it too, inside the store query. Absent: unrestricted.
   */
  restrict?(type: string): 'all' | 'none' | SearchExpr;
}

/** `where` limited by the caller's restriction of `type`; undefined when nothing of the type may be seen. */
function restricted(deps: IncludeDeps, type: string, where: SearchExpr): SearchExpr | undefined {
  const r = deps.restrict ? deps.restrict(type) : 'all';
  if (r === 'none') return undefined;
  return r === 'all' ? where : and(r, where);
}

export interface IncludeResult {
  included: StoredVersion[];
  /** True when more resources qualified than the cap allowed. */
  truncated: boolean;
}

const keyOf = (v: { resourceType: string; id: string }): string => `${v.resourceType}/${v.id}`;

class Collector {
  readonly included: StoredVersion[] = [];
  truncated = false;
  private readonly seen = new Set<string>();
  constructor(
    matches: readonly StoredVersion[],
    private readonly max: number,
  ) {
    for (const m of matches) this.seen.add(keyOf(m));
  }
  has(key: string): boolean {
    return this.seen.has(key);
  }
  get room(): number {
    return this.max - this.included.length;
  }
  /** Adds a resource unless already present; returns true when it was new. */
  add(v: StoredVersion): boolean {
    const k = keyOf(v);
    if (this.seen.has(k)) return false;
    if (this.room <= 0) {
      this.truncated = true;
      return false;
    }
    this.seen.add(k);
    this.included.push(v);
    return true;
  }
}

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

async function forward(from: readonly StoredVersion[], inc: IncludeParameter, deps: IncludeDeps, c: Collector): Promise<StoredVersion[]> {
  const wanted = new Map<string, Set<string>>();
  for (const v of from) {
    if (inc.sourceType !== '*' && v.resourceType !== inc.sourceType) continue;
    for (const e of deps.references(v)) {
      if (inc.param !== '*' && e.param !== inc.param) continue;
      if (e.targetType === null || e.targetId === null) continue;
      if (inc.targetType !== undefined && e.targetType !== inc.targetType) continue;
      if (c.has(`${e.targetType}/${e.targetId}`)) continue;
      let ids = wanted.get(e.targetType);
      if (!ids) wanted.set(e.targetType, (ids = new Set()));
      ids.add(e.targetId);
    }
  }
  const added: StoredVersion[] = [];
  for (const [type, ids] of wanted) {
    for (const part of chunks([...ids], CHUNK)) {
      if (c.room <= 0) {
        c.truncated = true;
        return added;
      }
      const where = restricted(deps, type, { op: 'id', ids: part });
      if (!where) break;
      const page = await deps.session.search({ resourceTypes: [type], where, sort: [], count: part.length, offset: 0, total: 'none' });
      for (const v of page.entries) if (c.add(v)) added.push(v);
    }
  }
  return added;
}

async function reverse(to: readonly StoredVersion[], inc: IncludeParameter, deps: IncludeDeps, c: Collector): Promise<StoredVersion[]> {
  if (inc.sourceType === '*') {
    throw new FhirError('unsupported', { diagnostics: '_revinclude=* is not supported: name the referring type, e.g. _revinclude=Provenance:target or Provenance:*', expression: ['_revinclude'] });
  }
  const params = inc.param === '*' ? deps.referenceParams(inc.sourceType) : [inc.param];
  const targets = to.filter((v) => inc.targetType === undefined || v.resourceType === inc.targetType);
  const added: StoredVersion[] = [];
  if (params.length === 0 || targets.length === 0) return added;
  const perQuery = Math.max(1, Math.floor(CHUNK / params.length));
  for (const part of chunks(targets, perQuery)) {
    if (c.room <= 0) {
      c.truncated = true;
      return added;
    }
    const where = restricted(deps, inc.sourceType, or(...part.flatMap((t) => params.map((param): SearchExpr => ({ op: 'reference', param, targetTypes: [t.resourceType], id: t.id })))));
    if (!where) break;
    // One more than there is room for, to know whether the cap cut the result.
    const page = await deps.session.search({ resourceTypes: [inc.sourceType], where, sort: [], count: c.room + 1, offset: 0, total: 'none' });
    for (const v of page.entries) if (c.add(v)) added.push(v);
  }
  return added;
}

/** The resources `_include` / `_revinclude` add to a page of `matches`, without duplicates. */
export async function resolveIncludes(
  matches: readonly StoredVersion[],
  params: { include: readonly IncludeParameter[]; revinclude: readonly IncludeParameter[] },
  deps: IncludeDeps,
  max: number = MAX_INCLUDED,
): Promise<IncludeResult> {
  const c = new Collector(matches, max);
  let frontier: readonly StoredVersion[] = matches;
  for (let round = 0; round < MAX_INCLUDE_ROUNDS && frontier.length > 0 && !c.truncated; round++) {
    const inc = round === 0 ? params.include : params.include.filter((i) => i.iterate);
    const rev = round === 0 ? params.revinclude : params.revinclude.filter((i) => i.iterate);
    if (inc.length === 0 && rev.length === 0) break;
    const added: StoredVersion[] = [];
    for (const p of inc) added.push(...(await forward(frontier, p, deps, c)));
    for (const p of rev) added.push(...(await reverse(frontier, p, deps, c)));
    frontier = added;
  }
  return { included: c.included, truncated: c.truncated };
}
