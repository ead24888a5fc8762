/**
 * The engine look-ups the SCR endpoints share, all with the caller's own access (a patient-context
 * token sees only its own Patient and documents): the Patient of an NHS Number, the patient's
 * GP Summary Compositions and the latest of them (src/spine/scr/document-rules.ts).
 */
import type { Bundle, Composition, Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { GP_SUMMARY_CODE, latestSummary, SNOMED } from '../../spine/scr/document-rules';
import { callEngine, engineRequest, resultResource, type FacadeRequest } from '../kit';

export async function searchEngine(services: FhirServices, req: FacadeRequest, type: string, query: Array<[string, string]>): Promise<Bundle> {
  const result = await callEngine(services, engineRequest(req, { method: 'GET', path: type, query }));
  return resultResource<Bundle>(result)!;
}

/** The stored Patient with this NHS Number (undefined when unknown or outside the caller's view). */
export async function patientOf(services: FhirServices, req: FacadeRequest, nhsNumber: string): Promise<Patient | undefined> {
  const found = await searchEngine(services, req, 'Patient', [['identifier', `${NHS_NUMBER_SYSTEM}|${nhsNumber}`]]);
  return found.entry?.map((e) => e.resource).find((r): r is Patient => r?.resourceType === 'Patient');
}

/** The patient's GP Summary Compositions. */
export async function summariesOf(services: FhirServices, req: FacadeRequest, patient: Patient): Promise<Composition[]> {
  const found = await searchEngine(services, req, 'Composition', [
    ['subject', `Patient/${patient.id!}`],
    ['type', `${SNOMED}|${GP_SUMMARY_CODE}`],
    ['_count', '1000'],
  ]);
  return (found.entry ?? []).map((e) => e.resource).filter((r): r is Composition => r?.resourceType === 'Composition');
}

export async function latestOf(services: FhirServices, req: FacadeRequest, patient: Patient): Promise<{ latest: Composition | undefined; all: Composition[] }> {
  const all = await summariesOf(services, req, patient);
  return { latest: latestSummary(all), all };
}
