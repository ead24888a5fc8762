/**
 * Compartment search over HTTP (FHIR R4 search.html#compartments, the R4 CompartmentDefinitions):
 * `Patient/123/Observation`, `Patient/123/*`, POST `.../_search`, and the resource itself.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, GENERIC_ENGINE, type TestApp } from '../helpers/test-app';

interface Bundle {
  total?: number;
  entry?: Array<{ resource: { resourceType: string; id: string }; search: { mode: string } }>;
  link?: Array<{ relation: string; url: string }>;
}

const ids = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search.mode === 'match').map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();

describe('HTTP: compartment search', () => {
  let t: TestApp;
  const put = async (r: { resourceType: string; id: string } & Record<string, unknown>): Promise<void> => {
    const res = await request(t.app).put(`/fhir/${r.resourceType}/${r.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status === 201 || res.status === 200, res.text);
  };
  const obs = (id: string, extra: Record<string, unknown>) => ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: id.endsWith('b') ? '8867-4' : '8310-5' }] }, ...extra });

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    await put({ resourceType: 'Patient', id: 'cp1', name: [{ family: 'Comp' }] });
    await put({ resourceType: 'Patient', id: 'cp2', name: [{ family: 'Comp' }] });
    await put({ resourceType: 'Practitioner', id: 'cpr1', name: [{ family: 'Doc' }] });
    await put({ resourceType: 'Encounter', id: 'ce1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/cp1' }, participant: [{ individual: { reference: 'Practitioner/cpr1' } }] });
    await put(obs('co1a', { subject: { reference: 'Patient/cp1' }, encounter: { reference: 'Encounter/ce1' } }));
    await put(obs('co2b', { subject: { reference: 'Patient/cp1' } }));
    await put(obs('co3a', { subject: { reference: 'Patient/cp2' }, performer: [{ reference: 'Practitioner/cpr1' }] }));
    await put(obs('co4b', { subject: { reference: 'Patient/cp2' }, performer: [{ reference: 'Patient/cp1' }] }));
    // The requester is not a Patient-compartment parameter of MedicationRequest: mr2 is not in cp1's compartment.
    await put({ resourceType: 'MedicationRequest', id: 'cmr1', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: 'Patient/cp1' } });
    await put({ resourceType: 'MedicationRequest', id: 'cmr2', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: 'Patient/cp2' }, requester: { reference: 'Patient/cp1' } });
  });
  after(() => t.close());

  it('Patient/cp1/Observation: every Observation linked through subject or performer', async () => {
    const res = await request(t.app).get('/fhir/Patient/cp1/Observation');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.body), ['Observation/co1a', 'Observation/co2b', 'Observation/co4b']);
    assert.equal(res.body.total, 3);
  });

  it('other parameters combine with the compartment (AND)', async () => {
    const res = await request(t.app).get('/fhir/Patient/cp1/Observation?code=http://loinc.org|8867-4');
    assert.deepEqual(ids(res.body), ['Observation/co2b', 'Observation/co4b']);
    const post = await request(t.app).post('/fhir/Patient/cp1/Observation/_search').type('form').send('code=http://loinc.org|8310-5');
    assert.equal(post.status, 200, post.text);
    assert.deepEqual(ids(post.body), ['Observation/co1a']);
  });

  it('Patient/cp1/* returns the members of every type and nothing outside the compartment', async () => {
    const res = await request(t.app).get('/fhir/Patient/cp1/*');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.body), ['Encounter/ce1', 'MedicationRequest/cmr1', 'Observation/co1a', 'Observation/co2b', 'Observation/co4b', 'Patient/cp1']);
    assert.equal(res.body.total, 6);
    const typed = await request(t.app).get('/fhir/Patient/cp1/*?_type=MedicationRequest,Encounter');
    assert.deepEqual(ids(typed.body), ['Encounter/ce1', 'MedicationRequest/cmr1']);
  });

  it('pages through Patient/cp1/* with _count=2, each member exactly once', async () => {
    const seen: string[] = [];
    let url: string | undefined = '/fhir/Patient/cp1/*?_count=2';
    for (let i = 0; url && i < 10; i++) {
      const res = await request(t.app).get(url);
      assert.equal(res.status, 200, res.text);
      seen.push(...ids(res.body));
      const next = (res.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
      url = next ? next.replace('http://localhost:8080', '') : undefined;
    }
    assert.equal(seen.length, 6);
    assert.equal(new Set(seen).size, 6);
  });

  it('the compartment resource itself and other compartments (Practitioner, Encounter)', async () => {
    assert.deepEqual(ids((await request(t.app).get('/fhir/Patient/cp1/Patient')).body), ['Patient/cp1']);
    assert.deepEqual(ids((await request(t.app).get('/fhir/Practitioner/cpr1/Observation')).body), ['Observation/co3a']);
    assert.deepEqual(ids((await request(t.app).get('/fhir/Practitioner/cpr1/Encounter')).body), ['Encounter/ce1']);
    assert.deepEqual(ids((await request(t.app).get('/fhir/Encounter/ce1/Observation')).body), ['Observation/co1a']);
  });

  it('a type that is never in the compartment is 404; a compartment type that is not one is 404', async () => {
    const res = await request(t.app).get('/fhir/Patient/cp1/CodeSystem');
    assert.equal(res.status, 404);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.equal((await request(t.app).get('/fhir/Observation/co1a/Patient')).status, 404);
  });
});
