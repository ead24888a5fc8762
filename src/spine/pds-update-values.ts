/**
 * PDS "Update patient details" business rules on the values (PDS FHIR API
 * components/paths/patient-patch.yaml "Business rules for period", "Patient data fields" and
 * "Access Mode"), checked on the record before and after a patch. Only what the patch changed is
 * judged: legacy data already on the record (an `other` gender, a second temp address) stays.
 *
 * | rule                                                             | code                      |
 * | ---------------------------------------------------------------- | ------------------------- |
 * | no change at all                                                 | 400 INVALID_UPDATE        |
 * | gender, birth date, date of death, death notification removed    | 403 FORBIDDEN_UPDATE      |
 * | the usual name removed; a second usual name or nickname          | 403 FORBIDDEN_UPDATE      |
 * | a name's `use` changed                                           | 400 INVALID_UPDATE        |
 * | gender not male/female/unknown/other                             | 400 INVALID_VALUE         |
 * | gender set to `other`                                            | 400 UNSUPPORTED_VALUE     |
 * | birth date not yyyy-mm-dd, in the future, after the date of death | 400 INVALID_VALUE        |
 * | date of death with a non-zero offset, in the future, before birth | 400 INVALID_VALUE        |
 * | date of death or death notification changed when it is formal (2) | 403 FORBIDDEN_UPDATE     |
 * | death notification set to formal (2)                             | 403 FORBIDDEN_UPDATE      |
 * | multiple birth order outside 1-9                                 | 400 INVALID_VALUE         |
 * | name characters outside PDS's ranges                             | 400 UNSUPPORTED_CHARACTERS_IN_FIELD |
 * | a suffix not starting A-Z                                        | 400 INVALID_VALUE         |
 * | period without start, start in the future, end before start      | 400 INVALID_UPDATE        |
 * | address `work` added; a second home/temp/billing address; temp or billing without start and end | 400 UNSUPPORTED_VALUE / INVALID_UPDATE |
 * | email telecom not an address of 7-89 characters                  | 400 INVALID_VALUE         |
 * | more than one general practice or pharmacy of a type             | 400 TOO_MANY_VALUES_SUBMITTED |
 * | patient access: a field outside address, contact, telecom (mobile, email), communication, pharmacy, birth place | 403 ACCESS_DENIED |
 */
import { isDeepStrictEqual } from 'node:util';
import type { Extension, Patient } from 'fhir/r4';
import { spineError } from './errors';

export type PdsUpdateMode = 'healthcare-worker' | 'patient';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const DEATH_NOTIFICATION_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DeathNotificationStatus';
export const PHARMACY_URLS: readonly string[] = [
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier',
];
const COMMUNICATION_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSCommunication';
const BIRTH_PLACE_URL = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';
/** Extensions a patient (NHS login P9) may update on their own record. */
const PATIENT_EXTENSIONS: ReadonlySet<string> = new Set([...PHARMACY_URLS, COMMUNICATION_URL, BIRTH_PLACE_URL]);
const PATIENT_FIELDS: ReadonlySet<string> = new Set(['address', 'contact', 'telecom', 'extension']);

/** PDS name characters: A-Z a-z 0-9 space ' - . and Latin-1/Latin Extended-A letters (192-214, 216-246, 248-383). */
const NAME_CHARS = /^[A-Za-z0-9 '\-.\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u017F]*$/;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DEATH = /^(\d{4}-\d{2}-\d{2})(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([+-]\d{2}:\d{2}|Z))?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TEMP_TEXTS: ReadonlySet<string> = new Set(['Second Home', 'Student Accommodation', 'Respite Care Address', 'Temporary Residence Address', 'Convalescence Home', 'Mobile Home', 'Holiday Home']);

const forbidden = (d: string): Error => spineError('forbidden', 'FORBIDDEN_UPDATE', `Forbidden update with error - ${d}`);
const invalidUpdate = (d: string): Error => spineError('invalid', 'INVALID_UPDATE', `Invalid update with error - ${d}`);
const invalidValue = (value: unknown, field: string): Error => spineError('invalid', 'INVALID_VALUE', `Invalid value - '${String(value)}' in field '${field}'`, `Patient.${field}`);

function items(p: Patient, field: string): Json[] {
  const v = (p as unknown as Json)[field];
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** Items of `after[field]` that are new or changed (not deep-equal to any item before). */
function changed(before: Patient, after: Patient, field: string): Json[] {
  const old = items(before, field);
  return items(after, field).filter((x) => !old.some((o) => isDeepStrictEqual(o, x)));
}

function withoutMeta(p: Patient): Json {
  const { meta: _m, ...rest } = p;
  return rest as Json;
}

function deathStatus(p: Patient): string | undefined {
  const ext = (p.extension ?? []).find((e) => e.url === DEATH_NOTIFICATION_URL);
  const sub = ext?.extension?.find((e) => e.url === 'deathNotificationStatus');
  return sub?.valueCodeableConcept?.coding?.[0]?.code;
}

function extensionOf(p: Patient, url: string): Extension | undefined {
  return (p.extension ?? []).find((e) => e.url === url);
}

function checkRemovals(before: Patient, after: Patient): void {
  for (const field of ['gender', 'birthDate', 'deceasedDateTime'] as const) {
    if (before[field] !== undefined && after[field] === undefined) throw forbidden(`source not permitted to remove '${field}'`);
  }
  if (extensionOf(before, DEATH_NOTIFICATION_URL) && !extensionOf(after, DEATH_NOTIFICATION_URL)) throw forbidden("source not permitted to remove 'deathNotificationStatus'");
}

function checkNames(before: Patient, after: Patient): void {
  const uses = (p: Patient, use: string): number => items(p, 'name').filter((n) => n['use'] === use).length;
  if (uses(before, 'usual') > 0 && uses(after, 'usual') === 0) throw forbidden('not permitted to remove usual name');
  if (uses(after, 'usual') > Math.max(1, uses(before, 'usual'))) throw forbidden('multiple usual names cannot be added');
  if (uses(after, 'nickname') > Math.max(1, uses(before, 'nickname'))) throw forbidden('multiple nicknames cannot be added');
  for (const n of items(after, 'name')) {
    const old = items(before, 'name').find((o) => o['id'] !== undefined && o['id'] === n['id']);
    if (old && old['use'] !== n['use']) throw invalidUpdate(`the use of name '${String(n['id'])}' cannot be changed from '${String(old['use'])}' to '${String(n['use'])}': remove it and add a new name`);
  }
  for (const n of changed(before, after, 'name')) {
    for (const part of ['family', 'given', 'prefix', 'suffix'] as const) {
      const values = (Array.isArray(n[part]) ? n[part] : n[part] === undefined ? [] : [n[part]]) as unknown[];
      for (const v of values) {
        if (typeof v !== 'string' || !NAME_CHARS.test(v)) {
          throw spineError('invalid', 'UNSUPPORTED_CHARACTERS_IN_FIELD', `Unsupported characters in field - 'name.${part}' value '${String(v)}'`, `Patient.name.${part}`);
        }
        if (part === 'suffix' && !/^[A-Z]/.test(v)) throw invalidValue(v, 'name.suffix');
      }
    }
  }
}

function checkDates(before: Patient, after: Patient, today: string): void {
  if (after.gender !== before.gender && after.gender !== undefined) {
    if (!['male', 'female', 'unknown', 'other'].includes(after.gender)) throw invalidValue(after.gender, 'gender');
    if (after.gender === 'other') throw spineError('invalid', 'UNSUPPORTED_VALUE', "Unsupported value - 'other' in field 'gender': a gender of other cannot be set", 'Patient.gender');
  }
  const birth = after.birthDate;
  if (birth !== before.birthDate && birth !== undefined) {
    if (typeof birth !== 'string' || !DATE.test(birth) || birth > today) throw invalidValue(birth, 'birthDate');
  }
  const death = after.deceasedDateTime;
  if (death !== before.deceasedDateTime && death !== undefined) {
    const m = typeof death === 'string' ? DEATH.exec(death) : null;
    const offset = m?.[5];
    if (!m || (offset !== undefined && offset !== 'Z' && offset !== '+00:00') || m[1]! > today) throw invalidValue(death, 'deceasedDateTime');
    if (before.deceasedDateTime !== undefined && deathStatus(before) === '2') throw forbidden("'deceasedDateTime' cannot be replaced: the death notification status is formal");
  }
  if (birth !== undefined && death !== undefined && (birth !== before.birthDate || death !== before.deceasedDateTime) && death.slice(0, 10) < birth) {
    throw invalidValue(death !== before.deceasedDateTime ? death : birth, death !== before.deceasedDateTime ? 'deceasedDateTime' : 'birthDate');
  }
  const mb = after.multipleBirthInteger;
  if (mb !== before.multipleBirthInteger && mb !== undefined && (!Number.isInteger(mb) || mb < 1 || mb > 9)) throw invalidValue(mb, 'multipleBirthInteger');
}

function checkExtensions(before: Patient, after: Patient): void {
  const was = extensionOf(before, DEATH_NOTIFICATION_URL);
  const now = extensionOf(after, DEATH_NOTIFICATION_URL);
  if (now && !isDeepStrictEqual(was, now)) {
    if (deathStatus(before) === '2') throw forbidden("'deathNotificationStatus' cannot be replaced: the death notification status is formal");
    if (deathStatus(after) === '2') throw forbidden("'deathNotificationStatus' formal (2) can only be set by the registration of a death");
    if (deathStatus(after) === 'U') throw spineError('invalid', 'UNSUPPORTED_VALUE', "Unsupported value - 'U' (removed) in field 'deathNotificationStatus'", 'Patient.extension');
  }
  for (const url of PHARMACY_URLS) {
    const n = (after.extension ?? []).filter((e) => e.url === url).length;
    if (n > 1 && n > (before.extension ?? []).filter((e) => e.url === url).length) {
      throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', `Too many values submitted - only one '${url.split('-').pop()}' is allowed`, 'Patient.extension');
    }
  }
  if (items(after, 'generalPractitioner').length > Math.max(1, items(before, 'generalPractitioner').length)) {
    throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', 'Too many values submitted - only one general practice is allowed', 'Patient.generalPractitioner');
  }
}

function checkPeriods(before: Patient, after: Patient, today: string): void {
  for (const field of ['name', 'address', 'telecom', 'contact']) {
    for (const item of changed(before, after, field)) {
      const period = item['period'];
      if (period === undefined) continue;
      const start = isObject(period) ? period['start'] : undefined;
      const end = isObject(period) ? period['end'] : undefined;
      if (typeof start !== 'string') throw invalidUpdate(`a '${field}' period must have a start date`);
      if (start.slice(0, 10) > today) throw invalidUpdate(`the '${field}' period start date ${start} is in the future`);
      if (typeof end === 'string' && end < start) throw invalidUpdate(`the '${field}' period end date ${end} is before its start date ${start}`);
    }
  }
}

function checkAddresses(before: Patient, after: Patient): void {
  for (const a of changed(before, after, 'address')) {
    if (a['use'] === 'work') throw spineError('invalid', 'UNSUPPORTED_VALUE', "Unsupported value - 'work' in field 'address.use': a work address cannot be added or replaced", 'Patient.address.use');
    if (a['use'] === 'temp' || a['use'] === 'billing') {
      const p = a['period'];
      if (!isObject(p) || typeof p['start'] !== 'string' || typeof p['end'] !== 'string') throw invalidUpdate(`a '${String(a['use'])}' address needs a period with a start and an end date`);
    }
    if (a['use'] === 'temp' && (typeof a['text'] !== 'string' || !TEMP_TEXTS.has(a['text']))) throw invalidValue(a['text'], 'address.text');
  }
  for (const use of ['home', 'temp', 'billing']) {
    const count = (p: Patient): number => items(p, 'address').filter((a) => a['use'] === use).length;
    if (count(after) > Math.max(1, count(before))) throw invalidUpdate(`a patient cannot have more than one '${use}' address`);
  }
}

function checkTelecoms(before: Patient, after: Patient): void {
  const emails = [...changed(before, after, 'telecom'), ...changed(before, after, 'contact').flatMap((c) => (Array.isArray(c['telecom']) ? c['telecom'].filter(isObject) : []))];
  for (const t of emails) {
    const v = t['value'];
    if (t['system'] === 'email' && (typeof v !== 'string' || !EMAIL.test(v) || v.length <= 6 || v.length >= 90)) throw invalidValue(v, 'telecom.value');
  }
  for (const c of changed(before, after, 'contact')) {
    const codes = (Array.isArray(c['relationship']) ? c['relationship'] : []).flatMap((r: unknown) => (isObject(r) && Array.isArray(r['coding']) ? r['coding'] : [])).map((x: unknown) => (isObject(x) ? x['code'] : undefined));
    if (codes.some((x) => x !== 'C')) throw invalidValue(codes.find((x) => x !== 'C'), 'contact.relationship');
    for (const t of Array.isArray(c['telecom']) ? c['telecom'].filter(isObject) : []) {
      if (t['system'] === 'fax') throw invalidValue('fax', 'contact.telecom.system');
      if (t['use'] !== undefined) throw invalidValue(t['use'], 'contact.telecom.use');
    }
  }
}

function checkPatientAccess(before: Patient, after: Patient, ops: ReadonlyArray<{ path: string }>): void {
  const denied = (what: string): Error => spineError('forbidden', 'ACCESS_DENIED', `Patient cannot perform this action - ${what}`);
  for (const op of ops) {
    const field = op.path.split('/')[1] ?? '';
    if (!PATIENT_FIELDS.has(field)) throw denied(`'${field}' cannot be updated in patient access mode`);
  }
  const urls = new Set([...(before.extension ?? []), ...(after.extension ?? [])].map((e) => e.url));
  for (const url of urls) {
    const a = (before.extension ?? []).filter((e) => e.url === url);
    const b = (after.extension ?? []).filter((e) => e.url === url);
    if (!isDeepStrictEqual(a, b) && !PATIENT_EXTENSIONS.has(url)) throw denied(`the extension '${url}' cannot be updated in patient access mode`);
  }
  const old = items(before, 'telecom');
  const touched = [...changed(before, after, 'telecom'), ...old.filter((o) => !items(after, 'telecom').some((n) => isDeepStrictEqual(n, o)))];
  for (const t of touched) {
    if (t['use'] !== 'mobile' && t['system'] !== 'email') throw denied('only mobile and email telecoms can be updated in patient access mode');
  }
}

/** Throws the PDS error of the first business rule the change from `before` to `after` breaks. */
export function checkPdsUpdateValues(before: Patient, after: Patient, ops: ReadonlyArray<{ path: string }>, opts: { today: string; mode: PdsUpdateMode }): void {
  if (opts.mode === 'patient') checkPatientAccess(before, after, ops);
  if (isDeepStrictEqual(withoutMeta(before), withoutMeta(after))) throw invalidUpdate('Invalid patch - Provided patch made no changes to the resource');
  checkRemovals(before, after);
  checkNames(before, after);
  checkDates(before, after, opts.today);
  checkExtensions(before, after);
  checkPeriods(before, after, opts.today);
  checkAddresses(before, after);
  checkTelecoms(before, after);
}
