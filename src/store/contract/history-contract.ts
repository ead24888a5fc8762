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

    it('pages by keyset position: next continues after the last entry, ends with the last page, and wins over offset', async () => {
      const keys = async (q: Partial<HistoryQuery>, count: number): Promise<string[][]> => {
        const pages: string[][] = [];
        let after: HistoryQuery['after'];
        for (let guard = 0; guard < 10; guard++) {
          const page = await store.history({ count, offset: 99, ...q, ...(after !== undefined ? { after } : { offset: 0 }) });
          pages.push(page.entries.map((e) => `${e.id}${e.versionId}`));
          if (page.next === undefined) return pages;
          assert.equal(page.entries.length, count, 'a position only after a full page');
          after = page.next;
        }
        throw new Error('paging must end');
      };
      assert.deepEqual(await keys({}, 2), [['b2', 'c1'], ['a2', 'b1'], ['a1']]);
      assert.deepEqual(await keys({ resourceType: 'Patient' }, 2), [['b2', 'a2'], ['b1', 'a1']]);
      assert.deepEqual(await keys({ resourceType: 'Patient', id: 'a' }, 1), [['a2'], ['a1']]);
      assert.deepEqual(await keys({ since: w.a2.lastUpdated }, 1), [['b2'], ['c1'], ['a2']]);
      assert.deepEqual(await keys({ at: w.c1.lastUpdated }, 2), [['c1', 'a2'], ['b1']]);
      assert.equal((await store.history({ count: 5, offset: 0 })).next, undefined, 'no position when nothing follows');
    });

    it('keyset pages are not shifted by versions written during the walk (they are newer than every position)', async () => {
      const own = await open();
      try {
        for (let i = 0; i < 5; i++) await put(own, { resourceType: 'Patient', id: `p${i}` });
        const first = await own.history({ count: 2, offset: 0 });
        await put(own, { resourceType: 'Patient', id: 'p0' });
        await create(own, { resourceType: 'Patient', id: 'p9' });
        const rest: string[] = [];
        let after = first.next;
        while (after !== undefined) {
          const page = await own.history({ count: 2, offset: 0, after });
          rest.push(...page.entries.map((e) => `${e.id}${e.versionId}`));
          after = page.next;
        }
        assert.deepEqual([...first.entries.map((e) => `${e.id}${e.versionId}`), ...rest], ['p41', 'p31', 'p21', 'p11', 'p01']);
      } finally {
        await own.close();
      }
    });

    it('filters by an _at period: every version current at some time in it', async () => {
      const period = (low: StoredVersion, high: StoredVersion): HistoryQuery['at'] => ({ low: low.lastUpdated, high: high.lastUpdated });
      // From a1 to a2: a1 and b1 were current at a1's instant or came before a2; a2 came during it.
      assert.deepEqual(await h({ at: period(w.b1, w.a2) }), { keys: ['a2', 'b1', 'a1'], total: 3 });
      assert.deepEqual(await h({ resourceType: 'Patient', at: period(w.c1, w.b2) }), { keys: ['b2', 'a2', 'b1'], total: 3 });
      assert.deepEqual(await h({ at: period(w.a1, w.b2) }), { keys: ['b2', 'c1', 'a2', 'b1', 'a1'], total: 5 });
      const after = new Date(Date.parse(w.b2.lastUpdated) + 1000).toISOString();
      assert.deepEqual(await h({ at: { low: after, high: after } }), { keys: ['b2', 'c1', 'a2'], total: 3 });
      assert.deepEqual(await h({ at: { low: new Date(Date.parse(w.a1.lastUpdated) - 1000).toISOString(), high: new Date(Date.parse(w.a1.lastUpdated) - 1).toISOString() } }), { keys: [], total: 0 });
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

