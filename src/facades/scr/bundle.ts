/**
 * `GET /Bundle?composition.identifier=...&composition.subject:Patient.identifier=...` — the patient's
 * latest SCR (summary-care-record.yaml operation get-scr, GetScrBundle.yaml): a searchset with the
 * stored document's entries (Composition first). An SCR id that is not the latest (superseded, or
 * unknown) answers an empty searchset, as the spec says; both parameters are required (400). A
 * patient-context token (no Bundle access in R4's Patient compartment) gets its own summary
 * assembled by `$document` from the stored resources it may see.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { ID_PATTERN } from '../../fhir/types';
import { nhsNumberToken } from '../../spine/scr/document-rules';
import { callEngine, engineRequest, resultResource, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { latestOf, patientOf } from './records';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The stored document `Bundle/{scr id}`; for a caller whose token cannot read Bundles at all (a
 * patient-context token: Bundle is outside the R4 Patient compartment, docs/scr.md "Access"), the
 * document as `Composition/{id}/$document` assembles it from the stored resources the caller may see.
 */
async function storedDocument(services: FhirServices, req: FacadeRequest, scrId: string, compositionId: string): Promise<Bundle> {
  try {
    return resultResource<Bundle>(await callEngine(services, engineRequest(req, { method: 'GET', path: `Bundle/${scrId}` })))!;
  } catch (err) {
    if (!(err instanceof FhirError) || err.status !== 403 || !ID_PATTERN.test(compositionId)) throw err;
    return resultResource<Bundle>(await callEngine(services, engineRequest(req, { method: 'GET', path: `Composition/${compositionId}/$document` })))!;
  }
}

export async function getScr(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const get = (n: string): string | undefined => req.query.find(([k]) => k === n)?.[1];
  const scrId = get('composition.identifier');
  const token = get('composition.subject:Patient.identifier');
  if (scrId === undefined || token === undefined) throw new FhirError('invalid', "Query parameters 'composition.identifier' and 'composition.subject:Patient.identifier' are required");
  if (!UUID.test(scrId)) throw new FhirError('invalid', `Invalid value '${scrId}' of 'composition.identifier': a UUID is expected`);
  const nhsNumber = nhsNumberToken(token);
  if (nhsNumber === undefined) throw new FhirError('invalid', `Invalid NHS number in 'composition.subject:Patient.identifier': '${token}'`);

  const empty: Bundle = { resourceType: 'Bundle', id: randomUUID(), type: 'searchset', total: 0 };
  const patient = await patientOf(services, req, nhsNumber);
  if (!patient) return { status: 200, body: empty, headers: scrResponseHeaders(req.headers) };
  const { latest } = await latestOf(services, req, patient);
  const latestId = latest?.identifier?.value;
  if (latestId === undefined || latestId.toLowerCase() !== scrId.toLowerCase() || !ID_PATTERN.test(latestId)) return { status: 200, body: empty, headers: scrResponseHeaders(req.headers) };
  const document = await storedDocument(services, req, latestId, latest!.id!);
  const entry = (document.entry ?? []).map((e) => ({ ...e, search: { mode: 'match' as const } }));
  const body: Bundle = { resourceType: 'Bundle', id: randomUUID(), ...(document.identifier ? { identifier: document.identifier } : {}), type: 'searchset', total: entry.length, entry };
  return { status: 200, body, headers: scrResponseHeaders(req.headers) };
}
