/**
 * The seeded synthetic UK population (issue 16, docs/seed.md): GP practices (UK Core Organization
 * with an ODS organisation code), their GPs (Practitioner with an SDS user id and a GMC number), and
 * patients (UK Core Patient with a test-range NHS Number — 999 prefix, Modulus 11 check digit,
 * src/spine/nhs-number.ts — a UK address and their registered practice) with GP consultations
 * (Encounter), vital signs (Observation, SNOMED CT coded with UCUM units) and prescriptions
 * (UK Core MedicationRequest coded with dm+d VMPs), and a Summary Care Record: a GP Summary
 * (UK Core Composition, SNOMED CT 196981000000101) listing the patient's current prescriptions, with
 * its document Bundle stored as `Bundle/{SCR id}` the way an SCR upload stores it (docs/scr.md), so the
 * SCR API and `Composition/$document` answer for every seeded patient.
 *
 * Pure and deterministic: the same seed and size give byte-for-byte the same resources (dates are
 * relative to a fixed reference day, never to the clock). Every resource carries its id, so the
 * loader writes them with PUT and references between them are plain `Type/id`.
 */
import type { Bundle, Composition, Encounter, MedicationRequest, Observation, Organization, Patient, Practitioner, FhirResource } from 'fhir/r4';
import { allocatedIdentifier } from '../spine/records';
import { withCheckDigit } from '../spine/nhs-number';
import { DEV_PATIENT_ID } from '../auth/server/users';
import { birthDate, FEMALE, MALE, pick, postcode, prng, SURNAMES } from './uk-data';

export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const SDS_USER_SYSTEM = 'https://fhir.nhs.uk/Id/sds-user-id';
export const GMC_SYSTEM = 'https://fhir.hl7.org.uk/Id/gmc-number';
const SNOMED = 'http://snomed.info/sct';
const UCUM = 'http://unitsofmeasure.org';
/** The day encounters are dated back from (fixed, so output does not depend on the clock). */
const REFERENCE_DAY = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;

const TOWNS: ReadonlyArray<readonly [string, string]> = [
  ['Leeds', 'LS'], ['Manchester', 'M'], ['Birmingham', 'B'], ['London', 'SW'], ['Bristol', 'BS'], ['Cardiff', 'CF'], ['Edinburgh', 'EH'], ['Glasgow', 'G'],
  ['Liverpool', 'L'], ['Sheffield', 'S'], ['Newcastle upon Tyne', 'NE'], ['Oxford', 'OX'], ['Cambridge', 'CB'], ['York', 'YO'], ['Nottingham', 'NG'], ['Leicester', 'LE'],
  ['Coventry', 'CV'], ['Plymouth', 'PL'], ['Exeter', 'EX'], ['Brighton', 'BN'], ['Reading', 'RG'], ['Southampton', 'SO'], ['Derby', 'DE'], ['Stoke-on-Trent', 'ST'],
];
const STREETS = ['Road', 'Street', 'Lane', 'Avenue', 'Close', 'Drive', 'Grove', 'Crescent', 'Way', 'Gardens'];
const PRACTICE_NAMES = ['Medical Centre', 'Surgery', 'Health Centre', 'Medical Practice', 'Family Practice'];

/** Vital signs: SNOMED CT observable entity, UCUM unit, and a plausible adult range. */
const VITALS: ReadonlyArray<{ code: string; display: string; unit: string; ucum: string; low: number; high: number; decimals: number }> = [
  { code: '27113001', display: 'Body weight', unit: 'kg', ucum: 'kg', low: 45, high: 120, decimals: 1 },
  { code: '50373000', display: 'Body height', unit: 'cm', ucum: 'cm', low: 150, high: 195, decimals: 0 },
  { code: '364075005', display: 'Heart rate', unit: 'beats/minute', ucum: '/min', low: 55, high: 100, decimals: 0 },
  { code: '276885007', display: 'Core body temperature', unit: 'degrees C', ucum: 'Cel', low: 36.1, high: 37.6, decimals: 1 },
  { code: '86290005', display: 'Respiratory rate', unit: 'breaths/minute', ucum: '/min', low: 12, high: 20, decimals: 0 },
  { code: '103228002', display: 'Blood oxygen saturation', unit: '%', ucum: '%', low: 94, high: 100, decimals: 0 },
];

/** Common primary care prescriptions: dm+d VMP (SNOMED CT), dosage text, and quantity with its dm+d unit of measure. */
const MEDICINES: ReadonlyArray<readonly [string, string, string, number, string, string]> = [
  ['39732311000001104', 'Amlodipine 5mg tablets', 'One tablet once a day', 28, 'tablet', '428673006'],
  ['42206511000001102', 'Atorvastatin 20mg tablets', 'One tablet at night', 28, 'tablet', '428673006'],
  ['322236009', 'Paracetamol 500mg tablets', 'One or two tablets up to four times a day when required', 28, 'tablet', '428673006'],
  ['39109611000001107', 'Metformin 500mg tablets', 'One tablet twice a day with meals', 28, 'tablet', '428673006'],
  ['317972000', 'Omeprazole 20mg gastro-resistant capsules', 'One capsule once a day before breakfast', 28, 'capsule', '428641000'],
  ['318135004', 'Ramipril 2.5mg capsules', 'One capsule once a day', 28, 'capsule', '428641000'],
  ['321196004', 'Sertraline 50mg tablets', 'One tablet once a day', 28, 'tablet', '428673006'],
  ['39695211000001102', 'Salbutamol 100micrograms/dose inhaler CFC free', 'Two puffs when required', 1, 'inhaler', '415818006'],
  ['323509004', 'Amoxicillin 500mg capsules', 'One capsule three times a day for 5 days', 15, 'capsule', '428641000'],
  ['318420003', 'Levothyroxine sodium 50microgram tablets', 'One tablet once a day in the morning', 28, 'tablet', '428673006'],
];

/** GP consultation types (SNOMED CT). */
const ENCOUNTER_TYPES: ReadonlyArray<{ code: string; display: string }> = [
  { code: '185317003', display: 'Telephone encounter' },
  { code: '185389009', display: 'Follow-up visit' },
  { code: '11429006', display: 'Consultation' },
];

/** Consultation reasons (SNOMED CT) recorded as the Encounter type's reason. */
const REASONS: ReadonlyArray<readonly [string, string]> = [
  ['38341003', 'Hypertensive disorder'],
  ['195967001', 'Asthma'],
  ['44054006', 'Diabetes mellitus type 2'],
  ['35489007', 'Depressive disorder'],
  ['68566005', 'Urinary tract infectious disease'],
  ['82272006', 'Common cold'],
  ['161891005', 'Backache'],
  ['25064002', 'Headache'],
];

export interface GenerateOptions {
  patients: number;
  seed?: number;
  /**
   * Give the first patient the development user dev-patient's record id (Patient/9999999972, ADR 22)
   * and the first GP the id `dev-practitioner`, so the development logins resolve to seeded records.
   */
  devUsers?: boolean;
}

/** One unit of loading: a practice with its GPs, or one patient with their clinical records. */
export interface SeedGroup {
  kind: 'practice' | 'patient';
  resources: FhirResource[];
}

export const DEFAULT_SEED = 16;

function round(n: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(n * f) / f;
}

const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** A UUID (version 4 layout) drawn from the generator, so the SCR id is deterministic too. */
function uuidOf(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16));
  hex[12] = '4';
  hex[16] = (8 + Math.floor(rnd() * 4)).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}

const escapeXml = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The patient's GP Summary (SCR: summary-care-record.yaml, UploadScrBundle): a final UK Core
 * Composition authored by the practice, with a section of current prescriptions, and its document
 * Bundle (`Bundle/{SCR id}`, entries as the SCR upload stores them: the Composition, what it lists, the Patient).
 */
function summaryCareRecord(rnd: () => number, patient: Patient, practice: Organization, prescriptions: readonly MedicationRequest[]): [Composition, Bundle] {
  const scrId = uuidOf(rnd);
  const current = prescriptions.filter((m) => m.status === 'active');
  const date = new Date(REFERENCE_DAY).toISOString();
  const items = current.map((m) => `<li>${escapeXml(m.medicationCodeableConcept?.coding?.[0]?.display ?? '')}: ${escapeXml(m.dosageInstruction?.[0]?.text ?? '')}</li>`).join('');
  const composition: Composition = {
    resourceType: 'Composition',
    id: `seed-${patient.id!}-scr`,
    meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Composition'] },
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: scrId },
    status: 'final',
    type: { coding: [{ system: SNOMED, code: '196981000000101', display: 'General Practice Summary' }] },
    category: [{ coding: [{ system: SNOMED, code: '163171000000105', display: 'Care Professional Documentation' }] }],
    subject: { reference: `Patient/${patient.id!}` },
    date,
    author: [{ reference: `Organization/${practice.id!}` }],
    title: 'General Practice Summary',
    section: [
      {
        title: 'Current Medications',
        code: { coding: [{ code: 'AcuteMedsHeader' }] },
        text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${current.length > 0 ? `<ul>${items}</ul>` : '<p>No current medications.</p>'}</div>` },
        ...(current.length > 0 ? { entry: current.map((m) => ({ reference: `MedicationRequest/${m.id!}` })) } : {}),
      },
    ],
  };
  const document: Bundle = {
    resourceType: 'Bundle',
    id: scrId,
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: scrId },
    type: 'document',
    timestamp: date,
    entry: [composition, ...current, patient].map((r) => ({ fullUrl: `${r.resourceType}/${r.id!}`, resource: r })),
  };
  return [composition, document];
}

/** A deterministic synthetic population, practices first (patients refer to them). */
export function generatePopulation(opts: GenerateOptions): SeedGroup[] {
  const seed = opts.seed ?? DEFAULT_SEED;
  const rnd = prng(seed);
  const groups: SeedGroup[] = [];
  const practiceCount = Math.max(1, Math.ceil(opts.patients / 250));
  const practices: Array<{ org: Organization; gps: Practitioner[]; town: string }> = [];
  const odsCodes = new Set<string>();
  for (let p = 0; p < practiceCount; p++) {
    const [town, area] = pick(rnd, TOWNS);
    let ods = '';
    do ods = `${String.fromCharCode(65 + Math.floor(rnd() * 26))}${String(81000 + Math.floor(rnd() * 18999))}`;
    while (odsCodes.has(ods));
    odsCodes.add(ods);
    const org: Organization = {
      resourceType: 'Organization',
      id: `seed-${ods}`,
      identifier: [{ system: ODS_SYSTEM, value: ods }],
      active: true,
      type: [{ coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/organisation-role', code: '76', display: 'GP PRACTICE' }] }],
      name: `${pick(rnd, SURNAMES)} ${pick(rnd, PRACTICE_NAMES)}`,
      telecom: [{ system: 'phone', value: `0${100 + Math.floor(rnd() * 900)} ${100 + Math.floor(rnd() * 900)} ${1000 + Math.floor(rnd() * 9000)}`, use: 'work' }],
      address: [{ use: 'work', line: [`${1 + Math.floor(rnd() * 150)} ${pick(rnd, SURNAMES)} ${pick(rnd, STREETS)}`], city: town, postalCode: postcode(rnd).replace(/^[A-Z]+/, area), country: 'GB' }],
    };
    const gps: Practitioner[] = [];
    for (let g = 0; g < 3; g++) {
      const female = rnd() < 0.5;
      const first = pick(rnd, female ? FEMALE : MALE);
      const family = pick(rnd, SURNAMES);
      const devPractitioner = opts.devUsers === true && p === 0 && g === 0;
      gps.push({
        resourceType: 'Practitioner',
        id: devPractitioner ? 'dev-practitioner' : `seed-${ods}-gp${g + 1}`,
        identifier: [
          { system: SDS_USER_SYSTEM, value: String(100000000000 + Math.floor(rnd() * 899999999999)) },
          { system: GMC_SYSTEM, value: String(1000000 + Math.floor(rnd() * 8999999)) },
        ],
        active: true,
        name: [{ use: 'usual', family, given: [first], prefix: ['Dr'] }],
        gender: female ? 'female' : 'male',
      });
    }
    practices.push({ org, gps, town });
    groups.push({ kind: 'practice', resources: [org, ...gps] });
  }
  const nhsNumbers = new Set<string>();
  const names = new Set<string>();
  for (let i = 0; i < opts.patients; i++) {
    let nhs: string | undefined = opts.devUsers === true && i === 0 ? DEV_PATIENT_ID : undefined;
    while (nhs === undefined) {
      const candidate = withCheckDigit(`999${String(Math.floor(rnd() * 1_000_000)).padStart(6, '0')}`);
      // 999 999 9972 is dev-patient's (src/dev-records.ts): never given to anyone else.
      if (candidate !== undefined && candidate !== DEV_PATIENT_ID && !nhsNumbers.has(candidate)) nhs = candidate;
    }
    nhsNumbers.add(nhs);
    const practice = practices[Math.floor(rnd() * practices.length)]!;
    groups.push({ kind: 'patient', resources: patientRecords(rnd, nhs, practice, names) });
  }
  return groups;
}

function patientRecords(rnd: () => number, nhs: string, practice: { org: Organization; gps: Practitioner[]; town: string }, names: Set<string>): FhirResource[] {
  let gender: 'male' | 'female' = 'female';
  let family = '';
  let given: string[] = [];
  let born = '';
  // No two persons share family, first given name and birth date (PDS trace would confuse them).
  do {
    gender = rnd() < 0.5 ? 'female' : 'male';
    family = pick(rnd, SURNAMES);
    if (rnd() < 0.05) family = `${family}-${pick(rnd, SURNAMES)}`;
    given = [pick(rnd, gender === 'female' ? FEMALE : MALE)];
    if (rnd() < 0.4) given.push(pick(rnd, gender === 'female' ? FEMALE : MALE));
    born = birthDate(rnd);
  } while (names.has(`${family}|${given[0]}|${born}`));
  names.add(`${family}|${given[0]}|${born}`);
  const area = practice.org.address?.[0]?.postalCode?.match(/^[A-Z]+/)?.[0] ?? 'LS';
  const patient: Patient = {
    resourceType: 'Patient',
    id: nhs,
    meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] },
    identifier: [allocatedIdentifier(nhs)],
    name: [{ use: 'usual', family, given, prefix: [gender === 'female' ? pick(rnd, ['Mrs', 'Miss', 'Ms']) : 'Mr'] }],
    gender,
    birthDate: born,
    telecom: [{ system: 'phone', value: `07${String(100000000 + Math.floor(rnd() * 899999999))}`, use: 'mobile' }],
    address: [{ use: 'home', line: [`${1 + Math.floor(rnd() * 200)} ${pick(rnd, SURNAMES)} ${pick(rnd, STREETS)}`], city: practice.town, postalCode: postcode(rnd).replace(/^[A-Z]+/, area), country: 'GB' }],
    generalPractitioner: [{ reference: `Organization/${practice.org.id}`, identifier: { system: ODS_SYSTEM, value: practice.org.identifier![0]!.value! } }],
  };
  const out: FhirResource[] = [patient];
  const encounters = 1 + Math.floor(rnd() * 3);
  for (let e = 0; e < encounters; e++) {
    const gp = pick(rnd, practice.gps);
    const start = REFERENCE_DAY - Math.floor(rnd() * 3 * 365) * DAY + (8 * 60 + Math.floor(rnd() * 9 * 6) * 10) * 60_000;
    const end = start + 10 * 60_000;
    const [reasonCode, reasonDisplay] = pick(rnd, REASONS);
    const encounterId = `seed-${nhs}-e${e + 1}`;
    const encounter: Encounter = {
      resourceType: 'Encounter',
      id: encounterId,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
      type: [{ coding: [{ system: SNOMED, ...pick(rnd, ENCOUNTER_TYPES) }] }],
      subject: { reference: `Patient/${nhs}` },
      participant: [{ individual: { reference: `Practitioner/${gp.id}` } }],
      period: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      reasonCode: [{ coding: [{ system: SNOMED, code: reasonCode, display: reasonDisplay }] }],
      serviceProvider: { reference: `Organization/${practice.org.id}` },
    };
    out.push(encounter);
    const vitals = [...VITALS].sort(() => rnd() - 0.5).slice(0, 2 + Math.floor(rnd() * 3));
    vitals.forEach((v, k) => {
      const observation: Observation = {
        resourceType: 'Observation',
        id: `seed-${nhs}-e${e + 1}-o${k + 1}`,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
        code: { coding: [{ system: SNOMED, code: v.code, display: v.display }] },
        subject: { reference: `Patient/${nhs}` },
        encounter: { reference: `Encounter/${encounterId}` },
        effectiveDateTime: new Date(start).toISOString(),
        performer: [{ reference: `Practitioner/${gp.id}` }],
        valueQuantity: { value: round(v.low + rnd() * (v.high - v.low), v.decimals), unit: v.unit, system: UCUM, code: v.ucum },
      };
      out.push(observation);
    });
    if (rnd() < 0.5) {
      const [code, display, dosage, quantity, unit, unitCode] = pick(rnd, MEDICINES);
      const prescription: MedicationRequest = {
        resourceType: 'MedicationRequest',
        id: `seed-${nhs}-e${e + 1}-m1`,
        meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest'] },
        status: start < REFERENCE_DAY - 180 * DAY ? 'completed' : 'active',
        intent: 'order',
        medicationCodeableConcept: { coding: [{ system: SNOMED, code, display }] },
        subject: { reference: `Patient/${nhs}` },
        encounter: { reference: `Encounter/${encounterId}` },
        authoredOn: isoDay(start),
        requester: { reference: `Practitioner/${gp.id}` },
        dosageInstruction: [{ text: dosage }],
        // UK Core requires substitution: generic prescribing allows any brand.
        substitution: { allowedBoolean: true },
        dispenseRequest: { quantity: { value: quantity, unit, system: SNOMED, code: unitCode } },
      };
      out.push(prescription);
    }
  }
  const prescriptions = out.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  out.push(...summaryCareRecord(rnd, patient, practice.org, prescriptions));
  return out;
}
