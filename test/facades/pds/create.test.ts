/**
 * PDS façade: "Create a record for a new patient" (patient-create.yaml sandbox scenarios, the three
 * PatientCreate request examples) with the server's default configuration. The matches happen
 * because matching records are stored first (the sandbox's McMatch records of
 * searchResponses/mock_*_searchset.json, with the example requests' demographics). Skips with a
 * printed reason when ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import type { TestApp } from '../../helpers/test-app';
import { isValidNhsNumber } from '../../../src/spine/nhs-number';
import { assertPdsError, BASE, loadPds, PDS, pds, pdsApp, storePdsPatient } from './helpers';
import { smartPdsApp, type SmartPds } from './smart';

const example = (name: string): Record<string, unknown> => loadPds('specification', 'components', 'examples', 'requests', 'PatientCreate', `${name}.json`);

/** The sandbox's mock record `nhs` (searchResponses/<file>) carrying the demographics of a create request. */
function matching(file: string, nhs: string, req: Record<string, unknown>): Patient {
  const record = loadPds<Bundle>('searchResponses', `${file}.json`).entry!.map((e) => e.resource as Patient).find((p) => p.id === nhs)!;
  const r = req as unknown as Patient;
  return { ...record, name: [{ ...record.name![0]!, family: r.name![0]!.family!, given: r.name![0]!.given! }], gender: r.gender!, birthDate: r.birthDate!, address: [{ ...record.address![0]!, postalCode: r.address![0]!.postalCode! }] };
}

const post = (t: TestApp, body: unknown, opts: { token?: string; requestId?: string } = {}): request.Test => pds(t, 'post', 'Patient', opts).set('Content-Type', 'application/json').send(JSON.stringify(body));

describe('PDS façade: create a record for a new patient', function () {
  let t: TestApp;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    t = pdsApp();
    await storePdsPatient(t, matching('mock_single_searchset', '5900054586', example('Single_Match_found')));
    for (const n of ['5900036502', '5900053679']) await storePdsPatient(t, matching('mock_multiple_searchset', n, example('Multi_Match_found')));
  });
  after(() => t?.close());

  it('Patient record is created and allocated a new NHS number (Allocate_NHS_Number): 201, the record in PDS shapes', async () => {
    const body = example('Allocate_NHS_Number');
    const res = await post(t, body);
    assert.equal(res.status, 201, res.text);
    const p = res.body as Patient;
    assert.equal(p.resourceType, 'Patient');
    assert.ok(isValidNhsNumber(p.id!), p.id);
    assert.equal(p.identifier?.[0]?.value, p.id);
    assert.equal(p.gender, 'female');
    assert.equal(p.birthDate, '1982-07-10');
    assert.equal(p.name?.[0]?.family, 'Edwards');
    assert.match(p.name![0]!.id!, /^[0-9A-F]{8}$/);
    assert.match(p.address![0]!.id!, /^[0-9A-F]{8}$/);
    // The address key in PDS's shape (valueCoding), as sent.
    const key = p.address![0]!.extension![0]!.extension!.find((e) => e.url === 'type')!;
    assert.deepEqual(key.valueCoding, { code: 'UPRN', system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AddressKeyType' });
    assert.equal(res.headers['etag'], 'W/"1"');
    assert.equal(res.headers['location'], `http://localhost:8080${BASE}/Patient/${p.id}`);
    const read = await pds(t, 'get', `Patient/${p.id}`);
    assert.equal(read.status, 200, read.text);
    assert.equal((read.body as Patient).name?.[0]?.family, 'Edwards');
  });

  it('Single match found (Single_Match_found): 200 SINGLE_MATCH naming the matched NHS number', async () => {
    const res = await post(t, example('Single_Match_found'));
    assert.equal(res.status, 200, res.text);
    const oo = res.body as OperationOutcome;
    assert.equal(oo.issue[0]!.details!.coding![0]!.code, 'SINGLE_MATCH');
    assert.equal(oo.issue[0]!.severity, 'error');
    assert.equal(oo.issue[0]!.code, 'structure');
    assert.equal(oo.issue[0]!.diagnostics, 'Unable to create new patient. NHS number 5900054586 found for supplied demographic data.');
  });

  it('Multiple matches found (Multi_Match_found): 200 MULTIPLE_MATCHES as patient-create.yaml words it', async () => {
    const res = await post(t, example('Multi_Match_found'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'structure',
          details: { coding: [{ system: 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode', version: '1', code: 'MULTIPLE_MATCHES', display: 'Multiple matches found' }] },
          diagnostics: 'Unable to create new patient. Multiple matches found for supplied demographic data.',
        },
      ],
    });
  });

  it('Missing X-Request-ID: 400 MISSING_VALUE; Invalid X-Request-ID (1234): 400 INVALID_VALUE', async () => {
    const body = JSON.stringify(example('Allocate_NHS_Number'));
    assertPdsError(await request(t.app).post(`${BASE}/Patient`).set('Content-Type', 'application/json').send(body), 400, 'MISSING_VALUE');
    assertPdsError(await request(t.app).post(`${BASE}/Patient`).set('X-Request-ID', '1234').set('Content-Type', 'application/json').send(body), 400, 'INVALID_VALUE');
  });

  it('resourceType is optional', async () => {
    const { resourceType: _r, ...body } = example('Allocate_NHS_Number');
    const res = await post(t, { ...body, name: [{ use: 'usual', given: ['Pat'], family: 'Noresourcetype' }] });
    assert.equal(res.status, 201, res.text);
  });

  it('the request checks: MISSING_VALUE, ADDITIONAL_PROPERTIES, INVALID_VALUE naming the field, TOO_MANY_VALUES_SUBMITTED', async () => {
    const base = example('Allocate_NHS_Number');
    const without = (k: string): Record<string, unknown> => Object.fromEntries(Object.entries(base).filter(([x]) => x !== k));
    for (const k of ['name', 'address', 'gender', 'birthDate']) {
      assert.equal(assertPdsError(await post(t, without(k)), 400, 'MISSING_VALUE').issue[0]!.diagnostics, `Missing value - '${k}'`);
    }
    assertPdsError(await post(t, without('extension')), 400, 'MISSING_VALUE');
    assert.equal(assertPdsError(await post(t, { ...base, pets: ['cat'] }), 400, 'ADDITIONAL_PROPERTIES').issue[0]!.diagnostics, "Invalid request with error - Additional properties are not allowed ('pets' was unexpected)");
    assert.equal(assertPdsError(await post(t, { ...base, gender: 'notAValidOption' }), 400, 'INVALID_VALUE').issue[0]!.diagnostics, "Invalid value - 'notAValidOption' in field 'gender'");
    assert.equal(assertPdsError(await post(t, { ...base, birthDate: 'not-a-date' }), 400, 'INVALID_VALUE').issue[0]!.diagnostics, "Invalid value - 'not-a-date' in field 'birthDate'");
    assert.equal(assertPdsError(await post(t, { ...base, name: [{ family: 'X', given: 'Y' }] }), 400, 'INVALID_VALUE').issue[0]!.diagnostics, "Invalid value - 'not an array' in field 'name/0/given'");
    const two = (base['name'] as unknown[]).concat(base['name'] as unknown[]);
    assertPdsError(await post(t, { ...base, name: two }), 400, 'TOO_MANY_VALUES_SUBMITTED');
    assertPdsError(await post(t, 'not a patient'), 400, 'INVALID_VALUE');
  });

  it('a retry with the same X-Request-ID is answered from the first create (one record, one NHS number)', async () => {
    const body = { ...example('Allocate_NHS_Number'), name: [{ use: 'usual', given: ['Rhys'], family: 'Retried' }], birthDate: '1990-03-03' };
    const requestId = randomUUID();
    const first = await post(t, body, { requestId });
    assert.equal(first.status, 201, first.text);
    const again = await post(t, body, { requestId });
    assert.equal(again.status, 201, again.text);
    assert.equal((again.body as Patient).id, (first.body as Patient).id);
    const found = await request(t.app).get('/fhir/Patient').query({ family: 'Retried' });
    assert.equal((found.body as Bundle).total ?? (found.body as Bundle).entry?.length, 1);
  });
});

describe('PDS façade: create, access modes (SMART)', function () {
  let s: SmartPds;
  before(function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    s = smartPdsApp();
  });
  after(() => s?.t.close());

  const body = (): Record<string, unknown> => ({ ...example('Allocate_NHS_Number'), name: [{ use: 'usual', given: ['Ada'], family: 'Accessmode' }], birthDate: '1975-05-05' });

  it('healthcare worker access: 201', async () => {
    const res = await post(s.t, body(), { token: s.worker() });
    assert.equal(res.status, 201, res.text);
  });

  it('no token: 401 ACCESS_DENIED; patient access: 403 ACCESS_DENIED; application-restricted: 403 INVALID_METHOD', async () => {
    assertPdsError(await post(s.t, body()), 401, 'ACCESS_DENIED');
    assertPdsError(await post(s.t, body(), { token: s.patient('9000000009') }), 403, 'ACCESS_DENIED');
    const app = assertPdsError(await post(s.t, body(), { token: s.application() }), 403, 'INVALID_METHOD');
    assert.match(app.issue[0]!.diagnostics!, /application-restricted/);
  });

  it('a refused caller learns nothing of a match (the trace never runs for it)', async () => {
    await post(s.t, body(), { token: s.worker() });
    const res = await post(s.t, body(), { token: s.application() });
    assert.equal(res.status, 403);
    assert.doesNotMatch(res.text, /\d{10}/);
  });
});
