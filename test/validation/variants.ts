/**
 * Broken variants of valid UK Core resources (FHIR R4 profiling.html: cardinality, slicing, fixed
 * values, bindings, extensions, invariants; UK Core Patient / MedicationRequest; the NHS Number
 * Modulus 11 check of the NHS Data Dictionary). Each variant mutates a deep copy of a valid
 * resource and answers the `expression` of the error the validator must report. Shared by the
 * profiles/ suite (own fixtures) and the UK Core suite (the official examples).
 */
import { NHS_NUMBER_SYSTEM, SPINE_PATIENT, UK_CORE_MEDICATION_REQUEST, UK_CORE_PATIENT } from './stack';

type Json = Record<string, unknown>;

export interface Variant {
  name: string;
  resourceType: 'Patient' | 'MedicationRequest';
  /** The profile that must reject it. */
  profile: string;
  /** A word the error's diagnostics contain (slice name, constraint key, ...). */
  mentions: string;
  /** Mutates the resource in place; answers the expected error expression. */
  mutate(resource: Json): string;
}

const VERIFICATION_STATUS_EXT = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';

function list(r: Json, key: string): Json[] {
  const v = r[key];
  if (Array.isArray(v)) return v as Json[];
  const created: Json[] = [];
  r[key] = created;
  return created;
}

/** Index of the identifier with the NHS Number system (added when the resource has none). */
function nhsIdentifier(r: Json): number {
  const ids = list(r, 'identifier');
  const i = ids.findIndex((id) => id.system === NHS_NUMBER_SYSTEM);
  if (i >= 0) return i;
  ids.push({ system: NHS_NUMBER_SYSTEM, value: '9000000009' });
  return ids.length - 1;
}

/** Index of the verification status extension on the NHS Number identifier (added when absent). */
function verificationStatus(r: Json, idIndex: number): number {
  const id = list(r, 'identifier')[idIndex] as Json;
  const exts = list(id, 'extension');
  const i = exts.findIndex((e) => e.url === VERIFICATION_STATUS_EXT);
  if (i >= 0) return i;
  exts.push({ url: VERIFICATION_STATUS_EXT, valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01' }] } });
  return exts.length - 1;
}

function pushExtension(r: Json, ext: Json): number {
  const exts = list(r, 'extension');
  exts.push(ext);
  return exts.length - 1;
}

export const VARIANTS: readonly Variant[] = [
  {
    name: 'missing required element (MedicationRequest.substitution 1..1)',
    resourceType: 'MedicationRequest',
    profile: UK_CORE_MEDICATION_REQUEST,
    mentions: 'minimum required = 1',
    mutate(r) {
      delete r.substitution;
      return 'MedicationRequest.substitution';
    },
  },
  {
    name: 'missing required sub-extension (death notification status without its status)',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: 'deathNotificationStatus',
    mutate(r) {
      const i = pushExtension(r, {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus',
        extension: [{ url: 'systemEffectiveDate', valueDateTime: '2024-01-01T00:00:00Z' }],
      });
      return `Patient.extension[${i}].extension`;
    },
  },
  {
    name: 'wrong NHS Number system (http:// instead of the fixed https:// system)',
    resourceType: 'Patient',
    profile: SPINE_PATIENT,
    mentions: 'spine-nhs-number-2',
    mutate(r) {
      const i = nhsIdentifier(r);
      (list(r, 'identifier')[i] as Json).system = 'http://fhir.nhs.uk/Id/nhs-number';
      return `Patient.identifier[${i}]`;
    },
  },
  {
    name: 'bad NHS Number check digit',
    resourceType: 'Patient',
    profile: SPINE_PATIENT,
    mentions: 'spine-nhs-number-1',
    mutate(r) {
      const i = nhsIdentifier(r);
      const id = list(r, 'identifier')[i] as Json;
      const value = String(id.value);
      // Exactly one check digit is valid: any other last digit makes the number invalid.
      id.value = `${value.slice(0, 9)}${(Number(value.slice(9)) + 1) % 10}`;
      return `Patient.identifier[${i}]`;
    },
  },
  {
    name: 'code outside a required ValueSet (NHS Number verification status 09)',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: 'UKCore-NHSNumberVerificationStatus',
    mutate(r) {
      const i = nhsIdentifier(r);
      const j = verificationStatus(r, i);
      const ext = list(list(r, 'identifier')[i] as Json, 'extension')[j] as Json;
      ext.valueCodeableConcept = { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '09' }] };
      return `Patient.identifier[${i}].extension[${j}].valueCodeableConcept`;
    },
  },
  {
    name: 'code outside a required ValueSet (birth sex X)',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: 'UKCore-BirthSex',
    mutate(r) {
      r.extension = list(r, 'extension').filter((e) => e.url !== 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex');
      const i = pushExtension(r, {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-BirthSex',
        valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender', code: 'X' }] },
      });
      return `Patient.extension[${i}].valueCodeableConcept`;
    },
  },
  {
    name: 'slice cardinality exceeded (two NHS Numbers)',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: "slice 'nhsNumber' allows at most 1",
    mutate(r) {
      nhsIdentifier(r);
      list(r, 'identifier').push({ system: NHS_NUMBER_SYSTEM, value: '9000000017' });
      return 'Patient.identifier';
    },
  },
  {
    name: 'slice cardinality exceeded (two ethnic categories)',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: "slice 'ethnicCategory' allows at most 1",
    mutate(r) {
      const ethnic = { url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory', valueCodeableConcept: { coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A' }] } };
      const exts = list(r, 'extension');
      const present = exts.filter((e) => e.url === ethnic.url).length;
      for (let k = present; k < 2; k++) pushExtension(r, structuredClone(ethnic));
      return 'Patient.extension';
    },
  },
  {
    name: 'unknown extension',
    resourceType: 'Patient',
    profile: UK_CORE_PATIENT,
    mentions: 'is unknown',
    mutate(r) {
      const i = pushExtension(r, { url: 'https://example.org/StructureDefinition/not-defined-anywhere', valueString: 'x' });
      return `Patient.extension[${i}]`;
    },
  },
];
