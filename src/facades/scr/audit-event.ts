/**
 * `POST /AuditEvent` — an SCR privacy alert (summary-care-record.yaml operation alert, AuditEvent.yaml):
 * type (SCR-AlertType 1 Create LR (Self Claimed), 2 Access Alert) and subtype (SCR-AlertReason 1..6)
 * in the permitted combinations of the spec's table; an agent with the patient's NHS Number (known).
 * Stored as a reported AuditEvent (src/audit/reported.ts: the API itself never writes AuditEvent) once
 * the caller has been shown to see the patient; 201 without a body.
 */
import type { AuditEvent } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { storeReportedAuditEvent } from '../../audit/reported';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { scrResponseHeaders } from './headers';
import { patientOf } from './records';

/** Permitted alert reason codes per alert type (the spec's table; "Not a permitted combination" rows left out). */
export const PERMITTED_ALERTS: Readonly<Record<string, readonly string[]>> = { '1': ['1', '2', '3', '4', '6'], '2': ['1', '2', '3', '5'] };

export async function postAlert(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody) as AuditEvent | undefined;
  if (body?.resourceType !== 'AuditEvent') throw new FhirError('invalid', 'The request body must be a FHIR AuditEvent');
  const nhsNumber = (body.agent ?? []).map((a) => a.who?.identifier).find((i) => i?.system === NHS_NUMBER_SYSTEM)?.value;
  if (nhsNumber === undefined) throw new FhirError('invalid', 'NHS number missing');
  if (!isValidNhsNumber(nhsNumber)) throw new FhirError('invalid', `Invalid NHS number '${nhsNumber}'`);
  const type = body.type?.code ?? '';
  const reasons = PERMITTED_ALERTS[type];
  if (!reasons) throw new FhirError('invalid', `AuditEvent.type.code '${type}' is not an SCR alert type (1 or 2)`);
  const sub = body.subtype?.[0]?.code ?? '';
  if (!reasons.includes(sub)) throw new FhirError('invalid', `Alert type ${type} with reason ${sub} is not a permitted combination`);
  if (!(await patientOf(services, req, nhsNumber))) throw new FhirError('invalid', `Patient with NHS number ${nhsNumber} not found`);
  await storeReportedAuditEvent(services, body);
  return { status: 201, headers: scrResponseHeaders(req.headers) };
}
