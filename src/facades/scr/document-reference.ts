/**
 * `GET /DocumentReference?patient=...` — the patient's latest SCR id (summary-care-record.yaml
 * operation get-scr-id, DocumentReferenceBundle.yaml): a searchset with the latest GP Summary as a
 * DocumentReference (masterIdentifier nhsSCRUUID = the Composition's identifier, securityLabel the
 * patient's SCR-ACSPermission, content.attachment.url the GET /Bundle query) and the Patient entry.
 * `patient` is required (`system|value`, NHS Number system); `type`, when sent, must be the GP Summary;
 * `_sort` only `date`; `_count` only `1`. No summary, or unknown patient: an empty searchset.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Composition, DocumentReference, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { GP_SUMMARY_CODE, GP_SUMMARY_DISPLAY, nhsNumberToken, SNOMED } from '../../spine/scr/document-rules';
import { publicOrigin, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { permissionOf } from './permission';
import { latestOf, patientOf } from './records';
import { SCR_BASE_PATH } from './view';

export const SCR_UUID_SYSTEM = 'https://fhir.nhs.uk/Id/nhsSCRUUID';

function single(req: FacadeRequest, name: string): string | undefined {
  const values = req.query.filter(([k]) => k === name).map(([, v]) => v);
  if (values.length > 1) throw new FhirError('invalid', `Query parameter '${name}' may be given only once`);
  return values[0];
}

export function documentReferenceOf(services: FhirServices, composition: Composition, patient: Patient, nhsNumber: string, permission: string): DocumentReference {
  const gp = { coding: [{ system: SNOMED, code: GP_SUMMARY_CODE, display: GP_SUMMARY_DISPLAY }] };
  const scrId = composition.identifier!.value!;
  return {
    resourceType: 'DocumentReference',
    id: composition.id!,
    masterIdentifier: { system: SCR_UUID_SYSTEM, value: scrId },
    status: 'current',
    type: gp,
    subject: { reference: `Patient/${patient.id!}` },
    securityLabel: [{ coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/SCR-ACSPermission', code: permission }] }],
    content: [{ attachment: { url: `${publicOrigin(services)}${SCR_BASE_PATH}/Bundle?composition.identifier=${scrId}&composition.subject:Patient.identifier=${NHS_NUMBER_SYSTEM}|${nhsNumber}` } }],
    context: { event: [gp] },
  };
}

export async function getScrId(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const token = single(req, 'patient');
  if (token === undefined) throw new FhirError('invalid', "Missing required query parameter 'patient'");
  const nhsNumber = nhsNumberToken(token);
  if (nhsNumber === undefined) throw new FhirError('invalid', `Invalid NHS number in query parameter 'patient': '${token}'`);
  const type = single(req, 'type');
  if (type !== undefined && type !== `${SNOMED}|${GP_SUMMARY_CODE}`) throw new FhirError('invalid', `Query parameter 'type' must be ${SNOMED}|${GP_SUMMARY_CODE}`);
  const sort = single(req, '_sort');
  if (sort !== undefined && sort !== 'date') throw new FhirError('invalid', "Query parameter '_sort' supports only 'date'");
  const count = single(req, '_count');
  if (count !== undefined && count !== '1') throw new FhirError('invalid', "Query parameter '_count' supports only 1");

  const entry: BundleEntry[] = [];
  const patient = await patientOf(services, req, nhsNumber);
  if (patient) {
    const { latest } = await latestOf(services, req, patient);
    if (latest) {
      const dr = documentReferenceOf(services, latest, patient, nhsNumber, await permissionOf(services, req, patient));
      entry.push({ fullUrl: `${publicOrigin(services)}${SCR_BASE_PATH}/DocumentReference/${dr.id!}`, resource: dr, search: { mode: 'match' } });
      entry.push({ fullUrl: patient.id!, resource: { resourceType: 'Patient', id: patient.id!, identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhsNumber }] } });
    }
  }
  const body: Bundle = { resourceType: 'Bundle', id: randomUUID(), type: 'searchset', total: entry.length > 0 ? 1 : 0, ...(entry.length > 0 ? { entry } : {}) };
  return { status: 200, body, headers: scrResponseHeaders(req.headers) };
}
