/**
 * Large writes give the event loop turns while they hold the database (FHIR R4 http.html
 * "transaction": serialisable, all or nothing; docs/limits.md, ADR 14). A write with many index
 * entries inserts them in steps (src/store/sqlite/writes.ts `writeSteps`); between steps other
 * callbacks run, yet nobody sees its rows before its commit, no other write interleaves, and a
 * failure leaves nothing behind. Runs in memory and on a file (where reads use a second connection).
 */
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IndexEntry } from '../../search/index-entry';
import { create, idSet, query } from '../contract/fixtures';
import { openSqliteStore, type SqliteStore } from './sqlite-store';

const ENTRIES = 30_000;
/** Many string entries; the last one is what a search by it must find (the rows are complete). */
const manyEntries = (id: string): IndexEntry[] => Array.from({ length: ENTRIES }, (_, n): IndexEntry => ({ kind: 'string', param: 'name', norm: `${id} ${n}`, exact: `${id} ${n}` }));
const byLastEntry = (id: string) => query(['Patient'], { op: 'string', param: 'name', value: `${id} ${ENTRIES - 1}`, mode: 'exact' });
const patient = (id: string) => ({ resourceType: 'Patient' as const, id });

/** Counts turns of the event loop (a setImmediate callback per turn) until stopped. */
function turnCounter(): { now(): number; stop(): number } {
  let turns = 0;
  let running = true;
  const loop = (): void => {
    if (!running) return;
    turns++;
    setImmediate(loop);
  };
  setImmediate(loop);
  return {
    now: () => turns,
    stop() {
      running = false;
      return turns;
    },
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-cooperative-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

for (const where of [':memory:', 'file'] as const) {
  describe(`SQLite cooperative writes (${where})`, () => {
    let store: SqliteStore;
    beforeEach(() => {
      store = openSqliteStore(where === 'file' ? path.join(tmp, `s${++n}`, 'fhir.sqlite') : ':memory:');
    });
    afterEach(() => store.close());

    it('a write with many index entries lets the event loop turn, and is complete and visible only once acknowledged', async () => {
      const turns = turnCounter();
      let seenEarly: string[] | undefined;
      let acknowledged = false;
      const writing = store.write({ kind: 'create', resourceType: 'Patient', id: 'big', resource: patient('big'), index: manyEntries('big') });
      const turnsAtAcknowledgement = writing.then(() => turns.now());
      // A read issued while the write runs: never sees it before it is acknowledged (on :memory: it waits).
      const reading = (async () => {
        await new Promise((resolve) => setImmediate(resolve));
        const page = await store.search(byLastEntry('big'));
        if (!acknowledged) seenEarly = page.entries.map((e) => e.id);
      })();
      await writing;
      acknowledged = true;
      await reading;
      turns.stop();
      // One turn ran before the write started; more mean the write gave the loop turns while it ran.
      assert.ok((await turnsAtAcknowledgement) > 1, 'the event loop turned while the write ran');
      assert.ok(seenEarly === undefined || seenEarly.length === 0, `a read before the acknowledgement saw ${String(seenEarly)}`);
      assert.deepEqual(await idSet(store, byLastEntry('big')), ['big']);
    });

    it('inside a transaction: turns for others, no interleaved write, nothing visible before commit, all of it after; a large write failing part-way leaves none of its rows', async () => {
      const bad: IndexEntry[] = [...manyEntries('bad'), { kind: 'composite', param: 'c', components: [{ kind: 'text', param: '_text', text: 'x' }] }];
      let outsideDoneBeforeCommit = false;
      let committed = false;
      let outside: Promise<unknown> | undefined;
      // Another request's write: started from outside the transaction's async context.
      const otherRequest = AsyncResource.bind(() =>
        store.write({ kind: 'create', resourceType: 'Patient', id: 'outside', resource: patient('outside') }).then(() => {
          if (!committed) outsideDoneBeforeCommit = true;
        }),
      );
      const turns = turnCounter();
      let turnsInTransaction = 0;
      await store.withTransaction(async (tx) => {
        const start = turns.now();
        await create(tx, patient('first'), []);
        // Another writer arrives while the transaction runs: it must wait for the commit.
        outside = otherRequest();
        // Two writes issued at once: the session runs them one after the other.
        await Promise.all([
          tx.write({ kind: 'create', resourceType: 'Patient', id: 'big', resource: patient('big'), index: manyEntries('big') }),
          tx.write({ kind: 'create', resourceType: 'Patient', id: 'big2', resource: patient('big2'), index: manyEntries('big2') }),
        ]);
        if (where === 'file') assert.deepEqual(await idSet(store, query(['Patient'])), [], 'another connection sees nothing before the commit');
        assert.deepEqual(await idSet(tx, byLastEntry('big2')), ['big2'], 'the transaction sees its own writes');
        // A large write that fails after many of its rows were inserted: rolled back alone, caught here.
        await assert.rejects(tx.write({ kind: 'create', resourceType: 'Patient', id: 'bad', resource: patient('bad'), index: bad }), /not supported/);
        turnsInTransaction = turns.now() - start;
      });
      committed = true;
      await outside;
      turns.stop();
      assert.ok(turnsInTransaction > 0, 'the event loop turned during the transaction');
      assert.equal(outsideDoneBeforeCommit, false, 'the other write waited for the commit');
      assert.deepEqual(await idSet(store, query(['Patient'])), ['big', 'big2', 'first', 'outside']);
      assert.deepEqual(await idSet(store, byLastEntry('big')), ['big']);
      assert.deepEqual(await idSet(store, query(['Patient'], { op: 'string', param: 'name', value: 'bad 0', mode: 'exact' })), [], 'not one index row of the failed write');
    });
  });
}
