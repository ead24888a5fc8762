/**
 * Merged (superseded) patient records (FHIR R4 patient.html "Patient.link" with link types
 * `replaced-by` and `replaces`; PDS FHIR API: a superseded NHS Number answers with its surviving
 * record). The superseded record is `active: false` with a `replaced-by` link to the survivor; the
 * survivor has a `replaces` link back.
 */
import type { Patient, PatientLink } from 'fhir/r4';

const PATIENT_REF = /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})$/;

/** The id of a `Patient/<id>` reference (relative or absolute), or undefined. */
export function patientIdOf(reference: string | undefined): string | undefined {
  if (reference === undefined) return undefined;
  return PATIENT_REF.exec(reference)?.[1];
}

/** The id of the record that replaced this one, when it has been superseded. */
export function replacedBy(patient: Patient): string | undefined {
  for (const l of patient.link ?? []) if (l.type === 'replaced-by') return patientIdOf(l.other.reference);
  return undefined;
}

/** The superseded record: inactive, with only a `replaced-by` link to the survivor (other links kept). */
export function supersede(source: Patient, survivorId: string): Patient {
  const others = (source.link ?? []).filter((l) => l.type !== 'replaced-by');
  return { ...source, active: false, link: [...others, { other: { reference: `Patient/${survivorId}` }, type: 'replaced-by' }] };
}

/** The survivor with a `replaces` link to the superseded record (added once). */
export function addReplaces(survivor: Patient, sourceId: string): Patient {
  const links: PatientLink[] = survivor.link ?? [];
  if (links.some((l) => l.type === 'replaces' && patientIdOf(l.other.reference) === sourceId)) return survivor;
  return { ...survivor, link: [...links, { other: { reference: `Patient/${sourceId}` }, type: 'replaces' }] };
}
