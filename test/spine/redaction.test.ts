/**
 * Restricted patients over HTTP (PDS FHIR API "Restricted patients"; Patient schema: addresses,
 * contact points, contacts, the General Practice, the pharmacy and birth place extensions are removed):
 * callers without SENSITIVE_SCOPE (including every caller when no access control is set,
 * AUTH_MODE=off) get restricted records without address, telecom, contact, generalPractitioner and the
 * nominated pharmacy, preferred dispenser, medical appliance supplier and birth place extensions, in
 * reads, vreads, history, searches, `_include`s and operation outputs; everything else is kept.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, Patient } from 'fhir/r4';
import type { Interceptor } from '../../src/fhir/interaction';
import { FHIR_JSON, NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { patient, put, restricted } from './helpers';

describe('HTTP: restricted patients are redacted for callers without the sensitive scope', () => {
  let t: TestApp;
  let scopes: string[] | undefined;
  const setAccess: Interceptor = (req, interaction, ctx, next) => (scopes === undefined ? next() : next(req, { ...ctx, access: { scopes } }));
  const ods = (value: string) => ({ identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value } });
  /** An extension that stays on a restricted record (PDS keeps the death notification status). */
  const kept = { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus', extension: [{ url: 'deathNotificationStatus', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-DeathNotificationStatus', code: '2', display: 'Formal - death notice received from Registrar of Deaths' }] } }] };
  const full: Partial<Patient> = {
    address: [{ postalCode: 'LS1 6AE' }],
    telecom: [{ system: 'phone' as const, value: '01632960587' }],
    contact: [{ relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'C', display: 'Emergency Contact' }] }], telecom: [{ system: 'phone', value: '01632960588' }] }],
    generalPractitioner: [{ type: 'Organization', ...ods('Y12345') }],
    extension: [
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy', valueReference: ods('Y23456') },
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization', valueReference: ods('Y34567') },
      { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier', valueReference: ods('Y45678') },
      kept,
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Leeds', country: 'GBR' } },
    ],
  };
  /** What a caller without the permission must see of the restricted record: everything else, unchanged. */
  const assertRedacted = (p: Patient, where: string): void => {
    for (const k of ['address', 'telecom', 'contact', 'generalPractitioner'] as const) assert.equal(p[k], undefined, `${where}: ${k}`);
    assert.deepEqual(p.extension, [kept], `${where}: only the death notification extension stays`);
    assert.deepEqual(p.name, patient('x').name, `${where}: name`);
    assert.equal(p.birthDate, '1980-01-01', `${where}: birthDate`);
    assert.equal(p.identifier?.[0]?.value, '9000000025', `${where}: identifier`);
  };

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
    assertRedacted((await request(t.app).get('/fhir/Patient/9000000025')).body as Patient, 'read');
    const o = (await request(t.app).get('/fhir/Patient/9000000009')).body as Patient;
    assert.deepEqual(o.address, full.address);
    assert.deepEqual(o.contact, full.contact);
    assert.deepEqual(o.extension, full.extension);
  });

  it('search, _include, vread, history and $match are redacted; the sensitive scope sees everything', async () => {
    const s = (await request(t.app).get('/fhir/Patient?_id=9000000025')).body as Bundle;
    assertRedacted(s.entry![0]!.resource as Patient, 'search');
    const inc = (await request(t.app).get('/fhir/Observation?_include=Observation:subject')).body as Bundle;
    assertRedacted(inc.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient, '_include');
    assertRedacted((await request(t.app).get('/fhir/Patient/9000000025/_history/1')).body as Patient, 'vread');
    const hist = (await request(t.app).get('/fhir/Patient/9000000025/_history')).body as Bundle;
    assert.equal(hist.entry?.length, 1);
    assertRedacted(hist.entry![0]!.resource as Patient, 'history');
    const match = await request(t.app)
      .post('/fhir/Patient/$match')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient(undefined, { identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000025' }] }) }] }));
    assert.equal(match.status, 200, match.text);
    const found = (match.body as Bundle).entry?.find((e) => e.resource?.id === '9000000025');
    assert.ok(found, match.text);
    assertRedacted(found.resource as Patient, '$match');
    scopes = ['user/*.read'];
    assertRedacted((await request(t.app).get('/fhir/Patient/9000000025')).body as Patient, 'read with an ordinary scope');
    scopes = ['user/*.read', t.config.sensitiveScope];
    const r = (await request(t.app).get('/fhir/Patient/9000000025')).body as Patient;
    assert.deepEqual(r.address, full.address);
    assert.deepEqual(r.contact, full.contact);
    assert.deepEqual(r.generalPractitioner, full.generalPractitioner);
    assert.deepEqual(r.extension, full.extension);
  });
});
