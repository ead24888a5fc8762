/**
 * The FHIR resources of the development users (SMART App Launch 2.0.0 app-launch.html "fhirUser" and
 * the `patient` launch context: a client reads them, e.g. fhirclient's `client.patient.read()` and
 * `client.user.read()`). The built-in authorization server's users file names `dev-patient` as
 * `Patient/9999999972` (a test-range NHS Number, docs/spine.md) and `dev-practitioner` as
 * `Practitioner/dev-practitioner` (src/auth/server/users.ts); on a fresh server those resources did
 * not exist, so a patient app's first read answered 404.
 *
 * At start-up, with the built-in authorization server and a database on disk (never with
 * `SQLITE_PATH=:memory:`), each development user that the users file has (or will create) with its
 * default `fhirUser` gets its resource written through the engine's write path (validation, NHS
 * Number rules, index) when the store has no version of it at all: a deleted one stays deleted, an
 * edited one is left as it is, a restart writes nothing. A resource that cannot be written (e.g. a
 * stricter REQUIRED_PROFILES) is logged and skipped: development data never stops the server.
 */
import type { Narrative, Patient, Practitioner } from 'fhir/r4';
import { topLevelContext, type FhirServices } from './fhir/context';
import { writeResource } from './fhir/write';
import { DEV_PATIENT_ID } from './auth/server/users';
import { allocatedIdentifier } from './spine/records';

const narrative = (text: string): Narrative => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${text}</div>` });

/** The development resources by reference. */
export function devUserResources(): ReadonlyMap<string, Patient | Practitioner> {
  const patient: Patient = {
    resourceType: 'Patient',
    id: DEV_PATIENT_ID,
    text: narrative('Dev Patient (development login dev-patient), NHS Number 999 999 9972 (test range)'),
    identifier: [allocatedIdentifier(DEV_PATIENT_ID)],
    name: [{ use: 'usual', family: 'Patient', given: ['Dev'] }],
    gender: 'unknown',
    birthDate: '1990-01-01',
  };
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    id: 'dev-practitioner',
    text: narrative('Dev Practitioner (development login dev-practitioner)'),
    active: true,
    name: [{ use: 'usual', family: 'Practitioner', given: ['Dev'] }],
  };
  return new Map<string, Patient | Practitioner>([
    [`Patient/${DEV_PATIENT_ID}`, patient],
    ['Practitioner/dev-practitioner', practitioner],
  ]);
}

/** Writes the resources named by `references` that the store has never held; returns those written. */
export async function seedDevUserRecords(services: FhirServices, references: readonly string[]): Promise<string[]> {
  const resources = devUserResources();
  const written: string[] = [];
  const ctx = topLevelContext(services);
  for (const ref of references) {
    const resource = resources.get(ref);
    if (!resource?.id) continue;
    if ((await services.store.read(resource.resourceType, resource.id)) !== undefined) continue;
    try {
      // expectedVersion 0: only if it still does not exist (another instance may seed at the same time).
      await writeResource(ctx, services.store, { kind: 'create', resourceType: resource.resourceType, id: resource.id, resource, expectedVersion: 0, method: 'PUT' });
      written.push(ref);
    } catch (err) {
      services.log.warn({ err, resource: ref }, 'the development user resource could not be created');
    }
  }
  return written;
}
