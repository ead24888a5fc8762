/**
 * `Patient/$merge` over HTTP (FHIR Patient-merge; PDS superseded records): the source is superseded
 * by the target atomically; on /fhir a read of the source answers it as stored (inactive, with its
 * `replaced-by` link: plain R4, no redirect; the PDS façade follows the link, test/facades/pds/);
 * history keeps both; preview writes nothing.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, Parameters, Patient } from 'fhir/r4';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { patient, put, spineCode } from './helpers';

const merge = (t: TestApp, parameter: Parameters['parameter']) =>
  request(t.app).post('/fhir/Patient/$merge').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Parameters', parameter }));

describe('HTTP: Patient/$merge', () => {
  let t: TestApp;
  before(async () => {
    t = testApp(NHS_LAYER);
    for (const n of ['9000000009', '9000000017', '9000000025']) assert.equal((await put(t, patient(n))).status, 201);
  });
  after(() => t.close());

  it('preview answers the outcome without writing', async () => {
    const res = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9000000009' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000017' } },
      { name: 'preview', valueBoolean: true },
    ]);
    assert.equal(res.status, 200, res.text);
    const out = res.body as Parameters;
    const result = out.parameter?.find((p) => p.name === 'result')?.resource as Patient;
    assert.deepEqual(result.link, [{ other: { reference: 'Patient/9000000009' }, type: 'replaces' }]);
    const src = await request(t.app).get('/fhir/Patient/9000000009');
    assert.equal(src.body.id, '9000000009');
    assert.equal(src.headers['etag'], 'W/"1"');
  });

  it('supersedes the source by the target; the old number reads as stored with its replaced-by link; history keeps both', async () => {
    const res = await merge(t, [
      { name: 'source-patient-identifier', valueIdentifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000017' } },
    ]);
    assert.equal(res.status, 200, res.text);
    const read = await request(t.app).get('/fhir/Patient/9000000009');
    assert.equal(read.status, 200);
    assert.equal((read.body as Patient).id, '9000000009', 'no redirect to the survivor on /fhir');
    assert.equal(read.headers['etag'], 'W/"2"');
    assert.equal((read.body as Patient).active, false);
    assert.deepEqual((read.body as Patient).link, [{ other: { reference: 'Patient/9000000017' }, type: 'replaced-by' }]);
    const survivor = await request(t.app).get('/fhir/Patient/9000000017');
    assert.deepEqual((survivor.body as Patient).link, [{ other: { reference: 'Patient/9000000009' }, type: 'replaces' }]);
    const hist = await request(t.app).get('/fhir/Patient/9000000009/_history');
    const versions = (hist.body as Bundle).entry!.map((e) => e.resource as Patient);
    assert.equal(versions.length, 2);
    assert.equal(versions[0]!.active, false);
    assert.deepEqual(versions[0]!.link, [{ other: { reference: 'Patient/9000000017' }, type: 'replaced-by' }]);
    const survivorHist = await request(t.app).get('/fhir/Patient/9000000017/_history');
    assert.equal((survivorHist.body as Bundle).entry!.length, 2);
  });

  it('refuses merging a superseded source, into a superseded target, into itself, unknown (404) or deleted (410) records', async () => {
    const again = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9000000009' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000025' } },
    ]);
    assert.equal(again.status, 422, again.text);
    const intoSuperseded = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9000000025' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000009' } },
    ]);
    assert.equal(intoSuperseded.status, 422);
    const self = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9000000025' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000025' } },
    ]);
    assert.equal(self.status, 400);
    const unknown = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9990000018' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000025' } },
    ]);
    assert.equal(unknown.status, 404);
    assert.equal(spineCode(unknown.body), 'RESOURCE_NOT_FOUND');
    assert.equal((await put(t, patient('9000000033'))).status, 201);
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/9000000033')).status));
    const deleted = await merge(t, [
      { name: 'source-patient', valueReference: { reference: 'Patient/9000000033' } },
      { name: 'target-patient', valueReference: { reference: 'Patient/9000000025' } },
    ]);
    assert.equal(deleted.status, 410, deleted.text);
    assert.equal(deleted.body.issue[0].code, 'deleted');
    assert.deepEqual(deleted.body.issue[0].expression, ['source-patient']);
    const missing = await merge(t, [{ name: 'target-patient', valueReference: { reference: 'Patient/9000000025' } }]);
    assert.equal(missing.status, 400);
    assert.equal(spineCode(missing.body), 'MISSING_VALUE');
  });

  it('is declared in the CapabilityStatement', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    const text = JSON.stringify(res.body);
    assert.ok(text.includes('Patient-merge'), 'merge operation listed');
  });
});
