/**
 * The prescription records of the EPS façade, kept in the engine store as tracker Tasks
 * (src/spine/eps/task-codec.ts) beside the prescription's MedicationRequests. Every façade request
 * reads through the engine (so access control applies) and writes with **one** transaction (so a
 * message is applied atomically, once per X-Request-ID, and a concurrent change to the same
 * prescription fails its If-Match instead of being lost).
 */
import type { Bundle, BundleEntry, MedicationRequest, Reference, Resource, Task } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { epsError } from '../../spine/eps/errors';
import { NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { expireIfDue, prescriptionExpiry } from '../../spine/eps/expiry';
import type { PrescriptionState } from '../../spine/eps/state-machine';
import { ODS_SYSTEM, stateToTask, taskToState } from '../../spine/eps/task-codec';
import { prescriptionNow } from './clock';
import { callEngine, engineRequest, resultResource, type FacadeRequest } from '../kit';
import { PATIENT_READ_ONLY_LABEL } from '../../auth/access';

/**
 * A resource as the façade stores it: labelled read-only to patient-context tokens (its patient reads
 * its prescription on /fhir, never changes it; ADR 39).
 */
export function readOnlyToPatients<T extends Resource>(r: T): T {
  const security = (r.meta?.security ?? []).filter((c) => !(c.system === PATIENT_READ_ONLY_LABEL.system && c.code === PATIENT_READ_ONLY_LABEL.code));
  return { ...r, meta: { ...r.meta, security: [...security, { ...PATIENT_READ_ONLY_LABEL }] } };
}

export interface PrescriptionRecord {
  task: Task;
  state: PrescriptionState;
  nhsNumber: string;
  medicationRequests: MedicationRequest[];
  /** When the prescription expires (Task.restriction.period.end, else from its MedicationRequests). */
  expiry?: string;
}

/** The nominated pharmacy (MedicationRequest.dispenseRequest.performer) as the tracker Task's `performerType`, searchable as Task `performer`. */
export function nominationOf(ods: string): NonNullable<Task['performerType']> {
  return [{ coding: [{ system: ODS_SYSTEM, code: ods }] }];
}

/** The validity period of the tracker Task (Task.restriction.period: when fulfilment is sought). */
export function restrictionOf(expiry: string | undefined): Task['restriction'] | undefined {
  return expiry ? { period: { end: expiry } } : undefined;
}

function recordOf(task: Task, included: Resource[]): PrescriptionRecord {
  const refs = new Set((task.basedOn ?? []).map((r) => r.reference));
  const medicationRequests = included.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest' && refs.has(`MedicationRequest/${r.id!}`));
  const expiry = task.restriction?.period?.end ?? prescriptionExpiry(medicationRequests);
  return { task, state: taskToState(task), nhsNumber: task.for?.identifier?.value ?? '', medicationRequests, ...(expiry ? { expiry } : {}) };
}

/** The record with its state expired when its expiry has passed (an unsaved `expire` transition), and whether it changed. */
export function withExpiry(services: FhirServices, record: PrescriptionRecord): { record: PrescriptionRecord; expired: boolean } {
  const state = expireIfDue(record.state, record.expiry, prescriptionNow(services));
  return state === record.state ? { record, expired: false } : { record: { ...record, state }, expired: true };
}

async function searchAll(services: FhirServices, req: FacadeRequest, type: string, query: Array<[string, string]>, count = 100): Promise<Resource[]> {
  const result = await callEngine(services, engineRequest(req, { method: 'GET', path: type, query: [...query, ['_count', String(count)]] }));
  const bundle = resultResource<Bundle>(result);
  return (bundle?.entry ?? []).map((e) => e.resource as Resource | undefined).filter((r): r is Resource => r !== undefined);
}

/** The record of a prescription ID, or undefined. */
export async function findRecord(services: FhirServices, req: FacadeRequest, prescriptionId: string): Promise<PrescriptionRecord | undefined> {
  const token = `${PRESCRIPTION_ORDER_NUMBER_SYSTEM}|${prescriptionId}`;
  const found = await searchAll(services, req, 'Task', [['identifier', token], ['_include', 'Task:based-on']]);
  const task = found.find((r): r is Task => r.resourceType === 'Task');
  if (!task) return undefined;
  return recordOf(task, found);
}

/**
 * Up to `limit` records To be Dispensed (Task `status=ready`) nominated to the pharmacy `ods`
 * (Task `performer`), oldest first.
 */
export async function findNominated(services: FhirServices, req: FacadeRequest, ods: string, limit: number): Promise<PrescriptionRecord[]> {
  if (limit <= 0) return [];
  const found = await searchAll(services, req, 'Task', [['performer', `${ODS_SYSTEM}|${ods}`], ['status', 'ready'], ['_sort', 'authored-on'], ['_include', 'Task:based-on']], limit);
  return found
    .filter((r): r is Task => r.resourceType === 'Task' && (r as Task).groupIdentifier?.system === PRESCRIPTION_ORDER_NUMBER_SYSTEM)
    .map((t) => recordOf(t, found))
    .filter((r) => r.state.status === '0001' && r.state.dispenser === undefined);
}

/**
 * The records a nominated release with this request id already released to `ods` (their latest
 * `release` history entry names the request id and they are still With Dispenser 0002): what a
 * retried request answers again, since its first answer may have been lost.
 */
export async function findReleasedBy(services: FhirServices, req: FacadeRequest, ods: string, requestId: string): Promise<PrescriptionRecord[]> {
  const found = await searchAll(services, req, 'Task', [['owner:identifier', `${ODS_SYSTEM}|${ods}`], ['business-status', '0002'], ['_sort', '-_lastUpdated'], ['_include', 'Task:based-on']]);
  return found
    .filter((r): r is Task => r.resourceType === 'Task' && (r as Task).groupIdentifier?.system === PRESCRIPTION_ORDER_NUMBER_SYSTEM)
    .map((t) => recordOf(t, found))
    .filter((r) => r.state.status === '0002' && [...r.state.history].reverse().find((h) => h.event === 'release')?.message === requestId);
}

/**
 * The reference to the patient of an NHS Number that puts the prescription's resources (tracker
 * Task `for`, MedicationRequest and MedicationDispense `subject`) in the Patient compartment (R4
 * CompartmentDefinition Patient: Task `patient`, MedicationRequest `subject`, MedicationDispense
 * `subject`/`patient`), so a patient-context SMART token sees its own prescriptions. With
 * PATIENT_ID_POLICY=nhs-number the Patient's id is its NHS Number by construction: `Patient/<nhs>`.
 * Otherwise the one Patient the caller can find with that NHS Number identifier; none, several, or
 * no permission to search Patients: the identifier only (in no patient's compartment).
 */
export async function patientReference(services: FhirServices, req: FacadeRequest, nhsNumber: string): Promise<Reference> {
  const identifier = { system: NHS_NUMBER_SYSTEM, value: nhsNumber };
  if (services.config.patientIdPolicy === 'nhs-number') return { reference: `Patient/${nhsNumber}`, type: 'Patient', identifier };
  try {
    const found = (await searchAll(services, req, 'Patient', [['identifier', `${NHS_NUMBER_SYSTEM}|${nhsNumber}`], ['_elements', 'id']], 2)).filter((r) => r.resourceType === 'Patient');
    if (found.length === 1) return { reference: `Patient/${found[0]!.id!}`, type: 'Patient', identifier };
  } catch (e) {
    if (!(e instanceof FhirError) || (e.status !== 401 && e.status !== 403)) throw e;
  }
  return { type: 'Patient', identifier };
}

/** Tracker Tasks by search (prescription ID or NHS Number). */
export async function searchTasks(services: FhirServices, req: FacadeRequest, query: Array<[string, string]>): Promise<Task[]> {
  return (await searchAll(services, req, 'Task', query)).filter((r): r is Task => r.resourceType === 'Task');
}

/** The transaction entry that writes a record's new state (If-Match on the version read), keeping its `basedOn` MedicationRequests. */
export function taskUpdateEntry(record: PrescriptionRecord, state: PrescriptionState): BundleEntry {
  const id = record.task.id!;
  const version = record.task.meta?.versionId;
  const t = record.task;
  const task = {
    ...stateToTask(state, record.nhsNumber, t.authoredOn ?? new Date().toISOString(), id, t.for),
    ...(t.basedOn ? { basedOn: t.basedOn } : {}),
    ...(t.performerType ? { performerType: t.performerType } : {}),
    ...(t.restriction ? { restriction: t.restriction } : {}),
  };
  return { fullUrl: `Task/${id}`, resource: readOnlyToPatients(task), request: { method: 'PUT', url: `Task/${id}`, ...(version ? { ifMatch: `W/"${version}"` } : {}) } };
}

/** Runs one transaction of writes; a lost race (409/412) is answered as the EPS state conflict. */
export async function commit(services: FhirServices, req: FacadeRequest, entries: BundleEntry[]): Promise<Bundle> {
  const body: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: entries };
  try {
    const result = await callEngine(services, engineRequest(req, { method: 'POST', path: '', body, contentType: 'application/fhir+json', headers: { prefer: 'return=representation' } }));
    const out = resultResource<Bundle>(result);
    if (out?.resourceType !== 'Bundle') throw new FhirError('fault', { diagnostics: 'The engine answered a transaction without a Bundle' });
    return out;
  } catch (e) {
    if (e instanceof FhirError && (e.status === 409 || e.status === 412)) {
      throw epsError(409, 'conflict', 'PRESCRIPTION_INVALID_STATE_TRANSITION', 'The prescription was changed by another request; read it again and retry.', 'Task');
    }
    throw e;
  }
}
