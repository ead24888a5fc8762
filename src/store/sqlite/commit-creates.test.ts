/**
 * SqliteStore.commitCreates, the one unit of a transaction Bundle of plain creates (ADR 0047; FHIR R4
 * §3.1.0.11 http.html#transaction: all or nothing, acknowledged once durable): the rows it stores
 * are exactly those of `withTransaction` + `write` for the same creates, index digests included (a
 * later update rewrites only what changed, ADR 0037); a create that fails stores nothing and is named
 * by a `CreateFailed`; a failed COMMIT rejects the call; it accepts creates only. Each on the store's
 * own connection (`inline`) and on the writer thread (`worker`, ADR 0045), which also keeps
 * lastUpdated in commit order with the store's other writes and survives the end of its thread.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Observation } from 'fhir/r4';
import { extractIndex } from '../../search/extract';
import { CreateFailed, type WriteOp } from '../store';
import { WRITER_MODES } from './writer-thread';
import { openSqliteStore, type SqliteStore } from './sqlite-store';
import { dbOf, failCommitsOf } from '../../../test/helpers/sqlite-db';

const TABLES = ['ix_token', 'ix_string', 'ix_date', 'ix_number', 'ix_quantity', 'ix_reference', 'ix_uri', 'ix_composite'];

function observation(i: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
    subject: { reference: `Patient/p${i % 3}` },
    effectiveDateTime: `2026-12-07T02:02:${String(10 + i).padStart(2, '0')}Z`,
    valueQuantity: { value: 60 + i, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

const opsOf = (n: number, prefix: string): WriteOp[] =>
  Array.from({ length: n }, (_, i) => {
    const resource = { ...observation(i), id: `${prefix}${i}` };
    return { kind: 'create' as const, resourceType: 'Observation', id: resource.id, resource, index: extractIndex(resource), expectedVersion: 0, method: 'POST' as const };
  });

/** Every stored row of an Observation (row ids and times taken out) and its index digest, as comparable text. */
function rowsOf(store: SqliteStore, id: string): string[] {
  const db = dbOf(store);
  const r = db.prepare("SELECT rid, version, deleted, method, json, index_digest FROM resource WHERE type = 'Observation' AND id = ?").get(id) as { rid: number; json: string; index_digest: string | null } & Record<string, unknown>;
  const json = JSON.parse(r.json) as Observation;
  const out = [`resource ${String(r.version)} ${String(r.deleted)} ${String(r.method)} ${JSON.stringify({ ...json, meta: { versionId: json.meta?.versionId } })}`, `digest ${String(r.index_digest)}`];
  for (const v of db.prepare("SELECT version, json FROM version WHERE type = 'Observation' AND id = ?").all(id) as Array<{ version: number; json: string }>) {
    out.push(`version ${v.version} ${v.json === r.json ? 'same json' : 'other json'}`);
  }
  for (const t of TABLES) {
    for (const row of db.prepare(`SELECT * FROM ${t} WHERE rid = ?`).all(r.rid) as Array<Record<string, unknown>>) {
      const { rid: _r, cid: _c, ...rest } = row;
      out.push(`${t} ${JSON.stringify(rest)}`);
    }
  }
  return out.sort();
}

const count = (store: SqliteStore, prefix: string): number => (dbOf(store).prepare("SELECT COUNT(*) AS n FROM version WHERE id LIKE ? || '%'").get(prefix) as { n: number }).n;

for (const mode of WRITER_MODES) describe(`SqliteStore.commitCreates (a transaction Bundle of plain creates), ${mode}`, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'commit-creates-'));
  let n = 0;
  let store: SqliteStore;
  beforeEach(() => {
    store = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { writes: mode });
  });
  afterEach(async () => store.close());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('stores the same rows as withTransaction + write, index digests included, in one batch', async () => {
    const results = await store.commitCreates(opsOf(10, 'a'));
    assert.equal(store.writerThreadBatches, mode === 'worker' ? 1 : undefined);
    assert.deepEqual(
      results.map((r) => [r.created, r.version.id, r.version.versionId, r.version.method]),
      opsOf(10, 'a').map((op) => [true, op.id, 1, 'POST']),
    );
    const times = results.map((r) => Date.parse(r.version.lastUpdated));
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, 'instants in the order given');
    const other = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'));
    try {
      await other.withTransaction(async (tx) => {
        for (const op of opsOf(10, 'a')) await tx.write(op);
      });
      for (let i = 0; i < 10; i++) {
        const rows = rowsOf(store, `a${i}`);
        assert.deepEqual(rows, rowsOf(other, `a${i}`), `create ${i}`);
        assert.ok(rows.some((r) => /^digest \{"/.test(r)), `create ${i} has its index digest`);
      }
    } finally {
      await other.close();
    }
  });

  it('is all or nothing: a create whose id exists rejects the call with CreateFailed naming it, and nothing is stored', async () => {
    await store.commitCreates(opsOf(1, 'x'));
    const ops = [...opsOf(3, 'y'), ...opsOf(1, 'x'), ...opsOf(2, 'z')];
    const err = await store.commitCreates(ops).then(
      () => assert.fail('the call should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CreateFailed, String(err));
    assert.equal(err.index, 3);
    assert.match(String((err.error as Error).message), /already exists/);
    assert.deepEqual([count(store, 'x'), count(store, 'y'), count(store, 'z')], [1, 0, 0]);
  });

  it('is rejected when its COMMIT fails, and nothing is stored; the store writes again afterwards', async () => {
    failCommitsOf(store, 'c');
    await assert.rejects(store.commitCreates(opsOf(4, 'c')), (e: unknown) => !(e instanceof CreateFailed) && /FOREIGN KEY constraint failed/.test(String(e)));
    assert.equal(count(store, 'c'), 0);
    await store.commitCreates(opsOf(2, 'd'));
    assert.equal(count(store, 'd'), 2);
  });

  it("keeps lastUpdated strictly increasing in commit order with the store's other writes", async () => {
    const writes: Array<Promise<unknown>> = [];
    for (let round = 0; round < 6; round++) {
      writes.push(store.commitCreates(opsOf(8, `r${round}-`)));
      const [single] = opsOf(1, `s${round}-`);
      writes.push(store.write(single!));
      writes.push(store.withTransaction((tx) => tx.write(opsOf(1, `t${round}-`)[0]!)));
    }
    await Promise.all(writes);
    const times = (dbOf(store).prepare('SELECT last_updated AS t FROM version ORDER BY rowid').all() as Array<{ t: number }>).map((r) => r.t);
    assert.equal(times.length, 6 * 10);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `version row ${i}: ${times[i]} after ${times[i - 1]}`);
  });

  it('accepts creates only', async () => {
    const [op] = opsOf(1, 'u');
    await assert.rejects(store.commitCreates([{ ...op!, kind: 'update' }]), /commitCreates was given a update/);
    assert.equal(count(store, 'u'), 0);
  });

  if (mode === 'worker') {
    const workerOf = (s: SqliteStore): Worker => (s as unknown as { thread: { worker: Worker } }).thread.worker;

    it('answers a call whose thread ended before answering, stores it once, and writes later calls itself', async () => {
      await store.commitCreates(opsOf(1, 'w'));
      const lost = store.commitCreates(opsOf(5, 'e'));
      void workerOf(store).terminate();
      const results = await lost;
      assert.deepEqual(results.map((r) => [r.version.id, r.created]), opsOf(5, 'e').map((op) => [op.id, true]));
      await store.commitCreates(opsOf(3, 'f'));
      assert.deepEqual([count(store, 'w'), count(store, 'e'), count(store, 'f')], [1, 5, 3]);
      // Written by the store's own connection with their digests, as the thread would have.
      assert.ok(rowsOf(store, 'e0').some((r) => /^digest \{"/.test(r)));
    });

    it('answers a call the thread committed but could not answer from what the database holds', async () => {
      await store.close();
      store = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { writes: mode, writerExitsAfterCommit: true });
      const results = await store.commitCreates(opsOf(4, 'k'));
      assert.deepEqual(results.map((r) => [r.version.id, r.version.versionId, r.created]), opsOf(4, 'k').map((op) => [op.id, 1, true]));
      assert.equal(count(store, 'k'), 4, 'stored once');
      const later = await store.commitCreates(opsOf(1, 'z'));
      assert.ok(Date.parse(later[0]!.version.lastUpdated) > Math.max(...results.map((r) => Date.parse(r.version.lastUpdated))));
    });
  }
});
