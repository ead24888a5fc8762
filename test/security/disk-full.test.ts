/**
 * A full disk or a read-only database (FHIR R4 http.html status codes; OperationOutcome `transient`):
 * writes answer 503 with issue code `transient` and `Retry-After`, nothing of a failed write (or
 * transaction) is stored, reads go on, and writes succeed again once the cause is gone. Exercised for
 * real on a file-backed SQLite database in a temporary directory: tests may run as root, where chmod
 * does not stop writes, so the database itself refuses them: `PRAGMA max_page_count` at the current
 * size (SQLITE_FULL, exactly what a full disk gives) and `PRAGMA query_only` (SQLITE_READONLY). A
 * failing COMMIT (an fsync I/O error, which cannot be provoked here) is raised by the store's
 * beforeCommit test hook with SQLite's own error class and code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { openConnections, type Connections } from '../../src/store/sqlite/connection';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

/** A Patient large enough to need new database pages. */
const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family, given: ['x'.repeat(20_000)] }] });

describe('security: full disk, read-only database', () => {
  let dir: string;
  let conns: Connections;
  let t: TestApp;
  let failCommit: Error | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-disk-full-'));
    conns = openConnections(path.join(dir, 'fhir.sqlite'));
    failCommit = undefined;
    const store = new SqliteStore(conns, {
      beforeCommit: () => {
        if (failCommit) throw failCommit;
      },
    });
    t = testApp(GENERIC_ENGINE, { store });
  });
  afterEach(async () => {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const create = (family: string) => request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient(family)));
  const transaction = (...families: string[]) =>
    request(t.app)
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: families.map((f) => ({ resource: patient(f), request: { method: 'POST', url: 'Patient' } })) }));
  const found = async (family: string): Promise<number> => {
    const res = await request(t.app).get(`/fhir/Patient?family=${family}&_total=accurate`);
    assert.equal(res.status, 200, res.text);
    return (res.body as { total: number }).total;
  };
  const versions = async (): Promise<number> => ((await request(t.app).get('/fhir/_history')).body as { total: number }).total;

  function assertUnavailable(res: request.Response, text: RegExp): void {
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.equal(res.body.issue[0].code, 'transient');
    assert.match(res.body.issue[0].diagnostics, text);
    assert.ok(Number(res.headers['retry-after']) > 0, 'Retry-After');
  }

  it('disk full: writes are 503 transient with Retry-After and leave nothing; reads go on; writes resume when space returns', async () => {
    const first = await create('Before');
    assert.equal(first.status, 201, first.text);
    const id = (first.body as { id: string }).id;
    conns.write.pragma(`max_page_count = ${conns.write.pragma('page_count', { simple: true }) as number}`);

    assertUnavailable(await create('Full'), /full/);
    assertUnavailable(await transaction('FullTx1', 'FullTx2'), /full/);
    assertUnavailable(await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient('Changed'), id })), /full/);

    const read = await request(t.app).get(`/fhir/Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.meta.versionId, '1');
    assert.equal(await found('Before'), 1);

    conns.write.pragma('max_page_count = 4294967294');
    const after = await create('After');
    assert.equal(after.status, 201, after.text);
    assert.equal(await found('Full'), 0);
    assert.equal(await found('FullTx1'), 0);
    assert.equal(await found('Changed'), 0);
    assert.equal(await versions(), 2, 'only the two acknowledged creates are in the history');
  });

  it('read-only database: writes are 503 transient; reads go on; writes resume when it is writable again', async () => {
    assert.equal((await create('Before')).status, 201);
    conns.write.pragma('query_only = ON');
    assertUnavailable(await create('ReadOnly'), /read-only/);
    assertUnavailable(await transaction('ReadOnlyTx'), /read-only/);
    assert.equal(await found('Before'), 1);
    conns.write.pragma('query_only = OFF');
    assert.equal((await create('After')).status, 201);
    assert.equal(await found('ReadOnly'), 0);
    assert.equal(await versions(), 2);
  });

  it('a failing commit (disk I/O error on fsync) is 503 for every write of its group, and none of them is stored', async () => {
    failCommit = new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC');
    const results = await Promise.all([create('Io1'), create('Io2'), transaction('Io3')]);
    for (const res of results) assertUnavailable(res, /I\/O error/);
    failCommit = undefined;
    assert.equal(await found('Io1') + (await found('Io2')) + (await found('Io3')), 0);
    assert.equal((await create('After')).status, 201);
  });
});
