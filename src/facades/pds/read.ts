/**
 * PDS "Get patient details" (`GET Patient/{id}`, components/paths/patient-get.yaml):
 *
 * - an id that is not a valid NHS Number: 400 INVALID_RESOURCE_ID (checked before any lookup);
 * - patient access mode (NHS login): another NHS Number than the patient's own is 403 ACCESS_DENIED,
 *   whether it exists or not;
 * - the record read through the engine (`GET Patient/{id}` with the caller's token: SMART access
 *   control, patient compartment, restricted-record redaction); unknown 404 RESOURCE_NOT_FOUND;
 *   invalidated (deleted) 404 INVALIDATED_RESOURCE;
 * - a superseded (merged) record answers its surviving record instead (its `replaced-by` link
 *   followed, at most MAX_HOPS times): the client spots it by the `id` differing from the one asked;
 * - 200 with the record in PDS's shapes and `ETag: W/"<version>"`.
 */
import type { Patient } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import type { Interceptor } from '../../fhir/interaction';
import type { FhirResult } from '../../fhir/types';
import { spineCodeOf, spineError } from '../../spine/errors';
import { replacedBy } from '../../spine/links';
import { isValidNhsNumber } from '../../spine/nhs-number';
import { callEngine, engineRequest, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { pdsAccessMode } from './access-mode';
import { pdsResponseHeaders } from './headers';
import { pdsView } from './view';

/** Most replaced-by links followed from a superseded record to its survivor. */
export const MAX_HOPS = 5;

/** Refuses an id that is not a valid NHS Number (PDS: INVALID_RESOURCE_ID). */
export function assertNhsNumberId(id: string): void {
  if (!isValidNhsNumber(id)) throw spineError('invalid', 'INVALID_RESOURCE_ID', `Invalid resource ID - '${id}' is not a valid NHS number`, 'Patient.id');
}

/**
 * Patient access (NHS login): the patient's own record only. Any other NHS Number is 403 ACCESS_DENIED
 * whether it exists or not (the answer says nothing about other records).
 */
const ownRecordOnly =
  (id: string): Interceptor =>
  (r, _i, ctx, next) => {
    if (pdsAccessMode(ctx) === 'patient' && ctx.access?.principal?.['patient'] !== id) {
      throw spineError('forbidden', 'ACCESS_DENIED', 'Patient cannot perform this action: in patient access mode only your own record can be read', 'Patient.id');
    }
    return next();
  };

async function engineRead(services: FhirServices, req: FacadeRequest, id: string, layer?: Interceptor): Promise<FhirResult> {
  try {
    return await callEngine(services, engineRequest(req, { method: 'GET', path: `Patient/${encodeURIComponent(id)}` }), layer);
  } catch (e) {
    if (!(e instanceof FhirError)) throw e;
    if (e.status === 410 || spineCodeOf(e.issues) === 'INVALIDATED_RESOURCE') throw spineError('not-found', 'INVALIDATED_RESOURCE', `Resource that has been marked as invalid was requested - Patient ${id}`);
    if (e.status === 404) throw spineError('not-found', 'RESOURCE_NOT_FOUND', `Resource not found - Patient ${id}`);
    throw e;
  }
}

/** The live record answering for `id` (a superseded record's survivor), read with the caller's access. */
export async function readPdsPatient(services: FhirServices, req: FacadeRequest, id: string): Promise<{ patient: Patient; result: FhirResult }> {
  assertNhsNumberId(id);
  let result = await engineRead(services, req, id, ownRecordOnly(id));
  let patient = resultResource<Patient>(result)!;
  const seen = new Set([id]);
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const next = replacedBy(patient);
    if (next === undefined || seen.has(next)) break;
    seen.add(next);
    try {
      result = await engineRead(services, req, next);
    } catch (e) {
      // A survivor that cannot be read (gone, or outside the caller's view): the record as it is.
      if (e instanceof FhirError && e.status === 404) break;
      throw e;
    }
    patient = resultResource<Patient>(result)!;
  }
  return { patient, result };
}

export async function getPatient(services: FhirServices, req: FacadeRequest, id: string): Promise<FacadeResponse> {
  const { patient, result } = await readPdsPatient(services, req, id);
  const etag = result.headers?.['ETag'];
  return { status: 200, body: pdsView(patient, services), headers: { ...pdsResponseHeaders(req.headers), ...(etag ? { ETag: etag } : {}) } };
}
