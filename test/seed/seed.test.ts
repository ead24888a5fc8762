/**
 * Loading the synthetic population through the engine (src/seed/seed.ts) under the server's DEFAULT
 * validation (REQUIRED_PROFILES: UK Core Patient and MedicationRequest; PATIENT_ID_POLICY=nhs-number):
 * everything is accepted, everything is stored, and every reference resolves over the API.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, FhirResource } from 'fhir/r4';
import { NHS_LAYER, testApp, type TestApp } from '../helpers/test-app';
import { seedSyntheticPopulation, storeIsEmpty, type SeedProgress } from '../../src/seed/seed';
import { generatePopulation } from '../../src/seed/generate';
import { DEFAULT_REQUIRED_PROFILES } from '../../src/config/config';

describe('seed: seedSyntheticPopulation through the engine with default validation', function () {
  this.timeout(120_000);
  let t: TestApp;
  before(() => {
    t = testApp(NHS_LAYER);
    assert.equal(t.config.requiredProfiles['Patient'], 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient', `defaults: ${DEFAULT_REQUIRED_PROFILES}`);
    assert.ok(t.config.requiredProfiles['MedicationRequest']);
  });
  after(async () => t.close());

  it('writes every generated resource (all valid), reports progress, and every reference resolves', async () => {
    assert.ok(await storeIsEmpty(t.services));
    const progress: SeedProgress[] = [];
    const summary = await seedSyntheticPopulation(t.services, { patients: 60, seed: 11, batchPatients: 20, onProgress: (p) => progress.push(p) });
    const generated = generatePopulation({ patients: 60, seed: 11 }).flatMap((g) => g.resources);
    assert.equal(summary.patients, 60);
    assert.equal(summary.resources, generated.length);
    assert.equal(progress.at(-1)?.patients, 60);
    assert.ok(progress.length >= 3, 'progress per batch');
    assert.ok(!(await storeIsEmpty(t.services)));
    for (const [type, n] of Object.entries(summary.byType)) {
      const res = await request(t.app).get(`/fhir/${type}?_summary=count`);
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as Bundle).total, n, type);
    }
    // Stored as generated (the NHS Number rules kept the ids), and every reference resolves.
    const refs = new Set<string>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k === 'reference' && typeof x === 'string') refs.add(x); else collect(x);
    };
    for (const r of generated) collect(r);
    for (const ref of refs) assert.equal((await request(t.app).get(`/fhir/${ref}`)).status, 200, ref);
    const sample: FhirResource = generated.find((r) => r.resourceType === 'MedicationRequest')!;
    const read = await request(t.app).get(`/fhir/MedicationRequest/${sample.id!}`);
    assert.equal(read.body.medicationCodeableConcept.coding[0].code, (sample as { medicationCodeableConcept: { coding: Array<{ code: string }> } }).medicationCodeableConcept.coding[0]!.code);
    // Each seeded patient has a Summary Care Record the SCR API finds, and answers as its document.
    const patient = generated.find((r) => r.resourceType === 'Patient')!;
    const scr = '/summary-care-record/FHIR/R4';
    const nhs = `https://fhir.nhs.uk/Id/nhs-number|${patient.id!}`;
    const ref = await request(t.app).get(`${scr}/DocumentReference?patient=${encodeURIComponent(nhs)}&type=${encodeURIComponent('http://snomed.info/sct|196981000000101')}`).set('X-Request-ID', '60e7a0d4-7c0b-4c58-9d6b-0c8a2b0c6d11');
    assert.equal(ref.status, 200, ref.text);
    const docRef = (ref.body as Bundle).entry?.find((e) => e.resource?.resourceType === 'DocumentReference')?.resource as { masterIdentifier?: { value?: string } } | undefined;
    const scrId = docRef?.masterIdentifier?.value;
    assert.ok(scrId, ref.text);
    const doc = await request(t.app).get(`${scr}/Bundle?composition.identifier=${scrId}&composition.subject:Patient.identifier=${encodeURIComponent(nhs)}`).set('X-Request-ID', '60e7a0d4-7c0b-4c58-9d6b-0c8a2b0c6d12');
    assert.equal(doc.status, 200, doc.text);
    assert.equal((doc.body as Bundle).entry?.[0]?.resource?.resourceType, 'Composition', doc.text);
    const built = await request(t.app).get(`/fhir/Composition/seed-${patient.id!}-scr/$document`);
    assert.equal(built.status, 200, built.text);
  });

  it('seeding again with the same seed rewrites the records and keeps the stored documents (immutable) as they are', async () => {
    const before = await request(t.app).get('/fhir/Bundle?type=document&_summary=count');
    const again = await seedSyntheticPopulation(t.services, { patients: 60, seed: 11, batchPatients: 20 });
    assert.equal(again.patients, 60);
    const after = await request(t.app).get('/fhir/Bundle?type=document&_summary=count');
    assert.equal((after.body as Bundle).total, (before.body as Bundle).total);
    const patient = generatePopulation({ patients: 60, seed: 11 }).flatMap((g) => g.resources).find((r) => r.resourceType === 'Patient')!;
    assert.equal((await request(t.app).get(`/fhir/Patient/${patient.id!}`)).body.meta.versionId, '2', 'the record was rewritten');
  });

  it('each resource also passes $validate against its UK Core profile', async () => {
    const sample = generatePopulation({ patients: 5, seed: 99 }).flatMap((g) => g.resources);
    for (const r of sample.filter((x) => x.resourceType === 'Patient' || x.resourceType === 'MedicationRequest' || x.resourceType === 'Composition')) {
      const res = await request(t.app).post(`/fhir/${r.resourceType}/$validate`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(r));
      assert.equal(res.status, 200, res.text);
      const errors = (res.body.issue as Array<{ severity: string; diagnostics?: string }>).filter((i) => i.severity === 'error' || i.severity === 'fatal');
      assert.deepEqual(errors, [], `${r.resourceType}/${r.id!}`);
    }
  });
});
