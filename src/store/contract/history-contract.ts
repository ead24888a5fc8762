/**
 * Store contract: history at instance, type and system level with `_since`, `_at`, `_count` and
 * paging (FHIR R4 §3.1.0 http.html "history").
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import type { HistoryQuery, Store, StoredVersion } from '../store';
import { create, put, remove, type OpenStore } from './fixtures';

export function historyContract(open: OpenStore): void {
  describe('history', () => {
    let store: Store;
    /** Writes in order: a1, b1, a2, c1 (Observation), b2 (delete). */
    let w: Record<'a1' | 'b1' | 'a2' | 'c1' | 'b2', StoredVersion>;
    before(async () => {
      store = await open();
      const a1 = await create(store, { resourceType: 'Patient', id: 'a' });
      const b1 = await create(store, { resourceType: 'Patient', id: 'b' });
      const a2 = await put(store, { resourceType: 'Patient', id: 'a', active: true });
      const c1 = await create(store, { resourceType: 'Observation', id: 'c' } as Resource & { id: string });
      const b2 = (await remove(store, 'Patient', 'b'))!;
      w = { a1, b1, a2, c1, b2 };
    });
    after(async () => {
      await store.close();
    });

    const h = async (q: Partial<HistoryQuery>): Promise<{ keys: string[]; total: number }> => {
      const page = await store.history({ count: 100, offset: 0, ...q });
      return { keys: page.entries.map((e) => `${e.id}${e.versionId}`), total: page.total };
    };

    it('lists an instance history newest first', async () => {
      assert.deepEqual(await h({ resourceType: 'Patient', id: 'a' }), { keys: ['a2', 'a1'], total: 2 });
    });

    it('lists a type history newest first, deletes included', async () => {
      assert.deepEqual(await h({ resourceType: 'Patient' }), { keys: ['b2', 'a2', 'b1', 'a1'], total: 4 });
      const page = await store.history({ resourceType: 'Patient', count: 1, offset: 0 });
      assert.equal(page.entries[0]?.deleted, true);
      assert.equal(page.entries[0]?.json, undefined);
      assert.equal(page.entries[0]?.method, 'DELETE');
    });

    it('lists the system history newest first', async () => {
      assert.deepEqual(await h({}), { keys: ['b2', 'c1', 'a2', 'b1', 'a1'], total: 5 });
    });

    it('returns the stored JSON of each version', async () => {
      const page = await store.history({ resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
      assert.deepEqual(page.entries, [w.a2, w.a1]);
    });

    it('filters by _since (lastUpdated >= since)', async () => {
      assert.deepEqual(await h({ since: w.a2.lastUpdated }), { keys: ['b2', 'c1', 'a2'], total: 3 });
      assert.deepEqual(await h({ resourceType: 'Patient', since: w.a2.lastUpdated }), { keys: ['b2', 'a2'], total: 2 });
      assert.deepEqual(await h({ since: new Date(Date.parse(w.b2.lastUpdated) + 1).toISOString() }), { keys: [], total: 0 });
    });

    it('filters by _at (the version current at that instant)', async () => {
      assert.deepEqual(await h({ at: w.b1.lastUpdated }), { keys: ['b1', 'a1'], total: 2 });
      assert.deepEqual(await h({ at: w.c1.lastUpdated }), { keys: ['c1', 'a2', 'b1'], total: 3 });
      assert.deepEqual(await h({ resourceType: 'Patient', at: w.b2.lastUpdated }), { keys: ['b2', 'a2'], total: 2 });
      assert.deepEqual(await h({ resourceType: 'Patient', id: 'a', at: w.a2.lastUpdated }), { keys: ['a2'], total: 1 });
      assert.deepEqual(await h({ at: new Date(Date.parse(w.a1.lastUpdated) - 1).toISOString() }), { keys: [], total: 0 });
    });

    it('pages with count and offset and reports the total of all pages', async () => {
      assert.deepEqual(await h({ count: 2, offset: 0 }), { keys: ['b2', 'c1'], total: 5 });
      assert.deepEqual(await h({ count: 2, offset: 2 }), { keys: ['a2', 'b1'], total: 5 });
      assert.deepEqual(await h({ count: 2, offset: 4 }), { keys: ['a1'], total: 5 });
      assert.deepEqual(await h({ count: 2, offset: 6 }), { keys: [], total: 5 });
      assert.deepEqual(await h({ count: 0, offset: 0 }), { keys: [], total: 5 });
    });

    it('keeps pages stable when new versions are written (they appear before the first page)', async () => {
      const own = await open();
      try {
        for (let i = 0; i < 5; i++) await put(own, { resourceType: 'Patient', id: `p${i}` });
        const before = await own.history({ count: 2, offset: 2 });
        await put(own, { resourceType: 'Patient', id: 'p0' });
        const after = await own.history({ count: 2, offset: 3 });
        assert.deepEqual(after.entries, before.entries);
        assert.equal(after.total, before.total + 1);
      } finally {
        await own.close();
      }
    });
  });
}
