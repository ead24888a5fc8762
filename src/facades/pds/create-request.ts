/**
 * PDS "Create a record for a new patient" request body (components/schemas/PatientCreateRequest.yaml):
 * an object with `name` (exactly one), `gender`, `birthDate`, `address` and `extension` (carrying the
 * registering authority, extensions/RegisteringAuthority.yaml) required, optional `resourceType`
 * ("Patient") and `telecom`, and no other property. Refusals use PDS's codes and wording:
 *
 * | problem                                  | PDS                                                        |
 * | ---------------------------------------- | ---------------------------------------------------------- |
 * | body absent or not a JSON object         | 400 INVALID_VALUE `Invalid value - '…' in field 'body'`     |
 * | a property the schema does not allow     | 400 ADDITIONAL_PROPERTIES `Invalid request with error - Additional properties are not allowed ('pets' was unexpected)` |
 * | a required property missing              | 400 MISSING_VALUE `Missing value - 'name'` (order: name, address, gender, birthDate, extension) |
 * | not the type or format the schema names  | 400 INVALID_VALUE `Invalid value - '<value>' in field '<json pointer>'` |
 * | more than one name                       | 400 TOO_MANY_VALUES_SUBMITTED                              |
 * | no name / no address                     | 400 TOO_FEW_VALUES_SUBMITTED                               |
 * | no registering authority extension       | 400 MISSING_VALUE `Missing value - 'extension/Extension-UKCore-RegisteringAuthority'` |
 */
import type { Patient } from 'fhir/r4';
import { spineError } from '../../spine/errors';

export const REGISTERING_AUTHORITY_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-RegisteringAuthority';

const ALLOWED = new Set(['resourceType', 'name', 'gender', 'birthDate', 'address', 'telecom', 'extension']);
const REQUIRED = ['name', 'address', 'gender', 'birthDate', 'extension'] as const;
const GENDERS = new Set(['male', 'female', 'other', 'unknown']);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function shown(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
}

function invalid(field: string, value: unknown, expected?: string): never {
  throw spineError('invalid', 'INVALID_VALUE', `Invalid value - '${expected ?? shown(value)}' in field '${field}'`, field);
}

function isValidDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function checkArrayOfObjects(body: Json, key: string): Json[] {
  const v = body[key];
  if (!Array.isArray(v)) invalid(key, v, 'not an array');
  v.forEach((item, i) => {
    if (!isObject(item)) invalid(`${key}/${i}`, item);
  });
  return v as Json[];
}

function checkStrings(obj: Json, field: string, key: string): void {
  const v = obj[key];
  if (v === undefined) return;
  if (!Array.isArray(v)) invalid(`${field}/${key}`, v, 'not an array');
  v.forEach((s, i) => {
    if (typeof s !== 'string') invalid(`${field}/${key}/${i}`, s);
  });
}

function checkRegisteringAuthority(extensions: Json[]): void {
  const ra = extensions.findIndex((e) => e['url'] === REGISTERING_AUTHORITY_URL);
  if (ra < 0) throw spineError('invalid', 'MISSING_VALUE', "Missing value - 'extension/Extension-UKCore-RegisteringAuthority'", 'extension');
  const field = `extension/${ra}/extension`;
  const parts = extensions[ra]!['extension'];
  if (!Array.isArray(parts)) invalid(field, parts, 'not an array');
  const type = parts.find((p) => isObject(p) && p['url'] === 'registeringAuthorityType') as Json | undefined;
  const org = parts.find((p) => isObject(p) && p['url'] === 'organisationIdentifier') as Json | undefined;
  if (!type) throw spineError('invalid', 'MISSING_VALUE', `Missing value - '${field}/registeringAuthorityType'`, field);
  if (!org) throw spineError('invalid', 'MISSING_VALUE', `Missing value - '${field}/organisationIdentifier'`, field);
  if (!isObject(type['valueCodeableConcept'])) invalid(`${field}/registeringAuthorityType/valueCodeableConcept`, type['valueCodeableConcept']);
  const id = org['valueString'];
  if (typeof id !== 'string' || id.length < 2 || id.length > 15) invalid(`${field}/organisationIdentifier/valueString`, id);
}

/** The create request as a Patient (resourceType added), or a PDS refusal. */
export function checkCreateRequest(body: unknown): Patient {
  if (!isObject(body)) invalid('body', body === undefined ? '' : body);
  for (const k of Object.keys(body)) {
    if (!ALLOWED.has(k)) throw spineError('invalid', 'ADDITIONAL_PROPERTIES', `Invalid request with error - Additional properties are not allowed ('${k}' was unexpected)`, k);
  }
  if (body['resourceType'] !== undefined && body['resourceType'] !== 'Patient') invalid('resourceType', body['resourceType']);
  for (const k of REQUIRED) {
    if (body[k] === undefined || body[k] === null) throw spineError('invalid', 'MISSING_VALUE', `Missing value - '${k}'`, k);
  }
  const names = checkArrayOfObjects(body, 'name');
  if (names.length === 0) throw spineError('invalid', 'TOO_FEW_VALUES_SUBMITTED', "Too few values submitted - 'name' must have 1 item", 'name');
  if (names.length > 1) throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', "Too many values submitted - 'name' must have 1 item", 'name');
  names.forEach((n, i) => {
    checkStrings(n, `name/${i}`, 'given');
    checkStrings(n, `name/${i}`, 'prefix');
    checkStrings(n, `name/${i}`, 'suffix');
    if (n['family'] !== undefined && typeof n['family'] !== 'string') invalid(`name/${i}/family`, n['family']);
  });
  const addresses = checkArrayOfObjects(body, 'address');
  if (addresses.length === 0) throw spineError('invalid', 'TOO_FEW_VALUES_SUBMITTED', "Too few values submitted - 'address' must have at least 1 item", 'address');
  addresses.forEach((a, i) => checkStrings(a, `address/${i}`, 'line'));
  if (typeof body['gender'] !== 'string' || !GENDERS.has(body['gender'])) invalid('gender', body['gender']);
  if (typeof body['birthDate'] !== 'string' || !isValidDate(body['birthDate'])) invalid('birthDate', body['birthDate']);
  if (body['birthDate'] > new Date().toISOString().slice(0, 10)) invalid('birthDate', body['birthDate']);
  if (body['telecom'] !== undefined) checkArrayOfObjects(body, 'telecom');
  checkRegisteringAuthority(checkArrayOfObjects(body, 'extension'));
  return { ...(body as unknown as Patient), resourceType: 'Patient' };
}
