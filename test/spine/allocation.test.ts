/**
 * NHS Number allocation on `POST /Patient` (PDS FHIR API "Create a new patient"; FHIR R4 issue type
 * `duplicate`): a demographic match answers 409 `duplicate` naming the matching record(s) (Spine coding
 * SINGLE_MATCH / MULTIPLE_MATCHES) instead of creating a duplicate; otherwise a new number is
 * allocated, never twice, under concurrency in one app and across two apps sharing one SQLite file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { createApp } from '../../src/http/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { buildServices } from '../../src/main';
import { isValidNhsNumber } from '../../src/spine/nhs-number';
import { NHS_LAYER, testApp, TEST_BASE, type TestApp } from '../helpers/test-app';
import { patient, post, spineCode } from './helpers';

/** Distinct demographics so the trace before allocation never matches. */
function person(i: number, tag: string): Patient {
  return patient(undefined, { name: [{ family: `${tag}${String.fromCharCode(65 + (i % 26))}${i}x`, given: [`G${i}q`] }], birthDate: `19${String(10 + (i % 80)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`, gender: i % 2 ? 'male' : 'female' });
}

describe('HTTP: NHS Number allocation', () => {
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
  });
  after(() => t.close());

  it('answers 409 duplicate naming the record when the person is already known (SINGLE_MATCH), naming both when several are (MULTIPLE_MATCHES)', async () => {
    const jane = patient(undefined, { name: [{ use: 'usual', family: 'Edwards', given: ['Jane'] }], birthDate: '1982-07-10', gender: 'female', address: [{ postalCode: 'LS1 6AE' }] });
    const first = await post(t, jane);
    assert.equal(first.status, 201, first.text);
    const firstId = (first.body as Patient).id!;
    const again = await post(t, jane);
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.resourceType, 'OperationOutcome');
    assert.equal(again.body.issue[0].code, 'duplicate');
    assert.equal(again.body.issue[0].severity, 'error');
    assert.deepEqual(again.body.issue[0].expression, ['Patient']);
    assert.match(again.body.issue[0].diagnostics, new RegExp(`matching record: Patient/${firstId}\\)`));
    assert.equal(spineCode(again.body), 'SINGLE_MATCH');
    assert.equal(again.headers['content-location'], undefined);
    // A second record with the same demographics (created with its own NHS Number) makes it ambiguous.
    const twin = { ...jane, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }] };
    assert.equal((await post(t, twin)).status, 201);
    const multi = await post(t, jane);
    assert.equal(multi.status, 409, multi.text);
    assert.equal(multi.body.issue[0].code, 'duplicate');
    assert.equal(spineCode(multi.body), 'MULTIPLE_MATCHES');
    const named = /matching records: (.*)\)$/.exec(multi.body.issue[0].diagnostics as string)?.[1]?.split(', ').sort();
    assert.deepEqual(named, [`Patient/${firstId}`, 'Patient/9000000009'].sort());
    // Nothing was created by the refused creates.
    assert.equal((await request(t.app).get('/fhir/Patient?family=Edwards&_total=accurate')).body.total, 2);
  });

  it('never allocates a number twice under concurrent creates', async () => {
    const n = 40;
    const res = await Promise.all(Array.from({ length: n }, (_, i) => post(t, person(i, 'Conc'))));
    assert.deepEqual(res.map((r) => r.status), Array(n).fill(201));
    const ids = res.map((r) => (r.body as Patient).id!);
    assert.equal(new Set(ids).size, n);
    assert.ok(ids.every(isValidNhsNumber));
  });

  it('two apps sharing one SQLite file with a tiny range allocate distinct numbers (collisions retried)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spine-alloc-'));
    // 9990000000-9990000399: 40 stems, about 36 valid numbers for 30 creates from two instances.
    const env = { SQLITE_PATH: path.join(dir, 'fhir.sqlite'), BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', AUTH_MODE: 'off', NHS_NUMBER_RANGE: '9990000000-9990000399' };
    const s1 = buildServices(loadConfig(env), silentLogger());
    const s2 = buildServices(loadConfig(env), silentLogger());
    try {
      const apps = [createApp(s1), createApp(s2)];
      const res = await Promise.all(Array.from({ length: 30 }, (_, i) => request(apps[i % 2]!).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(JSON.stringify(person(i, 'Two')))));
      assert.deepEqual(res.map((r) => r.status), Array(30).fill(201), res.find((r) => r.status !== 201)?.text);
      const ids = res.map((r) => (r.body as Patient).id!);
      assert.equal(new Set(ids).size, 30);
      assert.ok(ids.every((id) => id >= '9990000000' && id <= '9990000399' && isValidNhsNumber(id)));
      // The range is now nearly used up: the rest fills it, then a clear 500 names the range.
      let last = 201;
      for (let i = 100; i < 120 && last === 201; i++) last = (await request(apps[0]!).post('/fhir/Patient').set('Content-Type', 'application/fhir+json').send(JSON.stringify(person(i, 'Fill')))).status;
      assert.equal(last, 500);
    } finally {
      await s1.store.close();
      await s2.store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
