/**
 * SqliteStore.write on the writer thread (ADR 0045; FHIR R4 §3.1.0 http.html "create", "update",
 * "delete" and "Managing Resource Contention"): the writes of one event-loop turn that open a session
 * of the thread (thread-sessions.ts) share a batch and a COMMIT, a write that fails is rejected alone, a failed COMMIT rejects the whole batch and stores
 * nothing, two writes of one resource are never in one batch, lastUpdated stays in commit order with
 * the store's own transactions, and a thread that ends unanswered loses and repeats nothing. The store
 * contract suite also runs in this mode (sqlite-store.test.ts).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Patient } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { extractIndex } from '../../search/extract';
import type { WriteOp } from '../store';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import { dbOf, failCommitsOf } from '../../../test/helpers/sqlite-db';

const patient = (id: string, family: string): Patient => ({ resourceType: 'Patient', id, name: [{ family }], active: true });

function put(id: string, family: string, expectedVersion?: number): WriteOp {
  const resource = patient(id, family);
  return { kind: 'update', resourceType: 'Patient', id, resource, index: extractIndex(resource), ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
}

function post(id: string, family: string): WriteOp {
  return { ...put(id, family), kind: 'create', expectedVersion: 0 };
}

const workerOf = (s: SqliteStore): Worker => (s as unknown as { thread: { worker: Worker } }).thread.worker;

const versionCount = (store: SqliteStore): number => (dbOf(store).prepare('SELECT COUNT(*) AS n FROM version').get() as { n: number }).n;

describe('SqliteStore.write on the writer thread (SQLITE_WRITES=worker)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thread-writes-'));
  let n = 0;
  let store: SqliteStore;
  const open = (options: SqliteStoreOptions = {}): SqliteStore => openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { writes: 'worker', ...options });
  beforeEach(() => {
    store = open();
  });
  afterEach(async () => store.close());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the writes of one turn in one batch, each failing write rejected alone', async () => {
    // On the store's own connection, so that the five below open the thread's session together.
    await store.withTransaction((tx) => tx.write(post('a', 'Alpha')));
    const before = store.writerThreadBatches!;
    const settled = await Promise.allSettled([
      store.write(put('a', 'Alpha2', 1)),
      store.write(post('b', 'Bravo')),
      store.write(put('c', 'Charlie', 4)), // no such version: 412
      store.write({ kind: 'delete', resourceType: 'Patient', id: 'nobody' }),
      store.write(post('d', 'Delta')),
    ]);
    assert.equal(store.writerThreadBatches! - before, 1, 'one batch, one COMMIT');
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? (s.value ? [s.value.version.id, s.value.version.versionId, s.value.created] : 'none') : (s.reason as FhirError).category)),
      [['a', 2, false], ['b', 1, true], 'precondition', 'none', ['d', 1, true]],
    );
    assert.equal(await store.read('Patient', 'c'), undefined);
    const families = dbOf(store).prepare("SELECT exact FROM ix_string WHERE param = 'family' AND rid = (SELECT rid FROM resource WHERE id = 'a')").all();
    assert.deepEqual(families, [{ exact: 'Alpha2' }], 'the update replaced the index rows');
  });

  it('never puts two writes of one resource in a batch: they run in call order', async () => {
    await store.write(post('x', 'X0'));
    const [first, second] = await Promise.all([store.write(put('x', 'X1', 1)), store.write(put('x', 'X2', 2))]);
    assert.deepEqual([first!.version.versionId, second!.version.versionId], [2, 3]);
    assert.equal((JSON.parse((await store.read('Patient', 'x'))!.json!) as Patient).name![0]!.family, 'X2');
  });

  it('rejects every write of a batch whose COMMIT fails, and stores nothing of it', async () => {
    await store.write(post('ok', 'Before'));
    failCommitsOf(store, 'bad');
    const before = versionCount(store);
    const settled = await Promise.allSettled([store.write(post('good', 'Good')), store.write(post('bad1', 'Bad'))]);
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected']);
    assert.match(String((settled[0] as PromiseRejectedResult).reason), /FOREIGN KEY constraint failed/);
    assert.equal(versionCount(store), before);
    assert.equal(await store.read('Patient', 'good'), undefined);
    // The thread's connection is usable again.
    assert.equal((await store.write(post('good', 'Good')))!.created, true);
  });

  it('keeps lastUpdated strictly increasing in commit order with the store\'s own transactions', async () => {
    const writes: Array<Promise<unknown>> = [];
    for (let round = 0; round < 10; round++) {
      writes.push(store.write(post(`t${round}`, 'Thread')));
      writes.push(store.withTransaction((tx) => tx.write(post(`m${round}`, 'Main'))));
      writes.push(store.write(post(`u${round}`, 'Thread')));
    }
    await Promise.all(writes);
    const times = (dbOf(store).prepare('SELECT last_updated AS t FROM version ORDER BY seq').all() as Array<{ t: number }>).map((r) => r.t);
    assert.equal(times.length, 30);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `version ${i}: ${times[i]} after ${times[i - 1]}`);
  });

  it('writes a batch itself when the thread ended before taking it, and later writes too', async () => {
    await store.write(post('w', 'First'));
    const lost = Promise.all([store.write(put('w', 'Second', 1)), store.write(post('v', 'Victor'))]);
    void workerOf(store).terminate();
    const results = await lost;
    assert.deepEqual(results.map((r) => [r!.version.id, r!.version.versionId, r!.created]), [['w', 2, false], ['v', 1, true]]);
    assert.equal((await store.write(post('later', 'Later')))!.created, true);
    assert.equal(versionCount(store), 4);
  });

  it('answers a batch the thread committed but could not answer from the database, and runs its failed writes again', async () => {
    await store.close();
    store = open({ writerExitsAfterCommit: true });
    // Set up on the store's own connection (transactions stay there).
    await store.withTransaction(async (tx) => {
      await tx.write(post('upd', 'Old'));
      await tx.write(post('gone', 'Gone'));
      await tx.write({ kind: 'delete', resourceType: 'Patient', id: 'gone' });
      await tx.write(post('del', 'Del'));
    });
    const settled = await Promise.allSettled([
      store.write(put('upd', 'New')), // an update: version 2, not created
      store.write(post('new', 'New')), // a create
      store.write(put('gone', 'Back')), // an update that recreates a deleted resource: created
      store.write({ kind: 'delete', resourceType: 'Patient', id: 'del' }),
      store.write(put('stale', 'Stale', 3)), // fails in the batch; run again, fails again
    ]);
    assert.equal(store.writerThreadBatches, 0, 'the thread never answered');
    assert.deepEqual(
      settled.map((s) => (s.status === 'fulfilled' ? [s.value!.version.id, s.value!.version.versionId, s.value!.created, s.value!.version.deleted] : (s.reason as FhirError).category)),
      [['upd', 2, false, false], ['new', 1, true, false], ['gone', 3, true, false], ['del', 2, false, true], 'precondition'],
    );
    const rows = dbOf(store).prepare("SELECT id, COUNT(*) AS n FROM version WHERE id IN ('upd', 'new', 'gone', 'del', 'stale') GROUP BY id ORDER BY id").all();
    assert.deepEqual(rows, [{ id: 'del', n: 2 }, { id: 'gone', n: 3 }, { id: 'new', n: 1 }, { id: 'upd', n: 2 }], 'each write stored once');
    const later = await store.write(post('after', 'After'));
    const latest = (dbOf(store).prepare("SELECT MAX(last_updated) AS t FROM version WHERE id <> 'after'").get() as { t: number }).t;
    assert.ok(Date.parse(later!.version.lastUpdated) > latest, 'later writes get later instants');
  });

  it('keeps a large write whole (no cooperative steps needed off the event loop)', async () => {
    const resource: Patient = { resourceType: 'Patient', id: 'big', name: Array.from({ length: 600 }, (_, i) => ({ family: `F${i}`, given: [`G${i}`] })) };
    const index = extractIndex(resource);
    assert.ok(index.length >= 1000);
    const r = await store.write({ kind: 'create', resourceType: 'Patient', id: 'big', resource, index, expectedVersion: 0 });
    assert.equal(r!.created, true);
    const rows = dbOf(store).prepare("SELECT COUNT(*) AS n FROM ix_string WHERE rid = (SELECT rid FROM resource WHERE id = 'big')").get() as { n: number };
    assert.equal(rows.n, index.filter((e) => e.kind === 'string').length);
  });

  it('maps errors as the store\'s own connection does (a 412 keeps its category and text)', async () => {
    await store.write(post('e', 'E'));
    await assert.rejects(store.write(post('e', 'E')), (e: unknown) => e instanceof FhirError && e.category === 'precondition' && /already exists/.test(e.message));
  });
});
