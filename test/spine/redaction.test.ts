/**
 * Restricted patients over HTTP (PDS FHIR API "Restricted patients"): callers without SENSITIVE_SCOPE
 * (including every caller when no access control is set, AUTH_MODE=off) get restricted records
 * without address, telecom and generalPractitioner, in reads, searches and `_include`s.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, Patient } from 'fhir/r4';
import type { Interceptor } from '../../src/fhir/interaction';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { patient, put, restricted } from './helpers';

describe('HTTP: restricted patients are redacted for callers without the sensitive scope', () => {
  let t: TestApp;
  let scopes: string[] | undefined;
  const setAccess: Interceptor = (req, interaction, ctx, next) => (scopes === undefined ? next() : next(req, { ...ctx, access: { scopes } }));
  const full = { address: [{ postalCode: 'LS1 6AE' }], telecom: [{ system: 'phone' as const, value: '01632960587' }], generalPractitioner: [{ type: 'Organization', identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'Y12345' } }] };

  before(async () => {
    t = testApp(NHS_LAYER);
    t.services.interceptors = [setAccess, ...(t.services.interceptors ?? [])];
    assert.equal((await put(t, restricted(patient('9000000025', full)))).status, 201);
    assert.equal((await put(t, patient('9000000009', full))).status, 201);
    const obs = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/9000000025' } };
    assert.equal((await request(t.app).put('/fhir/Observation/o1').set('Content-Type', FHIR_JSON).send(JSON.stringify(obs))).status, 201);
  });
  after(() => t.close());
  beforeEach(() => {
    scopes = undefined;
  });

  it('read without access control: redacted; other patients untouched', async () => {
    const r = (await request(t.app).get('/fhir/Patient/9000000025')).body as Patient;
    assert.equal(r.address, undefined);
    assert.equal(r.telecom, undefined);
    assert.equal(r.generalPractitioner, undefined);
    assert.deepEqual(r.name, patient('x').name);
    const o = (await request(t.app).get('/fhir/Patient/9000000009')).body as Patient;
    assert.deepEqual(o.address, full.address);
  });

  it('search, _include and vread are redacted; the sensitive scope sees everything', async () => {
    const s = (await request(t.app).get('/fhir/Patient?_id=9000000025')).body as Bundle;
    assert.equal((s.entry![0]!.resource as Patient).address, undefined);
    const inc = (await request(t.app).get('/fhir/Observation?_include=Observation:subject')).body as Bundle;
    const p = inc.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient;
    assert.equal(p.telecom, undefined);
    const v = (await request(t.app).get('/fhir/Patient/9000000025/_history/1')).body as Patient;
    assert.equal(v.generalPractitioner, undefined);
    scopes = ['user/*.read'];
    assert.equal(((await request(t.app).get('/fhir/Patient/9000000025')).body as Patient).address, undefined);
    scopes = ['user/*.read', t.config.sensitiveScope];
    const r = (await request(t.app).get('/fhir/Patient/9000000025')).body as Patient;
    assert.deepEqual(r.address, full.address);
    assert.deepEqual(r.generalPractitioner, full.generalPractitioner);
  });
});
