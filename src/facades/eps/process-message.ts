/**
 * `POST /$process-message` of the EPS FHIR API (electronic-prescription-service-api.yaml
 * "Send a prescription", "Cancel a prescription", "Send a dispense notification"), by
 * `MessageHeader.eventCoding.code`:
 *
 * - `prescription-order`: validated (src/spine/eps/prescription-order.ts), refused with
 *   DUPLICATE_PRESCRIPTION_ID when the ID is known, else its MedicationRequests and tracker Task are
 *   stored in one transaction; answered 200 with an informational OperationOutcome.
 * - `prescription-order-update`: exactly one MedicationRequest with `statusReason`; the cancellation
 *   runs through the state machine and is answered with a message Bundle (MessageHeader
 *   `prescription-order-response`, response.code ok / fatal-error) and the MedicationRequest with its
 *   status history extension carrying the R-code (R-0001 ... R-0010; R-0008 when unknown).
 * - `dispense-notification`: each MedicationDispense's `type` is the status of its line item
 *   (authorizingPrescription → the MedicationRequest, contained or in the Bundle); the sender is the
 *   dispenser. The MedicationDispenses are stored with the new state. The Bundle's `identifier` is
 *   recorded in the history; an amendment (MessageHeader Extension-replacementOf naming the Bundle
 *   identifier of the notification it replaces) must name the latest notification of the
 *   prescription, else 400 DISPENSE_AMEND_IDENTIFIER_MISMATCH, and takes its place.
 */
import type { Bundle, BundleEntry, MedicationDispense, MedicationRequest, MessageHeader, OperationOutcome } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { epsError, type EpsCode } from '../../spine/eps/errors';
import {
  duplicatePrescriptionId,
  lineItemIdOf,
  medicationRequestEntries,
  messageHeaderOf,
  prescriptionIdOf,
  resolveInBundle,
  validatePrescriptionOrder,
  type SignatureContext,
} from '../../spine/eps/prescription-order';
import { trustedCasFromFile } from '../../spine/eps/certificate-trust';
import { normaliseSigningTimestamp, verifyPrescriptionSignature, type SignatureProblem } from '../../spine/eps/signature';
import { applyEvent, CANCELLATION_RESPONSE, LINE_ITEM_STATUS, newPrescription, type CancellationCode, type LineItemStatus } from '../../spine/eps/state-machine';
import { expectedSupplyDays, repeatsAllowed } from '../../spine/eps/repeat-dispensing';
import { stateToTask } from '../../spine/eps/task-codec';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { commit, findRecord, nominationOf, patientReference, readOnlyToPatients, restrictionOf, taskUpdateEntry, withExpiry } from './records';
import { prescriptionExpiry } from '../../spine/eps/expiry';
import { withLogicalReferences } from './references';
import { prescriptionNow } from './clock';

export const STATUS_HISTORY_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionStatusHistory';
export const REPLACEMENT_OF_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-replacementOf';
export const CANCELLATION_RESPONSE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationrequest-status-history';

/** Now on the prescription clock (src/facades/eps/clock.ts): the time of the transitions, which issue dates and expiry are judged by. */
function now(services: FhirServices): string {
  return prescriptionNow(services).toISOString();
}

function refusal(code: EpsCode, status: number, issue: 'business-rule' | 'not-found' | 'value', diagnostics: string, expression?: string): never {
  throw epsError(status, issue, code, diagnostics, expression);
}

async function order(services: FhirServices, req: FacadeRequest, body: unknown): Promise<FacadeResponse> {
  const verify = services.config.epsSignatureVerification === 'on';
  const o = validatePrescriptionOrder(body, verify ? { verifySignature: (xml, ctx) => verifyOrderSignature(services, xml, ctx) } : {});
  if (await findRecord(services, req, o.prescriptionId)) duplicatePrescriptionId(o.prescriptionId);
  const at = now(services);
  const repeats = repeatsAllowed(o.items.map((i) => i.resource));
  const supplyDays = repeats === undefined ? undefined : expectedSupplyDays(o.items.map((i) => i.resource));
  const state = newPrescription(o.prescriptionId, o.items.map((i) => i.id), at, o.prescriber, repeats, supplyDays);
  const patient = await patientReference(services, req, o.nhsNumber);
  const mrEntries: BundleEntry[] = o.items.map((i) => {
    const fullUrl = i.fullUrl?.startsWith('urn:uuid:') ? i.fullUrl : `urn:uuid:${randomUUID()}`;
    const { id: _id, ...mr } = withLogicalReferences(o.bundle, i.resource);
    void _id;
    const subject = mr.subject.display ? { ...patient, display: mr.subject.display } : patient;
    return { fullUrl, resource: readOnlyToPatients({ ...mr, subject } as MedicationRequest), request: { method: 'POST', url: 'MedicationRequest' } };
  });
  const authoredOn = o.items[0]!.resource.authoredOn ?? at;
  const restriction = restrictionOf(prescriptionExpiry(o.items.map((i) => i.resource)));
  const task = {
    ...stateToTask(state, o.nhsNumber, authoredOn, undefined, patient),
    basedOn: mrEntries.map((e) => ({ reference: e.fullUrl! })),
    ...(o.nominated ? { performerType: nominationOf(o.nominated) } : {}),
    ...(restriction ? { restriction } : {}),
  };
  await commit(services, req, [...mrEntries, { fullUrl: `urn:uuid:${randomUUID()}`, resource: readOnlyToPatients(task), request: { method: 'POST', url: 'Task' } }]);
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', meta: { lastUpdated: at }, issue: [{ severity: 'information', code: 'informational' }] };
  return { status: 200, body: outcome, headers: epsResponseHeaders(req.headers) };
}

/** EPS_SIGNATURE_VERIFICATION=on: the signature must sign what `$prepare` gave at `signature.when`. */
function verifyOrderSignature(services: FhirServices, xml: string, ctx: SignatureContext): SignatureProblem | undefined {
  const timestamp = ctx.when === undefined ? undefined : normaliseSigningTimestamp(ctx.when);
  if (timestamp === undefined) return { kind: 'invalid', diagnostics: 'Provenance.signature.when must be the $prepare timestamp.' };
  const trusted = services.config.epsSignatureTrustedCa;
  return verifyPrescriptionSignature(xml, ctx.items, timestamp, services.now?.() ?? new Date(), trusted ? trustedCasFromFile(trusted) : undefined);
}

function cancellationAnswer(header: MessageHeader, mr: MedicationRequest, code: CancellationCode, ok: boolean): Bundle {
  const at = new Date().toISOString();
  const statusHistory = {
    url: STATUS_HISTORY_EXTENSION,
    extension: [{ url: 'status', valueCoding: { system: CANCELLATION_RESPONSE_SYSTEM, code, display: CANCELLATION_RESPONSE[code] } }],
  };
  const answered: MedicationRequest = { ...mr, status: ok && code === 'R-0001' ? 'cancelled' : mr.status, extension: [...(mr.extension ?? []), statusHistory] };
  const mrUrl = `urn:uuid:${randomUUID()}`;
  const responseHeader: MessageHeader = {
    resourceType: 'MessageHeader',
    eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'prescription-order-response', display: 'Prescription Order Response' },
    source: { endpoint: header.destination?.[0]?.endpoint ?? 'https://directory.spineservices.nhs.uk' },
    ...(header.source?.endpoint ? { destination: [{ endpoint: header.source.endpoint }] } : {}),
    response: { identifier: header.id ?? randomUUID(), code: ok ? 'ok' : 'fatal-error' },
    focus: [{ reference: mrUrl }],
  };
  return {
    resourceType: 'Bundle',
    identifier: { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() },
    type: 'message',
    timestamp: at,
    entry: [
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: responseHeader },
      { fullUrl: mrUrl, resource: answered },
    ],
  };
}

async function cancel(services: FhirServices, req: FacadeRequest, bundle: Bundle, header: MessageHeader): Promise<FacadeResponse> {
  const entries = medicationRequestEntries(bundle);
  if (entries.length !== 1) {
    refusal('INVALID_VALUE', 400, 'value', "The Bundle must contain exactly one MedicationRequest if MessageHeader.eventCoding.code is 'prescription-order-update'.", 'Bundle.entry.resource.ofType(MedicationRequest)');
  }
  const mr = entries[0]!.resource;
  if (!mr.statusReason) refusal('MISSING_VALUE', 400, 'value', 'Expected MedicationRequest to have a value for statusReason.', 'MedicationRequest.statusReason');
  const prescriptionId = prescriptionIdOf(mr);
  const item = lineItemIdOf(mr);
  const found = await findRecord(services, req, prescriptionId);
  const headers = epsResponseHeaders(req.headers);
  if (!found) return { status: 200, body: cancellationAnswer(header, mr, 'R-0008', false), headers };
  // A prescription whose validity has passed expires now (stored), and its cancellation is R-0005.
  const { record, expired } = withExpiry(services, found);
  const r = applyEvent(record.state, { kind: 'cancel', prescriber: header.sender?.identifier?.value ?? '', at: now(services), items: [item] });
  if (!r.ok) {
    if (expired) await commit(services, req, [taskUpdateEntry(found, record.state)]);
    if (r.cancellation) return { status: 200, body: cancellationAnswer(header, mr, r.cancellation, false), headers };
    refusal(r.code, 400, 'business-rule', r.diagnostics);
  }
  const writes: BundleEntry[] = [taskUpdateEntry(record, r.state)];
  if (r.cancellation === 'R-0001') {
    for (const stored of record.medicationRequests) {
      const storedItem = stored.identifier?.find((i) => i.system === 'https://fhir.nhs.uk/Id/prescription-order-item-number')?.value;
      if (storedItem !== item) continue;
      writes.push({ fullUrl: `MedicationRequest/${stored.id!}`, resource: { ...stored, status: 'cancelled', statusReason: mr.statusReason }, request: { method: 'PUT', url: `MedicationRequest/${stored.id!}` } });
    }
  }
  await commit(services, req, writes);
  return { status: 200, body: cancellationAnswer(header, mr, r.cancellation ?? 'R-0001', true), headers };
}

function dispensedRequest(bundle: Bundle, md: MedicationDispense): MedicationRequest | undefined {
  const ref = md.authorizingPrescription?.[0]?.reference;
  if (ref?.startsWith('#')) return md.contained?.find((c) => c.id === ref.slice(1) && c.resourceType === 'MedicationRequest') as MedicationRequest | undefined;
  const r = resolveInBundle(bundle, ref)?.resource;
  return r?.resourceType === 'MedicationRequest' ? r : undefined;
}

async function dispenseNotification(services: FhirServices, req: FacadeRequest, bundle: Bundle, header: MessageHeader): Promise<FacadeResponse> {
  const dispenser = header.sender?.identifier?.value;
  if (!dispenser) refusal('MISSING_VALUE', 400, 'value', 'MessageHeader.sender.identifier must name the dispensing organisation.', 'MessageHeader.sender.identifier');
  const dispenses = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is MedicationDispense => r?.resourceType === 'MedicationDispense');
  if (dispenses.length === 0) throw epsError(400, 'invalid', 'TOO_FEW_VALUES_SUBMITTED', 'A dispense notification must contain at least one MedicationDispense.', 'Bundle.entry.resource.ofType(MedicationDispense)');
  let prescriptionId: string | undefined;
  const items: Record<string, LineItemStatus> = {};
  for (const md of dispenses) {
    const mr = dispensedRequest(bundle, md);
    if (!mr) refusal('MISSING_VALUE', 400, 'value', 'MedicationDispense.authorizingPrescription must reference a MedicationRequest.', 'MedicationDispense.authorizingPrescription');
    const id = prescriptionIdOf(mr);
    if (prescriptionId !== undefined && id !== prescriptionId) refusal('INVALID_VALUE', 400, 'value', 'All MedicationDispenses must belong to one prescription.', 'MedicationRequest.groupIdentifier');
    prescriptionId = id;
    const st = md.type?.coding?.find((c) => c.system === 'https://fhir.nhs.uk/CodeSystem/medicationdispense-type')?.code;
    if (typeof st !== 'string' || !Object.prototype.hasOwnProperty.call(LINE_ITEM_STATUS, st)) {
      refusal('INVALID_VALUE', 400, 'value', 'MedicationDispense.type must be a medicationdispense-type code.', 'MedicationDispense.type');
    }
    items[lineItemIdOf(mr)] = st as LineItemStatus;
  }
  const record = await findRecord(services, req, prescriptionId!);
  if (!record) refusal('PRESCRIPTION_NOT_FOUND', 404, 'not-found', `Prescription ${prescriptionId!} not found.`);
  const message = bundle.identifier?.value;
  const replacementOf = header.extension?.find((e) => e.url === REPLACEMENT_OF_EXTENSION);
  const replaces = replacementOf?.valueIdentifier?.value;
  const replacementPath = `MessageHeader.extension("${REPLACEMENT_OF_EXTENSION}")`;
  if (replacementOf && typeof replaces !== 'string') refusal('MISSING_VALUE', 400, 'value', 'Extension-replacementOf must give the identifier of the dispense notification it replaces.', replacementPath);
  const at = now(services);
  const r = replacementOf
    ? applyEvent(record.state, { kind: 'amend', dispenser, at, items, replaces: replaces!, ...(message ? { message } : {}) })
    : applyEvent(record.state, { kind: 'dispense', dispenser, at, items, ...(message ? { message } : {}) });
  if (!r.ok) refusal(r.code, r.code === 'ITEM_NOT_FOUND' ? 404 : 400, r.code === 'ITEM_NOT_FOUND' ? 'not-found' : 'business-rule', r.diagnostics, r.code === 'DISPENSE_AMEND_IDENTIFIER_MISMATCH' ? replacementPath : undefined);
  const writes: BundleEntry[] = [taskUpdateEntry(record, r.state)];
  // A MedicationDispense joins the patient's compartment when it names the prescription's patient (the staged examples do not always).
  const patient = record.task.for?.reference ? record.task.for : undefined;
  for (const md of dispenses) {
    const stored = withLogicalReferences(bundle, md);
    const named = stored.subject?.identifier;
    if (patient && named?.system === NHS_NUMBER_SYSTEM && named?.value === record.nhsNumber) stored.subject = { ...patient, ...(stored.subject?.display ? { display: stored.subject.display } : {}) };
    writes.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: readOnlyToPatients(stored), request: { method: 'POST', url: 'MedicationDispense' } });
  }
  await commit(services, req, writes);
  const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] };
  return { status: 200, body: outcome, headers: epsResponseHeaders(req.headers) };
}

export async function processMessage(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const body = parseJsonBody(services, req.rawBody);
  const { bundle, header, event } = messageHeaderOf(body);
  switch (event) {
    case 'prescription-order':
      return order(services, req, bundle);
    case 'prescription-order-update':
      return cancel(services, req, bundle, header);
    case 'dispense-notification':
      return dispenseNotification(services, req, bundle, header);
    default:
      throw epsError(400, 'value', 'INVALID_VALUE', `MessageHeader.eventCoding.code '${event}' is not supported.`, 'MessageHeader.eventCoding.code');
  }
}
