/**
 * The document model (FHIR R4 §3.1.0 http.html "vread"/"history"): mapping of versions to and from
 * `resources` / `versions` documents, and exact round trips of `$`-prefixed and dotted keys through
 * the store (user data is a JSON string, never field names MongoDB would interpret).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Resource } from 'fhir/r4';
import type { StoredVersion } from '../store';
import { toResourceDoc, toStoredVersion, toVersionDoc } from './documents';
import { MongoStore } from './mongo-store';
import { MingoClient } from './testing/mingo-db';

const v1: StoredVersion = { resourceType: 'Patient', id: 'a', versionId: 1, lastUpdated: '2024-01-02T03:04:05.006Z', deleted: false, json: '{"resourceType":"Patient","id":"a"}', method: 'POST' };
const gone: StoredVersion = { resourceType: 'Patient', id: 'a', versionId: 2, lastUpdated: '2024-01-02T03:04:05.007Z', deleted: true, json: undefined, method: 'DELETE' };

describe('mongo store: document mapping', () => {
  it('maps a version to the agreed fields and back', () => {
    const r = toResourceDoc(v1, { xt: [{ p: 'gender' }] });
    assert.deepEqual(r, { _id: 'Patient/a', t: 'Patient', i: 'a', v: 1, u: Date.parse(v1.lastUpdated), lu: v1.lastUpdated, d: false, m: 'POST', j: v1.json, xt: [{ p: 'gender' }] });
    const h = toVersionDoc(v1);
    assert.deepEqual(h, { _id: 'Patient/a/1', t: 'Patient', i: 'a', v: 1, u: Date.parse(v1.lastUpdated), lu: v1.lastUpdated, d: false, m: 'POST', j: v1.json });
    assert.deepEqual(toStoredVersion(r), v1);
    assert.deepEqual(toStoredVersion(h), v1);
  });

  it('stores a delete as a tombstone without JSON and without index entries', () => {
    const r = toResourceDoc(gone, { xt: [{ p: 'gender' }] });
    assert.equal('j' in r, false);
    assert.equal('xt' in r, false);
    assert.deepEqual(toStoredVersion(r), gone);
  });

  it('index arrays cannot overwrite the version fields', () => {
    const r = toResourceDoc(v1, { _id: [], t: [], xs: [{ p: 'name' }] });
    assert.equal(r._id, 'Patient/a');
    assert.equal(r.t, 'Patient');
    assert.deepEqual(r.xs, [{ p: 'name' }]);
  });

  it('refuses malformed documents instead of inventing values', () => {
    assert.throws(() => toStoredVersion({ _id: 'x', t: 'Patient', i: 'a', v: '1', lu: 'x', d: false, m: 'POST', j: '{}' }), /malformed/);
    assert.throws(() => toStoredVersion({ _id: 'x', t: 'Patient', i: 'a', v: 1, lu: 'x', d: false, m: 'GET', j: '{}' }), /malformed/);
    assert.throws(() => toStoredVersion({ _id: 'x', t: 'Patient', i: 'a', v: 1, lu: 'x', d: false, m: 'PUT' }), /no JSON/);
  });

  it('round-trips $-prefixed, dotted and operator-like keys and values exactly through the store', async () => {
    const store = await MongoStore.open({ client: new MingoClient(), dbName: 'fhir' });
    try {
      const resource = {
        resourceType: 'Basic',
        id: 'k',
        $where: 'sleep(1000)',
        'a.b': { $gt: '', '$set': { 'x.y': 1 } },
        extension: [{ url: 'http://e/$inc', valueString: '{"$ne": null}' }],
        __proto__x: 1,
      } as unknown as Resource & { id: string };
      const w = await store.write({ kind: 'create', resourceType: 'Basic', id: 'k', resource, expectedVersion: 0 });
      const read = await store.read('Basic', 'k');
      assert.equal(read?.json, w?.version.json);
      const parsed = JSON.parse(read!.json!) as Record<string, unknown>;
      delete parsed.meta;
      assert.equal(JSON.stringify(parsed), JSON.stringify(resource));
    } finally {
      await store.close();
    }
  });

  it('property: any JSON object under a resource round-trips byte for byte (apart from meta)', async () => {
    const store = await MongoStore.open({ client: new MingoClient(), dbName: 'fhir' });
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }), async (extra) => {
          const id = `r${++n}`;
          const resource = { resourceType: 'Basic', id, ...extra, resourceTypeCheck: true } as unknown as Resource & { id: string };
          delete (resource as unknown as Record<string, unknown>).meta;
          (resource as unknown as Record<string, unknown>).resourceType = 'Basic';
          (resource as unknown as Record<string, unknown>).id = id;
          const expected = JSON.parse(JSON.stringify(resource)) as Record<string, unknown>;
          await store.write({ kind: 'create', resourceType: 'Basic', id, resource, expectedVersion: 0 });
          const back = JSON.parse((await store.read('Basic', id))!.json!) as Record<string, unknown>;
          delete back.meta;
          assert.equal(JSON.stringify(back), JSON.stringify(expected));
        }),
        { numRuns: 60 },
      );
    } finally {
      await store.close();
    }
  });
});
