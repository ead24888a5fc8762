/**
 * `POST /Task/$release` of the EPS FHIR API (electronic-prescription-service-api.yaml "Release a
 * prescription"): Parameters `owner` (the dispensing Organization, its ODS code), `status`
 * (`accepted`) and `group-identifier` (the short-form prescription ID). A prescription To be Dispensed
 * moves to With Dispenser and is answered in `passedPrescriptions` (a searchset Bundle of message
 * Bundles, each the stored MedicationRequests with a MessageHeader); a release the state machine
 * refuses is answered 400 (404 RESOURCE_NOT_FOUND for an unknown ID) — PRESCRIPTION_WITH_ANOTHER_DISPENSER
 * with the holding Organization contained and referenced by Extension-Spine-supportingInfo,
 * PRESCRIPTION_CANCELLED for a cancelled one. A release without `group-identifier` (nominated
 * download of every prescription for the pharmacy) is not served.
 */
import type { Bundle, MessageHeader, Organization, Parameters } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { epsError, EpsOutcomeError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { releasedForIssue } from '../../spine/eps/repeat-dispensing';
import { applyEvent } from '../../spine/eps/state-machine';
import { ODS_SYSTEM } from '../../spine/eps/task-codec';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { commit, findRecord, taskUpdateEntry, type PrescriptionRecord } from './records';

export const EPS_ISSUE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/EPS-IssueCode';

function param(p: Parameters, name: string): NonNullable<Parameters['parameter']>[number] | undefined {
  return p.parameter?.find((x) => x.name === name);
}

function withAnotherDispenser(holder: string): FhirError {
  const id = randomUUID();
  const org: Organization = { resourceType: 'Organization', id, identifier: [{ system: ODS_SYSTEM, value: holder }] };
  return new EpsOutcomeError(
    400,
    {
      severity: 'error',
      code: 'business-rule',
      details: { coding: [{ system: EPS_ISSUE_SYSTEM, code: 'PRESCRIPTION_WITH_ANOTHER_DISPENSER', display: 'Prescription is with another dispenser' }] },
      diagnostics: `Prescription is with another dispenser (${holder}).`,
    },
    { contained: [org], extension: [{ url: 'https://fhir.nhs.uk/StructureDefinition/Extension-Spine-supportingInfo', valueReference: { reference: `#${id}` } }] },
  );
}

/** The released message; a repeat-dispensing issue's MedicationRequests carry its number (`issue`). */
function releasedMessage(record: PrescriptionRecord, owner: string, issue: number | undefined): Bundle {
  const mrs = issue === undefined ? record.medicationRequests : record.medicationRequests.map((m) => releasedForIssue(m, issue));
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order', display: 'Prescription Order' },
    source: { endpoint: 'urn:nhs-uk:addressing:ods:' + owner },
    destination: [{ endpoint: `urn:nhs-uk:addressing:ods:${owner}`, receiver: { identifier: { system: ODS_SYSTEM, value: owner } } }],
    focus: mrs.map((m) => ({ reference: `MedicationRequest/${m.id!}` })),
  };
  return {
    resourceType: 'Bundle',
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() },
    type: 'message',
    entry: [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: header }, ...mrs.map((m) => ({ fullUrl: `MedicationRequest/${m.id!}`, resource: m }))],
  };
}

export async function releasePrescription(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody) as Parameters | undefined;
  if (body?.resourceType !== 'Parameters') throw epsError(400, 'invalid', 'INVALID_VALUE', 'Request body must be a Parameters resource.', 'Parameters');
  const owner = (param(body, 'owner')?.resource as Organization | undefined)?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
  if (!owner) throw epsError(400, 'invalid', 'MISSING_VALUE', 'Required parameter owner is missing.', 'Parameters.parameter("owner")');
  const status = param(body, 'status')?.valueCode;
  if (status !== 'accepted') throw epsError(400, 'value', 'INVALID_VALUE', "Parameters.parameter(\"status\").valueCode must be 'accepted'.", 'Parameters.parameter("status")');
  const group = param(body, 'group-identifier')?.valueIdentifier;
  if (!group) throw epsError(400, 'not-supported', 'UNSUPPORTED_SERVICE', 'Nominated release (no group-identifier) is not supported by this server.', 'Parameters.parameter("group-identifier")');
  if (group.system !== PRESCRIPTION_ORDER_NUMBER_SYSTEM || typeof group.value !== 'string') {
    throw epsError(400, 'value', 'INVALID_VALUE', 'group-identifier must be a prescription-order-number.', 'Parameters.parameter("group-identifier")');
  }
  const record = await findRecord(services, req, group.value);
  if (!record) throw epsError(404, 'not-found', 'RESOURCE_NOT_FOUND', `Prescription ${group.value} not found.`, 'Parameters.parameter("group-identifier")');
  const r = applyEvent(record.state, { kind: 'release', dispenser: owner, at: new Date().toISOString() });
  if (!r.ok) {
    if (r.code === 'PRESCRIPTION_WITH_ANOTHER_DISPENSER' && r.holder) throw withAnotherDispenser(r.holder);
    if (record.state.status === '0005') throw epsError(400, 'business-rule', 'PRESCRIPTION_CANCELLED', 'Prescription has been cancelled.');
    throw epsError(400, 'business-rule', r.code, r.diagnostics);
  }
  await commit(services, req, [taskUpdateEntry(record, r.state)]);
  const passed: Bundle = { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type: 'searchset', total: 1, entry: [{ fullUrl: `urn:uuid:${randomUUID()}`, resource: releasedMessage(record, owner, r.state.repeat?.issue) }] };
  const failed: Bundle = { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, type: 'searchset', total: 0, entry: [] };
  const answer: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'passedPrescriptions', resource: passed }, { name: 'failedPrescriptions', resource: failed }] };
  return { status: 200, body: answer, headers: epsResponseHeaders(req.headers) };
}
