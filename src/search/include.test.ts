/**
 * `_include` / `_revinclude` resolution (FHIR R4 search.html#include) over a real store: no duplicates,
 * `:iterate` rounds, and the cap on included resources.
 */
import assert from 'node:assert/strict';
import type { FhirResource, Resource } from 'fhir/r4';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store';
import type { StoredVersion } from '../store/store';
import { extractIndex } from './extract';
import type { ReferenceEntry } from './index-entry';
import { resolveIncludes, type IncludeDeps } from './include';
import { defaultSearchParameters } from './parameters';

describe('search/include', () => {
  let store: SqliteStore;
  let deps: IncludeDeps;
  const put = async (r: FhirResource & { id: string }): Promise<StoredVersion> =>
    (await store.write({ kind: 'update', resourceType: r.resourceType, id: r.id, resource: r, index: extractIndex(r) }))!.version;

  before(async () => {
    store = openSqliteStore(':memory:');
    deps = {
      session: store,
      references: (v) => extractIndex(JSON.parse(v.json!) as Resource).filter((e): e is ReferenceEntry => e.kind === 'reference'),
      referenceParams: (t) => defaultSearchParameters().forType(t).filter((d) => d.type === 'reference').map((d) => d.code),
    };
    for (let i = 0; i < 5; i++) await put({ resourceType: 'Patient', id: `p${i}` });
    for (let i = 0; i < 5; i++) {
      await put({ resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/p${i}` }, hasMember: i > 0 ? [{ reference: `Observation/o${i - 1}` }] : [] });
    }
  });
  after(() => store.close());

  const keys = (vs: readonly StoredVersion[]): string[] => vs.map((v) => `${v.resourceType}/${v.id}`).sort();

  it('includes each target once and never a match', async () => {
    const matches = [(await store.read('Observation', 'o1'))!, (await store.read('Observation', 'o2'))!];
    const r = await resolveIncludes(matches, { include: [{ sourceType: 'Observation', param: '*', iterate: false }], revinclude: [] }, deps);
    assert.deepEqual(keys(r.included), ['Observation/o0', 'Patient/p1', 'Patient/p2']);
    assert.equal(r.truncated, false);
  });

  it(':iterate follows chains round after round', async () => {
    const matches = [(await store.read('Observation', 'o4'))!];
    const r = await resolveIncludes(matches, { include: [{ sourceType: 'Observation', param: 'has-member', iterate: true }], revinclude: [] }, deps);
    assert.deepEqual(keys(r.included), ['Observation/o0', 'Observation/o1', 'Observation/o2', 'Observation/o3']);
  });

  it('stops at the cap and reports truncation', async () => {
    const matches = [(await store.read('Observation', 'o4'))!];
    const r = await resolveIncludes(matches, { include: [{ sourceType: 'Observation', param: 'has-member', iterate: true }], revinclude: [] }, deps, 2);
    assert.equal(r.included.length, 2);
    assert.equal(r.truncated, true);
    const pats = await store.search({ resourceTypes: ['Patient'], sort: [], count: 10, offset: 0, total: 'none' });
    const rev = await resolveIncludes(pats.entries, { include: [], revinclude: [{ sourceType: 'Observation', param: 'subject', iterate: false }] }, deps, 3);
    assert.equal(rev.included.length, 3);
    assert.equal(rev.truncated, true);
  });
});
