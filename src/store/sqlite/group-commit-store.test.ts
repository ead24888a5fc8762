/**
 * Group commit in the SQLite store (FHIR R4 §3.1.0 http.html "transaction", "Managing Resource
 * Contention"): units queued together share one SQLite transaction; a failing unit fails alone; a
 * failed COMMIT fails them all; nothing is acknowledged or visible to other readers before COMMIT.
 * Runs in memory and on a file (where reads use a second connection).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { IndexEntry } from '../../search/index-entry';
import { create, idSet, put, query, rejectsWith } from '../contract/fixtures';
import type { WriteResult } from '../store';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store';

const nhs = (code: string): IndexEntry => ({ kind: 'token', param: 'identifier', system: 'urn:nhs', code });
const byNhs = (code: string) => query(['Patient'], { op: 'token', param: 'identifier', system: 'urn:nhs', code });
const patient = (id: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient' as const, id, ...extra });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-group-commit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

for (const where of [':memory:', 'file'] as const) {
  describe(`SQLite group commit (${where})`, () => {
    let store: SqliteStore;
    let beforeCommit: ((db: Database.Database) => void) | undefined;
    const open = (options: SqliteStoreOptions = {}) =>
      openSqliteStore(where === 'file' ? path.join(tmp, `s${++n}`, 'fhir.sqlite') : ':memory:', { beforeCommit: (db) => beforeCommit?.(db), ...options });
    // The time bound of a group (maxMillis, 5 ms by default) is set out of reach here: these tests
    // assert how units are grouped, which must not depend on how busy the machine is. (The time bound
    // itself is tested with the group committer's own tests.)
    const UNTIMED = { maxMillis: 60_000 };
    beforeEach(() => {
      beforeCommit = undefined;
      store = open({ groupLimits: UNTIMED });
    });
    afterEach(async () => {
      await store.close();
    });

    it('commits units queued together in one group; a failing unit in the middle fails alone', async () => {
      await create(store, patient('existing'), [nhs('0')]);
      const before = store.groupStats;
      const results = await Promise.allSettled([
        create(store, patient('a'), [nhs('1')]),
        // A create of an id that exists: rejected.
        store.write({ kind: 'create', resourceType: 'Patient', id: 'existing', resource: patient('existing') }),
        // A transaction that writes, then throws: rolled back to its savepoint.
        store.withTransaction(async (tx) => {
          await create(tx, patient('t1'), [nhs('2')]);
          await put(tx, patient('existing', { active: true }), [nhs('9')]);
          await tick();
          throw new Error('callback failed');
        }),
        store.withTransaction(async (tx) => {
          await create(tx, patient('t2'), [nhs('3')]);
          await tick();
          return (await tx.read('Patient', 'a'))?.versionId;
        }),
        put(store, patient('existing', { gender: 'other' }), [nhs('4')]),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
      );
      await rejectsWith(Promise.reject((results[1] as PromiseRejectedResult).reason), 'conflict');
      assert.match(String((results[2] as PromiseRejectedResult).reason), /callback failed/);
      assert.equal((results[3] as PromiseFulfilledResult<unknown>).value, 1, 'a unit sees the earlier units of its group');
      const after = store.groupStats;
      assert.equal(after.groups - before.groups, 1, 'one group');
      assert.equal(after.units - before.units, 5);

      assert.equal((await store.read('Patient', 'a'))?.versionId, 1);
      assert.equal(await store.read('Patient', 't1'), undefined);
      assert.equal((await store.read('Patient', 't2'))?.versionId, 1);
      const existing = await store.read('Patient', 'existing');
      assert.equal(existing?.versionId, 2, 'the rolled-back update did not consume a version');
      assert.equal(JSON.parse(existing!.json!).gender, 'other');
      assert.deepEqual(await idSet(store, byNhs('9')), []);
      assert.deepEqual(await idSet(store, byNhs('2')), []);
      assert.deepEqual(await idSet(store, byNhs('4')), ['existing']);
      assert.equal((await store.history({ count: 100, offset: 0 })).total, 4);
    });

    it('rejects every unit of the group when COMMIT fails (forced by the hook), storing nothing', async () => {
      beforeCommit = () => {
        beforeCommit = undefined;
        throw new Error('forced commit failure');
      };
      const results = await Promise.allSettled([
        create(store, patient('a')),
        store.withTransaction(async (tx) => create(tx, patient('b'))),
        store.reindex('Patient', 'a', 1, [nhs('1')]),
      ]);
      assert.deepEqual(
        results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')),
        ['Error: forced commit failure', 'Error: forced commit failure', 'Error: forced commit failure'],
      );
      assert.equal(await store.read('Patient', 'a'), undefined);
      assert.equal(await store.read('Patient', 'b'), undefined);
      assert.equal((await store.history({ count: 10, offset: 0 })).total, 0);
      assert.equal(store.groupStats.failedGroups, 1);
      // The store goes on: the same ids start at version 1.
      assert.equal((await create(store, patient('a'))).versionId, 1);
    });

    it('rejects every unit when SQLite itself refuses the COMMIT (a deferred foreign key violation)', async () => {
      beforeCommit = (db) => {
        beforeCommit = undefined;
        // Deferred until COMMIT: an index row of a resource that does not exist.
        db.pragma('defer_foreign_keys = ON');
        db.prepare("INSERT INTO ix_token (rid, type, param, code) VALUES (987654321, 'Patient', 'identifier', 'x')").run();
      };
      const results = await Promise.allSettled([create(store, patient('a')), create(store, patient('b'))]);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.match(String(r.reason), /FOREIGN KEY constraint failed/);
      }
      assert.equal(await store.read('Patient', 'a'), undefined);
      assert.equal(await store.read('Patient', 'b'), undefined);
      assert.equal((await create(store, patient('b'))).versionId, 1);
    });

    it('acknowledges no unit, and shows no write to other readers, before the COMMIT', async () => {
      const settled: string[] = [];
      const seenAtCommit: string[][] = [];
      beforeCommit = () => {
        seenAtCommit.push([...settled]);
      };
      // On a file, a second connection reads the committed snapshot only (as the store's own reader does).
      const outside = where === 'file' ? new Database(path.join(tmp, `s${n}`, 'fhir.sqlite'), { readonly: true }) : undefined;
      const rowsOutside = (): number => (outside!.prepare('SELECT COUNT(*) AS c FROM resource').get() as { c: number }).c;
      try {
        let visibleBeforeCommit: number | undefined;
        beforeCommit = () => {
          seenAtCommit.push([...settled]);
          if (outside) visibleBeforeCommit = rowsOutside();
        };
        const writes = ['a', 'b', 'c'].map((id) => create(store, patient(id)).then(() => settled.push(id)));
        const tx = store
          .withTransaction(async (t) => {
            await create(t, patient('d'));
            await tick();
          })
          .then(() => settled.push('d'));
        await Promise.all([...writes, tx]);
        assert.deepEqual(seenAtCommit, [[]], 'one commit, before which nothing was settled');
        // (Settlement order is FIFO inside the queue; here promise chains of different depth reorder the callbacks.)
        assert.deepEqual([...settled].sort(), ['a', 'b', 'c', 'd']);
        if (outside) {
          assert.equal(visibleBeforeCommit, 0, 'no row visible to another connection before COMMIT');
          assert.equal(rowsOutside(), 4);
        }
      } finally {
        outside?.close();
      }
    });

    it('applies concurrent version-aware updates in arrival order with increasing lastUpdated', async () => {
      await create(store, patient('p'));
      const updates: Promise<WriteResult | undefined>[] = [];
      for (let v = 1; v <= 20; v++) {
        updates.push(store.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p', { birthDate: `2000-01-${String(v).padStart(2, '0')}` }), expectedVersion: v }));
      }
      const results = await Promise.all(updates);
      assert.deepEqual(
        results.map((r) => r?.version.versionId),
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
      const instants = results.map((r) => Date.parse(r!.version.lastUpdated));
      for (let i = 1; i < instants.length; i++) assert.ok(instants[i]! > instants[i - 1]!, 'lastUpdated strictly increases in arrival order');
      assert.ok(store.groupStats.largestGroup > 1, 'the updates shared groups');
    });

    it('never runs another unit inside a transaction callback, even while it awaits', async () => {
      await create(store, patient('counter', { multipleBirthInteger: 0 }));
      const bump = () =>
        store.withTransaction(async (tx) => {
          const cur = await tx.read('Patient', 'counter');
          const value = (JSON.parse(cur!.json!) as { multipleBirthInteger: number }).multipleBirthInteger;
          await tick();
          await put(tx, patient('counter', { multipleBirthInteger: value + 1 }));
        });
      const plain = Array.from({ length: 5 }, (_, i) => create(store, patient(`w${i}`)));
      await Promise.all([...Array.from({ length: 10 }, bump), ...plain]);
      const cur = await store.read('Patient', 'counter');
      assert.equal((JSON.parse(cur!.json!) as { multipleBirthInteger: number }).multipleBirthInteger, 10, 'no lost update');
      assert.equal(cur?.versionId, 11);
    });

    it('keeps a lone write prompt: it commits in a group of one', async () => {
      const before = store.groupStats;
      await create(store, patient('solo'));
      const after = store.groupStats;
      assert.equal(after.groups - before.groups, 1);
      assert.equal(after.units - before.units, 1);
    });

    it('bounds groups by the configured number of units', async () => {
      const bounded = open({ groupLimits: { ...UNTIMED, maxUnits: 4 } });
      try {
        await Promise.all(Array.from({ length: 10 }, (_, i) => create(bounded, patient(`b${i}`))));
        assert.equal(bounded.groupStats.largestGroup, 4);
        assert.equal(bounded.groupStats.groups, 3);
        assert.equal((await bounded.history({ count: 100, offset: 0 })).total, 10);
      } finally {
        await bounded.close();
      }
    });
  });
}

