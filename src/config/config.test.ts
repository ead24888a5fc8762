/**
 * Configuration of validation (FHIR_PACKAGES, PROFILES_DIR, REQUIRED_PROFILES, UNKNOWN_PROFILE,
 * UNKNOWN_EXTENSION): defaults, the empty string, and clear messages for every bad value.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ConfigError, DEFAULT_PROFILES_DIR, DEFAULT_REQUIRED_PROFILES, loadConfig, parseRequiredProfiles } from './config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('config: validation settings', function () {
  it('defaults: UK Core required for Patient, Composition and MedicationRequest; warn on unknown profiles and extensions; no packages', function () {
    const c = loadConfig({});
    assert.deepEqual(c.requiredProfiles, {
      Patient: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient',
      Composition: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Composition',
      MedicationRequest: 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest',
    });
    assert.equal(c.unknownProfile, 'warn');
    assert.equal(c.unknownExtension, 'warn');
    assert.deepEqual(c.fhirPackages, []);
    assert.ok(Object.isFrozen(c.requiredProfiles) && Object.isFrozen(c.fhirPackages));
  });

  it('PROFILES_DIR defaults to the repository profiles/ folder, independent of the working directory', function () {
    assert.ok(fs.existsSync(path.join(path.dirname(DEFAULT_PROFILES_DIR), 'package.json')), DEFAULT_PROFILES_DIR);
    const cwd = process.cwd();
    try {
      process.chdir(os.tmpdir());
      assert.equal(loadConfig({}).profilesDir, fs.existsSync(DEFAULT_PROFILES_DIR) ? DEFAULT_PROFILES_DIR : undefined);
    } finally {
      process.chdir(cwd);
    }
    assert.equal(loadConfig({ PROFILES_DIR: '' }).profilesDir, undefined);
  });

  it('the empty string (or blanks) means no required profile', function () {
    assert.deepEqual(loadConfig({ REQUIRED_PROFILES: '' }).requiredProfiles, {});
    assert.deepEqual(loadConfig({ REQUIRED_PROFILES: '  ' }).requiredProfiles, {});
  });

  it('accepts versions and urn canonicals, and trims blanks around items', function () {
    assert.deepEqual(loadConfig({ REQUIRED_PROFILES: ' Patient = https://example.org/p|1.2.0 , Observation=urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7' }).requiredProfiles, {
      Patient: 'https://example.org/p|1.2.0',
      Observation: 'urn:uuid:53fefa32-fcbb-4ff8-8a92-55ee120877b7',
    });
  });

  it('reports every bad REQUIRED_PROFILES item with a message naming the variable and the item', function () {
    const problems = problemsOf({ REQUIRED_PROFILES: 'Patient,Pateint=https://x.org/p,Patient=not a url,Observation=https://x.org/a,Observation=https://x.org/b' });
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.every((p) => p.startsWith('REQUIRED_PROFILES')));
    assert.match(problems[0]!, /not a `Type=url` pair/);
    assert.match(problems[1]!, /"Pateint" is not an R4 resource type/);
    assert.match(problems[2]!, /not a canonical url/);
    assert.match(problems[3]!, /more than once/);
  });

  it('rejects bad UNKNOWN_PROFILE / UNKNOWN_EXTENSION values and missing packages', function () {
    const problems = problemsOf({ UNKNOWN_PROFILE: 'ignore', UNKNOWN_EXTENSION: 'maybe', FHIR_PACKAGES: '/definitely/not/here.tgz', PROFILES_DIR: '/definitely/not/here' });
    assert.equal(problems.length, 4, problems.join('\n'));
    for (const name of ['UNKNOWN_PROFILE', 'UNKNOWN_EXTENSION', 'FHIR_PACKAGES', 'PROFILES_DIR']) assert.ok(problems.some((p) => p.startsWith(name)), name);
    assert.equal(loadConfig({ UNKNOWN_PROFILE: 'REJECT' }).unknownProfile, 'reject');
  });

  it('FHIR_PACKAGES: existing directories and .tgz files, resolved to absolute paths', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-packages-'));
    const tgz = path.join(dir, 'p.tgz');
    const other = path.join(dir, 'p.zip');
    fs.writeFileSync(tgz, '');
    fs.writeFileSync(other, '');
    try {
      assert.deepEqual(loadConfig({ FHIR_PACKAGES: `${dir},${tgz}` }).fhirPackages, [dir, tgz]);
      assert.match(problemsOf({ FHIR_PACKAGES: other })[0] ?? '', /neither a directory nor a \.tgz/);
      assert.match(problemsOf({ FHIR_PACKAGES: `${dir},,${tgz}` })[0] ?? '', /empty item/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parseRequiredProfiles never throws and either accepts a pair or reports it (property)', function () {
    const types = fc.constantFrom('Patient', 'Observation', 'Composition', 'NotAType', '', 'patient');
    const urls = fc.oneof(fc.constantFrom('https://x.org/p', 'https://x.org/p|1', 'urn:oid:1.2.3', 'x', ''), fc.string({ maxLength: 30 }));
    const item = fc.oneof(fc.tuple(types, urls).map(([t, u]) => `${t}=${u}`), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        const raw = items.join(',');
        const problems: string[] = [];
        const out = parseRequiredProfiles(raw, problems);
        if (raw.trim() === '') return Object.keys(out).length === 0 && problems.length === 0;
        const parts = raw.split(',');
        // Every item ends up either accepted (one per type) or reported.
        return Object.keys(out).length + problems.length === parts.length && problems.every((p) => p.startsWith('REQUIRED_PROFILES'));
      }),
      { numRuns: 500 },
    );
  });

  it('the default string parses to the three UK Core profiles', function () {
    const problems: string[] = [];
    assert.equal(Object.keys(parseRequiredProfiles(DEFAULT_REQUIRED_PROFILES, problems)).length, 3);
    assert.deepEqual(problems, []);
  });

  it('request limits: documented defaults, each variable read and checked against its bounds', function () {
    assert.deepEqual(loadConfig({}).limits, {
      maxBundleEntries: 5000,
      maxArrayLength: 10000,
      maxResourceElements: 100000,
      maxSortKeys: 10,
      maxOrValues: 100,
      maxParameterRepeats: 20,
      maxQueryParameters: 50,
      maxQueryValues: 500,
      maxTextTerms: 20,
      maxConditionalParameters: 10,
    });
    assert.ok(Object.isFrozen(loadConfig({}).limits));
    assert.equal(loadConfig({ MAX_OR_VALUES: '7' }).limits.maxOrValues, 7);
    // MAX_SORT_KEYS above 100 would let a search exceed SQLite's 2000 ORDER BY terms.
    for (const [name, value] of [['MAX_SORT_KEYS', '101'], ['MAX_BUNDLE_ENTRIES', '0'], ['MAX_RESOURCE_ELEMENTS', 'many'], ['MAX_CONDITIONAL_PARAMETERS', '-1']]) {
      const problems = problemsOf({ [name!]: value! });
      assert.equal(problems.length, 1, name);
      assert.match(problems[0]!, new RegExp(`^${name}=`));
    }
  });

  it('EPS_SIGNATURE_VERIFICATION: off by default, on or off in any case, anything else refused by name', function () {
    assert.equal(loadConfig({}).epsSignatureVerification, 'off');
    assert.equal(loadConfig({ EPS_SIGNATURE_VERIFICATION: 'ON' }).epsSignatureVerification, 'on');
    const problems = problemsOf({ EPS_SIGNATURE_VERIFICATION: 'yes' });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^EPS_SIGNATURE_VERIFICATION="yes" is not one of on, off/);
  });

  it('EPS_EXPIRY_SWEEP_SECONDS: 60 by default, 0 (off) to a day, anything else refused by name', function () {
    assert.equal(loadConfig({}).epsExpirySweepSeconds, 60);
    assert.equal(loadConfig({ EPS_EXPIRY_SWEEP_SECONDS: '0' }).epsExpirySweepSeconds, 0);
    assert.equal(loadConfig({ EPS_EXPIRY_SWEEP_SECONDS: '3600' }).epsExpirySweepSeconds, 3600);
    for (const bad of ['-1', '1.5', 'often', '86401']) {
      const problems = problemsOf({ EPS_EXPIRY_SWEEP_SECONDS: bad });
      assert.equal(problems.length, 1, bad);
      assert.match(problems[0]!, /^EPS_EXPIRY_SWEEP_SECONDS=/);
    }
  });
});
