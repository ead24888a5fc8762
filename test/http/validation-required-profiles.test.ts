/**
 * REQUIRED_PROFILES over HTTP (FHIR R4 validation.html; profiling.html): a profile every write of a
 * type must conform to, here UK Core Patient / MedicationRequest loaded from
 * ../shared/external/uk-core as a package through FHIR_PACKAGES; start-up refuses a required profile
 * it cannot find; the default configuration enforces UK Core from the repository's profiles/ folder.
 * Also prints how much of the write latency validation takes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { OperationOutcome, Patient } from 'fhir/r4';
import { ConfigError, DEFAULT_REQUIRED_PROFILES } from '../../src/config/config';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { diagnostic } from '../helpers/diagnostics';

const UK_CORE = existingExternalPath('uk-core');
const ABSENT = 'the UK Core folder ../shared/external/uk-core is absent';
const UKCORE_PATIENT = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient';
const UKCORE_MEDICATION_REQUEST = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest';
const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

function example(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(UK_CORE!, 'examples', name), 'utf8')) as Record<string, unknown>;
}

function post(t: TestApp, type: string, body: unknown): request.Test {
  return request(t.app).post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).set('Accept', FHIR_JSON).send(JSON.stringify(body));
}

const errorPaths = (oo: OperationOutcome): string[] => oo.issue.filter((i) => i.severity === 'error').flatMap((i) => i.expression ?? []);

/** UK Core examples whose NHS Number fails the Modulus 11 check (9912003890: the check digit is 6, not 0). */
const BAD_NHS_NUMBER_EXAMPLES: ReadonlySet<string> = new Set(['UKCore-Patient-BabyPatient-Example.json']);

describe('HTTP: REQUIRED_PROFILES with UK Core loaded through FHIR_PACKAGES', function () {
  let t: TestApp | undefined;
  before(function () {
    if (!UK_CORE) return;
    this.timeout(60_000);
    // Only the package: the repository's profiles/ folder is left out so the official definitions are what is enforced.
    t = testApp({ FHIR_PACKAGES: UK_CORE, PROFILES_DIR: '', REQUIRED_PROFILES: `Patient=${UKCORE_PATIENT},MedicationRequest=${UKCORE_MEDICATION_REQUEST}` });
  });
  after(async () => t?.close());

  it('accepts the UK Core Patient and MedicationRequest examples', async function () {
    if (!t) skipWithReason(this, ABSENT);
    this.timeout(60_000);
    const files = fs.readdirSync(path.join(UK_CORE!, 'examples')).filter((f) => /^UKCore-(Patient|MedicationRequest)-.*\.json$/.test(f));
    assert.ok(files.length >= 10, `${files.length} examples`);
    for (const f of files) {
      const r = example(f);
      const res = await post(t, String(r.resourceType), r);
      if (BAD_NHS_NUMBER_EXAMPLES.has(f)) {
        // Published with an NHS Number whose Modulus 11 check digit is wrong: the NHS layer refuses it.
        diagnostic(`      (${f}: published with an invalid NHS Number check digit; expected to be refused with 422 INVALID_VALUE)`);
        assert.equal(res.status, 422, `${f}: ${res.text}`);
        assert.match(res.text, /INVALID_VALUE/);
        continue;
      }
      assert.equal(res.status, 201, `${f}: ${res.text}`);
    }
  });

  it('rejects a Patient that is valid R4 but breaks UK Core, without it claiming UK Core', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const patient: Patient = { resourceType: 'Patient', identifier: [{ system: NHS_NUMBER_SYSTEM }], name: [{ family: 'Smith' }] };
    const res = await post(t, 'Patient', patient);
    assert.equal(res.status, 422, res.text);
    const oo = res.body as OperationOutcome;
    assert.ok(errorPaths(oo).some((p) => p.startsWith('Patient.identifier[0]')), JSON.stringify(oo));
    assert.ok(oo.issue.some((i) => (i.diagnostics ?? '').includes(UKCORE_PATIENT)), 'names the profile');
  });

  it('rejects a code outside a required UK Core binding at its element', async function () {
    if (!t) skipWithReason(this, ABSENT);
    // Extension-UKCore-BirthSex binds its value to UKCore-BirthSex with strength required.
    const patient = example('Extension-UKCore-BirthSex-Example.json');
    const good = await post(t, 'Patient', patient);
    assert.equal(good.status, 201, good.text);
    const bad = JSON.parse(JSON.stringify(patient).replace('"code":"F"', '"code":"not-a-sex"')) as Record<string, unknown>;
    const res = await post(t, 'Patient', bad);
    assert.equal(res.status, 422, res.text);
    assert.ok(errorPaths(res.body as OperationOutcome).some((p) => p.startsWith('Patient.extension[0].value')), res.text);
  });

  it('does not apply to other types, and $validate mode=profile leaves the required profile out', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const obs = await post(t, 'Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    assert.equal(obs.status, 201, obs.text);
    const bad = { resourceType: 'Patient', identifier: [{ system: NHS_NUMBER_SYSTEM }] };
    const asCreate = await post(t, 'Patient/$validate?mode=create', bad);
    assert.ok(errorPaths(asCreate.body as OperationOutcome).length > 0, asCreate.text);
    const profileOnly = await post(t, `Patient/$validate?mode=profile&profile=${encodeURIComponent('http://hl7.org/fhir/StructureDefinition/Patient')}`, bad);
    assert.deepEqual(errorPaths(profileOnly.body as OperationOutcome), [], profileOnly.text);
  });

  it('lists the required profile as supportedProfile of its type in the CapabilityStatement', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const cs = await request(t.app).get('/fhir/metadata');
    const byType = new Map((cs.body.rest[0].resource as Array<{ type: string; supportedProfile?: string[] }>).map((r) => [r.type, r.supportedProfile ?? []]));
    assert.ok(byType.get('Patient')?.includes(UKCORE_PATIENT));
    assert.ok(byType.get('MedicationRequest')?.includes(UKCORE_MEDICATION_REQUEST));
    assert.ok(byType.get('Composition')?.includes('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Composition'), 'a known, not required, profile');
    assert.deepEqual(byType.get('Observation'), []);
  });

  it('validation does not dominate write latency (figure printed)', async function () {
    if (!t) skipWithReason(this, ABSENT);
    this.timeout(120_000);
    const services = t.services;
    const inner = services.validator.assertValid.bind(services.validator);
    let validationMs = 0;
    services.validator.assertValid = async (resource, ctx) => {
      const s = process.hrtime.bigint();
      try {
        await inner(resource, ctx);
      } finally {
        validationMs += Number(process.hrtime.bigint() - s) / 1e6;
      }
    };
    try {
      const base = example('UKCore-Patient-RichardSmith-Example.json');
      const n = 200;
      // Warm-up (compilation of the profile and its extensions happens once, on first use).
      for (let i = 0; i < 10; i++) await post(t, 'Patient', base);
      validationMs = 0;
      const started = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        const res = await post(t, 'Patient', { ...base, id: undefined });
        assert.equal(res.status, 201, res.text);
      }
      const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
      const share = (100 * validationMs) / totalMs;
      diagnostic(
        `      ${n} UK Core Patient creates over HTTP (in-process, :memory: SQLite): ${(totalMs / n).toFixed(2)} ms per write, of which validation ${(validationMs / n).toFixed(2)} ms (${share.toFixed(0)}%: JSON schema + base Patient rules + UKCore-Patient)`,
      );
      assert.ok(validationMs > 0 && validationMs < totalMs);
    } finally {
      services.validator.assertValid = inner;
    }
  });
});

describe('HTTP: REQUIRED_PROFILES at start-up', function () {
  it('a required profile that cannot be found stops start-up with a message naming it', function () {
    assert.throws(
      () => testApp({ PROFILES_DIR: '', REQUIRED_PROFILES: 'Patient=https://example.org/fhir/StructureDefinition/missing' }),
      (e: unknown) => e instanceof ConfigError && /REQUIRED_PROFILES/.test(e.message) && e.message.includes('https://example.org/fhir/StructureDefinition/missing') && /Patient/.test(e.message),
    );
  });

  it('a required profile of another type stops start-up', function () {
    assert.throws(() => testApp({ ...GENERIC_ENGINE, REQUIRED_PROFILES: 'Patient=http://hl7.org/fhir/StructureDefinition/bp' }), (e: unknown) => e instanceof ConfigError && /constrains Observation/.test(e.message));
  });

  it('the default configuration enforces the UK Core profiles of the repository profiles/ folder', async function () {
    const t = testApp();
    try {
      assert.equal(DEFAULT_REQUIRED_PROFILES.split(',').length, 3);
      assert.deepEqual(Object.keys(t.config.requiredProfiles).sort(), ['Composition', 'MedicationRequest', 'Patient']);
      const ok = await post(t, 'Patient', { resourceType: 'Patient', name: [{ family: 'Smith' }] });
      assert.equal(ok.status, 201, ok.text);
      const bad = await post(t, 'Patient', { resourceType: 'Patient', identifier: [{ system: NHS_NUMBER_SYSTEM }] });
      assert.equal(bad.status, 422, bad.text);
    } finally {
      await t.close();
    }
  });
});
