/**
 * PDS façade: headers and "Get patient details" (patient-get.yaml sandbox scenarios) with the server's
 * default configuration. Skips with a printed reason when ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import type { TestApp } from '../../helpers/test-app';
import { assertPdsError, BASE, loadPds, PDS, pds, pdsApp, smartPdsApp, storePdsPatient, storeSandboxRecords } from './helpers';

const keys = (r: object): string[] => Object.keys(r).filter((k) => k !== 'meta').sort();

describe('PDS façade: read and headers', function () {
  let t: TestApp;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    t = pdsApp();
    await storeSandboxRecords(t);
  });
  after(() => t?.close());

  it('Patient exists (9000000009): 200, the sandbox record as PDS returns it (PDS shapes), ETag W/"1"', async () => {
    const res = await pds(t, 'get', 'Patient/9000000009');
    assert.equal(res.status, 200, res.text);
    const expected = loadPds<Patient>('searchResponses', 'Patient.json');
    const { meta: _m, ...got } = res.body as Patient;
    const { meta: _e, ...want } = expected;
    assert.deepEqual(got, want);
    assert.equal(res.headers['etag'], 'W/"1"');
    assert.match(res.headers['content-type'] ?? '', /^application\/fhir\+json/);
  });

  it('Sensitive patient exists (9000000025): 200 with the restricted data removed, the same elements as the sandbox', async () => {
    const res = await pds(t, 'get', 'Patient/9000000025');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(keys(res.body), keys(loadPds<Patient>('searchResponses', 'Sensitive_Patient.json')));
  });

  it('Patient exists with minimal data (9000000033): 200', async () => {
    const res = await pds(t, 'get', 'Patient/9000000033');
    assert.equal(res.status, 200);
    assert.deepEqual(keys(res.body), keys(loadPds<Patient>('searchResponses', 'Minimal_Patient.json')));
  });

  it('Patient does not exist (9111231130): 404 RESOURCE_NOT_FOUND', async () => {
    assertPdsError(await pds(t, 'get', 'Patient/9111231130'), 404, 'RESOURCE_NOT_FOUND');
  });

  it('Invalid NHS number (9000000000): 400 INVALID_RESOURCE_ID', async () => {
    assertPdsError(await pds(t, 'get', 'Patient/9000000000'), 400, 'INVALID_RESOURCE_ID');
  });

  it('Missing X-Request-ID: 400 MISSING_VALUE; a malformed one 400 INVALID_VALUE naming it', async () => {
    const missing = assertPdsError(await request(t.app).get(`${BASE}/Patient/9000000009`), 400, 'MISSING_VALUE');
    assert.match(missing.issue[0]!.diagnostics!, /X-Request-ID header must be supplied/);
    const bad = assertPdsError(await request(t.app).get(`${BASE}/Patient/9000000009`).set('X-Request-ID', '1234'), 400, 'INVALID_VALUE');
    assert.equal(bad.issue[0]!.diagnostics, "Invalid value - '1234' in header 'X-Request-ID'");
  });

  it('X-Request-ID and X-Correlation-ID are mirrored exactly (spaces too), on answers and errors', async () => {
    const id = '60E0B220-8136-4CA5-AE46-1D97EF59D068';
    const corr = 'my correlation  id.1';
    for (const p of ['Patient/9000000009', 'Patient/9111231130']) {
      const res = await request(t.app).get(`${BASE}/${p}`).set('X-Request-ID', id).set('X-Correlation-ID', corr);
      assert.equal(res.headers['x-request-id'], id, p);
      assert.equal(res.headers['x-correlation-id'], corr, p);
    }
  });

  it('a deleted record: 404 INVALIDATED_RESOURCE (on /fhir it is the plain R4 410)', async () => {
    await request(t.app).put('/fhir/Patient/9000000041').set('Content-Type', 'application/fhir+json').send({ resourceType: 'Patient', id: '9000000041', identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000041' }], name: [{ use: 'usual', family: 'Gone', given: ['Al'] }], gender: 'male', birthDate: '1970-01-01' }).expect(201);
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/9000000041')).status));
    assertPdsError(await pds(t, 'get', 'Patient/9000000041'), 404, 'INVALIDATED_RESOURCE');
    assert.equal((await request(t.app).get('/fhir/Patient/9000000041')).status, 410);
  });

  it('a superseded record answers its survivor (the id differs from the one asked)', async () => {
    const nhs = (n: string): Patient => ({ resourceType: 'Patient', id: n, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: n }], name: [{ use: 'usual', family: 'Merge', given: ['Mo'] }], gender: 'female', birthDate: '1980-02-02' });
    for (const n of ['9000000068', '9000000076']) await request(t.app).put(`/fhir/Patient/${n}`).set('Content-Type', 'application/fhir+json').send(nhs(n)).expect(201);
    const merge = await request(t.app)
      .post('/fhir/Patient/$merge')
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'Parameters', parameter: [{ name: 'source-patient', valueReference: { reference: 'Patient/9000000068' } }, { name: 'target-patient', valueReference: { reference: 'Patient/9000000076' } }] });
    assert.equal(merge.status, 200, merge.text);
    const res = await pds(t, 'get', 'Patient/9000000068');
    assert.equal(res.status, 200, res.text);
    assert.equal((res.body as Patient).id, '9000000076');
  });

  it('_ping and _status answer without X-Request-ID', async () => {
    const ping = await request(t.app).get(`${BASE}/_ping`);
    assert.equal(ping.status, 200);
    assert.equal(ping.body.status, 'pass');
    const status = await request(t.app).get(`${BASE}/_status`);
    assert.equal(status.status, 200);
    assert.equal(status.body.checks.store.status, 'pass');
  });

  it('an unknown endpoint is 404 and a method PDS does not serve is 405, both in the PDS error shape', async () => {
    assert.equal((await pds(t, 'get', 'Observation/1')).status, 404);
    const res = await request(t.app).delete(`${BASE}/Patient/9000000009`).set('X-Request-ID', '60E0B220-8136-4CA5-AE46-1D97EF59D068');
    assertPdsError(res, 405, 'INVALID_METHOD');
  });
});

describe('PDS façade: read in the access modes (SMART)', function () {
  let w: ReturnType<typeof smartPdsApp>;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    w = smartPdsApp();
    const system = w.token('system/Patient.cruds');
    await storePdsPatient(w.t, loadPds<Patient>('searchResponses', 'Patient.json'), system);
    await storePdsPatient(w.t, loadPds<Patient>('searchResponses', 'Patient-Jayne-Smyth.json'), system);
  });
  after(() => w?.t.close());

  it('without a token: 401 ACCESS_DENIED with the Bearer challenge', async () => {
    const res = await pds(w.t, 'get', 'Patient/9000000009');
    assertPdsError(res, 401, 'ACCESS_DENIED');
    assert.match(res.headers['www-authenticate'] ?? '', /^Bearer /);
  });

  it('healthcare worker (user/) and application-restricted (system/) callers read any record', async () => {
    for (const scope of ['user/Patient.rs', 'system/Patient.rs']) {
      const res = await pds(w.t, 'get', 'Patient/9000000017', { token: w.token(scope) });
      assert.equal(res.status, 200, `${scope}: ${res.text}`);
    }
  });

  it('patient access: the own record 200; another NHS Number 403 ACCESS_DENIED whether it exists or not', async () => {
    const token = w.token('launch/patient patient/Patient.rs', { patient: '9000000009' });
    const own = await pds(w.t, 'get', 'Patient/9000000009', { token });
    assert.equal(own.status, 200, own.text);
    const other = assertPdsError(await pds(w.t, 'get', 'Patient/9000000017', { token }), 403, 'ACCESS_DENIED');
    const absent = assertPdsError(await pds(w.t, 'get', 'Patient/9111231130', { token }), 403, 'ACCESS_DENIED');
    assert.equal(other.issue[0]!.diagnostics, absent.issue[0]!.diagnostics);
  });
});
