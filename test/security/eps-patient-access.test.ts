/**
 * EPS prescriptions seen by patient-context SMART tokens on /fhir (SMART App Launch 2.0.0 patient
 * scopes; R4 CompartmentDefinition Patient: Task `patient`, MedicationRequest `subject`,
 * MedicationDispense `subject`/`patient`). Two staged EPS prescriptions written through the EPS
 * façades with a backend token: patient A's (the primary-care acute order, released and dispensed)
 * and patient B's (homecare 1, released and dispensed). A's token sees its own tracker Task,
 * MedicationRequests and MedicationDispenses by plain search, by patient, by `focus`, with
 * `_include`/`_revinclude`, and never B's: not by id, identifier, chain, `_has`, `_include`, nor in
 * totals; nothing of B (prescription ID, NHS Number) appears in any of A's answers.
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { Bundle, MedicationDispense, MedicationRequest, Resource, Task } from 'fhir/r4';
import { FHIR_JSON, TEST_BASE, testApp, type TestApp } from '../helpers/test-app';
import { skipWithReason } from '../helpers/external-data';
import { DISPENSING, EPS_EXAMPLES, PRESCRIBING, epsExample } from '../facades/eps/helpers';
import { NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { setPrescriptionClock } from '../../src/facades/eps/clock';

/** When a staged order was written (its first MedicationRequest's authoredOn, else its validity start): the staged validity periods are long past. */
function authoredOn(order: Bundle): Date {
  const mrs = order.entry!.map((e) => e.resource).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');
  const at = mrs.map((m) => m.authoredOn ?? m.dispenseRequest?.validityPeriod?.start).find((x) => x !== undefined);
  return at !== undefined ? new Date(at) : new Date();
}

const ISSUER = 'http://localhost:8080/auth';
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const HOMECARE = ['secondary-care', 'homecare', 'acute', 'nominated-pharmacy', 'clinical-practitioner'];
const A = '5839945242';
const RX_A = '24F5DA-A83008-7EFE6Z';
const B = '9449304106';
const RX_B = 'A0548B-A99968-451485';

describe('security: EPS prescriptions and patient-context tokens on /fhir', function () {
  this.timeout(60000);
  let t: TestApp;
  let sign: (claims: Record<string, unknown>) => string;
  let backend: string;
  before(async function () {
    if (!EPS_EXAMPLES) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    t = testApp({ PATIENT_ID_POLICY: 'nhs-number', AUTH_MODE: 'smart' }, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
    sign = (claims) => jwt.sign({ client_id: 'eps-app', sub: String(claims['patient'] ?? 'backend'), jti: crypto.randomUUID(), ...claims }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE, expiresIn: 600 });
    backend = sign({ scope: 'system/*.cruds' });
    for (const [nhs, family] of [[A, 'Ashdown'], [B, 'Bexley']] as const) {
      const res = await request(t.app).put(`/fhir/Patient/${nhs}`).set('Authorization', `Bearer ${backend}`).set('Content-Type', FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'Patient', id: nhs, identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }], name: [{ use: 'usual', family, given: ['Pat'] }], gender: 'female', birthDate: '1970-01-01' }));
      assert.ok(res.status < 300, res.text);
    }
    const eps = async (base: string, p: string, body: unknown): Promise<void> => {
      const res = await request(t.app).post(`${base}/${p}`).set('Authorization', `Bearer ${backend}`).set('X-Request-ID', crypto.randomUUID()).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
      assert.equal(res.status, 200, `${p}: ${res.text}`);
    };
    let clock = new Date();
    setPrescriptionClock(t.services, () => clock);
    // A: the acute order, released and dispensed (the dispense example names another patient: aligned with the order).
    const orderA = epsExample<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json');
    clock = authoredOn(orderA);
    await eps(PRESCRIBING, '$process-message', orderA);
    await eps(DISPENSING, 'Task/$release', epsExample(...ACUTE, '1-Task-Request-Release-200_OK.json'));
    const dnA = JSON.stringify(epsExample('spec', 'dispensing', 'dispense-notification', 'acute-primary-example-03-req.json')).replaceAll('9449304130', A);
    await eps(DISPENSING, '$process-message', JSON.parse(dnA));
    // B: homecare 1, sent, released and dispensed by the pharmacy its release names.
    const orderB = epsExample<Bundle>(...HOMECARE, '1-Process-Request-Send-200_OK.json');
    clock = authoredOn(orderB);
    await eps(PRESCRIBING, '$process-message', orderB);
    await eps(DISPENSING, 'Task/$release', epsExample(...HOMECARE, '1-Task-Request-Release-200_OK.json'));
    const dnB = epsExample<Bundle>(...HOMECARE, '1-Process-Request-Dispense-200_OK.json');
    (dnB.entry![0]!.resource as { sender: unknown }).sender = { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNE51' } };
    await eps(DISPENSING, '$process-message', dnB);
  });
  after(() => t?.close());

  const get = (url: string, token: string): request.Test => request(t.app).get(url).set('Authorization', `Bearer ${token}`);
  async function search(url: string, token: string): Promise<{ bundle: Bundle; text: string; resources: Resource[] }> {
    const res = await get(url, token);
    assert.equal(res.status, 200, `${url}: ${res.text}`);
    const bundle = res.body as Bundle;
    return { bundle, text: res.text, resources: (bundle.entry ?? []).map((e) => e.resource!) };
  }
  /** The patient (NHS Number) a Task, MedicationRequest or MedicationDispense is about, as a reference. */
  function patientOf(r: Resource): string | undefined {
    if (r.resourceType === 'Task') return (r as Task).for?.reference;
    if (r.resourceType === 'MedicationRequest') return (r as MedicationRequest).subject.reference;
    if (r.resourceType === 'MedicationDispense') return (r as MedicationDispense).subject?.reference;
    if (r.resourceType === 'Patient') return `Patient/${r.id!}`;
    return undefined;
  }
  const patientToken = (patient: string): string => sign({ scope: 'launch/patient openid fhirUser patient/*.rs', patient });

  it('the backend sees both prescriptions, each Task, MedicationRequest and MedicationDispense referencing its Patient', async () => {
    for (const type of ['Task', 'MedicationRequest', 'MedicationDispense']) {
      const { resources } = await search(`/fhir/${type}?_count=100`, backend);
      const patients = new Set(resources.map(patientOf));
      assert.deepEqual([...patients].sort(), [`Patient/${A}`, `Patient/${B}`], type);
    }
  });

  it("a patient token sees its own Tasks, MedicationRequests and MedicationDispenses, and only its own", async () => {
    const tokA = patientToken(A);
    const tokB = patientToken(B);
    const all = async (url: string): Promise<number> => (await search(url, backend)).resources.filter((r) => patientOf(r) === `Patient/${A}`).length;
    for (const type of ['Task', 'MedicationRequest', 'MedicationDispense']) {
      const own = await all(`/fhir/${type}?_count=100`);
      assert.ok(own > 0, `${type}: A has some`);
      for (const url of [`/fhir/${type}?_count=100`, `/fhir/${type}?patient=Patient/${A}&_count=100`, `/fhir/${type}?_count=100&_total=accurate`]) {
        const { bundle, resources, text } = await search(url, tokA);
        assert.equal(resources.length, own, url);
        assert.ok(resources.every((r) => patientOf(r) === `Patient/${A}`), url);
        if (bundle.total !== undefined) assert.equal(bundle.total, own, url);
        assert.ok(!text.includes(B) && !text.includes(RX_B), `${url}: B's data in the answer`);
      }
      const count = await search(`/fhir/${type}?_summary=count`, tokA);
      assert.equal(count.bundle.total, own, `${type} _summary=count`);
      // B's token sees B's.
      const forB = await search(`/fhir/${type}?_count=100`, tokB);
      assert.ok(forB.resources.length > 0 && forB.resources.every((r) => patientOf(r) === `Patient/${B}`), `${type} for B`);
    }
  });

  it("never shows B's prescription to A: by id, identifier, focus, patient, chain, _has, _include, _revinclude or total", async () => {
    const tokA = patientToken(A);
    const taskB = (await search(`/fhir/Task?identifier=${RX_B}`, backend)).resources[0] as Task;
    const mrB = (await search(`/fhir/MedicationRequest?subject:identifier=${NHS_NUMBER_SYSTEM}|${B}`, backend)).resources[0] as MedicationRequest;
    const mdB = (await search(`/fhir/MedicationDispense?subject:identifier=${NHS_NUMBER_SYSTEM}|${B}`, backend)).resources[0] as MedicationDispense;
    assert.ok(taskB && mrB && mdB);
    for (const [type, id] of [['Task', taskB.id], ['MedicationRequest', mrB.id], ['MedicationDispense', mdB.id]] as const) {
      assert.equal((await get(`/fhir/${type}/${id!}`, tokA)).status, 404, `${type}/${id!}`);
    }
    const empty = [
      `/fhir/Task?identifier=${RX_B}`,
      `/fhir/Task?focus:identifier=${RX_B}`,
      `/fhir/Task?_id=${taskB.id!}`,
      `/fhir/Task?patient=Patient/${B}`,
      `/fhir/Task?patient.identifier=${NHS_NUMBER_SYSTEM}|${B}`,
      `/fhir/Task?patient:identifier=${NHS_NUMBER_SYSTEM}|${B}`,
      `/fhir/MedicationRequest?subject=Patient/${B}`,
      `/fhir/MedicationRequest?subject:Patient.family=Bexley`,
      `/fhir/MedicationDispense?patient.family=Bexley`,
      `/fhir/MedicationDispense?prescription=MedicationRequest/${mrB.id!}`,
      `/fhir/Patient?_has:Task:patient:identifier=${RX_B}`,
      `/fhir/Patient?_has:MedicationDispense:patient:_id=${mdB.id!}`,
      `/fhir/MedicationRequest?_has:Task:based-on:identifier=${RX_B}`,
      `/fhir/Task?identifier=${RX_B}&_summary=count`,
    ];
    for (const url of empty) {
      const { bundle, resources, text } = await search(url, tokA);
      assert.equal(resources.length, 0, `${url}: ${text}`);
      if (bundle.total !== undefined) assert.equal(bundle.total, 0, url);
    }
    // Includes stay inside A's compartment, and reach A's own.
    for (const url of [
      '/fhir/Task?_include=Task:based-on&_include=Task:patient',
      '/fhir/MedicationRequest?_revinclude=Task:based-on&_revinclude=MedicationDispense:prescription',
      '/fhir/MedicationDispense?_include=MedicationDispense:prescription&_include=MedicationDispense:patient',
      `/fhir/Task?focus:identifier=${RX_A}&_include=Task:based-on`,
      '/fhir/Patient?_revinclude=Task:patient&_revinclude=MedicationRequest:subject',
    ]) {
      const { resources, text } = await search(url, tokA);
      assert.ok(resources.length > 1, `${url}: some of A's`);
      assert.ok(resources.every((r) => patientOf(r) === `Patient/${A}`), `${url}: ${resources.map((r) => `${r.resourceType}/${r.id!} ${patientOf(r)}`).join(', ')}`);
      assert.ok(!text.includes(B) && !text.includes(RX_B), `${url}: B's data in the answer`);
    }
    const own = await search(`/fhir/Task?focus:identifier=${RX_A}&_include=Task:based-on`, tokA);
    assert.deepEqual(new Set(own.resources.map((r) => r.resourceType)), new Set(['Task', 'MedicationRequest']));
  });

  it('a patient token with write scopes cannot change its own tracker Task (readable, not writable: ADR 39)', async () => {
    const tok = sign({ scope: 'launch/patient openid fhirUser patient/*.cruds', patient: A });
    const own = (await search(`/fhir/Task?focus:identifier=${RX_A}`, tok)).resources[0] as Task;
    assert.ok(own, "A's Task");
    const changed = { ...own, businessStatus: { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/EPS-task-business-status', code: '0001' }] } };
    const put = await request(t.app).put(`/fhir/Task/${own.id!}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(changed));
    assert.equal(put.status, 403, put.text);
    const del = await request(t.app).delete(`/fhir/Task/${own.id!}`).set('Authorization', `Bearer ${tok}`);
    assert.equal(del.status, 403, del.text);
    const created = await request(t.app).post('/fhir/Task').set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Task', status: 'ready', intent: 'order', for: { reference: `Patient/${A}` } }));
    assert.equal(created.status, 403, created.text);
    assert.equal(((await search(`/fhir/Task/${own.id!}/_history`, backend)).bundle.total), own.meta?.versionId ? Number(own.meta.versionId) : 1);
  });

  it("a patient token with write scopes cannot change or delete its own prescription's MedicationRequests and MedicationDispenses (labelled read-only to patients)", async () => {
    const tok = sign({ scope: 'launch/patient openid fhirUser patient/*.cruds', patient: A });
    const mr = (await search('/fhir/MedicationRequest', tok)).resources[0] as MedicationRequest;
    const md = (await search('/fhir/MedicationDispense', tok)).resources[0] as MedicationDispense;
    assert.ok(mr && md, "A's own");
    assert.ok(mr.meta?.security?.some((c) => c.code === 'patient-read-only'));
    const changed = { ...mr, dispenseRequest: { ...mr.dispenseRequest, quantity: { value: 9999 } }, meta: { versionId: mr.meta!.versionId! } };
    const put = await request(t.app).put(`/fhir/MedicationRequest/${mr.id!}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(changed));
    assert.ok(put.status === 403 || put.status === 404, put.text);
    const patch = await request(t.app).patch(`/fhir/MedicationRequest/${mr.id!}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify([{ op: 'replace', path: '/status', value: 'cancelled' }]));
    assert.ok(patch.status === 403 || patch.status === 404, patch.text);
    // Refused as such: a 204 would claim a delete that did not happen.
    const del = await request(t.app).delete(`/fhir/MedicationDispense/${md.id!}`).set('Authorization', `Bearer ${tok}`);
    assert.equal(del.status, 403, del.text);
    const mrNow = await get(`/fhir/MedicationRequest/${mr.id!}`, backend);
    assert.equal((mrNow.body as MedicationRequest).meta?.versionId, mr.meta?.versionId);
    assert.equal((await get(`/fhir/MedicationDispense/${md.id!}`, backend)).status, 200);
    // What it wrote itself (not labelled) stays writable, as before.
    const note = { resourceType: 'Observation', status: 'final', code: { text: 'own note' }, subject: { reference: `Patient/${A}` } };
    const created = await request(t.app).post('/fhir/Observation').set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(note));
    assert.equal(created.status, 201, created.text);
    const id = (created.body as Resource).id!;
    const upd = await request(t.app).put(`/fhir/Observation/${id}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...note, id, status: 'amended' }));
    assert.equal(upd.status, 200, upd.text);
  });
});
