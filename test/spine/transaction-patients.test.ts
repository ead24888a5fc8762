/**
 * A Patient created inside a transaction Bundle follows the rules of `POST /Patient` (PDS FHIR API
 * "Create a new patient"; FHIR R4 bundle.html#transaction): the duplicate-check trace first, an NHS
 * Number allocated as its id (references to its fullUrl rewritten to it), no duplicate created; and
 * `$validate` applies the NHS Number rules of a write.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, BundleEntry, Patient } from 'fhir/r4';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { patient, post, spineCode } from './helpers';

const PATIENT_URL = 'urn:uuid:7b1c2d3e-0000-4000-8000-00000000a001';

function transaction(p: Patient): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: PATIENT_URL, resource: p, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: PATIENT_URL } }, request: { method: 'POST', url: 'Observation' } },
    ],
  };
}

describe('HTTP: Patients created in a transaction Bundle (NHS layer)', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp(NHS_LAYER);
  });
  afterEach(() => t.close());

  const postBundle = (b: Bundle) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(b));
  const countFamily = async (family: string): Promise<number> => (await request(t.app).get(`/fhir/Patient?family=${family}&_total=accurate`)).body.total as number;

  it('a Patient without an NHS Number is allocated one as its id, and references to its fullUrl point at it', async () => {
    const res = await postBundle(transaction(patient(undefined, { name: [{ use: 'usual', family: 'Txalloc', given: ['Tessa'] }], birthDate: '1971-03-04' })));
    assert.equal(res.status, 200, res.text);
    const [pat, obs] = res.body.entry as BundleEntry[];
    assert.match(pat!.response!.status, /^201/);
    const id = pat!.response!.location!.split('/')[1]!;
    assert.ok(isValidNhsNumber(id), `the id ${id} is an allocated NHS Number`);
    const stored = await request(t.app).get(`/fhir/Patient/${id}`);
    assert.equal(stored.status, 200, stored.text);
    assert.equal((stored.body as Patient).identifier?.[0]?.system, NHS_NUMBER_SYSTEM);
    assert.equal((stored.body as Patient).identifier?.[0]?.value, id);
    const o = await request(t.app).get(`/fhir/${obs!.response!.location!.replace(/\/_history\/\d+$/, '')}`);
    assert.equal(o.body.subject.reference, `Patient/${id}`);
  });

  it('a Patient the trace already knows fails the transaction with 409 duplicate naming the record (SINGLE_MATCH), and nothing is created', async () => {
    const jane = patient(undefined, { name: [{ use: 'usual', family: 'Txdupe', given: ['Jane'] }], birthDate: '1982-07-10', gender: 'female', address: [{ postalCode: 'LS1 6AE' }] });
    const first = await post(t, jane);
    assert.equal(first.status, 201, first.text);
    const existing = first.body.id as string;
    const res = await postBundle(transaction(jane));
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.issue[0].code, 'duplicate');
    assert.equal(spineCode(res.body), 'SINGLE_MATCH');
    assert.match(res.body.issue[0].diagnostics, new RegExp(`Bundle\\.entry\\[0\\].*matching record: Patient/${existing}\\)`));
    assert.equal(await countFamily('Txdupe'), 1, 'no duplicate');
    assert.equal((await request(t.app).get('/fhir/Observation?code:text=weight&_total=accurate')).body.total, 0, 'the transaction left nothing');
  });

  it('an ifNoneExist that matches resolves to the existing Patient without a trace or an allocation', async () => {
    const existing = await post(t, patient(undefined, { identifier: [{ system: 'urn:test:mrn', value: 'TX-INE' }], name: [{ use: 'usual', family: 'Txine', given: ['Ivy'] }], birthDate: '1990-01-02' }));
    assert.equal(existing.status, 201, existing.text);
    const b = transaction(patient(undefined, { identifier: [{ system: 'urn:test:mrn', value: 'TX-INE' }], name: [{ use: 'usual', family: 'Txine', given: ['Ivy'] }], birthDate: '1990-01-02' }));
    b.entry![0]!.request!.ifNoneExist = 'identifier=urn:test:mrn|TX-INE';
    const res = await postBundle(b);
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.entry[0].response.status, /^200/);
    assert.equal(res.body.entry[0].response.location.split('/')[1], existing.body.id);
    assert.equal(await countFamily('Txine'), 1);
  });

  it('a Patient POSTed with an NHS Number that is already used: 409 duplicate (INVALID_CREATE), as for POST /Patient', async () => {
    const first = await post(t, patient('9000000009', { name: [{ use: 'usual', family: 'Txused', given: ['Una'] }] }));
    assert.equal(first.status, 201, first.text);
    const { id: _id, ...again } = patient('9000000009', { name: [{ use: 'usual', family: 'Txother', given: ['Olga'] }], birthDate: '1950-05-05' });
    const res = await postBundle(transaction(again as Patient));
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.issue[0].code, 'duplicate');
    assert.match(res.body.issue[0].diagnostics, /matching record: Patient\/9000000009\)/);
    assert.equal(spineCode(res.body), 'INVALID_CREATE');
  });

  it('$validate reports an invalid NHS Number check digit as an error, as a write refuses it', async () => {
    const bad = patient(undefined, { identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000000' }] });
    const write = await post(t, bad);
    assert.equal(write.status, 422, write.text);
    const res = await request(t.app).post('/fhir/Patient/$validate').set('Content-Type', FHIR_JSON).send(JSON.stringify(bad));
    assert.equal(res.status, 200, res.text);
    const errors = (res.body.issue as Array<{ severity: string; expression?: string[] }>).filter((i) => i.severity === 'error');
    assert.ok(errors.some((i) => i.expression?.includes('Patient.identifier[0].value')), res.text);
    const good = await request(t.app).post('/fhir/Patient/$validate').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient(undefined)));
    assert.equal((good.body.issue as Array<{ severity: string }>).filter((i) => i.severity === 'error').length, 0, good.text);
    const update = await request(t.app).post('/fhir/Patient/9000000017/$validate?mode=update').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient('9000000025'), id: '9000000017' }));
    assert.ok((update.body.issue as Array<{ severity: string; expression?: string[] }>).some((i) => i.severity === 'error' && i.expression?.includes('Patient.identifier[0].value')), update.text);
  });
});
