/**
 * Validation over HTTP (FHIR R4 validation.html; `$validate` per resource-operation-validate.html;
 * `meta.profile` claims per resource.html#profile): the pipeline on writes (base rules, claimed
 * profiles, UNKNOWN_PROFILE), `$validate` at type and instance level with and without `profile`,
 * and a StructureDefinition created through the API used at once.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Observation, OperationOutcome, OperationOutcomeIssue, Patient, StructureDefinition } from 'fhir/r4';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';
import { buildServices, initServices } from '../../src/main';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

const BP = 'http://hl7.org/fhir/StructureDefinition/bp';
const NARRATIVE = { status: 'generated' as const, div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };

/** A blood pressure Observation with only the diastolic component: the bp profile requires systolic too. */
function halfBloodPressure(): Observation {
  return {
    resourceType: 'Observation',
    text: NARRATIVE,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2020-01-01',
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
  };
}

const errors = (oo: OperationOutcome): OperationOutcomeIssue[] => oo.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
const errorPaths = (oo: OperationOutcome): string[] => errors(oo).flatMap((i) => i.expression ?? []);

function post(t: Pick<TestApp, 'app'>, path: string, body: unknown): request.Test {
  return request(t.app).post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).set('Accept', FHIR_JSON).send(JSON.stringify(body));
}

describe('HTTP: validation on write and $validate', function () {
  let t: TestApp;
  before(function () {
    t = testApp(GENERIC_ENGINE);
  });
  after(() => t.close());

  describe('writes', function () {
    it('a write claiming a known profile it violates is 422 with the issue expressions', async function () {
      const r = await post(t, 'Observation', { ...halfBloodPressure(), meta: { profile: [BP] } });
      assert.equal(r.status, 422, r.text);
      const oo = r.body as OperationOutcome;
      assert.ok(errors(oo).length >= 1);
      assert.ok(errorPaths(oo).includes('Observation.component'), JSON.stringify(oo));
      assert.ok(errors(oo).some((i) => /SystolicBP/.test(i.diagnostics ?? '')), 'names the missing slice');
      assert.ok(oo.issue.every((i) => i.severity === 'error'), 'warnings are not part of a 422');
    });

    it('the same resource without the claim is stored (the profile is not applied unasked)', async function () {
      const r = await post(t, 'Observation', halfBloodPressure());
      assert.equal(r.status, 201, r.text);
    });

    it('base StructureDefinition rules apply to every write: a required binding violated is 422 at the element', async function () {
      const r = await post(t, 'Patient', { resourceType: 'Patient', gender: 'unknown-gender' });
      assert.equal(r.status, 422, r.text);
      assert.deepEqual(errorPaths(r.body as OperationOutcome), ['Patient.gender']);
    });

    it('every error is collected before answering (schema, base rules and profile issues together)', async function () {
      const r = await post(t, 'Observation', { ...halfBloodPressure(), meta: { profile: [BP] }, status: 'nearly-final', unknownElement: 1 });
      assert.equal(r.status, 422, r.text);
      const paths = errorPaths(r.body as OperationOutcome);
      for (const p of ['Observation.unknownElement', 'Observation.status', 'Observation.component']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    });

    it('an envelope problem stays a 400', async function () {
      const r = await post(t, 'Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
      assert.equal(r.status, 400, r.text);
    });

    it('warnings never fail a write: an unknown extension is accepted (UNKNOWN_EXTENSION=warn)', async function () {
      const r = await post(t, 'Patient', { resourceType: 'Patient', extension: [{ url: 'http://example.org/fhir/StructureDefinition/unknown', valueString: 'x' }] });
      assert.equal(r.status, 201, r.text);
    });
  });

  describe('$validate', function () {
    it('type level, body resource: 200 with an information issue when there is none', async function () {
      const r = await post(t, 'Patient/$validate', { resourceType: 'Patient', text: NARRATIVE, gender: 'male' });
      assert.equal(r.status, 200, r.text);
      const oo = r.body as OperationOutcome;
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.equal(oo.issue.length, 1);
      assert.equal(oo.issue[0]!.severity, 'information');
      assert.match(oo.issue[0]!.diagnostics ?? '', /No issues/);
    });

    it('type level: every issue, errors and warnings, still 200', async function () {
      const r = await post(t, 'Patient/$validate', { resourceType: 'Patient', gender: 'x' });
      assert.equal(r.status, 200, r.text);
      const oo = r.body as OperationOutcome;
      assert.deepEqual(errorPaths(oo), ['Patient.gender']);
      assert.ok(oo.issue.some((i) => i.severity === 'warning' && /dom-6/.test(i.diagnostics ?? '')), 'the dom-6 warning is reported');
    });

    it('type level with the profile parameter (Parameters body): validates against that profile too', async function () {
      const without = await post(t, 'Observation/$validate', halfBloodPressure());
      assert.deepEqual(errors(without.body as OperationOutcome), []);
      const withProfile = await post(t, 'Observation/$validate', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: halfBloodPressure() },
          { name: 'profile', valueUri: BP },
        ],
      });
      assert.equal(withProfile.status, 200, withProfile.text);
      assert.ok(errorPaths(withProfile.body as OperationOutcome).includes('Observation.component'));
    });

    it('instance level GET validates the stored resource, with and without ?profile=', async function () {
      const created = await post(t, 'Observation', halfBloodPressure());
      assert.equal(created.status, 201, created.text);
      const id = (created.body as Observation).id!;
      const plain = await request(t.app).get(`/fhir/Observation/${id}/$validate`).set('Accept', FHIR_JSON);
      assert.equal(plain.status, 200, plain.text);
      assert.deepEqual(errors(plain.body as OperationOutcome), []);
      const profiled = await request(t.app).get(`/fhir/Observation/${id}/$validate?profile=${encodeURIComponent(BP)}`).set('Accept', FHIR_JSON);
      assert.equal(profiled.status, 200, profiled.text);
      assert.ok(errorPaths(profiled.body as OperationOutcome).includes('Observation.component'));
    });

    it('mode=update at instance level: the id must match the URL', async function () {
      const r = await post(t, 'Patient/abc/$validate?mode=update', { resourceType: 'Patient', id: 'other', text: NARRATIVE });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(errorPaths(r.body as OperationOutcome), ['Patient.id']);
      const ok = await post(t, 'Patient/abc/$validate?mode=update', { resourceType: 'Patient', id: 'abc', text: NARRATIVE });
      assert.deepEqual(errors(ok.body as OperationOutcome), []);
    });

    it('mode=update at type level: the resource needs an id', async function () {
      const r = await post(t, 'Patient/$validate?mode=update', { resourceType: 'Patient', text: NARRATIVE });
      assert.deepEqual(errorPaths(r.body as OperationOutcome), ['Patient.id']);
    });

    it('mode=delete reports whether the resource exists', async function () {
      const created = await post(t, 'Patient', { resourceType: 'Patient', text: NARRATIVE });
      const id = (created.body as Patient).id!;
      const ok = await post(t, `Patient/${id}/$validate`, { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }] });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(errors(ok.body as OperationOutcome), []);
      const missing = await post(t, 'Patient/not-there/$validate?mode=delete', { resourceType: 'Parameters' });
      assert.equal(missing.status, 200, missing.text);
      assert.deepEqual(errors(missing.body as OperationOutcome).map((i) => i.code), ['not-found']);
      const typeLevel = await post(t, 'Patient/$validate?mode=delete', { resourceType: 'Parameters' });
      assert.equal(typeLevel.status, 400, typeLevel.text);
    });

    it('a resource of another type is an error issue; a bad mode or no resource is a 400', async function () {
      const other = await post(t, 'Patient/$validate', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
      assert.equal(other.status, 200, other.text);
      assert.equal(errors(other.body as OperationOutcome).length, 1);
      const badMode = await post(t, 'Patient/$validate?mode=destroy', { resourceType: 'Patient' });
      assert.equal(badMode.status, 400, badMode.text);
      const none = await request(t.app).get('/fhir/Patient/$validate').set('Accept', FHIR_JSON);
      assert.equal(none.status, 400, none.text);
    });

    it('an unknown profile parameter is an error issue naming it', async function () {
      const r = await post(t, 'Patient/$validate?profile=http://example.org/fhir/StructureDefinition/nope', { resourceType: 'Patient', text: NARRATIVE });
      assert.equal(r.status, 200, r.text);
      const e = errors(r.body as OperationOutcome);
      assert.equal(e.length, 1);
      assert.match(e[0]!.diagnostics ?? '', /example\.org\/fhir\/StructureDefinition\/nope/);
    });

    it('a profile of another type is an error issue', async function () {
      const r = await post(t, `Patient/$validate?profile=${encodeURIComponent(BP)}`, { resourceType: 'Patient', text: NARRATIVE });
      assert.match(errors(r.body as OperationOutcome)[0]?.diagnostics ?? '', /constrains Observation/);
    });

    it('is listed in the CapabilityStatement for every type', async function () {
      const cs = await request(t.app).get('/fhir/metadata');
      const patient = (cs.body.rest[0].resource as Array<{ type: string; operation?: Array<{ name: string; definition: string }> }>).find((r) => r.type === 'Patient');
      assert.ok(patient?.operation?.some((o) => o.name === 'validate' && o.definition === 'http://hl7.org/fhir/OperationDefinition/Resource-validate'));
    });
  });

  describe('unknown claimed profiles', function () {
    const claim = { resourceType: 'Patient', text: NARRATIVE, meta: { profile: ['http://example.org/fhir/StructureDefinition/not-loaded'] } };

    it('UNKNOWN_PROFILE=warn (default): accepted; $validate reports a warning at meta.profile', async function () {
      assert.equal(t.config.unknownProfile, 'warn');
      const r = await post(t, 'Patient', claim);
      assert.equal(r.status, 201, r.text);
      const v = await post(t, 'Patient/$validate', claim);
      const warning = (v.body as OperationOutcome).issue.find((i) => i.severity === 'warning' && (i.expression ?? []).includes('Patient.meta.profile[0]'));
      assert.ok(warning, v.text);
    });

    it('UNKNOWN_PROFILE=reject: 422 naming the profile at meta.profile', async function () {
      const strict = testApp({ ...GENERIC_ENGINE, UNKNOWN_PROFILE: 'reject' });
      try {
        const r = await post(strict, 'Patient', claim);
        assert.equal(r.status, 422, r.text);
        const e = errors(r.body as OperationOutcome);
        assert.deepEqual(e.flatMap((i) => i.expression ?? []), ['Patient.meta.profile[0]']);
        assert.match(e[0]!.diagnostics ?? '', /not-loaded/);
        const known = await post(strict, 'Observation', { ...halfBloodPressure(), meta: { profile: [BP] } });
        assert.equal(known.status, 422, 'a known profile is still checked');
      } finally {
        await strict.close();
      }
    });
  });

  describe('a StructureDefinition created through the API', function () {
    const url = 'http://example.org/fhir/StructureDefinition/patient-with-birthdate';
    const profile = (min: 'birthDate' | 'gender'): StructureDefinition => ({
      resourceType: 'StructureDefinition',
      url,
      name: 'PatientWithBirthDate',
      status: 'active',
      kind: 'resource',
      abstract: false,
      type: 'Patient',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
      derivation: 'constraint',
      differential: { element: [{ id: `Patient.${min}`, path: `Patient.${min}`, min: 1 }] },
    });
    const claiming = (extra: Partial<Patient>): Patient => ({ resourceType: 'Patient', text: NARRATIVE, meta: { profile: [url] }, ...extra });

    it('is usable by meta.profile right after POST, follows updates, and is gone after DELETE', async function () {
      const before = await post(t, 'Patient/$validate', claiming({}));
      assert.ok((before.body as OperationOutcome).issue.some((i) => i.severity === 'warning' && /not known/.test(i.diagnostics ?? '')), 'unknown before');

      const created = await post(t, 'StructureDefinition', profile('birthDate'));
      assert.equal(created.status, 201, created.text);
      const sdId = (created.body as StructureDefinition).id!;

      const rejected = await post(t, 'Patient', claiming({}));
      assert.equal(rejected.status, 422, rejected.text);
      assert.deepEqual(errorPaths(rejected.body as OperationOutcome), ['Patient.birthDate']);
      const accepted = await post(t, 'Patient', claiming({ birthDate: '1970-01-01' }));
      assert.equal(accepted.status, 201, accepted.text);

      const cs = await request(t.app).get('/fhir/metadata');
      const patient = (cs.body.rest[0].resource as Array<{ type: string; supportedProfile?: string[] }>).find((r) => r.type === 'Patient');
      assert.ok(patient?.supportedProfile?.includes(url), 'listed as a supported profile of Patient');

      const updated = await request(t.app).put(`/fhir/StructureDefinition/${sdId}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...profile('gender'), id: sdId }));
      assert.equal(updated.status, 200, updated.text);
      const now = await post(t, 'Patient', claiming({ birthDate: '1970-01-01' }));
      assert.equal(now.status, 422, now.text);
      assert.deepEqual(errorPaths(now.body as OperationOutcome), ['Patient.gender']);

      const deleted = await request(t.app).delete(`/fhir/StructureDefinition/${sdId}`);
      assert.ok(deleted.status === 200 || deleted.status === 204, deleted.text);
      const afterDelete = await post(t, 'Patient', claiming({}));
      assert.equal(afterDelete.status, 201, `unknown again, accepted under UNKNOWN_PROFILE=warn: ${afterDelete.text}`);
    });

    it('a stored profile is registered again at start-up (initServices over the same store)', async function () {
      const created = await post(t, 'StructureDefinition', { ...profile('birthDate'), url: `${url}-stored` });
      assert.equal(created.status, 201, created.text);
      // A second server over the same store, as after a restart.
      const services = buildServices(t.config, silentLogger(), t.services.store);
      const restarted = { app: createApp(services) };
      const claim = { resourceType: 'Patient', text: NARRATIVE, meta: { profile: [`${url}-stored`] } };
      const before = await post(restarted, 'Patient/$validate', claim);
      assert.deepEqual(errorPaths(before.body as OperationOutcome), [], 'not known before initServices');
      await initServices(services);
      const after = await post(restarted, 'Patient/$validate', claim);
      assert.deepEqual(errorPaths(after.body as OperationOutcome), ['Patient.birthDate']);
    });

    it('a StructureDefinition in the specification namespace does not replace the base rules', async function () {
      const hijack = { ...profile('birthDate'), url: 'http://hl7.org/fhir/StructureDefinition/Patient' };
      const r = await post(t, 'StructureDefinition', hijack);
      assert.equal(r.status, 201, r.text);
      const p = await post(t, 'Patient', { resourceType: 'Patient', text: NARRATIVE });
      assert.equal(p.status, 201, p.text);
    });
  });
});
