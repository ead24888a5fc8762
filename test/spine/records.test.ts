/**
 * NHS Number Patient records over HTTP on the generic API (PDS FHIR API "Create a new patient"; FHIR R4
 * http.html read, update, patch; the NHS layer defaults PATIENT_ID_POLICY=nhs-number): ids are NHS
 * Numbers, and every answer is plain FHIR R4 (410 for a deleted record, 404 for an unknown id, 412 for
 * a stale If-Match, 409 `duplicate` for a create of an existing person). The PDS wire behaviour is
 * replayed against the PDS façade in test/facades/pds/.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { isTestRangeNhsNumber, NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { patient, post, put, spineCode } from './helpers';

describe('HTTP: NHS Number Patient records on /fhir (ids, create, read, patch as plain R4)', () => {
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
    assert.equal(again.body.issue[0].code, 'duplicate');
    assert.match(again.body.issue[0].diagnostics, /matching record: Patient\/9000000017\b/);
    assert.equal(spineCode(again.body), 'INVALID_CREATE', 'the Spine code stays as an extra coding');
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

  it('reads as plain R4: an unknown id (NHS Number or not) 404, a deleted record 410 with its version', async () => {
    for (const id of ['12345', '9000000000', 'not-a-number', '9990000018']) {
      const res = await request(t.app).get(`/fhir/Patient/${id}`);
      assert.equal(res.status, 404, `${id}: ${res.text}`);
      assert.equal(res.body.issue[0].code, 'not-found', id);
    }
    assert.equal((await put(t, patient('9000000033'))).status, 201);
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/9000000033')).status));
    const gone = await request(t.app).get('/fhir/Patient/9000000033');
    assert.equal(gone.status, 410, gone.text);
    assert.equal(gone.body.issue[0].code, 'deleted');
    assert.equal(gone.headers['etag'], 'W/"2"', 'the deletion is version 2');
  });

  it('adds Spine codes to engine errors of Patient interactions', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000009/_history/99');
    assert.equal(res.status, 404);
    assert.equal(spineCode(res.body), 'RESOURCE_NOT_FOUND');
  });

  it('PATCH is the engine\'s: no If-Match needed, a stale one 412, FHIRPath Patch accepted, an unknown record 404', async () => {
    await put(t, patient('9000000041'));
    const ops = (gender: string): string => JSON.stringify([{ op: 'replace', path: '/gender', value: gender }]);
    const send = (body: string, headers: Record<string, string> = {}, type = 'application/json-patch+json') => request(t.app).patch('/fhir/Patient/9000000041').set('Content-Type', type).set(headers).send(body);
    const bare = await send(ops('male'));
    assert.equal(bare.status, 200, bare.text);
    assert.equal(bare.headers['etag'], 'W/"2"');
    assert.equal((bare.body as Patient).gender, 'male');
    const stale = await send(ops('other'), { 'If-Match': 'W/"1"' });
    assert.equal(stale.status, 412, stale.text);
    assert.equal(stale.body.issue[0].code, 'conflict');
    assert.equal(((await request(t.app).get('/fhir/Patient/9000000041')).body as Patient).gender, 'male', 'the stale patch changed nothing');
    const fhirPath = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'unknown' }] }] };
    const viaFhirPath = await send(JSON.stringify(fhirPath), { 'If-Match': 'W/"2"' }, FHIR_JSON);
    assert.equal(viaFhirPath.status, 200, viaFhirPath.text);
    assert.equal((viaFhirPath.body as Patient).gender, 'unknown');
    const current = await send(ops('female'), { 'If-Match': 'W/"3"' });
    assert.equal(current.status, 200, current.text);
    assert.equal(current.headers['etag'], 'W/"4"');
    const unknown = await request(t.app).patch('/fhir/Patient/9990000018').set('Content-Type', 'application/json-patch+json').send(ops('male'));
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.issue[0].code, 'not-found');
  });

  it('refuses to create a Patient by PUT under an id that is not an NHS Number (422 at Patient.id), by plain or conditional update or in a transaction', async () => {
    const { identifier: _none, id: _id, ...anonymous } = patient('9000000084');
    const plain = await put(t, { ...anonymous, id: 'abc' });
    assert.equal(plain.status, 422, plain.text);
    assert.deepEqual(plain.body.issue[0].expression, ['Patient.id']);
    assert.match(plain.body.issue[0].diagnostics, /Patient ids are NHS Numbers.*POST the Patient/);
    assert.equal((await request(t.app).get('/fhir/Patient/abc')).status, 404, 'nothing was created');
    const conditional = await request(t.app).put('/fhir/Patient?family=Nobodyhere').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...anonymous, name: [{ family: 'Nobodyhere' }] }));
    assert.equal(conditional.status, 422, conditional.text);
    assert.deepEqual(conditional.body.issue[0].expression, ['Patient.id']);
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...anonymous, id: 'abd' }, request: { method: 'PUT', url: 'Patient/abd' } }] };
    const tx = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
    assert.equal(tx.status, 422, tx.text);
    assert.match(tx.body.issue[0].diagnostics, /Bundle\.entry\[0\].*Patient ids are NHS Numbers/);
    assert.equal((await request(t.app).get('/fhir/Patient?family=Nobodyhere&_total=accurate')).body.total, 0);
    assert.equal((await request(t.app).get('/fhir/Patient/abd')).status, 404);
    // Under its NHS Number the same PUT creates the record.
    assert.equal((await put(t, patient('9000000084'))).status, 201);
  });

  it('still updates a record stored under another id before the policy applied; once deleted it cannot be recreated', async () => {
    const legacy = { ...patient(undefined), id: 'legacy-1' } as Patient;
    // Written straight into the store, as a server running with PATIENT_ID_POLICY=server would have.
    await t.services.store.write({ kind: 'create', resourceType: 'Patient', id: 'legacy-1', resource: legacy, index: t.services.indexer.extract(legacy) });
    const upd = await put(t, { ...legacy, gender: 'male' });
    assert.equal(upd.status, 200, upd.text);
    assert.equal((upd.body as Patient).gender, 'male');
    assert.equal((await request(t.app).get('/fhir/Patient/legacy-1')).body.gender, 'male');
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/legacy-1')).status));
    const again = await put(t, legacy);
    assert.equal(again.status, 422, again.text);
    assert.deepEqual(again.body.issue[0].expression, ['Patient.id']);
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
    assert.equal(again.status, 409, again.text);
    assert.equal(again.body.issue[0].code, 'duplicate');
    const count = await request(t.app).get('/fhir/Observation?_summary=count');
    assert.equal((count.body as { total: number }).total, 1);
  });
});
