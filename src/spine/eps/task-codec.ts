/**
 * A prescription's state as the EPS tracker Task (electronic-prescription-service-api.yaml
 * "Task" tracker; Task.businessStatus from https://fhir.nhs.uk/CodeSystem/EPS-task-business-status):
 * `identifier` and `focus.identifier` the short-form prescription ID, `for.identifier` the NHS Number
 * (with `for.reference` the Patient when the façade knows it: what puts the Task in the patient's
 * compartment),
 * `owner.identifier` the dispenser holding it, one `input` per line item with its status
 * (medicationdispense-type), and one history extension per accepted transition. A repeat-dispensing
 * prescription also carries Extension-EPS-RepeatInformation (`numberOfRepeatsAllowed`, and
 * `numberOfRepeatsIssued` = the current issue) with one `issue` part per finished issue (its number,
 * status, dispenser and `finished` date) and the issue length (`expectedSupplyDuration`); an `issue`
 * history entry carries `notBefore`, the earliest release of the issue it started.
 */
import type { Extension, Reference, Task } from 'fhir/r4';
import { NHS_NUMBER_SYSTEM } from '../nhs-number';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from './prescription-id';
import { ORDER_ITEM_NUMBER_SYSTEM } from './prescription-order';
import { EPS_REPEAT_INFORMATION_EXTENSION } from './repeat-dispensing';
import {
  LINE_ITEM_STATUS,
  LINE_ITEM_STATUS_SYSTEM,
  PRESCRIPTION_STATUS,
  TASK_BUSINESS_STATUS_SYSTEM,
  type EventKind,
  type HistoryEntry,
  type LineItemStatus,
  type PrescriptionState,
  type PrescriptionStatus,
  type RepeatState,
} from './state-machine';

export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const HISTORY_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-PrescriptionStatusHistory';
export const PENDING_CANCELLATION_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-PendingCancellation';

function taskStatus(s: PrescriptionStatus): Task['status'] {
  switch (s) {
    case '0001':
      return 'ready';
    case '0002':
    case '0003':
      return 'in-progress';
    case '0005':
      return 'cancelled';
    case '0004':
      return 'failed';
    default:
      return 'completed';
  }
}

function historyExtension(h: HistoryEntry): Extension {
  const ext: Extension[] = [
    { url: 'event', valueCode: h.event },
    { url: 'from', valueCoding: { system: TASK_BUSINESS_STATUS_SYSTEM, code: h.from } },
    { url: 'to', valueCoding: { system: TASK_BUSINESS_STATUS_SYSTEM, code: h.to } },
    { url: 'at', valueDateTime: h.at },
  ];
  if (h.by) ext.push({ url: 'by', valueIdentifier: { system: ODS_SYSTEM, value: h.by } });
  if (h.issue !== undefined) ext.push({ url: 'issue', valueInteger: h.issue });
  if (h.message !== undefined) ext.push({ url: 'message', valueIdentifier: { system: 'https://tools.ietf.org/html/rfc4122', value: h.message } });
  if (h.notBefore !== undefined) ext.push({ url: 'notBefore', valueDateTime: h.notBefore });
  for (const [id, [before, after]] of Object.entries(h.items ?? {})) {
    ext.push({ url: 'item', extension: [{ url: 'id', valueString: id }, { url: 'from', valueCode: before }, { url: 'to', valueCode: after }] });
  }
  return { url: HISTORY_EXTENSION, extension: ext };
}

function repeatExtension(r: RepeatState): Extension {
  const ext: Extension[] = [
    { url: 'numberOfRepeatsAllowed', valueInteger: r.repeatsAllowed },
    { url: 'numberOfRepeatsIssued', valueInteger: r.issue },
  ];
  if (r.supplyDays !== undefined) ext.push({ url: 'expectedSupplyDuration', valueDuration: { value: r.supplyDays, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' } });
  for (const [n, p] of Object.entries(r.past).sort(([a], [b]) => Number(a) - Number(b))) {
    const part: Extension[] = [{ url: 'number', valueInteger: Number(n) }, { url: 'status', valueCoding: { system: TASK_BUSINESS_STATUS_SYSTEM, code: p.status, display: PRESCRIPTION_STATUS[p.status] } }];
    if (p.dispenser) part.push({ url: 'dispenser', valueIdentifier: { system: ODS_SYSTEM, value: p.dispenser } });
    if (p.finished) part.push({ url: 'finished', valueDateTime: p.finished });
    ext.push({ url: 'issue', extension: part });
  }
  return { url: EPS_REPEAT_INFORMATION_EXTENSION, extension: ext };
}

function repeatOf(t: Task): RepeatState | undefined {
  const e = t.extension?.find((x) => x.url === EPS_REPEAT_INFORMATION_EXTENSION);
  if (!e) return undefined;
  const repeatsAllowed = sub(e, 'numberOfRepeatsAllowed')?.valueInteger;
  const issue = sub(e, 'numberOfRepeatsIssued')?.valueInteger;
  if (typeof repeatsAllowed !== 'number' || typeof issue !== 'number') return undefined;
  const past: RepeatState['past'] = {};
  for (const p of e.extension?.filter((x) => x.url === 'issue') ?? []) {
    const n = sub(p, 'number')?.valueInteger;
    const st = sub(p, 'status')?.valueCoding?.code;
    const dispenser = sub(p, 'dispenser')?.valueIdentifier?.value;
    const finished = sub(p, 'finished')?.valueDateTime;
    if (typeof n === 'number' && isPrescriptionStatus(st)) past[String(n)] = { status: st, ...(dispenser ? { dispenser } : {}), ...(finished ? { finished } : {}) };
  }
  const supplyDays = sub(e, 'expectedSupplyDuration')?.valueDuration?.value;
  return { repeatsAllowed, issue, past, ...(typeof supplyDays === 'number' ? { supplyDays } : {}) };
}

/** The tracker Task of a prescription (`nhsNumber` its patient). */
export function stateToTask(s: PrescriptionState, nhsNumber: string, authoredOn: string, id?: string, patient?: Reference): Task {
  const rx = { system: PRESCRIPTION_ORDER_NUMBER_SYSTEM, value: s.prescriptionId };
  const ext: Extension[] = s.history.map(historyExtension);
  if (s.repeat) ext.push(repeatExtension(s.repeat));
  if (s.pendingCancellation) {
    ext.push({ url: PENDING_CANCELLATION_EXTENSION, extension: [{ url: 'by', valueIdentifier: { system: ODS_SYSTEM, value: s.pendingCancellation.by } }, { url: 'at', valueDateTime: s.pendingCancellation.at }] });
  }
  return {
    resourceType: 'Task',
    ...(id ? { id } : {}),
    extension: ext,
    identifier: [rx],
    groupIdentifier: rx,
    status: taskStatus(s.status),
    businessStatus: { coding: [{ system: TASK_BUSINESS_STATUS_SYSTEM, code: s.status, display: PRESCRIPTION_STATUS[s.status] }] },
    intent: 'order',
    focus: { identifier: rx },
    for: { ...(patient?.reference ? { reference: patient.reference } : {}), type: 'Patient', identifier: { system: NHS_NUMBER_SYSTEM, value: nhsNumber } },
    authoredOn,
    ...(s.dispenser ? { owner: { identifier: { system: ODS_SYSTEM, value: s.dispenser } } } : {}),
    input: Object.entries(s.items).map(([item, st]) => ({
      type: { coding: [{ system: ORDER_ITEM_NUMBER_SYSTEM, code: item }] },
      valueCoding: { system: LINE_ITEM_STATUS_SYSTEM, code: st, display: LINE_ITEM_STATUS[st] },
    })),
  };
}

function sub(e: Extension, url: string): Extension | undefined {
  return e.extension?.find((x) => x.url === url);
}

function isPrescriptionStatus(c: unknown): c is PrescriptionStatus {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(PRESCRIPTION_STATUS, c);
}
function isLineItemStatus(c: unknown): c is LineItemStatus {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(LINE_ITEM_STATUS, c);
}

/** The prescription state a tracker Task records (throws on a Task this module did not write). */
export function taskToState(t: Task): PrescriptionState {
  const prescriptionId = t.groupIdentifier?.value;
  const status = t.businessStatus?.coding?.find((c) => c.system === TASK_BUSINESS_STATUS_SYSTEM)?.code;
  if (typeof prescriptionId !== 'string' || !isPrescriptionStatus(status)) throw new Error(`Task/${t.id ?? '?'} is not an EPS prescription record`);
  const items: Record<string, LineItemStatus> = {};
  for (const i of t.input ?? []) {
    const id = i.type.coding?.[0]?.code;
    const st = i.valueCoding?.code;
    if (typeof id === 'string' && isLineItemStatus(st)) items[id] = st;
  }
  const history: HistoryEntry[] = [];
  for (const e of t.extension ?? []) {
    if (e.url !== HISTORY_EXTENSION) continue;
    const from = sub(e, 'from')?.valueCoding?.code;
    const to = sub(e, 'to')?.valueCoding?.code;
    if (!isPrescriptionStatus(from) || !isPrescriptionStatus(to)) continue;
    const changed: Record<string, [LineItemStatus, LineItemStatus]> = {};
    for (const it of e.extension?.filter((x) => x.url === 'item') ?? []) {
      const id = sub(it, 'id')?.valueString;
      const a = sub(it, 'from')?.valueCode;
      const b = sub(it, 'to')?.valueCode;
      if (id !== undefined && isLineItemStatus(a) && isLineItemStatus(b)) changed[id] = [a, b];
    }
    const by = sub(e, 'by')?.valueIdentifier?.value;
    const issue = sub(e, 'issue')?.valueInteger;
    const message = sub(e, 'message')?.valueIdentifier?.value;
    const notBefore = sub(e, 'notBefore')?.valueDateTime;
    history.push({
      event: sub(e, 'event')?.valueCode as EventKind,
      from,
      to,
      at: sub(e, 'at')?.valueDateTime ?? '',
      ...(Object.keys(changed).length ? { items: changed } : {}),
      ...(by ? { by } : {}),
      ...(typeof issue === 'number' ? { issue } : {}),
      ...(typeof message === 'string' ? { message } : {}),
      ...(typeof notBefore === 'string' ? { notBefore } : {}),
    });
  }
  const pending = t.extension?.find((e) => e.url === PENDING_CANCELLATION_EXTENSION);
  const pendingBy = pending ? sub(pending, 'by')?.valueIdentifier?.value : undefined;
  const owner = t.owner?.identifier?.value;
  const repeat = repeatOf(t);
  return {
    prescriptionId,
    status,
    items,
    history,
    ...(owner ? { dispenser: owner } : {}),
    ...(repeat ? { repeat } : {}),
    ...(pendingBy ? { pendingCancellation: { by: pendingBy, at: (pending && sub(pending, 'at')?.valueDateTime) ?? '' } } : {}),
  };
}
