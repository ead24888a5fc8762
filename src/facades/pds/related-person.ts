/**
 * PDS "Get a patient's related people" (`GET Patient/{id}/RelatedPerson`,
 * components/paths/relatedpersons-get.yaml, schemas/RelatedPerson.yaml, RelatedPersonBundle.yaml).
 *
 * PDS keeps a patient's related people (next of kin, guardians ...) as part of the patient record.
 * Here each one is a stored R4 RelatedPerson whose `patient` is `Patient/<NHS Number>` of the record
 * it belongs to (so it is in that patient's compartment for SMART). PDS's own `patient` element names
 * the related person's *own* PDS record by NHS Number; it is stored as the RelatedPerson's NHS Number
 * `identifier` (`fromPdsRelatedPerson` / `toPdsRelatedPerson` convert; addresses and telecoms in
 * PDS's UK Core 1.0.0-era shapes as for Patients, shapes.ts).
 *
 * - an id that is not a valid NHS Number: 400 INVALID_RESOURCE_ID; an unknown patient 404
 *   RESOURCE_NOT_FOUND; an invalidated one 404 INVALIDATED_RESOURCE; a superseded one: its
 *   survivor's related people (read.ts `readPdsPatient`, with the caller's token);
 * - patient access: the patient's own record only (403 ACCESS_DENIED otherwise, before any read);
 * - a restricted patient: an empty bundle ("Related people are not returned for a restricted patient");
 * - the people found by the engine's `GET RelatedPerson?patient=Patient/<id>` (the caller's token:
 *   access control and store view apply), answered as PDS's searchset: `fullUrl`
 *   `<base>/Patient/<id>/RelatedPerson/<rid>`, `total`, `timestamp`, no `entry` when there are none,
 *   and the patient record's `ETag`.
 */
import type { Bundle, BundleEntry, Identifier, Patient, Reference, RelatedPerson } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { isRestricted } from '../../spine/restricted';
import { spineError } from '../../spine/errors';
import { callEngine, engineRequest, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsCaller } from './caller';
import { pdsResponseHeaders } from './headers';
import { assertNhsNumberId, readPdsPatient } from './read';
import { toPds, toStored } from './shapes';
import { pdsBaseUrl } from './view';

/** Most related people answered for one patient (PDS records hold a handful). */
export const MAX_RELATED_PEOPLE = 100;

const asPatient = (r: RelatedPerson): Patient => r as unknown as Patient;
const asRelated = (p: Patient): RelatedPerson => p as unknown as RelatedPerson;

/** A PDS-shaped RelatedPerson of patient `nhs` in the stored shape. */
export function fromPdsRelatedPerson(rp: RelatedPerson, nhs: string): RelatedPerson {
  const { patient: own, ...rest } = asRelated(toStored(asPatient(rp)));
  const ownId = (own as Reference | undefined)?.identifier;
  const identifier: Identifier[] = [...(rest.identifier ?? []), ...(ownId?.value ? [{ system: ownId.system ?? NHS_NUMBER_SYSTEM, value: ownId.value }] : [])];
  return { ...rest, resourceType: 'RelatedPerson', patient: { reference: `Patient/${nhs}` }, ...(identifier.length > 0 ? { identifier } : {}) };
}

/** A stored RelatedPerson as PDS clients receive it. */
export function toPdsRelatedPerson(stored: RelatedPerson): RelatedPerson {
  const { meta: _m, patient: _p, identifier, ...rest } = asRelated(toPds(asPatient(stored)));
  const own = identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM);
  const others = (identifier ?? []).filter((i) => i !== own);
  return { ...rest, resourceType: 'RelatedPerson', patient: own ? { identifier: { system: NHS_NUMBER_SYSTEM, value: own.value! } } : {}, ...(others.length > 0 ? { identifier: others } : {}) };
}

async function relatedPeople(services: FhirServices, req: FacadeRequest, id: string): Promise<RelatedPerson[]> {
  const result = await callEngine(
    services,
    engineRequest(req, { method: 'GET', path: 'RelatedPerson', query: [['patient', `Patient/${id}`], ['_count', String(MAX_RELATED_PEOPLE)]], headers: { 'x-request-id': undefined } }),
  );
  const bundle = resultResource<Bundle>(result);
  return (bundle?.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.resource?.resourceType === 'RelatedPerson').map((e) => e.resource as RelatedPerson);
}

export async function getRelatedPeople(services: FhirServices, req: FacadeRequest, id: string): Promise<FacadeResponse> {
  assertNhsNumberId(id);
  const caller = await pdsCaller(services, req);
  if (caller.mode === 'patient' && caller.patient !== id) throw spineError('forbidden', 'ACCESS_DENIED', 'Patient cannot perform this action');
  const { patient, result } = await readPdsPatient(services, req, id);
  const people = isRestricted(patient) ? [] : await relatedPeople(services, req, patient.id!);
  const base = pdsBaseUrl(services);
  const entry: BundleEntry[] = people.map((rp) => ({ fullUrl: `${base}/Patient/${patient.id}/RelatedPerson/${rp.id}`, resource: toPdsRelatedPerson(rp) }));
  const body: Bundle = { resourceType: 'Bundle', type: 'searchset', timestamp: new Date().toISOString(), total: entry.length, ...(entry.length > 0 ? { entry } : {}) };
  const etag = result.headers?.['ETag'];
  return { status: 200, body, headers: { ...pdsResponseHeaders(req.headers), ...(etag ? { ETag: etag } : {}) } };
}
