/**
 * PDS-style Patient records over HTTP (PDS FHIR API "Get patient details", "Create a new patient",
 * "Update patient details"; the NHS layer defaults PATIENT_ID_POLICY=nhs-number).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { isTestRangeNhsNumber, NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { patient, post, put, spineCode } from './helpers';

describe('HTTP: PDS Patient records (NHS Number ids, read, patch rules)', () => {
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
  });
  after(() => t.close());

  it('stores a created Patient with an NHS Number under that number', async () => {
    const body = patient(undefined, { identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000017' }] });
    const res = await post(t, body);
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers['location'] ?? '', /\/Patient\/9000000017\/_history\/1$/);
    const again = await post(t, body);
    assert.equal(again.status, 409, again.text);
    assert.equal(spineCode(again.body), 'INVALID_CREATE');
  });

  it('refuses invalid NHS Numbers on create, update and patch with 422 INVALID_VALUE at the identifier', async () => {
    const res = await post(t, patient(undefined, { identifier: [{ system: 'urn:other', value: 'x' }, { system: NHS_NUMBER_SYSTEM, value: '9000000000' }] }));
    assert.equal(res.status, 422, res.text);
    assert.equal(spineCode(res.body), 'INVALID_VALUE');
    assert.deepEqual(res.body.issue[0].expression, ['Patient.identifier[1].value']);
    const upd = await put(t, { ...patient('9000000009'), identifier: [{ system: NHS_NUMBER_SYSTEM, value: '900 000 0009' }] });
    assert.equal(upd.status, 422, upd.text);
    assert.equal((await put(t, patient('9000000009'))).status, 201);
    const p = await request(t.app)
      .patch('/fhir/Patient/9000000009')
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send(JSON.stringify([{ op: 'replace', path: '/identifier/0/value', value: '9000000010' }]));
    assert.equal(p.status, 422, p.text);
    assert.equal(spineCode(p.body), 'INVALID_VALUE');
  });

  it('refuses an update whose NHS Number differs from its id', async () => {
    const res = await put(t, { ...patient('9000000025'), identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000033' }] });
    assert.equal(res.status, 422, res.text);
    assert.equal(spineCode(res.body), 'INVALID_VALUE');
    assert.match(res.body.issue[0].diagnostics, /stored under that number/);
  });

  it('refuses a PUT or PATCH that drops the NHS Number of a record stored under it (the record keeps it), and a PUT creating one without it', async () => {
    assert.equal((await put(t, patient('9000000106'))).status, 201);
    const { identifier: _dropped, ...withoutNumber } = patient('9000000106');
    const upd = await put(t, withoutNumber);
    assert.equal(upd.status, 422, upd.text);
    assert.equal(spineCode(upd.body), 'INVALID_VALUE');
    assert.deepEqual(upd.body.issue[0].expression, ['Patient.identifier']);
    const p = await request(t.app)
      .patch('/fhir/Patient/9000000106')
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send(JSON.stringify([{ op: 'remove', path: '/identifier' }]));
    assert.equal(p.status, 422, p.text);
    const read = await request(t.app).get('/fhir/Patient/9000000106');
    assert.equal(read.status, 200);
    assert.equal(read.headers['etag'], 'W/"1"');
    assert.equal((read.body as Patient).identifier?.[0]?.value, '9000000106');
    // Nor is a record created by PUT under an NHS Number without carrying it.
    const created = await put(t, { ...patient(undefined), id: '9000000114' });
    assert.equal(created.status, 422, created.text);
    assert.deepEqual(created.body.issue[0].expression, ['Patient.identifier']);
    assert.equal((await request(t.app).get('/fhir/Patient/9000000114')).status, 404);
  });

  it('reads PDS-style: invalid id 400, unknown 404, invalidated 404', async () => {
    for (const id of ['12345', '9000000000', 'not-a-number']) {
      const res = await request(t.app).get(`/fhir/Patient/${id}`);
      assert.equal(res.status, 400, `${id}: ${res.text}`);
      assert.equal(spineCode(res.body), 'INVALID_RESOURCE_ID');
    }
    const absent = await request(t.app).get('/fhir/Patient/9990000018');
    assert.equal(absent.status, 404);
    assert.equal(spineCode(absent.body), 'RESOURCE_NOT_FOUND');
    assert.equal((await put(t, patient('9000000033'))).status, 201);
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/9000000033')).status));
    const gone = await request(t.app).get('/fhir/Patient/9000000033');
    assert.equal(gone.status, 404, gone.text);
    assert.equal(spineCode(gone.body), 'INVALIDATED_RESOURCE');
  });

  it('adds Spine codes to engine errors of Patient interactions', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000009/_history/99');
    assert.equal(res.status, 404);
    assert.equal(spineCode(res.body), 'RESOURCE_NOT_FOUND');
  });

  it('PATCH needs If-Match W/"n" (412), a current version (409) and JSON Patch (400)', async () => {
    await put(t, patient('9000000041'));
    const ops = JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]);
    const send = (headers: Record<string, string>, type = 'application/json-patch+json') => request(t.app).patch('/fhir/Patient/9000000041').set('Content-Type', type).set(headers).send(ops);
    const missing = await send({});
    assert.equal(missing.status, 412);
    assert.equal(spineCode(missing.body), 'PRECONDITION_FAILED');
    const malformed = await send({ 'If-Match': '1' });
    assert.equal(malformed.status, 412);
    assert.equal(spineCode(malformed.body), 'PRECONDITION_FAILED');
    const stale = await send({ 'If-Match': 'W/"7"' });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(spineCode(stale.body), 'RESOURCE_VERSION_MISMATCH');
    const wrongType = await request(t.app).patch('/fhir/Patient/9000000041').set('Content-Type', FHIR_JSON).set('If-Match', 'W/"1"').send(JSON.stringify({ resourceType: 'Parameters' }));
    assert.equal(wrongType.status, 400);
    assert.equal(spineCode(wrongType.body), 'INVALID_VALUE');
    const ok = await send({ 'If-Match': 'W/"1"' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers['etag'], 'W/"2"');
    assert.equal((ok.body as Patient).gender, 'male');
    const unknown = await request(t.app).patch('/fhir/Patient/9990000018').set('Content-Type', 'application/json-patch+json').set('If-Match', 'W/"1"').send(ops);
    assert.equal(unknown.status, 404);
    assert.equal(spineCode(unknown.body), 'RESOURCE_NOT_FOUND');
  });

  it('allocates an NHS Number from the test range to a Patient created without one', async () => {
    const res = await post(t, patient(undefined, { name: [{ family: 'Allocated', given: ['Alice'] }], birthDate: '1971-02-03' }));
    assert.equal(res.status, 201, res.text);
    const body = res.body as Patient;
    assert.ok(isTestRangeNhsNumber(body.id!), body.id);
    assert.deepEqual(body.identifier?.map((i) => [i.system, i.value]), [[NHS_NUMBER_SYSTEM, body.id]]);
    assert.equal((await request(t.app).get(`/fhir/Patient/${body.id}`)).status, 200);
  });

  it('echoes X-Correlation-ID', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000009').set('X-Correlation-ID', 'corr-123');
    assert.equal(res.headers['x-correlation-id'], 'corr-123');
  });
});

describe('HTTP: PDS Patient records in transaction Bundles', () => {
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
  });
  after(() => t.close());

  it('creates a POSTed Patient with an NHS Number under that number and rewrites references to it', async () => {
    const fullUrl = 'urn:uuid:5b3f0c1e-0000-4000-8000-000000000001';
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl, resource: patient(undefined, { identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000025' }] }), request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, subject: { reference: fullUrl } }, request: { method: 'POST', url: 'Observation' } },
      ],
    };
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
    assert.equal(res.status, 200, res.text);
    const [p, o] = (res.body as { entry: Array<{ response: { status: string; location: string } }> }).entry;
    assert.match(p!.response.location, /^Patient\/9000000025\/_history\/1$/);
    const obs = await request(t.app).get(`/fhir/${o!.response.location.replace(/\/_history\/\d+$/, '')}`);
    assert.equal((obs.body as { subject: { reference: string } }).subject.reference, 'Patient/9000000025');
    // The same NHS Number again: the transaction fails as a whole and leaves nothing behind.
    const again = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
    assert.ok(again.status >= 400 && again.status < 500, again.text);
    const count = await request(t.app).get('/fhir/Observation?_summary=count');
    assert.equal((count.body as { total: number }).total, 1);
  });
});
