/**
 * Collections and indexes of the MongoDB store (FHIR R4 §3.1.0 http.html "history", "vread"): the
 * definitions, idempotent creation, and the unique (t, i, v) that lets one version be written once.
 */
import assert from 'node:assert/strict';
import { SEARCH_INDEXES } from './search/index-docs';
import { MongoStore } from './mongo-store';
import { COLLECTIONS, ensureSchema, STORE_INDEXES } from './schema';
import { MingoClient, MingoServer } from './testing/mingo-db';

describe('mongo store: collections and indexes', () => {
  it('defines the history and vread indexes on versions, (t, i, v) unique, history in (u, _id) order', () => {
    const byName = new Map(STORE_INDEXES.map((i) => [i.options.name, i]));
    assert.deepEqual(byName.get('version_unique')?.key, { t: 1, i: 1, v: 1 });
    assert.equal(byName.get('version_unique')?.options.unique, true);
    assert.deepEqual(byName.get('history_system_u')?.key, { u: 1, _id: 1 });
    assert.deepEqual(byName.get('history_type_u')?.key, { t: 1, u: 1, _id: 1 });
    // No global sequence: nothing indexes `s`, and no collection holds a counter.
    assert.ok(STORE_INDEXES.every((i) => !('s' in i.key)));
    assert.ok(!COLLECTIONS.includes('counters'));
  });

  it('has distinct index names and no two indexes with the same keys on a collection', () => {
    const all = [...STORE_INDEXES, ...SEARCH_INDEXES];
    assert.equal(new Set(all.map((i) => `${i.collection}.${i.options.name}`)).size, all.length);
    assert.equal(new Set(all.map((i) => `${i.collection}:${JSON.stringify(i.key)}`)).size, all.length);
  });

  it('creates collections and indexes idempotently (a second instance starting changes nothing)', async () => {
    const server = new MingoServer();
    const db = new MingoClient(server).db('fhir');
    await ensureSchema(db, SEARCH_INDEXES);
    const first = JSON.stringify([...server.indexes]);
    await ensureSchema(db, SEARCH_INDEXES);
    assert.equal(JSON.stringify([...server.indexes]), first);
    assert.equal(server.indexes.get('versions')?.length, 3);
    assert.equal(server.indexes.get('resources')?.length, 1 + SEARCH_INDEXES.length);
  });

  it('the unique version index refuses a second document for the same version', async () => {
    const client = new MingoClient();
    const store = await MongoStore.open({ client, dbName: 'fhir' });
    await store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' } });
    await assert.rejects(client.db('fhir').collection('versions').insertOne({ _id: 'other', t: 'Patient', i: 'a', v: 1, u: 99 }), (e: unknown) => (e as { code?: number }).code === 11000);
    await store.close();
  });
});
