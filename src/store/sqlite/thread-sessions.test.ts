/**
 * The writer thread's sessions (thread-sessions.ts, ADR 0049; FHIR R4 §3.1.0 http.html "create",
 * "update" and "Managing Resource Contention"): a write reaches the thread while an earlier one is
 * being written, the writes waiting there share the next transaction, a unit queued on the store's
 * own connection is not overtaken by later writes, a write of a resource in flight waits for that
 * write's answer, and a thread that ends with several batches in flight loses and repeats nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEvent, Patient } from 'fhir/r4';
import { extractIndex } from '../../search/extract';
import type { IndexEntry } from '../../search/index-entry';
import type { WriteOp } from '../store';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store';
import type { WriteUnit } from './write-batch';
import { dbOf } from '../../../test/helpers/sqlite-db';

function post(id: string): WriteOp {
  const resource: Patient = { resourceType: 'Patient', id, name: [{ family: `Family ${id}` }] };
  return { kind: 'create', resourceType: 'Patient', id, resource, index: extractIndex(resource), expectedVersion: 0 };
}

/** A create whose 20 000 index rows keep the thread busy for tens of milliseconds (longer than a transaction may gather for). */
function big(id: string): WriteOp {
  const resource: Patient = { resourceType: 'Patient', id };
  const index: IndexEntry[] = Array.from({ length: 20_000 }, (_, i) => ({ kind: 'token', param: 'identifier', system: 'urn:busy', code: `${id}-${i}` }));
  return { kind: 'create', resourceType: 'Patient', id, resource, index, expectedVersion: 0 };
}

function auditCreates(n: number, prefix: string): WriteOp[] {
  return Array.from({ length: n }, (_, i) => {
    const resource: AuditEvent = { resourceType: 'AuditEvent', id: `${prefix}${i}`, type: { code: 'rest' }, recorded: '2026-12-08T00:00:00Z', agent: [{ requestor: true }], source: { observer: { display: 'test' } } };
    return { kind: 'create', resourceType: 'AuditEvent', id: resource.id!, resource, index: [], expectedVersion: 0 };
  });
}

/**
 * Every batch the store posts to its thread: the resources it writes, how many batches were
 * unanswered then, and whether one of them wrote one of its resources.
 */
function recordPosts(store: SqliteStore): Array<{ ids: string[]; inFlight: number; sameResourceInFlight: boolean }> {
  const thread = (store as unknown as { thread: { run: (units: readonly WriteUnit[], after: number) => Promise<unknown> } }).thread;
  const posts: Array<{ ids: string[]; inFlight: number; sameResourceInFlight: boolean }> = [];
  const run = thread.run.bind(thread);
  const unanswered: string[][] = [];
  thread.run = (units, after) => {
    const ids = units.flatMap((u) => u.ops.map((op) => op.id));
    posts.push({ ids, inFlight: unanswered.length, sameResourceInFlight: unanswered.some((other) => other.some((id) => ids.includes(id))) });
    unanswered.push(ids);
    const p = run(units, after);
    const answered = (): void => void unanswered.splice(unanswered.indexOf(ids), 1);
    p.then(answered, answered);
    return p;
  };
  return posts;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const versionsOf = (store: SqliteStore, ids: readonly string[]): string[] =>
  (dbOf(store).prepare(`SELECT id FROM version WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY seq`).all(...ids) as Array<{ id: string }>).map((r) => r.id);

describe('SqliteStore writer-thread sessions (ADR 0049)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thread-sessions-'));
  let n = 0;
  let store: SqliteStore;
  const open = (options: SqliteStoreOptions = {}): SqliteStore => openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { writes: 'worker', ...options });
  afterEach(async () => store.close());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('posts a write while the thread writes an earlier one; the writes waiting there share the next transaction', async () => {
    store = open();
    await store.write(post('first'));
    const posts = recordPosts(store);
    const before = store.writerThreadBatches!;
    const busy = store.write(big('busy'));
    const small = ['s1', 's2', 's3', 's4', 's5'].map((id) => store.write(post(id)));
    const results = await Promise.all([busy, ...small]);
    assert.deepEqual(results.map((r) => [r!.version.id, r!.created]), ['busy', 's1', 's2', 's3', 's4', 's5'].map((id) => [id, true]));
    assert.deepEqual(posts.map((p) => p.ids), [['busy'], ['s1'], ['s2'], ['s3'], ['s4'], ['s5']], 'each posted on its own, at once');
    assert.ok(posts.slice(1).every((p) => p.inFlight >= 1), 'posted while the busy write was unanswered');
    assert.equal(store.writerThreadBatches! - before, 2, 'the busy write, then one transaction of the five');
    assert.ok(store.largestThreadBatch >= 5);
  });

  it('lets a unit queued on the store\'s own connection go before writes submitted after it', async () => {
    store = open();
    await store.write(post('first'));
    const busy = store.write(big('busy'));
    const tx = store.withTransaction((session) => session.write(post('tx')));
    const later = store.write(post('later'));
    await Promise.all([busy, tx, later]);
    assert.deepEqual(versionsOf(store, ['busy', 'tx', 'later']), ['busy', 'tx', 'later']);
  });

  it('holds a write of a resource whose earlier write is unanswered until that one is answered', async () => {
    store = open();
    await store.write(post('first'));
    const posts = recordPosts(store);
    const create = store.write(big('x'));
    const update = store.write({ ...post('x'), kind: 'update', expectedVersion: 1 });
    const other = store.write(post('y'));
    const [c, u, o] = await Promise.all([create, update, other]);
    assert.deepEqual([c!.version.versionId, u!.version.versionId, o!.version.versionId], [1, 2, 1]);
    const [, updatePost] = posts.filter((p) => p.ids.includes('x'));
    assert.ok(posts.find((p) => p.ids.includes('y'))!.inFlight >= 1, 'a write of another resource is posted at once');
    assert.equal(updatePost!.sameResourceInFlight, false, 'the update was posted once the create was answered');
  });

  it('keeps a batch that would pass the group limit out of a transaction holding others', async () => {
    store = open({ appendWriter: 'worker', groupLimits: { maxUnits: 4 } });
    await store.write(post('first'));
    const before = store.writerThreadBatches!;
    const busy = store.write(big('busy'));
    const b = store.write(post('b'));
    const audit = store.appendCreates(auditCreates(6, 'a'));
    const c = store.write(post('c'));
    await Promise.all([busy, b, audit, c]);
    // busy; b alone (the six creates would pass 4); the six (at the limit: c waits); c.
    assert.equal(store.writerThreadBatches! - before, 4);
    assert.deepEqual(versionsOf(store, ['busy', 'b', 'a0', 'a5', 'c']), ['busy', 'b', 'a0', 'a5', 'c']);
  });

  it('answers what the thread committed before it ended unanswered, and writes the batches it never took itself', async () => {
    store = open({ writerExitsAfterCommit: true });
    const posts = recordPosts(store);
    const busy = store.write(big('busy'));
    // The session has started (its unit runs on the queue's turn): these are posted while busy is written.
    await turn();
    await turn();
    const others = [store.write(post('b')), store.write(post('c'))];
    const results = await Promise.all([busy, ...others]);
    assert.deepEqual(results.map((r) => [r!.version.id, r!.version.versionId, r!.created]), [['busy', 1, true], ['b', 1, true], ['c', 1, true]]);
    assert.ok(posts.filter((p) => p.ids[0] !== 'busy').every((p) => p.inFlight >= 1), 'b and c were in flight behind busy');
    assert.equal(store.writerThreadBatches, 0, 'the thread never answered');
    assert.deepEqual(versionsOf(store, ['busy', 'b', 'c']), ['busy', 'b', 'c'], 'each stored once, in order');
    assert.equal((await store.write(post('after')))!.created, true);
  });
});
