/**
 * `POST /$setPermission` — a patient's SCR consent preference on the Spine ACS (summary-care-record.yaml
 * operation acs, Parameters.yaml, SetPermission.json): Parameters `setPermissions` with parts
 * `nhsNumber` (valueString) and `permissionCode` (valueCoding, SCR-ACSPermission: Yes, No, Ask).
 * Stored as a Consent of the patient (category the permission coding); the newest one is the
 * patient's permission, shown on GET /DocumentReference's securityLabel (default `Ask`). Unknown patient: 400.
 */
import type { Consent, Parameters, ParametersParameter, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { isValidNhsNumber } from '../../spine/nhs-number';
import { callEngine, engineRequest, parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { patientOf, searchEngine } from './records';

export const ACS_PERMISSION_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/SCR-ACSPermission';
export const ACS_PERMISSIONS = ['Yes', 'No', 'Ask'] as const;
export const DEFAULT_PERMISSION = 'Ask';

/** The patient's current SCR permission (the newest stored one). */
export async function permissionOf(services: FhirServices, req: FacadeRequest, patient: Patient): Promise<string> {
  const found = await searchEngine(services, req, 'Consent', [['patient', `Patient/${patient.id!}`], ['category', `${ACS_PERMISSION_SYSTEM}|`], ['_count', '1000']]);
  const consents = (found.entry ?? []).map((e) => e.resource).filter((r): r is Consent => r?.resourceType === 'Consent');
  consents.sort((a, b) => Date.parse(b.meta?.lastUpdated ?? '') - Date.parse(a.meta?.lastUpdated ?? ''));
  const code = consents[0]?.category?.flatMap((c) => c.coding ?? []).find((c) => c.system === ACS_PERMISSION_SYSTEM)?.code;
  return code ?? DEFAULT_PERMISSION;
}

function part(parts: readonly ParametersParameter[], name: string): ParametersParameter | undefined {
  return parts.find((p) => p.name === name);
}

export async function setPermission(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody) as Parameters | undefined;
  if (body?.resourceType !== 'Parameters') throw new FhirError('invalid', 'The request body must be a FHIR Parameters resource');
  const parts = body.parameter?.find((p) => p.name === 'setPermissions')?.part ?? [];
  const nhsNumber = part(parts, 'nhsNumber')?.valueString;
  if (nhsNumber === undefined) throw new FhirError('invalid', 'NHS number missing');
  if (!isValidNhsNumber(nhsNumber)) throw new FhirError('invalid', `Invalid NHS number '${nhsNumber}'`);
  const coding = part(parts, 'permissionCode')?.valueCoding;
  if (coding?.system !== ACS_PERMISSION_SYSTEM || !(ACS_PERMISSIONS as readonly string[]).includes(coding.code ?? '')) {
    throw new FhirError('invalid', `permissionCode must be one of ${ACS_PERMISSIONS.join(', ')} in ${ACS_PERMISSION_SYSTEM}`);
  }
  const patient = await patientOf(services, req, nhsNumber);
  if (!patient) throw new FhirError('invalid', `Patient with NHS number ${nhsNumber} not found`);
  const consent: Consent = {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: ACS_PERMISSION_SYSTEM, code: coding.code! }] }],
    patient: { reference: `Patient/${patient.id!}` },
    dateTime: new Date().toISOString(),
    policyRule: { text: 'Summary Care Record consent preference (Spine ACS)' },
  };
  await callEngine(services, engineRequest(req, { method: 'POST', path: 'Consent', body: consent, contentType: 'application/fhir+json' }));
  return { status: 201, headers: scrResponseHeaders(req.headers) };
}
