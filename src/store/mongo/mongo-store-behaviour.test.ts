/**
 * MongoDB store behaviour beyond the shared contract (FHIR R4 §3.1.0 http.html "transaction",
 * "Managing Resource Contention", §3.1.0.8 conditional create): several instances on one database,
 * claims, transient conflicts retried, transactions switched off, the start-up check, 503 on an
 * unreachable database. Runs over the driver test double; two `MingoClient`s over one `MingoServer`
 * act as two server instances.
 */
import assert from 'node:assert/strict';
import type { Patient } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import type { IndexEntry } from '../../search/index-entry';
import type { StoreSession } from '../store';
import { MongoStore } from './mongo-store';
import { MingoClient, MingoDbError, MingoServer } from './testing/mingo-db';

const fast = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const nhs = (code: string): IndexEntry => ({ kind: 'token', param: 'identifier', system: 'urn:nhs', code });
const byNhs = (code: string) => ({ resourceTypes: ['Patient'], where: { op: 'token' as const, param: 'identifier', system: 'urn:nhs', code }, sort: [], count: 10, offset: 0, total: 'accurate' as const });
const patient = (id: string): Patient => ({ resourceType: 'Patient', id });

async function twoInstances(server = new MingoServer()): Promise<[MongoStore, MongoStore, MingoServer]> {
  const a = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', sleep: fast });
  const b = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', sleep: fast });
  return [a, b, server];
}

/** Two transactions that interleave: both run their first half before either commits. */
function interleave(): { both: Promise<void>; arrive: () => Promise<void> } {
  let arrived = 0;
  let open!: () => void;
  const both = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    both,
    arrive: async () => {
      if (++arrived === 2) open();
      await Promise.race([both, new Promise((resolve) => setTimeout(resolve, 50))]);
    },
  };
}

describe('mongo store: several instances on one database', () => {
  it('conditional create with claims: two instances racing create exactly one resource', async () => {
    const [a, b, server] = await twoInstances();
    const gate = interleave();
    const conditionalCreate = (store: MongoStore, id: string): Promise<string> =>
      store.withTransaction(async (tx: StoreSession) => {
        const found = await tx.search(byNhs('42'));
        await gate.arrive();
        if (found.entries.length > 0) return `found ${found.entries[0]!.id}`;
        await tx.claim?.('Patient?identifier=urn:nhs|42');
        await tx.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: [nhs('42')], expectedVersion: 0 });
        return `created ${id}`;
      });
    const results = await Promise.all([conditionalCreate(a, 'x'), conditionalCreate(b, 'y')]);
    assert.equal(results.filter((r) => r.startsWith('created')).length, 1, results.join(', '));
    assert.equal(results.filter((r) => r.startsWith('found')).length, 1, results.join(', '));
    assert.equal((await a.search(byNhs('42'))).total, 1);
    assert.ok(server.stats.conflicts >= 1, 'the loser hit a write conflict and was retried');
    await a.close();
    await b.close();
  });

  it('claims of the same key conflict (the later transaction is retried); claims of different keys do not', async () => {
    const [a, b, server] = await twoInstances();
    const gate = interleave();
    let runs = 0;
    const claim = (store: MongoStore, key: string): Promise<void> =>
      store.withTransaction(async (tx) => {
        runs++;
        await gate.arrive();
        await tx.claim!(key);
      });
    await Promise.all([claim(a, 'Patient?identifier=1'), claim(b, 'Patient?identifier=1')]);
    assert.equal(server.stats.conflicts, 1);
    assert.equal(runs, 3, 'one of the two ran again');
    const other = interleave();
    const claim2 = (store: MongoStore, key: string): Promise<void> =>
      store.withTransaction(async (tx) => {
        await other.arrive();
        await tx.claim!(key);
      });
    await Promise.all([claim2(a, 'Patient?identifier=2'), claim2(b, 'Patient?identifier=3')]);
    assert.equal(server.stats.conflicts, 1, 'different keys do not conflict');
    await a.close();
    await b.close();
  });

  it('concurrent updates of one resource from two instances: versions 2 and 3, none lost', async () => {
    const [a, b] = await twoInstances();
    await a.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    const gate = interleave();
    const update = (store: MongoStore, gender: Patient['gender']): Promise<unknown> =>
      store.withTransaction(async (tx) => {
        const cur = await tx.read('Patient', 'p');
        await gate.arrive();
        return tx.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: { ...patient('p'), gender } as Patient, expectedVersion: cur!.versionId });
      });
    await Promise.all([update(a, 'male'), update(b, 'female')]);
    const h = await b.history({ resourceType: 'Patient', id: 'p', count: 10, offset: 0 });
    assert.deepEqual(h.entries.map((e) => e.versionId), [3, 2, 1]);
    assert.notEqual(JSON.parse(h.entries[0]!.json!).gender, JSON.parse(h.entries[1]!.json!).gender);
    await a.close();
    await b.close();
  });

  it('an optimistic lock lost to another instance is a 412, not a silent overwrite', async () => {
    const [a, b] = await twoInstances();
    await a.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    await b.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p'), expectedVersion: 1 });
    await assert.rejects(a.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p'), expectedVersion: 1 }), (e: unknown) => e instanceof FhirError && e.status === 412);
    await a.close();
    await b.close();
  });

  it('a restarted instance continues the lastUpdated of the database (history order)', async () => {
    const server = new MingoServer();
    const a = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' });
    const first = await a.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    await a.close();
    const b = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' });
    const second = await b.write({ kind: 'create', resourceType: 'Patient', id: 'q', resource: patient('q') });
    assert.ok(Date.parse(second!.version.lastUpdated) > Date.parse(first!.version.lastUpdated));
    assert.deepEqual((await b.history({ count: 10, offset: 0 })).entries.map((e) => e.id), ['q', 'p']);
    await b.close();
  });
});

describe('mongo store: history without a global counter, concurrent writes', () => {
  it('writes of different resources from two instances, all at once, never conflict (no shared document)', async () => {
    const [a, b, server] = await twoInstances();
    const creates = (s: MongoStore, prefix: string): Array<Promise<unknown>> =>
      Array.from({ length: 20 }, (_, n) => s.write({ kind: 'create', resourceType: 'Patient', id: `${prefix}${n}`, resource: patient(`${prefix}${n}`) }));
    await Promise.all([...creates(a, 'a'), ...creates(b, 'b')]);
    assert.equal(server.stats.conflicts, 0);
    const h = await a.history({ count: 100, offset: 0 });
    assert.equal(h.total, 40);
    assert.equal(new Set(h.entries.map((e) => e.id)).size, 40);
    // Newest first by (lastUpdated, Type/id/version), descending.
    const keys = h.entries.map((e) => [Date.parse(e.lastUpdated), `${e.resourceType}/${e.id}/${e.versionId}`] as const);
    for (let n = 1; n < keys.length; n++) {
      const [u0, id0] = keys[n - 1]!;
      const [u1, id1] = keys[n]!;
      assert.ok(u0 > u1 || (u0 === u1 && id0 > id1), `history order at ${n}`);
    }
    await a.close();
    await b.close();
  });

  it('concurrent updates of one resource within one instance: every version kept, none lost, lastUpdated strictly increasing', async () => {
    const [a] = await twoInstances();
    await a.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    const results = await Promise.all(Array.from({ length: 8 }, () => a.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p') })));
    assert.deepEqual(results.map((r) => r?.version.versionId).sort((x, y) => x! - y!), [2, 3, 4, 5, 6, 7, 8, 9]);
    const h = await a.history({ resourceType: 'Patient', id: 'p', count: 20, offset: 0 });
    assert.deepEqual(h.entries.map((e) => e.versionId), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const times = h.entries.map((e) => Date.parse(e.lastUpdated));
    for (let n = 1; n < times.length; n++) assert.ok(times[n - 1]! > times[n]!, 'lastUpdated strictly decreasing, newest first');
    await a.close();
  });

  it('a version written by an instance whose clock is ahead: the next version is still later (history stays in version order)', async () => {
    const [a, , server] = await twoInstances();
    await a.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    const ahead = Date.now() + 60_000;
    const db = new MingoClient(server).db('fhir');
    await db.collection('resources').updateOne({ _id: 'Patient/p' }, { $set: { u: ahead, lu: new Date(ahead).toISOString() } });
    await db.collection('versions').updateOne({ _id: 'Patient/p/1' }, { $set: { u: ahead, lu: new Date(ahead).toISOString() } });
    const second = await a.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p') });
    assert.equal(Date.parse(second!.version.lastUpdated), ahead + 1);
    const h = await a.history({ resourceType: 'Patient', count: 10, offset: 0 });
    assert.deepEqual(h.entries.map((e) => e.versionId), [2, 1]);
    await a.close();
  });

  it('versions with the same lastUpdated are ordered by Type/id/version, descending, in every history form', async () => {
    const [a, , server] = await twoInstances();
    const versions = new MingoClient(server).db('fhir').collection('versions');
    const u = Date.parse('2024-01-01T00:00:00.000Z');
    const lu = new Date(u).toISOString();
    for (const id of ['b', 'a', 'c']) {
      await versions.insertOne({ _id: `Patient/${id}/1`, t: 'Patient', i: id, v: 1, u, lu, d: false, m: 'POST', j: JSON.stringify(patient(id)) });
    }
    await versions.insertOne({ _id: 'Observation/z/1', t: 'Observation', i: 'z', v: 1, u, lu, d: false, m: 'POST', j: '{"resourceType":"Observation","id":"z"}' });
    const ids = (p: { entries: Array<{ resourceType: string; id: string }> }): string[] => p.entries.map((e) => `${e.resourceType}/${e.id}`);
    assert.deepEqual(ids(await a.history({ count: 10, offset: 0 })), ['Patient/c', 'Patient/b', 'Patient/a', 'Observation/z']);
    assert.deepEqual(ids(await a.history({ resourceType: 'Patient', count: 2, offset: 1 })), ['Patient/b', 'Patient/a']);
    const at = await a.history({ resourceType: 'Patient', at: lu, count: 10, offset: 0 });
    assert.deepEqual(ids(at), ['Patient/c', 'Patient/b', 'Patient/a']);
    assert.equal(at.total, 3);
    await a.close();
  });
});

describe('mongo store: transient errors and unavailability', () => {
  it('retries a commit that fails with a transient error and commits once', async () => {
    const server = new MingoServer();
    const store = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', sleep: fast });
    server.failNextCommits(2, ['TransientTransactionError']);
    const r = await store.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    assert.equal(r?.version.versionId, 1);
    assert.equal((await store.history({ count: 10, offset: 0 })).total, 1);
    await store.close();
  });

  it('gives up after the bounded attempts with 409 on persistent write conflicts', async () => {
    const server = new MingoServer();
    const store = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', sleep: fast, maxAttempts: 3 });
    let calls = 0;
    await assert.rejects(
      store.withTransaction(async () => {
        calls++;
        throw new MingoDbError('WriteConflict', 112, ['TransientTransactionError']);
      }),
      (e: unknown) => e instanceof FhirError && e.status === 409,
    );
    assert.equal(calls, 3);
    await store.close();
  });

  it('answers 503 (transient) for reads, writes and transactions while the database is unreachable, and recovers', async () => {
    const server = new MingoServer();
    const store = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', sleep: fast });
    await store.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p') });
    const selection = new MingoDbError('Server selection timed out after 100 ms', undefined, [], 'MongoServerSelectionError');
    server.failWith(selection);
    const is503 = (e: unknown): boolean => e instanceof FhirError && e.status === 503 && e.issues[0]?.code === 'transient';
    await assert.rejects(store.read('Patient', 'p'), is503);
    await assert.rejects(store.search(byNhs('1')), is503);
    await assert.rejects(store.history({ count: 1, offset: 0 }), is503);
    await assert.rejects(store.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p') }), is503);
    await assert.rejects(store.withTransaction(async (tx) => tx.read('Patient', 'p')), is503);
    server.failWith(undefined);
    assert.equal((await store.read('Patient', 'p'))?.versionId, 1, 'nothing half-written while it was down');
    await store.close();
  });

  it('refuses to start on an unreachable server with the same 503', async () => {
    const server = new MingoServer();
    server.failWith(new MingoDbError('connect ECONNREFUSED', undefined, [], 'MongoNetworkError'));
    await assert.rejects(MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' }), (e: unknown) => e instanceof FhirError && e.status === 503);
  });
});

describe('mongo store: configuration', () => {
  it('refuses a standalone server when transactions are on, naming the fix', async () => {
    const server = new MingoServer({ replicaSet: false });
    await assert.rejects(MongoStore.open({ client: new MingoClient(server), dbName: 'fhir' }), /replica set[\s\S]*MONGODB_TRANSACTIONS=off/);
  });

  it('MONGODB_TRANSACTIONS=off: single writes work, transactions are refused with an OperationOutcome (501)', async () => {
    const server = new MingoServer({ replicaSet: false });
    const store = await MongoStore.open({ client: new MingoClient(server), dbName: 'fhir', transactions: false });
    const r = await store.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p'), index: [nhs('1')] });
    assert.equal(r?.version.versionId, 1);
    await store.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p'), expectedVersion: 1 });
    await assert.rejects(store.write({ kind: 'update', resourceType: 'Patient', id: 'p', resource: patient('p'), expectedVersion: 1 }), (e: unknown) => e instanceof FhirError && e.status === 412);
    await store.write({ kind: 'delete', resourceType: 'Patient', id: 'p' });
    assert.deepEqual((await store.history({ resourceType: 'Patient', id: 'p', count: 10, offset: 0 })).entries.map((e) => e.versionId), [3, 2, 1]);
    await assert.rejects(store.withTransaction(async () => 1), (e: unknown) => {
      assert.ok(e instanceof FhirError);
      assert.equal(e.status, 501);
      assert.match(e.toOperationOutcome().issue[0]!.diagnostics!, /MONGODB_TRANSACTIONS=off/);
      return true;
    });
    assert.equal(server.stats.commits, 0, 'no transaction was used');
    await store.close();
  });

  it('reports a store call made inside its own transaction instead of deadlocking', async () => {
    const store = await MongoStore.open({ client: new MingoClient(), dbName: 'fhir' });
    await store.withTransaction(async () => {
      await assert.rejects(store.write({ kind: 'create', resourceType: 'Patient', id: 'b', resource: patient('b') }), /inside withTransaction/);
      await assert.rejects(store.withTransaction(async () => 1), /inside withTransaction/);
    });
    let leaked: StoreSession | undefined;
    await store.withTransaction(async (tx) => {
      leaked = tx;
    });
    await assert.rejects(leaked!.read('Patient', 'a'), /ended/);
    await store.close();
    await assert.rejects(store.read('Patient', 'a'), /closed/);
  });

  it('reindex replaces the index of the current version only', async () => {
    const store = await MongoStore.open({ client: new MingoClient(), dbName: 'fhir' });
    await store.write({ kind: 'create', resourceType: 'Patient', id: 'p', resource: patient('p'), index: [nhs('1')] });
    assert.equal(await store.reindex('Patient', 'p', 2, [nhs('2')]), false);
    assert.equal(await store.reindex('Patient', 'nope', 1, [nhs('2')]), false);
    assert.equal(await store.reindex('Patient', 'p', 1, [nhs('2')]), true);
    assert.equal((await store.search(byNhs('1'))).total, 0);
    assert.equal((await store.search(byNhs('2'))).total, 1);
    assert.equal((await store.read('Patient', 'p'))?.versionId, 1, 'no new version');
    await store.close();
  });
});
