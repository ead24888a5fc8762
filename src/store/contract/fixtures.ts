/**
 * Helpers of the store contract suite (FHIR R4 §3.1.0 http.html, §3.1.1 search.html): building
 * queries and writing resources with hand-written index entries, independent of any store.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import { FhirError, type ErrorCategory } from '../../fhir/outcome';
import type { IndexEntry } from '../../search/index-entry';
import type { SearchExpr, SearchQuery, SortKey } from '../../search/ir';
import type { Store, StoreSession, StoredVersion } from '../store';

/** A search query with defaults (count 100, offset 0, no sort, total none). */
export function query(resourceTypes: string[], where?: SearchExpr, extra: Partial<Omit<SearchQuery, 'resourceTypes' | 'where'>> = {}): SearchQuery {
  return { resourceTypes, ...(where ? { where } : {}), sort: [], count: 100, offset: 0, total: 'none', ...extra };
}

export const asc = (param: string, kind: SortKey['kind']): SortKey => ({ param, kind, descending: false });
export const desc = (param: string, kind: SortKey['kind']): SortKey => ({ param, kind, descending: true });

/** Ids of a search's page, sorted (for set comparisons). */
export async function idSet(s: StoreSession, q: SearchQuery): Promise<string[]> {
  const page = await s.search(q);
  return page.entries.map((e) => e.id).sort();
}

/** Ids of a search's page in result order. */
export async function idList(s: StoreSession, q: SearchQuery): Promise<string[]> {
  const page = await s.search(q);
  return page.entries.map((e) => e.id);
}

export async function put<R extends Resource>(s: StoreSession, resource: R & { id: string }, index: IndexEntry[] = []): Promise<StoredVersion> {
  const r = await s.write({ kind: 'update', resourceType: resource.resourceType, id: resource.id, resource, index });
  assert.ok(r, `write of ${resource.resourceType}/${resource.id} returned a result`);
  return r.version;
}

export async function create<R extends Resource>(s: StoreSession, resource: R & { id: string }, index: IndexEntry[] = []): Promise<StoredVersion> {
  const r = await s.write({ kind: 'create', resourceType: resource.resourceType, id: resource.id, resource, index, expectedVersion: 0 });
  assert.ok(r, `create of ${resource.resourceType}/${resource.id} returned a result`);
  return r.version;
}

export async function remove(s: StoreSession, resourceType: string, id: string): Promise<StoredVersion | undefined> {
  return (await s.write({ kind: 'delete', resourceType, id }))?.version;
}

/** Asserts that `p` rejects with a FhirError of `category` whose diagnostics match `text`. */
export async function rejectsWith(p: Promise<unknown>, category: ErrorCategory, text?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FhirError, `expected a FhirError, got ${String(e)}`);
    assert.equal(e.category, category);
    if (text) assert.match(e.message, text);
    return true;
  });
}

export const ISO_INSTANT_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const ms = (iso: string): number => Date.parse(iso);

/** A date entry spanning [from, to] inclusive, given as ISO instants (to: its last millisecond). */
export function dateEntry(param: string, from: string, toExclusive: string): IndexEntry {
  return { kind: 'date', param, low: ms(from), high: ms(toExclusive) - 1 };
}

/** A resource literal of any type (the contract does not care about its content). */
export const res = (r: { resourceType: string; id: string } & Record<string, unknown>): Resource & { id: string } => r as unknown as Resource & { id: string };

export type OpenStore = () => Promise<Store>;
