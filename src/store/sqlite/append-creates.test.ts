/**
 * SqliteStore.appendCreates, the batch path of server-recorded creates (the audit trail, src/audit;
 * FHIR R4 §3.1.0 http.html "create" and "transaction": all or nothing, acknowledged once durable):
 * the rows it stores are exactly those of `withTransaction` + `write` for the same creates (resource,
 * version, every index table, FTS), a batch with a create that fails stores nothing, a failed COMMIT
 * rejects the batch, and it accepts creates only.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { AuditEvent } from 'fhir/r4';
import { extractIndex } from '../../search/extract';
import type { WriteOp } from '../store';
import { openSqliteStore, type SqliteStore } from './sqlite-store';

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

const dbOf = (store: SqliteStore): Database.Database => (store as unknown as { conns: { write: Database.Database } }).conns.write;

/** Every stored row of a resource, with the row ids, times and the id itself taken out, as comparable text. */
function rowsOf(store: SqliteStore, id: string): string[] {
  const db = dbOf(store);
  const r = db.prepare("SELECT rid, version, deleted, method, json, index_digest FROM resource WHERE type = 'AuditEvent' AND id = ?").get(id) as Record<string, unknown> & { rid: number; json: string };
  const json = JSON.parse(r.json) as AuditEvent;
  const out = [`resource ${String(r.version)} ${String(r.deleted)} ${String(r.method)} ${String(r.index_digest)} ${JSON.stringify({ ...json, id: undefined, meta: { versionId: json.meta?.versionId } })}`];
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

describe('SqliteStore.appendCreates (the audit trail batch path)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'append-creates-'));
  let n = 0;
  let failCommit = false;
  let store: SqliteStore;
  beforeEach(() => {
    failCommit = false;
    store = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'), {
      beforeCommit: () => {
        if (failCommit) throw new Error('commit refused (test)');
      },
    });
  });
  afterEach(async () => store.close());
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('stores the same resource, version and index rows as withTransaction + write', async () => {
    const batch = opsOf(12, 'a');
    const results = await store.appendCreates(batch);
    assert.deepEqual(
      results.map((r) => [r.created, r.version.versionId, r.version.method]),
      batch.map(() => [true, 1, 'POST']),
    );
    const other = openSqliteStore(path.join(tmp, `s${++n}`, 'fhir.sqlite'));
    try {
      await other.withTransaction(async (tx) => {
        for (const op of opsOf(12, 'a')) await tx.write(op);
      });
      for (let i = 0; i < 12; i++) assert.deepEqual(rowsOf(store, `a${i}`), rowsOf(other, `a${i}`), `event ${i}`);
    } finally {
      await other.close();
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
    failCommit = true;
    await assert.rejects(store.appendCreates(opsOf(5, 'c')), /commit refused/);
    failCommit = false;
    for (let i = 0; i < 5; i++) assert.equal(await store.read('AuditEvent', `c${i}`), undefined);
  });

  it('accepts creates only', async () => {
    const [op] = opsOf(1, 'u');
    await assert.rejects(store.appendCreates([{ ...op!, kind: 'update' }]), /appendCreates was given a update/);
    assert.equal(await store.read('AuditEvent', 'u0'), undefined);
  });
});
