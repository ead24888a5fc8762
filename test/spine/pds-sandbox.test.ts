/**
 * The PDS FHIR API sandbox scenarios (personal-demographics.yaml "Sandbox test scenarios";
 * errorResponses/ and searchResponses/ of NHSDigital/personal-demographics-service-api) replayed
 * against this server loaded with the equivalent records: status, Spine error code, issue severity
 * and code, and the shape (element names) of the returned resources are compared with the sandbox's.
 * Skips with a printed reason when ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { SPINE_ERROR_SYSTEM } from '../../src/spine/errors';
import { post, put } from './helpers';

const PDS = existingExternalPath('nhs-apis', 'pds');

function load<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(PDS!, ...parts), 'utf8')) as T;
}

/** Compares an error answer with a sandbox error response: Spine code, system, display, severity, issue code. */
function assertLikeSandbox(body: unknown, file: string): void {
  const expected = load<OperationOutcome>('errorResponses', file).issue[0]!;
  const got = (body as OperationOutcome).issue?.[0];
  assert.ok(got, `no issue in ${JSON.stringify(body)}`);
  const e = expected.details!.coding![0]!;
  const g = got.details?.coding?.find((c) => c.system === SPINE_ERROR_SYSTEM);
  assert.deepEqual({ system: g?.system, code: g?.code, display: g?.display, version: g?.version }, { system: e.system, code: e.code, display: e.display, version: e.version }, file);
  assert.equal(got.severity, expected.severity, `${file}: severity`);
  assert.equal(got.code, expected.code, `${file}: issue code`);
}

const keys = (r: object): string[] => Object.keys(r).filter((k) => k !== 'meta').sort();

describe('PDS sandbox scenarios', function () {
  let t: TestApp;
  /** The stored records: the sandbox's, with the restricted one holding the data the sandbox removes. */
  let full: Patient;

  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    // The sandbox records use PDS's older extension shapes (valueCoding where UK Core 2.x has
    // CodeableConcept), so they do not conform to the current UK Core: no profile is required here.
    t = testApp({ ...NHS_LAYER, REQUIRED_PROFILES: '', PROFILES_DIR: '' });
    full = load<Patient>('searchResponses', 'Patient.json');
    const sensitive = load<Patient>('searchResponses', 'Sensitive_Patient.json');
    const stored = [
      full,
      load<Patient>('searchResponses', 'Patient-Jayne-Smyth.json'),
      load<Patient>('searchResponses', 'Minimal_Patient.json'),
      { ...sensitive, address: full.address, telecom: full.telecom, generalPractitioner: full.generalPractitioner },
    ];
    for (const p of stored) {
      const { meta, ...rest } = p;
      const res = await put(t, { ...rest, meta: { security: meta!.security! } });
      assert.equal(res.status, 201, `${p.id}: ${res.text}`);
    }
  });
  after(() => t?.close());

  it('Patient exists (9000000009): 200 with the record, same elements as the sandbox', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000009');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(keys(res.body), keys(full));
    assert.equal(res.headers['etag'], 'W/"1"');
  });

  it('Sensitive patient exists (9000000025): 200 with the restricted data removed, as the sandbox answers', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000025');
    assert.equal(res.status, 200);
    assert.deepEqual(keys(res.body), keys(load<Patient>('searchResponses', 'Sensitive_Patient.json')));
  });

  it('Patient exists with minimal data (9000000033): 200', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000033');
    assert.equal(res.status, 200);
    assert.deepEqual(keys(res.body), keys(load<Patient>('searchResponses', 'Minimal_Patient.json')));
  });

  it('Patient does not exist (9111231130): 404 RESOURCE_NOT_FOUND', async () => {
    const res = await request(t.app).get('/fhir/Patient/9111231130');
    assert.equal(res.status, 404);
    assertLikeSandbox(res.body, 'RESOURCE_NOT_FOUND.json');
  });

  it('Invalid NHS number (9000000000): 400 INVALID_RESOURCE_ID', async () => {
    const res = await request(t.app).get('/fhir/Patient/9000000000');
    assert.equal(res.status, 400);
    assertLikeSandbox(res.body, 'INVALID_RESOURCE_ID.json');
  });

  it('search by NHS Number of a sensitive patient: searchset with the restricted data removed', async () => {
    const res = await request(t.app).get('/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9000000025');
    assert.equal(res.status, 200);
    const expected = load<Bundle>('searchResponses', 'search_patient_9000000025.json');
    const got = res.body as Bundle;
    assert.equal(got.type, expected.type);
    assert.equal(got.entry?.length, expected.entry?.length);
    assert.deepEqual(keys(got.entry![0]!.resource!), keys(expected.entry![0]!.resource!));
  });

  it('Update: missing If-Match 412 PRECONDITION_FAILED, stale 409 RESOURCE_VERSION_MISMATCH, then 200', async () => {
    const ops = JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]);
    const patch = (h: Record<string, string>) => request(t.app).patch('/fhir/Patient/9000000009').set('Content-Type', 'application/json-patch+json').set(h).send(ops);
    const missing = await patch({});
    assert.equal(missing.status, 412);
    assertLikeSandbox(missing.body, 'PRECONDITION_FAILED.json');
    const stale = await patch({ 'If-Match': 'W/"0"' });
    assert.equal(stale.status, 409);
    assertLikeSandbox(stale.body, 'RESOURCE_VERSION_MISMATCH.json');
    const ok = await patch({ 'If-Match': 'W/"1"' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.gender, 'male');
  });

  it('invalidated record: 404 INVALIDATED_RESOURCE', async () => {
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Patient/9000000033')).status));
    const res = await request(t.app).get('/fhir/Patient/9000000033');
    assert.equal(res.status, 404);
    assertLikeSandbox(res.body, 'INVALIDATED_RESOURCE.json');
  });

  it('superseded record: reading the old number answers the survivor', async () => {
    const res = await request(t.app)
      .post('/fhir/Patient/$merge')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'source-patient', valueReference: { reference: 'Patient/9000000017' } }, { name: 'target-patient', valueReference: { reference: 'Patient/9000000009' } }] }));
    assert.equal(res.status, 200, res.text);
    const read = await request(t.app).get('/fhir/Patient/9000000017');
    assert.equal(read.status, 200);
    assert.equal(read.body.id, '9000000009');
  });

  it('Create: a new patient is allocated an NHS Number (201); the same person again is SINGLE_MATCH (200)', async () => {
    const body = load<Patient>('specification', 'components', 'examples', 'requests', 'PatientCreate', 'Allocate_NHS_Number.json');
    const created = await post(t, body);
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.id, /^999\d{7}$/);
    const again = await post(t, body);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.resourceType, 'OperationOutcome');
    assert.equal(again.body.issue[0].details.coding[0].code, 'SINGLE_MATCH');
  });
});
