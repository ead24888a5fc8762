/**
 * Store contract: atomic transactions and serialised writers (FHIR R4 §3.1.0 http.html "transaction"
 * and §2.21.0.17 bundle transaction processing rules: all or nothing).
 */
import assert from 'node:assert/strict';
import type { IndexEntry } from '../../search/index-entry';
import type { Store, StoreSession } from '../store';
import { create, idSet, put, query, rejectsWith, type OpenStore } from './fixtures';

const nhs = (code: string): IndexEntry => ({ kind: 'token', param: 'identifier', system: 'urn:nhs', code });
const byNhs = (code: string) => query(['Patient'], { op: 'token', param: 'identifier', system: 'urn:nhs', code }, { total: 'accurate' });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function transactionContract(open: OpenStore): void {
  describe('transactions', () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('commits every write of the callback and returns its value', async () => {
      const result = await store.withTransaction(async (tx) => {
        await create(tx, { resourceType: 'Patient', id: 'a' }, [nhs('1')]);
        await tick();
        await create(tx, { resourceType: 'Patient', id: 'b' }, [nhs('2')]);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal((await store.read('Patient', 'a'))?.versionId, 1);
      assert.equal((await store.read('Patient', 'b'))?.versionId, 1);
      assert.deepEqual(await idSet(store, byNhs('2')), ['b']);
    });

    it('lets reads and searches inside the transaction see its own writes', async () => {
      await store.withTransaction(async (tx) => {
        await create(tx, { resourceType: 'Patient', id: 'a' }, [nhs('1')]);
        assert.equal((await tx.read('Patient', 'a'))?.versionId, 1);
        assert.deepEqual(await idSet(tx, byNhs('1')), ['a']);
        assert.equal((await tx.history({ resourceType: 'Patient', id: 'a', count: 10, offset: 0 })).total, 1);
      });
    });

    it('rolls back everything, index rows included, when the callback throws, and rethrows', async () => {
      await create(store, { resourceType: 'Patient', id: 'keep' }, [nhs('0')]);
      const boom = new Error('boom');
      await assert.rejects(
        store.withTransaction(async (tx) => {
          await create(tx, { resourceType: 'Patient', id: 'a' }, [nhs('1')]);
          await put(tx, { resourceType: 'Patient', id: 'keep', active: true }, [nhs('9')]);
          await tx.write({ kind: 'delete', resourceType: 'Patient', id: 'keep' });
          await tick();
          throw boom;
        }),
        (e: unknown) => e === boom,
      );
      assert.equal(await store.read('Patient', 'a'), undefined);
      const keep = await store.read('Patient', 'keep');
      assert.equal(keep?.versionId, 1);
      assert.equal(keep?.deleted, false);
      assert.deepEqual(await idSet(store, byNhs('1')), []);
      assert.deepEqual(await idSet(store, byNhs('9')), []);
      assert.deepEqual(await idSet(store, byNhs('0')), ['keep']);
      assert.equal((await store.history({ count: 10, offset: 0 })).total, 1);
      // The rolled-back id is free again and starts at version 1.
      assert.equal((await create(store, { resourceType: 'Patient', id: 'a' })).versionId, 1);
    });

    it('keeps the transaction usable after a write inside it fails and is caught', async () => {
      await create(store, { resourceType: 'Patient', id: 'a' });
      await store.withTransaction(async (tx) => {
        await rejectsWith(tx.write({ kind: 'update', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' }, expectedVersion: 7 }), 'precondition');
        await create(tx, { resourceType: 'Patient', id: 'b' });
      });
      assert.equal((await store.read('Patient', 'a'))?.versionId, 1);
      assert.equal((await store.read('Patient', 'b'))?.versionId, 1);
    });

    it('serialises concurrent "search then create if absent" transactions: exactly one create', async () => {
      const attempt = (n: number): Promise<boolean> =>
        store.withTransaction(async (tx: StoreSession) => {
          const found = await tx.search(byNhs('42'));
          await tick();
          if (found.entries.length > 0) return false;
          await tick();
          await create(tx, { resourceType: 'Patient', id: `c${n}` }, [nhs('42')]);
          return true;
        });
      const created = await Promise.all([0, 1, 2, 3, 4].map(attempt));
      assert.equal(created.filter(Boolean).length, 1);
      const page = await store.search(byNhs('42'));
      assert.equal(page.total, 1);
    });

    it('keeps concurrent single writes apart: all acknowledged, distinct lastUpdated', async () => {
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => create(store, { resourceType: 'Patient', id: `p${i}` }, [nhs(String(i))])));
      assert.equal(new Set(results.map((r) => r.lastUpdated)).size, 25);
      assert.equal((await store.search(query(['Patient'], undefined, { total: 'accurate', count: 0 }))).total, 25);
    });

    it('never shows the uncommitted writes to readers outside it', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let inside!: () => void;
      const written = new Promise<void>((resolve) => {
        inside = resolve;
      });
      const tx = store.withTransaction(async (t) => {
        await create(t, { resourceType: 'Patient', id: 'pending' }, [nhs('7')]);
        inside();
        await gate;
        throw new Error('roll back');
      });
      await written;
      // Started while the transaction holds an uncommitted write that it will roll back.
      const read = store.read('Patient', 'pending');
      const search = idSet(store, byNhs('7'));
      release();
      await assert.rejects(tx, /roll back/);
      assert.equal(await read, undefined);
      assert.deepEqual(await search, []);
    });
  });
}
