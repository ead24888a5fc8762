/**
 * Store contract: create, read, vread, update, delete and version numbering (FHIR R4 §3.1.0
 * http.html "read", "vread", "update", "delete", "Managing Resource Contention"; Resource.meta).
 */
import assert from 'node:assert/strict';
import type { Patient, Resource } from 'fhir/r4';
import type { Store } from '../store';
import { create, ISO_INSTANT_MS, put, query, rejectsWith, remove, type OpenStore } from './fixtures';

export function crudContract(open: OpenStore): void {
  describe('create, read, vread, update, delete', () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('creates version 1 and writes meta.versionId and meta.lastUpdated into the JSON', async () => {
      const r = await store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a', active: true } as Patient });
      assert.ok(r);
      assert.equal(r.created, true);
      assert.equal(r.version.versionId, 1);
      assert.equal(r.version.deleted, false);
      assert.equal(r.version.method, 'POST');
      assert.match(r.version.lastUpdated, ISO_INSTANT_MS);
      const json = JSON.parse(r.version.json!) as Patient;
      assert.equal(json.id, 'a');
      assert.deepEqual(json.meta, { versionId: '1', lastUpdated: r.version.lastUpdated });
      assert.equal(json.active, true);
    });

    it('reads back the exact bytes it acknowledged, and undefined for an unknown id', async () => {
      const v = await create(store, { resourceType: 'Patient', id: 'a', gender: 'male' });
      const read = await store.read('Patient', 'a');
      assert.deepEqual(read, v);
      assert.equal(await store.read('Patient', 'nope'), undefined);
      assert.equal(await store.read('Observation', 'a'), undefined);
    });

    it('numbers versions 1, 2, 3 and keeps every version for vread', async () => {
      const v1 = await create(store, { resourceType: 'Patient', id: 'a', gender: 'male' });
      const r2 = await store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a', gender: 'female' } as Patient });
      assert.ok(r2);
      assert.equal(r2.created, false);
      assert.equal(r2.version.versionId, 2);
      assert.equal(r2.version.method, 'PUT');
      const v3 = await put(store, { resourceType: 'Patient', id: 'a', gender: 'other' });
      assert.equal(v3.versionId, 3);
      assert.equal(JSON.parse(v3.json!).meta.versionId, '3');
      assert.deepEqual(await store.vread('Patient', 'a', 1), v1);
      assert.deepEqual(await store.vread('Patient', 'a', 2), r2.version);
      assert.deepEqual(await store.read('Patient', 'a'), v3);
      assert.equal(await store.vread('Patient', 'a', 4), undefined);
      assert.equal(await store.vread('Patient', 'b', 1), undefined);
    });

    it('treats an update of an unknown id as a create (version 1, created)', async () => {
      const r = await store.write({ kind: 'update', resourceType: 'Patient', id: 'new', resource: { resourceType: 'Patient', id: 'new' } });
      assert.ok(r);
      assert.equal(r.created, true);
      assert.equal(r.version.versionId, 1);
    });

    it('records the method given by the caller', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' });
      const r = await store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, method: 'PATCH' });
      assert.equal(r?.version.method, 'PATCH');
      assert.equal((await store.read('Patient', 'a'))?.method, 'PATCH');
    });

    it('round-trips the JSON exactly apart from meta (unicode, escapes, numbers, key order)', async () => {
      const resource = {
        resourceType: 'Patient',
        id: 'u',
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Zoë 😀 \u4e2d\u6587 \u05e9\u05dc\u05d5\u05dd e\u0301 "q" \\ \n\t \u2028</div>' },
        name: [{ family: 'Ó Briain', given: ['Siân', 'D\u00e9sir\u00e9e'] }],
        extension: [
          { url: 'http://example.org/big', valueDecimal: 12345678901234567890 },
          { url: 'http://example.org/small', valueDecimal: 0.000001 },
          { url: 'http://example.org/exp', valueDecimal: 1e21 },
          { url: 'http://example.org/neg', valueInteger: -2147483648 },
          { url: 'http://example.org/frac', valueDecimal: 0.1 },
        ],
        zzz: null,
        active: false,
      } as unknown as Resource & { id: string };
      const v = await create(store, resource);
      for (const stored of [v.json!, (await store.read('Patient', 'u'))!.json!]) {
        assert.ok(stored.includes('😀') && stored.includes('Siân'), 'non-ASCII text is stored as UTF-8 text, not re-escaped');
        const parsed = JSON.parse(stored) as Record<string, unknown>;
        delete parsed.meta;
        assert.equal(JSON.stringify(parsed), JSON.stringify(resource));
      }
    });

    it('keeps the other meta elements and replaces versionId and lastUpdated sent by the client', async () => {
      const v = await create(store, {
        resourceType: 'Patient',
        id: 'm',
        meta: { versionId: '99', lastUpdated: '2001-01-01T00:00:00Z', profile: ['http://example.org/p'], tag: [{ system: 'urn:t', code: 'x' }] },
      });
      const meta = JSON.parse(v.json!).meta;
      assert.equal(meta.versionId, '1');
      assert.equal(meta.lastUpdated, v.lastUpdated);
      assert.deepEqual(meta.profile, ['http://example.org/p']);
      assert.deepEqual(meta.tag, [{ system: 'urn:t', code: 'x' }]);
    });

    it('assigns strictly increasing lastUpdated instants', async () => {
      const seen: number[] = [];
      for (let i = 0; i < 30; i++) seen.push(Date.parse((await put(store, { resourceType: 'Patient', id: `p${i % 3}` })).lastUpdated));
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `write ${i} is later than write ${i - 1}`);
    });

    it('rejects a version mismatch with a precondition error naming both versions', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' });
      await put(store, { resourceType: 'Patient', id: 'a' });
      await rejectsWith(store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, expectedVersion: 1 }), 'precondition', /1[\s\S]*2/);
      await rejectsWith(store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, expectedVersion: 0 }), 'precondition');
      await rejectsWith(store.write({ kind: 'delete', resourceType: 'Patient', id: 'a', expectedVersion: 3 }), 'precondition');
      await rejectsWith(store.write({ kind: 'update', resourceType: 'Patient', id: 'b', resource: { resourceType: 'Patient', id: 'b' }, expectedVersion: 1 }), 'precondition');
      assert.equal((await store.read('Patient', 'a'))?.versionId, 2, 'a rejected write changes nothing');
      const ok = await store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, expectedVersion: 2 });
      assert.equal(ok?.version.versionId, 3);
    });

    it('accepts expectedVersion 0 for an absent or deleted resource', async () => {
      assert.equal((await create(store, { resourceType: 'Patient', id: 'a' })).versionId, 1);
      await remove(store, 'Patient', 'a');
      const again = await store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, expectedVersion: 0 });
      assert.equal(again?.created, true);
      assert.equal(again?.version.versionId, 3);
    });

    it('refuses to create over a live resource', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' });
      await assert.rejects(store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' } }));
      assert.equal((await store.read('Patient', 'a'))?.versionId, 1);
    });

    it('refuses a resource whose type differs from the one written', async () => {
      await rejectsWith(store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Observation', id: 'a' } as Resource }), 'invalid');
    });

    it('deletes by writing a tombstone version that read returns and history keeps', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' }, [{ kind: 'token', param: 'gender', system: null, code: 'male' }]);
      const d = await remove(store, 'Patient', 'a');
      assert.ok(d);
      assert.equal(d.versionId, 2);
      assert.equal(d.deleted, true);
      assert.equal(d.json, undefined);
      assert.equal(d.method, 'DELETE');
      assert.match(d.lastUpdated, ISO_INSTANT_MS);
      assert.deepEqual(await store.read('Patient', 'a'), d);
      assert.deepEqual(await store.vread('Patient', 'a', 2), d);
      assert.equal((await store.vread('Patient', 'a', 1))?.deleted, false);
      const h = await store.history({ resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
      assert.deepEqual(h.entries.map((e) => [e.versionId, e.deleted]), [[2, true], [1, false]]);
      const found = await store.search(query(['Patient'], { op: 'token', param: 'gender', code: 'male' }, { total: 'accurate' }));
      assert.equal(found.entries.length, 0, 'a deleted resource is not found by search');
      assert.equal(found.total, 0);
    });

    it('answers undefined when deleting an absent or already deleted resource', async () => {
      assert.equal(await store.write({ kind: 'delete', resourceType: 'Patient', id: 'none' }), undefined);
      await create(store, { resourceType: 'Patient', id: 'a' });
      await remove(store, 'Patient', 'a');
      assert.equal(await store.write({ kind: 'delete', resourceType: 'Patient', id: 'a' }), undefined);
      assert.equal((await store.read('Patient', 'a'))?.versionId, 2, 'a second delete adds no version');
    });

    it('resurrects a deleted resource with the next version number', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' });
      await remove(store, 'Patient', 'a');
      const r = await store.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, index: [{ kind: 'token', param: 'gender', system: null, code: 'female' }] });
      assert.ok(r);
      assert.equal(r.created, true);
      assert.equal(r.version.versionId, 3);
      assert.equal(JSON.parse(r.version.json!).meta.versionId, '3');
      assert.deepEqual(await idsOf(store, 'female'), ['a']);
    });

    it('replaces index entries on update', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' }, [{ kind: 'token', param: 'gender', system: null, code: 'male' }]);
      await put(store, { resourceType: 'Patient', id: 'a' }, [{ kind: 'token', param: 'gender', system: null, code: 'female' }]);
      assert.deepEqual(await idsOf(store, 'male'), []);
      assert.deepEqual(await idsOf(store, 'female'), ['a']);
    });

    it('keeps resources of different types with the same id apart', async () => {
      await create(store, { resourceType: 'Patient', id: 'x' });
      await create(store, { resourceType: 'Observation', id: 'x' } as Resource & { id: string });
      await remove(store, 'Patient', 'x');
      assert.equal((await store.read('Observation', 'x'))?.deleted, false);
      assert.equal((await store.read('Patient', 'x'))?.deleted, true);
    });
  });
}

async function idsOf(store: Store, gender: string): Promise<string[]> {
  return (await store.search(query(['Patient'], { op: 'token', param: 'gender', code: gender }))).entries.map((e) => e.id);
}
