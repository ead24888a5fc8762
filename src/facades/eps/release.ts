/**
 * `POST /Task/$release` of the EPS FHIR API (electronic-prescription-service-api.yaml "Release a
 * prescription"): Parameters `owner` (the dispensing Organization, its ODS code), `status`
 * (`accepted`) and `group-identifier` (the short-form prescription ID). A prescription To be Dispensed
 * moves to With Dispenser and is answered in `passedPrescriptions` (a searchset Bundle of message
 * Bundles, each the stored MedicationRequests with a MessageHeader); a release the state machine
 * refuses is answered 400 (404 RESOURCE_NOT_FOUND for an unknown ID) — PRESCRIPTION_WITH_ANOTHER_DISPENSER
 * with the holding Organization contained and referenced by Extension-Spine-supportingInfo,
 * PRESCRIPTION_CANCELLED for a cancelled one, PRESCRIPTION_INVALID_STATE_TRANSITION "Prescription has
 * expired." for one whose validity has passed (src/spine/eps/expiry.ts; the expiry is stored), and
 * PRESCRIPTION_INVALID_STATE_TRANSITION "Issue n … cannot be released before <date>." for a
 * repeat-dispensing issue not yet due (src/spine/eps/repeat-dispensing.ts: the specification has no
 * code of its own for it; this is the code its Dispensing Errors table gives `/Task/$release` for a
 * release "not valid for the current state of the prescription").
 *
 * Without `group-identifier`, a nominated release ("download up to 25 prescriptions (per request)
 * nominated to a dispenser using the dispenser's ODS code"): every prescription To be Dispensed
 * whose `dispenseRequest.performer` is the `owner`, oldest first, at most NOMINATED_RELEASE_LIMIT,
 * is released in one transaction; `passedPrescriptions.total` is the number released;
 * `failedPrescriptions` holds, for each one found expired, an OperationOutcome and its message
 * Bundle (`total` 2n, failedPrescriptions.yaml); a repeat-dispensing issue not yet due is left To be
 * Dispensed, in neither. Nothing left: both empty. Each release's history
 * entry names the request's X-Request-ID, so a retried request (its answer lost) is answered the
 * prescriptions it released, still With Dispenser, again.
 */
import type { Bundle, BundleEntry, MessageHeader, OperationOutcome, Organization, Parameters } from 'fhir/r4';
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
import { prescriptionNow } from './clock';
import { commit, findNominated, findRecord, findReleasedBy, taskUpdateEntry, withExpiry, type PrescriptionRecord } from './records';

export const EPS_ISSUE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/EPS-IssueCode';

/** At most this many prescriptions per nominated release (the specification's "up to 25 prescriptions (per request)"). */
export const NOMINATED_RELEASE_LIMIT = 25;

const EXPIRED_DIAGNOSTICS = 'Prescription has expired.';

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

function searchset(entries: NonNullable<Bundle['entry']>, total: number): Bundle {
  return { resourceType: 'Bundle', id: randomUUID(), meta: { lastUpdated: new Date().toISOString() }, identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() }, type: 'searchset', total, entry: entries };
}

function releaseAnswer(req: FacadeRequest, passed: Bundle, failed: Bundle): FacadeResponse {
  const answer: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'passedPrescriptions', resource: passed }, { name: 'failedPrescriptions', resource: failed }] };
  return { status: 200, body: answer, headers: epsResponseHeaders(req.headers) };
}

/** The release of one prescription named by `group-identifier`. */
async function releaseOne(services: FhirServices, req: FacadeRequest, owner: string, prescriptionId: string): Promise<FacadeResponse> {
  const found = await findRecord(services, req, prescriptionId);
  if (!found) throw epsError(404, 'not-found', 'RESOURCE_NOT_FOUND', `Prescription ${prescriptionId} not found.`, 'Parameters.parameter("group-identifier")');
  const { record, expired } = withExpiry(services, found);
  if (record.state.status === '0004') {
    if (expired) await commit(services, req, [taskUpdateEntry(found, record.state)]);
    throw epsError(400, 'business-rule', 'PRESCRIPTION_INVALID_STATE_TRANSITION', EXPIRED_DIAGNOSTICS, 'Parameters.parameter("group-identifier")');
  }
  const r = applyEvent(record.state, { kind: 'release', dispenser: owner, at: prescriptionNow(services).toISOString() });
  if (!r.ok) {
    if (r.notBefore !== undefined) throw epsError(400, 'business-rule', r.code, r.diagnostics, 'Parameters.parameter("group-identifier")');
    if (r.code === 'PRESCRIPTION_WITH_ANOTHER_DISPENSER' && r.holder) throw withAnotherDispenser(r.holder);
    if (record.state.status === '0005') throw epsError(400, 'business-rule', 'PRESCRIPTION_CANCELLED', 'Prescription has been cancelled.');
    throw epsError(400, 'business-rule', r.code, r.diagnostics);
  }
  await commit(services, req, [taskUpdateEntry(record, r.state)]);
  return releaseAnswer(req, searchset([{ fullUrl: `urn:uuid:${randomUUID()}`, resource: releasedMessage(record, owner, r.state.repeat?.issue) }], 1), searchset([], 0));
}

/** The nominated release of the prescriptions To be Dispensed nominated to `owner` (see the header). */
async function releaseNominated(services: FhirServices, req: FacadeRequest, owner: string): Promise<FacadeResponse> {
  // A retry (same X-Request-ID) answers again what the first request released, then anything new.
  const again = await findReleasedBy(services, req, owner, req.requestId);
  const passed: NonNullable<Bundle['entry']> = again.map((r) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource: releasedMessage(r, owner, r.state.repeat?.issue) }));
  const found = await findNominated(services, req, owner, NOMINATED_RELEASE_LIMIT - again.length);
  const writes: BundleEntry[] = [];
  const failed: NonNullable<Bundle['entry']> = [];
  const at = prescriptionNow(services).toISOString();
  for (const f of found) {
    const { record } = withExpiry(services, f);
    if (record.state.status === '0004') {
      writes.push(taskUpdateEntry(f, record.state));
      const outcome: OperationOutcome = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'business-rule', details: { coding: [{ system: EPS_ISSUE_SYSTEM, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION', display: EXPIRED_DIAGNOSTICS }] }, diagnostics: `Prescription ${record.state.prescriptionId}: ${EXPIRED_DIAGNOSTICS}` }],
      };
      failed.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: outcome }, { fullUrl: `urn:uuid:${randomUUID()}`, resource: releasedMessage(record, owner, record.state.repeat?.issue) });
      continue;
    }
    const r = applyEvent(record.state, { kind: 'release', dispenser: owner, at });
    if (!r.ok) continue; // To be Dispensed, but a repeat-dispensing issue not yet due: left for a later release
    r.state.history[r.state.history.length - 1]!.message = req.requestId; // what a retry finds (findReleasedBy)
    writes.push(taskUpdateEntry(record, r.state));
    passed.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: releasedMessage(record, owner, r.state.repeat?.issue) });
  }
  if (writes.length) await commit(services, req, writes);
  return releaseAnswer(req, searchset(passed, passed.length), searchset(failed, failed.length));
}

export async function releasePrescription(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody) as Parameters | undefined;
  if (body?.resourceType !== 'Parameters') throw epsError(400, 'invalid', 'INVALID_VALUE', 'Request body must be a Parameters resource.', 'Parameters');
  const owner = (param(body, 'owner')?.resource as Organization | undefined)?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
  if (!owner) throw epsError(400, 'invalid', 'MISSING_VALUE', 'Required parameter owner is missing.', 'Parameters.parameter("owner")');
  const status = param(body, 'status')?.valueCode;
  if (status !== 'accepted') throw epsError(400, 'value', 'INVALID_VALUE', "Parameters.parameter(\"status\").valueCode must be 'accepted'.", 'Parameters.parameter("status")');
  const groupParam = param(body, 'group-identifier');
  if (!groupParam) return releaseNominated(services, req, owner);
  const group = groupParam.valueIdentifier;
  if (group?.system !== PRESCRIPTION_ORDER_NUMBER_SYSTEM || typeof group.value !== 'string') {
    throw epsError(400, 'value', 'INVALID_VALUE', 'group-identifier must be a prescription-order-number.', 'Parameters.parameter("group-identifier")');
  }
  return releaseOne(services, req, owner, group.value);
}
