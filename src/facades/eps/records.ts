/**
 * The prescription records of the EPS façade, kept in the engine store as tracker Tasks
 * (src/spine/eps/task-codec.ts) beside the prescription's MedicationRequests. Every façade request
 * reads through the engine (so access control applies) and writes with **one** transaction (so a
 * message is applied atomically, once per X-Request-ID, and a concurrent change to the same
 * prescription fails its If-Match instead of being lost).
 */
import type { Bundle, BundleEntry, MedicationRequest, Resource, Task } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { FhirError } from '../../fhir/outcome';
import { epsError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import type { PrescriptionState } from '../../spine/eps/state-machine';
import { stateToTask, taskToState } from '../../spine/eps/task-codec';
import { callEngine, engineRequest, resultResource, type FacadeRequest } from '../kit';

export interface PrescriptionRecord {
  task: Task;
  state: PrescriptionState;
  nhsNumber: string;
  medicationRequests: MedicationRequest[];
}

async function searchAll(services: FhirServices, req: FacadeRequest, type: string, query: Array<[string, string]>): Promise<Resource[]> {
  const result = await callEngine(services, engineRequest(req, { method: 'GET', path: type, query: [...query, ['_count', '100']] }));
  const bundle = resultResource<Bundle>(result);
  return (bundle?.entry ?? []).map((e) => e.resource as Resource | undefined).filter((r): r is Resource => r !== undefined);
}

/** The record of a prescription ID, or undefined. */
export async function findRecord(services: FhirServices, req: FacadeRequest, prescriptionId: string): Promise<PrescriptionRecord | undefined> {
  const token = `${PRESCRIPTION_ORDER_NUMBER_SYSTEM}|${prescriptionId}`;
  const found = await searchAll(services, req, 'Task', [['identifier', token], ['_include', 'Task:based-on']]);
  const task = found.find((r): r is Task => r.resourceType === 'Task');
  if (!task) return undefined;
  const medicationRequests = found.filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  return { task, state: taskToState(task), nhsNumber: task.for?.identifier?.value ?? '', medicationRequests };
}

/** Tracker Tasks by search (prescription ID or NHS Number). */
export async function searchTasks(services: FhirServices, req: FacadeRequest, query: Array<[string, string]>): Promise<Task[]> {
  return (await searchAll(services, req, 'Task', query)).filter((r): r is Task => r.resourceType === 'Task');
}

/** The transaction entry that writes a record's new state (If-Match on the version read), keeping its `basedOn` MedicationRequests. */
export function taskUpdateEntry(record: PrescriptionRecord, state: PrescriptionState): BundleEntry {
  const id = record.task.id!;
  const version = record.task.meta?.versionId;
  const task = { ...stateToTask(state, record.nhsNumber, record.task.authoredOn ?? new Date().toISOString(), id), ...(record.task.basedOn ? { basedOn: record.task.basedOn } : {}) };
  return { fullUrl: `Task/${id}`, resource: task, request: { method: 'PUT', url: `Task/${id}`, ...(version ? { ifMatch: `W/"${version}"` } : {}) } };
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
