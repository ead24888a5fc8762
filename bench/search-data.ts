/**
 * Seeded generator of a realistic clinical data set for the search benchmark (FHIR R4 patient.html,
 * observation.html, encounter.html, medicationrequest.html, practitioner.html): per 10 resources one
 * Patient with 6 Observations, 2 Encounters and 1 MedicationRequest, plus a pool of Practitioners
 * they reference. Identifiers, names, LOINC-like codes and dates spread over years come from a
 * deterministic PRNG, so the same seed and size always produce the same resources.
 */
import { prng } from './patients';
import type { Encounter, MedicationRequest, Observation, Patient, Practitioner, Resource } from 'fhir/r4';

/** The same seeded PRNG as the REST bench (bench/patients.ts). */
export { prng };

export const MRN_SYSTEM = 'https://example.org/fhir/mrn';
export const LOINC = 'http://loinc.org';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

export const FAMILIES = ['Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson', 'Thomas', 'Johnson', 'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker', 'White', 'Edwards', 'Hughes', 'Green', 'Hall', 'Lewis', 'Harris', 'Clarke', 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill', 'Ward', 'Morris', 'Moore', 'Clark', 'Lee', 'King', 'Baker', 'Harrison', 'Morgan', 'Allen', 'Müller', 'Nowak', 'Okafor', 'Nguyen', 'Khan', 'Ali', 'Singh', 'Kowalski', 'Murphy', 'Kelly'];
const GIVEN = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Grace', 'Sophia', 'Lily', 'Freya', 'Emily', 'Oliver', 'George', 'Arthur', 'Noah', 'Muhammad', 'Leo', 'Oscar', 'Harry', 'Jack', 'Zoë'];
/** [code, display, unit, mean, spread] */
export const OBSERVATION_CODES: ReadonlyArray<readonly [string, string, string, number, number]> = [
  ['8867-4', 'Heart rate', '/min', 75, 20],
  ['8310-5', 'Body temperature', 'Cel', 37, 1],
  ['8302-2', 'Body height', 'cm', 165, 20],
  ['29463-7', 'Body weight', 'kg', 75, 20],
  ['39156-5', 'Body mass index', 'kg/m2', 26, 5],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 125, 20],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 80, 12],
  ['2339-0', 'Glucose', 'mg/dL', 100, 30],
  ['2093-3', 'Cholesterol', 'mg/dL', 190, 40],
  ['4548-4', 'Hemoglobin A1c', '%', 6, 1.5],
];
export const MEDICATION_CODES = ['197361', '308136', '310965', '314076', '198211', '617314', '860975', '1049621', '723', '866924'];


export function pick<T>(rnd: () => number, items: readonly T[]): T {
  const v = items[Math.floor(rnd() * items.length)];
  if (v === undefined) throw new Error('pick from an empty list');
  return v;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const instant = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const between = (rnd: () => number, from: string, to: string): number => Date.parse(from) + Math.floor(rnd() * (Date.parse(to) - Date.parse(from)));

export const patientId = (i: number): string => `p${i}`;
export const practitionerId = (i: number): string => `pr${i}`;

export interface DataSetShape {
  patients: number;
  practitioners: number;
  total: number;
}

/** 10 resources per patient, one practitioner per 1 000 resources (at least 10). */
export function shapeFor(size: number): DataSetShape {
  const practitioners = Math.max(10, Math.floor(size / 1000));
  const patients = Math.max(1, Math.floor((size - practitioners) / 10));
  return { patients, practitioners, total: practitioners + patients * 10 };
}

/** The Patient `i` alone (the benchmark derives query values from it without generating the rest). */
export function makePatient(seed: number, i: number, shape: DataSetShape): Patient {
  const rnd = prng(seed * 1_000_003 + i);
  return {
    resourceType: 'Patient',
    id: patientId(i),
    identifier: [{ system: MRN_SYSTEM, value: `MRN${String(i).padStart(8, '0')}` }],
    active: true,
    name: [{ use: 'official', family: pick(rnd, FAMILIES), given: [pick(rnd, GIVEN), pick(rnd, GIVEN)] }],
    gender: rnd() < 0.5 ? 'female' : 'male',
    birthDate: day(between(rnd, '1930-01-01', '2020-12-31')),
    address: [{ line: [`${1 + Math.floor(rnd() * 200)} High Street`], city: pick(rnd, ['Leeds', 'York', 'Bristol', 'Exeter']), country: 'GB' }],
    generalPractitioner: [{ reference: `Practitioner/${practitionerId(Math.floor(rnd() * shape.practitioners))}` }],
  };
}

export function makePractitioner(seed: number, i: number): Practitioner {
  const rnd = prng(seed * 7_919 + i + 1);
  return {
    resourceType: 'Practitioner',
    id: practitionerId(i),
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: String(1_000_000_000 + i) }],
    name: [{ family: pick(rnd, FAMILIES), given: [pick(rnd, GIVEN)], prefix: ['Dr'] }],
  };
}

/** The 9 resources of patient `i` other than the Patient (Observations, Encounters, MedicationRequest). */
export function makeRecords(seed: number, i: number, shape: DataSetShape): Resource[] {
  const rnd = prng(seed * 2_654_435 + i * 31 + 7);
  const subject = { reference: `Patient/${patientId(i)}` };
  const out: Resource[] = [];
  const encounters: string[] = [];
  for (let k = 0; k < 2; k++) {
    const start = between(rnd, '2012-01-01', '2024-12-31');
    const id = `e${i}-${k}`;
    encounters.push(id);
    const enc: Encounter = {
      resourceType: 'Encounter',
      id,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185349003', display: 'Encounter for check up' }] }],
      subject,
      participant: [{ individual: { reference: `Practitioner/${practitionerId(Math.floor(rnd() * shape.practitioners))}` } }],
      period: { start: instant(start), end: instant(start + 30 * 60_000) },
    };
    out.push(enc);
  }
  for (let k = 0; k < 6; k++) {
    const [code, display, unit, mean, spread] = pick(rnd, OBSERVATION_CODES);
    const o: Observation = {
      resourceType: 'Observation',
      id: `o${i}-${k}`,
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: k < 4 ? 'vital-signs' : 'laboratory' }] }],
      code: { coding: [{ system: LOINC, code, display }], text: display },
      subject,
      encounter: { reference: `Encounter/${pick(rnd, encounters)}` },
      effectiveDateTime: instant(between(rnd, '2012-01-01', '2024-12-31')),
      valueQuantity: { value: Math.round((mean + (rnd() - 0.5) * 2 * spread) * 10) / 10, unit, system: 'http://unitsofmeasure.org', code: unit },
    };
    out.push(o);
  }
  const mr: MedicationRequest = {
    resourceType: 'MedicationRequest',
    id: `mr${i}`,
    status: rnd() < 0.7 ? 'active' : 'completed',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: RXNORM, code: pick(rnd, MEDICATION_CODES) }] },
    subject,
    encounter: { reference: `Encounter/${encounters[0]!}` },
    authoredOn: day(between(rnd, '2012-01-01', '2024-12-31')),
    requester: { reference: `Practitioner/${practitionerId(Math.floor(rnd() * shape.practitioners))}` },
  };
  out.push(mr);
  return out;
}
