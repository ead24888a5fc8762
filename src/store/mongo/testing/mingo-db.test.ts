/**
 * The driver test double itself (MongoDB CRUD and transaction semantics the store relies on, FHIR R4
 * §3.1.0 http.html "transaction"): snapshots, rollback, write conflicts, unique indexes, upserts.
 */
import assert from 'node:assert/strict';
import { MingoClient, MingoServer } from './mingo-db';

const code = (n: number) => (e: unknown): boolean => (e as { code?: number }).code === n;

describe('mingo driver double', () => {
  it('finds with filter, sort, skip, limit and projection, chained or as options', async () => {
    const c = new MingoClient().db('d').collection('c');
    for (let i = 0; i < 5; i++) await c.insertOne({ _id: `k${i}`, n: i, tag: i % 2 === 0 ? 'even' : 'odd' });
    assert.deepEqual((await c.find({ tag: 'even' }).sort({ n: -1 }).skip(1).limit(1).toArray()).map((d) => d._id), ['k2']);
    assert.deepEqual(await c.find({ n: { $gte: 3 } }, { sort: { n: 1 }, projection: { n: 1 } }).toArray(), [{ _id: 'k3', n: 3 }, { _id: 'k4', n: 4 }]);
    assert.equal(await c.countDocuments({ tag: 'odd' }), 2);
    await assert.rejects(c.insertOne({ _id: 'k1' }), code(11000));
  });

  it('upserts from the equality fields of the filter, and $inc counters', async () => {
    const c = new MingoClient().db('d').collection('c');
    assert.deepEqual(await c.findOneAndUpdate({ _id: 'seq' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }), { _id: 'seq', n: 1 });
    assert.deepEqual(await c.findOneAndUpdate({ _id: 'seq' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }), { _id: 'seq', n: 2 });
    assert.equal((await c.replaceOne({ _id: 'seq', n: 1 }, { n: 9 })).matchedCount, 0, 'replace is conditional on the filter');
  });

  it('enforces unique indexes, also at commit against what others committed', async () => {
    const server = new MingoServer();
    const client = new MingoClient(server);
    const c = client.db('d').collection('v');
    await c.createIndex({ t: 1, v: 1 }, { unique: true, name: 'u' });
    await c.insertOne({ _id: 1, t: 'a', v: 1 });
    await assert.rejects(c.insertOne({ _id: 2, t: 'a', v: 1 }), code(11000));
    const s1 = client.startSession();
    const s2 = client.startSession();
    s1.startTransaction();
    s2.startTransaction();
    await c.insertOne({ _id: 3, t: 'a', v: 2 }, { session: s1 });
    await c.insertOne({ _id: 4, t: 'a', v: 2 }, { session: s2 });
    await s1.commitTransaction();
    await assert.rejects(s2.commitTransaction(), code(11000));
  });

  it('gives a transaction a snapshot, its own writes, and rolls back on abort', async () => {
    const client = new MingoClient();
    const c = client.db('d').collection('c');
    await c.insertOne({ _id: 'a', n: 1 });
    const s = client.startSession();
    s.startTransaction();
    await c.updateOne({ _id: 'a' }, { $set: { n: 2 } }, { session: s });
    await c.insertOne({ _id: 'b', n: 1 });
    assert.equal((await c.findOne({ _id: 'a' }, { session: s }))?.n, 2, 'own write');
    assert.equal(await c.findOne({ _id: 'b' }, { session: s }), null, 'later commit invisible in the snapshot');
    assert.equal((await c.findOne({ _id: 'a' }))?.n, 1, 'uncommitted write invisible outside');
    await s.abortTransaction();
    assert.equal((await c.findOne({ _id: 'a' }))?.n, 1);
  });

  it('raises a transient WriteConflict for the second writer of a document, first writer wins', async () => {
    const client = new MingoClient();
    const c = client.db('d').collection('c');
    await c.insertOne({ _id: 'a', n: 0 });
    const s1 = client.startSession();
    const s2 = client.startSession();
    s1.startTransaction();
    s2.startTransaction();
    await c.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session: s1 });
    await assert.rejects(c.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session: s2 }), (e: unknown) => code(112)(e) && (e as { hasErrorLabel(l: string): boolean }).hasErrorLabel('TransientTransactionError'));
    assert.equal(s2.inTransaction(), false, 'the failed transaction was aborted');
    await s1.commitTransaction();
    // A transaction whose snapshot predates that commit conflicts too.
    s2.startTransaction();
    const s3 = client.startSession();
    s3.startTransaction();
    await c.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session: s3 });
    await s3.commitTransaction();
    await assert.rejects(c.updateOne({ _id: 'a' }, { $inc: { n: 1 } }, { session: s2 }), code(112));
    assert.equal((await c.findOne({ _id: 'a' }))?.n, 2);
  });
});
