/**
 * The synthetic population generator (src/seed/generate.ts, docs/seed.md): deterministic for a seed,
 * test-range NHS Numbers with a valid Modulus 11 check digit and no repeats, ODS-coded practices,
 * and every reference naming a generated resource.
 */
import assert from 'node:assert/strict';
import type { FhirResource, Patient } from 'fhir/r4';
import { generatePopulation, ODS_SYSTEM } from '../../src/seed/generate';
import { isTestRangeNhsNumber, isValidNhsNumber, nhsNumberOf } from '../../src/spine/nhs-number';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';

const all = (patients: number, seed?: number, devUsers?: boolean): FhirResource[] =>
  generatePopulation({ patients, ...(seed !== undefined ? { seed } : {}), ...(devUsers !== undefined ? { devUsers } : {}) }).flatMap((g) => g.resources);

/** Every `reference` string anywhere in a resource. */
function referencesOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) referencesOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else referencesOf(v, out);
    }
  }
  return out;
}

describe('seed: synthetic UK population generator', () => {
  it('is deterministic: the same seed gives the same resources, another seed others', () => {
    assert.deepEqual(all(120, 7), all(120, 7));
    assert.deepEqual(all(60), all(60), 'the default seed too');
    assert.notDeepEqual(all(120, 7), all(120, 8));
  });

  it('gives every patient a unique, valid, test-range NHS Number as id and identifier', () => {
    const patients = all(2000, 3).filter((r): r is Patient => r.resourceType === 'Patient');
    assert.equal(patients.length, 2000);
    const numbers = patients.map((p) => nhsNumberOf(p) ?? '');
    for (const [i, n] of numbers.entries()) {
      assert.ok(isValidNhsNumber(n) && isTestRangeNhsNumber(n), `patient ${i}: ${n}`);
      assert.equal(patients[i]!.id, n);
    }
    assert.equal(new Set(numbers).size, numbers.length, 'no NHS Number repeats');
    assert.ok(!numbers.includes(DEV_PATIENT_ID), "dev-patient's number is never given to a seeded patient without devUsers");
  });

  it('with devUsers the first patient is dev-patient and a GP is dev-practitioner', () => {
    const r = all(10, 1, true);
    assert.ok(r.some((x) => x.resourceType === 'Patient' && x.id === DEV_PATIENT_ID));
    assert.ok(r.some((x) => x.resourceType === 'Practitioner' && x.id === 'dev-practitioner'));
    assert.equal(r.filter((x) => x.resourceType === 'Patient' && x.id === DEV_PATIENT_ID).length, 1);
  });

  it('registers patients with ODS-coded GP practices and makes every reference resolve within the population', () => {
    const r = all(600, 5);
    const keys = new Set(r.map((x) => `${x.resourceType}/${x.id!}`));
    assert.equal(keys.size, r.length, 'ids are unique per type');
    const orgs = r.filter((x) => x.resourceType === 'Organization');
    assert.ok(orgs.length >= 2);
    for (const o of orgs) assert.match(o.identifier?.find((i) => i.system === ODS_SYSTEM)?.value ?? '', /^[A-Z]\d{5}$/);
    const types = new Set(r.map((x) => x.resourceType));
    for (const t of ['Patient', 'Organization', 'Practitioner', 'Encounter', 'Observation', 'MedicationRequest', 'Composition', 'Bundle']) assert.ok(types.has(t as FhirResource['resourceType']), t);
    for (const x of r) for (const ref of referencesOf(x)) assert.ok(keys.has(ref), `${x.resourceType}/${x.id!} -> ${ref}`);
    for (const p of r.filter((x): x is Patient => x.resourceType === 'Patient')) assert.match(p.address?.[0]?.postalCode ?? '', /^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$/);
  });
});
