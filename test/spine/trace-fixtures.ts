/**
 * Test helpers of the trace suites: an app with the trace layer registered, and Patients written
 * straight through the store with their index entries (independent of the records layer's write rules).
 */
import type { Patient } from 'fhir/r4';
import { GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { registerTrace } from '../../src/spine/trace';

export function traceApp(env: Readonly<Record<string, string>> = {}): TestApp {
  const t = testApp({ ...GENERIC_ENGINE, ...env });
  registerTrace(t.services, t.config);
  return t;
}

export async function seed(t: TestApp, patients: readonly Patient[]): Promise<void> {
  for (const p of patients) {
    if (!p.id) throw new Error('seed: a Patient needs an id');
    await t.services.store.write({ kind: 'update', resourceType: 'Patient', id: p.id, resource: p, index: t.services.indexer.extract(p) });
  }
}

export function patient(id: string, family: string, given: string[], birthDate: string, extra: Partial<Patient> = {}): Patient {
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: id }],
    name: [{ use: 'usual', family, given }],
    gender: 'female',
    birthDate,
    ...extra,
  };
}
