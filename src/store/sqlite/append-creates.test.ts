/**
 * SqliteStore.appendCreates, the batch path of server-recorded creates (the audit trail, src/audit;
 * FHIR R4 §3.1.0 http.html "create" and "transaction": all or nothing, acknowledged once durable):
 * the rows it stores are exactly those of `withTransaction` + `write` for the same creates (resource,
 * version, every index table, FTS), a batch with a create that fails stores nothing, a failed COMMIT
 * rejects the batch, and it accepts creates only; each on the store's own connection (`inline`) and
 * on the append writer's thread (`worker`, ADR 0044), which also keeps lastUpdated in commit order
 * with the store's other writes and survives the end of its thread.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { AuditEvent, Patient } from 'fhir/r4';
import { extractIndex } from '../../search/extract';
import type { WriteOp } from '../store';
import { WRITER_MODES } from './writer-thread';
import { openSqliteStore, type SqliteStore } from './sqlite-store';
import { dbOf, failCommitsOf } from '../../../test/helpers/sqlite-db';

const TABLES = ['ix_token', 'ix_string', 'ix_date', 'ix_number', 'ix_quantity', 'ix_reference', 'ix_uri', 'ix_composite'];

function event(i: number): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    recorded: `2026-12-07T02:02:${String(10 + i).padStart(2, '0')}.000Z`,
    outcome: '0',
    outcomeDesc: `HTTP 200 GET fhir ${i}`,
    agent: [{ type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153' }] }, requestor: false, network: { address: '127.0.0.1', type: '2' } }],
    source: { observer: { identifier: { value: 'http://localhost/fhir' } } },
    entity: [
      { what: { reference: `Patient/p${i % 3}` }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } },
      { what: { identifier: { value: `request-${i}` } } },
    ],
  };
}

const opsOf = (n: number, prefix: string): WriteOp[] =>
  Array.from({ length: n }, (_, i) => {
    const resource = { ...event(i), id: `${prefix}${i}` };
    return { kind: 'create' as const, resourceType: 'AuditEvent', id: resource.id, resource, index: extractIndex(resource), expectedVersion: 0 };
  });

/** The index digest stored with a resource (null: none; index-rows.ts planIndexRows). */
function digestOf(store: SqliteStore, id: string): string | null {
  return (dbOf(store).prepare("SELECT index_digest FROM resource WHERE type = 'AuditEvent' AND id = ?").get(id) as { index_digest: string | null }).index_digest;
}

/** Every stored row of a resource, with the row ids, times, the id itself and the index digest taken out, as comparable text. */
function rowsOf(store: SqliteStore, id: string): string[] {
  const db = dbOf(store);
  const r = db.prepare("SELECT rid, version, deleted, method, json FROM resource WHERE type = 'AuditEvent' AND id = ?").get(id) as Record<string, unknown> & { rid: number; json: string };
  const json = JSON.parse(r.json) as AuditEvent;
  const out = [`resource ${String(r.version)} ${String(r.deleted)} ${String(r.method)} ${JSON.stringify({ ...json, id: undefined, meta: { versionId: json.meta?.versionId } })}`];
  for (const v of db.prepare("SELECT version, deleted, method, json FROM version WHERE type = 'AuditEvent' AND id = ?").all(id) as Array<{ version: number; json: string }>) {
    out.push(`version ${v.version} ${v.json === r.json ? 'same json' : 'other json'}`);
  }
  for (const t of TABLES) {
    for (const row of db.prepare(`SELECT * FROM ${t} WHERE rid = ?`).all(r.rid) as Array<Record<string, unknown>>) {
      const { rid: _r, cid: _c, ...rest } = row;
      out.push(`${t} ${JSON.stringify(rest)}`);
    }
  }
  const words = db.prepare('SELECT COUNT(*) AS n FROM ix_content WHERE ix_content MATCH ? AND rowid = ?').get('"restful" AND "operation"', r.rid) as { n: number };
  out.push(`ix_content ${words.n}`);
  return out.sort();
}

for (const mode of WRITER_MODES) describe(`SqliteStore.appendCreates (the audit trail batch path), ${mode}`, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'append-creates-'));
  let n = 0;
  let store: SqliteStore;
  beforeEach(() => {
    store = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { appendWriter: mode });
  });
  afterEach(async () => store.close());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('stores the same resource, version and index rows as withTransaction + write', async () => {
    const batch = opsOf(12, 'a');
    const results = await store.appendCreates(batch);
    assert.equal(store.writerThreadBatches, mode === 'worker' ? 1 : undefined);
    assert.deepEqual(
      results.map((r) => [r.created, r.version.versionId, r.version.method]),
      batch.map(() => [true, 1, 'POST']),
    );
    const other = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'));
    try {
      await other.withTransaction(async (tx) => {
        for (const op of opsOf(12, 'a')) await tx.write(op);
      });
      for (let i = 0; i < 12; i++) {
        assert.deepEqual(rowsOf(store, `a${i}`), rowsOf(other, `a${i}`), `event ${i}`);
        // No index digest for the server's own creates (ADR 0046); a write records one.
        assert.equal(digestOf(store, `a${i}`), null, `event ${i}`);
        assert.match(digestOf(other, `a${i}`) ?? '', /^\{"/, `event ${i}`);
      }
    } finally {
      await other.close();
    }
  });

  it('stores no index digest, so a later update rewrites every row: the rows are those of a fresh write', async () => {
    const [op] = opsOf(1, 'g');
    await store.appendCreates([op!]);
    // An update that changes one parameter (a digest would have kept the others' rows) and one that changes nothing.
    const changed: AuditEvent = { ...op!.resource as AuditEvent, outcome: '4' };
    for (const resource of [changed, changed]) await store.write({ kind: 'update', resourceType: 'AuditEvent', id: 'g0', resource, index: extractIndex(resource) });
    assert.notEqual(digestOf(store, 'g0'), null, 'the update records a digest');
    const fresh = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'));
    try {
      for (const v of [1, 2, 3]) {
        const resource = v === 1 ? op!.resource! : changed;
        await fresh.write({ kind: v === 1 ? 'create' : 'update', resourceType: 'AuditEvent', id: 'g0', resource, index: extractIndex(resource) });
      }
      assert.deepEqual(rowsOf(store, 'g0'), rowsOf(fresh, 'g0'));
      assert.ok(rowsOf(store, 'g0').some((r) => r.includes('"param":"outcome"') && r.includes('"code":"4"')));
    } finally {
      await fresh.close();
    }
  });

  it('is all or nothing: a create whose id exists fails the batch, and nothing of it is stored', async () => {
    await store.appendCreates(opsOf(1, 'x'));
    const batch = [...opsOf(3, 'y'), ...opsOf(1, 'x')];
    await assert.rejects(store.appendCreates(batch), /already exists/);
    for (let i = 0; i < 3; i++) assert.equal(await store.read('AuditEvent', `y${i}`), undefined);
    const rows = dbOf(store).prepare("SELECT COUNT(*) AS n FROM resource WHERE type = 'AuditEvent'").get() as { n: number };
    assert.equal(rows.n, 1);
  });

  it('is rejected when its COMMIT fails, and nothing is stored', async () => {
    failCommitsOf(store, 'c');
    await assert.rejects(store.appendCreates(opsOf(5, 'c')), /FOREIGN KEY constraint failed/);
    for (let i = 0; i < 5; i++) assert.equal(await store.read('AuditEvent', `c${i}`), undefined);
    // The connection that failed is usable again.
    await store.appendCreates(opsOf(2, 'd'));
    assert.ok(await store.read('AuditEvent', 'd1'));
  });

  it('keeps lastUpdated strictly increasing in commit order with the store\'s other writes', async () => {
    const writes: Array<Promise<unknown>> = [];
    for (let round = 0; round < 8; round++) {
      writes.push(store.appendCreates(opsOf(12, `r${round}-`)));
      const id = `p${round}`;
      const patient: Patient = { resourceType: 'Patient', id, active: true };
      const inactive: Patient = { ...patient, active: false };
      writes.push(store.write({ kind: 'create', resourceType: 'Patient', id, resource: patient, index: extractIndex(patient) }));
      writes.push(store.withTransaction((tx) => tx.write({ kind: 'update', resourceType: 'Patient', id, resource: inactive, index: extractIndex(inactive) })));
    }
    await Promise.all(writes);
    // The version table's rows in insertion order, which is commit order (one writer at a time).
    const times = (dbOf(store).prepare('SELECT last_updated AS t FROM version ORDER BY rowid').all() as Array<{ t: number }>).map((r) => r.t);
    assert.equal(times.length, 8 * 14);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `version row ${i}: ${times[i]} after ${times[i - 1]}`);
    if (mode === 'worker') assert.equal(store.writerThreadBatches, 8);
  });

  it('accepts creates only', async () => {
    const [op] = opsOf(1, 'u');
    await assert.rejects(store.appendCreates([{ ...op!, kind: 'update' }]), /appendCreates was given a update/);
    assert.equal(await store.read('AuditEvent', 'u0'), undefined);
  });

  if (mode === 'worker') {
    const workerOf = (s: SqliteStore): Worker => (s as unknown as { thread: { worker: Worker } }).thread.worker;

    it('answers a batch whose thread ended before answering, stores it once, and writes later batches itself', async () => {
      await store.appendCreates(opsOf(1, 'w'));
      // Ended before the batch is taken (it is posted on a later turn): not committed, so the store writes it.
      const lost = store.appendCreates(opsOf(6, 'e'));
      void workerOf(store).terminate();
      const results = await lost;
      assert.deepEqual(results.map((r) => [r.version.id, r.created]), opsOf(6, 'e').map((op) => [op.id, true]));
      await store.appendCreates(opsOf(3, 'f'));
      const count = (prefix: string): number => (dbOf(store).prepare("SELECT COUNT(*) AS n FROM version WHERE id LIKE ? || '%'").get(prefix) as { n: number }).n;
      assert.deepEqual([count('w'), count('e'), count('f')], [1, 6, 3]);
      assert.equal(store.writerThreadBatches, 1);
    });

    it('answers a batch the thread committed but could not answer from what the database holds', async () => {
      await store.close();
      store = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), { appendWriter: mode, writerExitsAfterCommit: true });
      const results = await store.appendCreates(opsOf(4, 'k'));
      assert.deepEqual(results.map((r) => [r.version.id, r.version.versionId, r.created]), opsOf(4, 'k').map((op) => [op.id, 1, true]));
      assert.equal(store.writerThreadBatches, 0, 'the thread never answered');
      const versions = (dbOf(store).prepare("SELECT COUNT(*) AS n FROM version WHERE id LIKE 'k%'").get() as { n: number }).n;
      assert.equal(versions, 4, 'stored once');
      // Later writes get later instants.
      const later = await store.appendCreates(opsOf(1, 'z'));
      assert.ok(Date.parse(later[0]!.version.lastUpdated) > Math.max(...results.map((r) => Date.parse(r.version.lastUpdated))));
    });
  }
});
