/**
 * Malformed Patient bodies through the NHS layer (PDS FHIR API "Create a new patient" / "Update
 * patient details"; FHIR R4 json.html and http.html "HTTP Status Codes"): the NHS Number rules, the
 * create-time trace, the NHS Number allocation and `$match` read the body before the engine validates it, so a
 * body whose `identifier`, `name`, `telecom` or `address` has the wrong JSON shape must get the
 * engine's 400/422 OperationOutcome, never a 500. Found by the chaos suite (test/chaos), e.g.
 * `"identifier": [{...}, null]` answered 500 (TypeError in src/spine/patient-validator.ts).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { NHS_NUMBER_SYSTEM, nhsNumberOf, nhsNumberIndexOf } from '../../src/spine/nhs-number';
import { assertNhsNumbers } from '../../src/spine/patient-validator';
import type { Patient } from 'fhir/r4';

const SHAPES: Array<[string, Record<string, unknown>]> = [
  ['identifier with a null entry', { identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000009' }, null] }],
  ['identifier with a string entry', { identifier: ['9000000009'] }],
  ['identifier as a string', { identifier: '9000000009' }],
  ['identifier as an object', { identifier: { system: NHS_NUMBER_SYSTEM, value: '9000000009' } }],
  ['identifier as null', { identifier: null }],
  ['name as a string', { name: 'Smith' }],
  ['name with a null entry', { name: [null] }],
  ['name as an object', { name: { family: 'Smith' } }],
  ['telecom as an object', { telecom: { system: 'phone', value: '1' } }],
  ['address with a number entry', { address: [1] }],
  ['birthDate as a number', { birthDate: 1980 }],
  ['given as a string', { name: [{ family: 'Smith', given: 'Kay' }] }],
  ['address as an object', { address: { postalCode: 'LS1 4AP' } }],
  ['name.use as an object', { name: [{ use: { x: 1 }, family: 'Smith' }] }],
];

describe('HTTP: malformed Patient bodies through the NHS layer answer 4xx, never 500', () => {
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
  });
  after(() => t.close());

  const base = { resourceType: 'Patient', name: [{ family: 'Malformed', given: ['Kay'] }], gender: 'female', birthDate: '1980-01-01' };
  const isClientError = (res: request.Response, what: string): void => {
    assert.ok(res.status >= 400 && res.status < 500, `${what}: ${res.status} ${res.text}`);
    assert.equal(res.body.resourceType, 'OperationOutcome', what);
  };

  for (const [what, extra] of SHAPES) {
    it(`${what}: create, update and transaction`, async () => {
      const body = { ...base, ...extra };
      isClientError(await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(body)), `POST ${what}`);
      isClientError(await request(t.app).put('/fhir/Patient/9000000009').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...body, id: '9000000009' })), `PUT ${what}`);
      const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:3a1b7c52-0c8e-4b7e-9d0a-1f2e3d4c5b6a', resource: body, request: { method: 'POST', url: 'Patient' } }] };
      isClientError(await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(tx)), `transaction ${what}`);
      // $match reads the Patient too (found by the chaos suite: a string given name was a TypeError).
      isClientError(await request(t.app).post('/fhir/Patient/$match').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: body }] })), `$match ${what}`);
      isClientError(await request(t.app).post('/fhir/Patient/$match').set('Content-Type', FHIR_JSON).send(JSON.stringify(body)), `$match body ${what}`);
    });
  }

  it('the NHS Number helpers see no NHS Number in a malformed identifier instead of throwing', () => {
    for (const [, extra] of SHAPES) {
      const p = { ...base, ...extra } as unknown as Patient;
      assert.doesNotThrow(() => nhsNumberOf(p));
      assert.doesNotThrow(() => nhsNumberIndexOf(p));
    }
    const p = { resourceType: 'Patient', identifier: [null, 'x', { system: NHS_NUMBER_SYSTEM, value: '9000000000' }] } as unknown as Patient;
    assert.equal(nhsNumberOf(p), '9000000000');
    assert.equal(nhsNumberIndexOf(p), 2);
    assert.throws(() => assertNhsNumbers(p), /Invalid NHS Number "9000000000" \(Patient\.identifier\[2\]\.value\)/);
  });
});
