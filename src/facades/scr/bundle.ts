/**
 * `GET /Bundle?composition.identifier=...&composition.subject:Patient.identifier=...` — the patient's
 * latest SCR (summary-care-record.yaml operation get-scr, GetScrBundle.yaml): a searchset with the
 * stored document's entries (Composition first). An SCR id that is not the latest (superseded, or
 * unknown) answers an empty searchset, as the spec says; both parameters are required (400).
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
  const document = resultResource<Bundle>(await callEngine(services, engineRequest(req, { method: 'GET', path: `Bundle/${latestId}` })))!;
  const entry = (document.entry ?? []).map((e) => ({ ...e, search: { mode: 'match' as const } }));
  const body: Bundle = { resourceType: 'Bundle', id: randomUUID(), ...(document.identifier ? { identifier: document.identifier } : {}), type: 'searchset', total: entry.length, entry };
  return { status: 200, body, headers: scrResponseHeaders(req.headers) };
}
