/**
 * X-Request-ID idempotency over HTTP (PDS FHIR API request headers; ADR 24 and its amendment): a
 * retried successful write with the same X-Request-ID is answered from the stored first response and
 * not applied again, across server instances sharing one SQLite database too; an error is not
 * remembered, so a corrected request under the same X-Request-ID is applied.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Bundle } from 'fhir/r4';
import { createApp } from '../../src/http/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { buildServices } from '../../src/main';
import { NHS_LAYER, testApp, TEST_BASE, type TestApp } from '../helpers/test-app';
import { patient, post, spineCode } from './helpers';

async function count(t: { app: TestApp['app'] }, family: string): Promise<number> {
  const res = await request(t.app).get(`/fhir/Patient?family=${family}&_total=accurate`);
  return (res.body as Bundle).total ?? -1;
}

describe('HTTP: X-Request-ID idempotency', () => {
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
  });
  after(() => t.close());

  it('replays the first response to a retry instead of creating twice', async () => {
    const body = patient(undefined, { name: [{ family: 'Retried', given: ['Rita'] }], birthDate: '1966-06-06' });
    const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e01';
    const first = await post(t, body, { 'X-Request-ID': id });
    assert.equal(first.status, 201, first.text);
    const second = await post(t, body, { 'X-Request-ID': id });
    assert.equal(second.status, 201);
    assert.equal(second.headers['location'], first.headers['location']);
    assert.equal(second.headers['x-idempotent-replay'], 'true');
    assert.deepEqual(second.body, first.body);
    assert.equal(await count(t, 'Retried'), 1);
    const other = await post(t, { ...body, name: [{ family: 'Retried', given: ['Other'] }], birthDate: '1999-09-09' }, { 'X-Request-ID': 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e02' });
    assert.equal(other.status, 201);
    assert.equal(await count(t, 'Retried'), 2);
  });

  it('concurrent duplicates apply once and all get the same answer', async () => {
    const body = patient(undefined, { name: [{ family: 'Concurrent', given: ['Cat'] }], birthDate: '1955-05-05' });
    const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e03';
    const all = await Promise.all(Array.from({ length: 8 }, () => post(t, body, { 'X-Request-ID': id })));
    const locations = new Set(all.map((r) => r.headers['location']));
    assert.deepEqual(all.map((r) => r.status), Array(8).fill(201));
    assert.equal(locations.size, 1);
    assert.equal(await count(t, 'Concurrent'), 1);
  });

  it('does not remember errors: the same request under the same id runs again (no replay), and reads are not touched', async () => {
    const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e04';
    const bad = patient(undefined, { identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000000' }] });
    const a = await post(t, bad, { 'X-Request-ID': id });
    const b = await post(t, bad, { 'X-Request-ID': id });
    assert.equal(a.status, 422);
    assert.equal(b.status, 422);
    assert.equal(b.headers['x-idempotent-replay'], undefined, 'answered by running it again, not from memory');
    assert.equal(spineCode(b.body), 'INVALID_VALUE');
    // A corrected body under the same id is applied, not refused as "a different request".
    const fixed = await post(t, patient(undefined, { identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000068' }] }), { 'X-Request-ID': id });
    assert.equal(fixed.status, 201, fixed.text);
    assert.equal(fixed.body.id, '9000000068');
    const r = await request(t.app).get('/fhir/metadata').set('X-Request-ID', id);
    assert.equal(r.headers['x-idempotent-replay'], undefined);
  });

  it('a PATCH refused for a stale If-Match (412) may be corrected under the same X-Request-ID; the corrected one is then replayed', async () => {
    const created = await post(t, patient('9000000076', { name: [{ use: 'usual', family: 'Patched', given: ['Pat'] }] }));
    assert.equal(created.status, 201, created.text);
    const moved = await request(t.app).put('/fhir/Patient/9000000076').set('Content-Type', 'application/fhir+json').send(JSON.stringify({ ...created.body, gender: 'other' }));
    assert.equal(moved.headers['etag'], 'W/"2"');
    const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e07';
    const ops = JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]);
    const patchWith = (ifMatch: string) => request(t.app).patch('/fhir/Patient/9000000076').set('Content-Type', 'application/json-patch+json').set('X-Request-ID', id).set('If-Match', ifMatch).send(ops);
    const stale = await patchWith('W/"1"');
    assert.equal(stale.status, 412, stale.text);
    const corrected = await patchWith('W/"2"');
    assert.equal(corrected.status, 200, corrected.text);
    assert.equal(corrected.headers['x-idempotent-replay'], undefined, 'applied, not the stale 412 replayed');
    assert.equal(corrected.headers['etag'], 'W/"3"');
    assert.equal((corrected.body as { gender?: string }).gender, 'male');
    // A retry of the corrected request: the 200 replayed, no new version.
    const retry = await patchWith('W/"2"');
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.headers['x-idempotent-replay'], 'true');
    assert.equal(retry.headers['etag'], 'W/"3"');
    assert.deepEqual(retry.body, corrected.body);
    const read = await request(t.app).get('/fhir/Patient/9000000076');
    assert.equal(read.headers['etag'], 'W/"3"', 'no new version');
    assert.equal(read.body.gender, 'male');
    // After that success the id is spent: the stale request again is "a different request" (422).
    const reused = await patchWith('W/"1"');
    assert.equal(reused.status, 422, reused.text);
    assert.deepEqual(reused.body.issue[0].expression, ['X-Request-ID']);
  });

  it('the same X-Request-ID with another body, URL or If-Match is refused with 422 naming the header; the retry is still replayed', async () => {
    const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e06';
    const body = patient(undefined, { name: [{ family: 'Reused', given: ['Ruth'] }], birthDate: '1933-03-03' });
    const first = await post(t, body, { 'X-Request-ID': id });
    assert.equal(first.status, 201, first.text);
    // Another body under the same id: not replayed in its place (its change would be silently dropped), not run.
    const changed = await post(t, { ...body, name: [{ family: 'Reused', given: ['Other'] }], birthDate: '1934-04-04' }, { 'X-Request-ID': id });
    assert.equal(changed.status, 422, changed.text);
    assert.equal(changed.headers['x-idempotent-replay'], undefined);
    assert.equal(spineCode(changed.body), 'INVALID_VALUE');
    assert.deepEqual(changed.body.issue[0].expression, ['X-Request-ID']);
    assert.match(changed.body.issue[0].diagnostics, /X-Request-ID .* already used for a different request \(POST Patient\)/);
    // Another URL or If-Match under the same id.
    const nhs = String(first.body.id);
    const put = await request(t.app).put(`/fhir/Patient/${nhs}`).set('Content-Type', 'application/fhir+json').set('X-Request-ID', id).send(JSON.stringify(first.body));
    assert.equal(put.status, 422, put.text);
    const del = await request(t.app).delete(`/fhir/Patient/${nhs}`).set('X-Request-ID', id).set('If-Match', 'W/"1"');
    assert.equal(del.status, 422, del.text);
    assert.equal((await request(t.app).get(`/fhir/Patient/${nhs}`)).status, 200, 'nothing was applied');
    assert.equal(await count(t, 'Reused'), 1);
    // The real retry still gets the first answer, the same body with other whitespace included.
    const retry = await request(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').set('X-Request-ID', id).send(JSON.stringify(body, null, 2));
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.headers['x-idempotent-replay'], 'true');
    assert.equal(retry.headers['location'], first.headers['location']);
    assert.equal(retry.headers['x-spine-request-fingerprint'], undefined, 'the fingerprint is never sent');
  });

  it('two server instances sharing one SQLite file apply a retried request once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spine-idem-'));
    const env = { SQLITE_PATH: path.join(dir, 'fhir.sqlite'), BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', AUTH_MODE: 'off' };
    const s1 = buildServices(loadConfig(env), silentLogger());
    const s2 = buildServices(loadConfig(env), silentLogger());
    try {
      const a1 = { app: createApp(s1) };
      const a2 = { app: createApp(s2) };
      const body = patient(undefined, { name: [{ family: 'Shared', given: ['Sam'] }], birthDate: '1944-04-04' });
      const id = 'b0b7a5a4-1d3e-4c55-9a57-0a6b0c3f1e05';
      const [r1, r2] = await Promise.all([post(a1 as TestApp, body, { 'X-Request-ID': id }), post(a2 as TestApp, body, { 'X-Request-ID': id })]);
      assert.equal(r1.status, 201, r1.text);
      assert.equal(r2.status, 201, r2.text);
      assert.equal(r1.headers['location'], r2.headers['location']);
      assert.equal(await count(a1, 'Shared'), 1);
    } finally {
      await s1.store.close();
      await s2.store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
