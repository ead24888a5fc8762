/**
 * The prescription life cycle of the Electronic Prescription Service (EPS FHIR API: Task
 * `businessStatus`, CodeSystem https://fhir.nhs.uk/CodeSystem/EPS-task-business-status, and the line
 * item status of `MedicationDispense.type`, CodeSystem
 * https://fhir.nhs.uk/CodeSystem/medicationdispense-type), as a pure state machine: one status for
 * the prescription, one per line item, every accepted transition appended to the history, every
 * refused one answered with the EPS code (PRESCRIPTION_INVALID_STATE_TRANSITION,
 * PRESCRIPTION_INVALID_LINE_STATE_TRANSITION, ITEM_NOT_FOUND, PRESCRIPTION_WITH_ANOTHER_DISPENSER)
 * or, for a cancellation, the EPS cancellation response code (R-0001 ... R-0010).
 *
 * A repeat-dispensing prescription (src/spine/eps/repeat-dispensing.ts, ADR 36) is one state for its
 * current issue plus the outcome of each issue before it: when an issue is finished by a dispense
 * notification (Dispensed 0006 or Not Dispensed 0007) and more issues are allowed, the next issue
 * becomes To be Dispensed (an `issue` transition, items back to 0007 but for cancelled ones) and the
 * finished one waits for its claim. The next issue is not releasable before its date
 * (`notBefore` of the `issue` history entry): the previous issue's dispense date plus the expected
 * supply duration less the early-release tolerance (`nextIssueNotBefore`,
 * src/spine/eps/repeat-dispensing.ts); an earlier release is PRESCRIPTION_INVALID_STATE_TRANSITION.
 */
import { nextIssueNotBefore } from './repeat-dispensing';

export const TASK_BUSINESS_STATUS_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/EPS-task-business-status';
export const LINE_ITEM_STATUS_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationdispense-type';

/** Prescription status (EPS-task-business-status). */
export const PRESCRIPTION_STATUS = Object.freeze({
  '0001': 'To be Dispensed',
  '0002': 'With Dispenser',
  '0003': 'With Dispenser - Active',
  '0004': 'Expired',
  '0005': 'Cancelled',
  '0006': 'Dispensed',
  '0007': 'Not Dispensed',
  '0008': 'Claimed',
  '0009': 'No-Claimed',
});
export type PrescriptionStatus = keyof typeof PRESCRIPTION_STATUS;

/** Line item status (medicationdispense-type). */
export const LINE_ITEM_STATUS = Object.freeze({
  '0001': 'Item fully dispensed',
  '0002': 'Item not dispensed',
  '0003': 'Item dispensed - partial',
  '0004': 'Item not dispensed owing',
  '0005': 'Item Cancelled',
  '0006': 'Expired',
  '0007': 'Item to be dispensed',
  '0008': 'Item with dispenser',
});
export type LineItemStatus = keyof typeof LINE_ITEM_STATUS;

/** Line item statuses a dispense notification may report (0005: the dispenser confirms an item cancelled). */
const DISPENSED_ITEM_STATUSES: readonly LineItemStatus[] = ['0001', '0002', '0003', '0004', '0005'];

export interface HistoryEntry {
  at: string;
  event: EventKind;
  /** Prescription status before and after. */
  from: PrescriptionStatus;
  to: PrescriptionStatus;
  /** Line items whose status changed: id → [before, after]. */
  items?: Record<string, [LineItemStatus, LineItemStatus]>;
  /** ODS code of the organisation that caused the transition. */
  by?: string;
  /** Repeat dispensing: the issue the transition is about (absent: the current one). */
  issue?: number;
  /** The identifier of the message that made the transition (dispense notification Bundle, Claim): what an amendment names. */
  message?: string;
  /** Repeat dispensing, `issue` entries: the earliest instant the new issue may be released. */
  notBefore?: string;
}

/** A finished issue of a repeat-dispensing prescription: 0006/0007, then 0008/0009 once claimed. */
export interface PastIssue {
  status: PrescriptionStatus;
  dispenser?: string;
  /** When the issue was finished (its last dispense notification): the date the next issue's interval runs from. */
  finished?: string;
}

/** Repeat dispensing: `repeatsAllowed` + 1 issues, the current `issue` (1-based), the finished ones. */
export interface RepeatState {
  repeatsAllowed: number;
  issue: number;
  past: Record<string, PastIssue>;
  /** Days each issue lasts (dispenseRequest.expectedSupplyDuration; absent: DEFAULT_SUPPLY_DAYS). */
  supplyDays?: number;
}

export interface PrescriptionState {
  prescriptionId: string;
  status: PrescriptionStatus;
  /** Line item id (prescription-order-item-number) → status. */
  items: Record<string, LineItemStatus>;
  /** ODS code of the dispenser holding the prescription (statuses 0002, 0003, and after dispensing). */
  dispenser?: string;
  /** A cancellation was asked for while the prescription was with a dispenser (R-0002, R-0003). */
  pendingCancellation?: { by: string; at: string };
  /** Repeat dispensing only. */
  repeat?: RepeatState;
  history: HistoryEntry[];
}

export type EventKind = 'create' | 'release' | 'return' | 'dispense' | 'amend' | 'withdraw' | 'claim' | 'claim-amend' | 'cancel' | 'expire' | 'issue';

export type PrescriptionEvent =
  | { kind: 'release'; dispenser: string; at: string }
  | { kind: 'return'; dispenser: string; at: string }
  | { kind: 'dispense'; dispenser: string; at: string; items: Record<string, LineItemStatus>; message?: string }
  | { kind: 'amend'; dispenser: string; at: string; items: Record<string, LineItemStatus>; message?: string; replaces: string }
  | { kind: 'withdraw'; dispenser: string; at: string }
  | { kind: 'claim'; dispenser: string; at: string; issue?: number; repeatsAllowed?: number; message?: string }
  | { kind: 'claim-amend'; dispenser: string; at: string; message?: string; replaces: string }
  | { kind: 'cancel'; prescriber: string; at: string; items?: string[] }
  | { kind: 'expire'; at: string };

export type TransitionErrorCode =
  | 'PRESCRIPTION_INVALID_STATE_TRANSITION'
  | 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION'
  | 'ITEM_NOT_FOUND'
  | 'PRESCRIPTION_WITH_ANOTHER_DISPENSER'
  | 'MISMATCH_AUTHORISED_REPEAT_COUNTS'
  | 'DISPENSE_AMEND_IDENTIFIER_MISMATCH';

/** EPS cancellation response codes (electronic-prescription-service-api.yaml "Cancellation Errors"). */
export const CANCELLATION_RESPONSE = Object.freeze({
  'R-0001': 'Prescription or item was cancelled.',
  'R-0002': 'Prescription was with dispenser so not cancelled, but marked for cancellation.',
  'R-0003': 'Prescription was with dispenser active so not cancelled, but marked for cancellation.',
  'R-0004': 'Prescription was not cancelled as it has been dispensed.',
  'R-0005': 'Prescription was not cancelled as it has expired.',
  'R-0006': 'Prescription has already been cancelled.',
  'R-0007': 'Cancellation already requested by another prescriber.',
  'R-0008': 'Prescription not found.',
  'R-0010': 'Prescription was not cancelled as it has been not dispensed.',
});
export type CancellationCode = keyof typeof CANCELLATION_RESPONSE;

export type TransitionResult =
  | { ok: true; state: PrescriptionState; cancellation?: CancellationCode }
  | { ok: false; code: TransitionErrorCode; diagnostics: string; cancellation?: CancellationCode; holder?: string; notBefore?: string };

/** A new prescription: status 0001, every item 0007, with its creation in the history; `repeatsAllowed`: repeat dispensing, at issue 1. */
export function newPrescription(prescriptionId: string, itemIds: readonly string[], at: string, by?: string, repeatsAllowed?: number, supplyDays?: number): PrescriptionState {
  const items: Record<string, LineItemStatus> = {};
  for (const id of itemIds) items[id] = '0007';
  const repeat = repeatsAllowed === undefined ? {} : { repeat: { repeatsAllowed, issue: 1, past: {}, ...(supplyDays !== undefined ? { supplyDays } : {}) } };
  return { prescriptionId, status: '0001', items, ...repeat, history: [{ at, event: 'create', from: '0001', to: '0001', ...(by ? { by } : {}), ...(repeatsAllowed === undefined ? {} : { issue: 1 }) }] };
}

/** The number of issues of a repeat-dispensing prescription. */
export function issuesAllowed(r: RepeatState): number {
  return r.repeatsAllowed + 1;
}

/** Repeat dispensing: a finished issue with more to come moves on to the next issue, To be Dispensed. */
function nextIssue(s: PrescriptionState, at: string): PrescriptionState {
  const r = s.repeat;
  if (!r || (s.status !== '0006' && s.status !== '0007') || r.issue >= issuesAllowed(r)) return s;
  const past = { ...r.past, [String(r.issue)]: { status: s.status, ...(s.dispenser ? { dispenser: s.dispenser } : {}), finished: at } };
  const items = mapItems(s.items, (_, st) => (st === '0005' ? st : '0007'));
  const next = moved(s, 'issue', at, '0001', items, undefined, { clearDispenser: true });
  const entry = next.history[next.history.length - 1]!;
  entry.issue = r.issue + 1;
  const notBefore = nextIssueNotBefore(at, r.supplyDays);
  if (notBefore !== undefined) entry.notBefore = notBefore;
  return { ...next, repeat: { ...r, issue: r.issue + 1, past } };
}

/** Repeat dispensing: the earliest release of the current issue (the `notBefore` of the `issue` entry that started it), or undefined. */
export function issueNotBefore(s: PrescriptionState): string | undefined {
  if (!s.repeat) return undefined;
  const issue = s.repeat.issue;
  return [...s.history].reverse().find((h) => h.event === 'issue' && h.issue === issue)?.notBefore;
}

/** Repeat dispensing: a claim of a finished issue before the current one. */
function claimPastIssue(s: PrescriptionState, e: Extract<PrescriptionEvent, { kind: 'claim' }>, issue: number): TransitionResult {
  const past = s.repeat!.past[String(issue)];
  if (!past || (past.status !== '0006' && past.status !== '0007')) {
    return refuse('PRESCRIPTION_INVALID_STATE_TRANSITION', `Cannot claim issue ${issue}: it is ${past ? `${past.status} (${PRESCRIPTION_STATUS[past.status]})` : 'not finished'}.`);
  }
  if (past.dispenser !== e.dispenser) return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser.', past.dispenser ? { holder: past.dispenser } : {});
  const to: PrescriptionStatus = past.status === '0006' ? '0008' : '0009';
  const entry: HistoryEntry = { at: e.at, event: 'claim', from: past.status, to, by: e.dispenser, issue, ...(e.message ? { message: e.message } : {}) };
  return { ok: true, state: { ...s, repeat: { ...s.repeat!, past: { ...s.repeat!.past, [String(issue)]: { ...past, status: to } } }, history: [...s.history, entry] } };
}

function claim(s: PrescriptionState, e: Extract<PrescriptionEvent, { kind: 'claim' }>): TransitionResult {
  const r = s.repeat;
  if (r && e.repeatsAllowed !== undefined && e.repeatsAllowed !== r.repeatsAllowed) {
    return refuse('MISMATCH_AUTHORISED_REPEAT_COUNTS', `The claim gives ${e.repeatsAllowed} repeats allowed; the prescription has ${r.repeatsAllowed}.`);
  }
  if (r) {
    // The issue claimed: the one named, else the current one when finished, else the latest finished unclaimed one.
    const unclaimed = Object.entries(r.past).filter(([, p]) => p.status === '0006' || p.status === '0007').map(([n]) => Number(n));
    const issue = e.issue ?? (s.status === '0006' || s.status === '0007' || unclaimed.length === 0 ? r.issue : Math.max(...unclaimed));
    if (issue < 1 || issue > issuesAllowed(r)) return refuse('MISMATCH_AUTHORISED_REPEAT_COUNTS', `Issue ${issue} is not one of the ${issuesAllowed(r)} issues of the prescription.`);
    if (issue !== r.issue) return claimPastIssue(s, e, issue);
  }
  if (s.status !== '0006' && s.status !== '0007') return invalid(s, 'claim');
  if (s.dispenser !== e.dispenser) return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser.', s.dispenser ? { holder: s.dispenser } : {});
  const state = moved(s, 'claim', e.at, s.status === '0006' ? '0008' : '0009', s.items, e.dispenser);
  const entry = state.history[state.history.length - 1]!;
  if (r) entry.issue = r.issue;
  if (e.message) entry.message = e.message;
  return { ok: true, state };
}

function refuse(code: TransitionErrorCode, diagnostics: string, extra: { holder?: string; cancellation?: CancellationCode; notBefore?: string } = {}): TransitionResult {
  return { ok: false, code, diagnostics, ...extra };
}

function moved(
  s: PrescriptionState,
  event: EventKind,
  at: string,
  to: PrescriptionStatus,
  items: Record<string, LineItemStatus>,
  by: string | undefined,
  patch: Partial<Pick<PrescriptionState, 'dispenser' | 'pendingCancellation'>> & { clearDispenser?: boolean } = {},
): PrescriptionState {
  const changed: Record<string, [LineItemStatus, LineItemStatus]> = {};
  for (const [id, st] of Object.entries(items)) if (s.items[id] !== st) changed[id] = [s.items[id]!, st];
  const entry: HistoryEntry = { at, event, from: s.status, to, ...(Object.keys(changed).length ? { items: changed } : {}), ...(by ? { by } : {}) };
  const next: PrescriptionState = { ...s, status: to, items, history: [...s.history, entry] };
  if (patch.dispenser !== undefined) next.dispenser = patch.dispenser;
  if (patch.clearDispenser) delete next.dispenser;
  if (patch.pendingCancellation !== undefined) next.pendingCancellation = patch.pendingCancellation;
  return next;
}

function mapItems(items: Record<string, LineItemStatus>, f: (id: string, st: LineItemStatus) => LineItemStatus): Record<string, LineItemStatus> {
  const out: Record<string, LineItemStatus> = {};
  for (const [id, st] of Object.entries(items)) out[id] = f(id, st);
  return out;
}

const WITH_DISPENSER: readonly PrescriptionStatus[] = ['0002', '0003'];

function invalid(s: PrescriptionState, event: EventKind): TransitionResult {
  return refuse('PRESCRIPTION_INVALID_STATE_TRANSITION', `Cannot ${event} a prescription with status ${s.status} (${PRESCRIPTION_STATUS[s.status]}).`);
}

function checkHolder(s: PrescriptionState, dispenser: string, event: EventKind): TransitionResult | undefined {
  if (!WITH_DISPENSER.includes(s.status)) return invalid(s, event);
  if (s.dispenser !== dispenser) {
    return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', `Prescription is with another dispenser.`, s.dispenser ? { holder: s.dispenser } : {});
  }
  return undefined;
}

/** The prescription status after a dispense notification with these item statuses. */
function statusAfterDispense(items: Record<string, LineItemStatus>): PrescriptionStatus {
  const live = Object.values(items).filter((st) => st !== '0005' && st !== '0006');
  if (live.length === 0) return '0005';
  if (live.some((st) => st === '0003' || st === '0004' || st === '0008' || st === '0007')) return '0003';
  if (live.every((st) => st === '0002')) return '0007';
  return '0006';
}

/** The refusal of a dispense notification's item statuses against the items as they were (`base`), or undefined. */
function checkDispensedItems(s: PrescriptionState, base: Record<string, LineItemStatus>, reported: Record<string, LineItemStatus>): TransitionResult | undefined {
  for (const [id, st] of Object.entries(reported)) {
    const cur = base[id];
    if (cur === undefined) return refuse('ITEM_NOT_FOUND', `Line item ${id} is not on prescription ${s.prescriptionId}.`);
    if (!DISPENSED_ITEM_STATUSES.includes(st)) return refuse('PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', `Line item status ${st} cannot be reported by a dispense notification.`);
    // Finished items (dispensed, not dispensed, cancelled, expired) cannot change again.
    if (cur === '0001' || cur === '0002' || cur === '0005' || cur === '0006') {
      return refuse('PRESCRIPTION_INVALID_LINE_STATE_TRANSITION', `Line item ${id} has status ${cur} (${LINE_ITEM_STATUS[cur]}) and cannot become ${st}.`);
    }
  }
  return undefined;
}

/**
 * A dispense notification amendment: it must name (`replaces`) the latest dispense notification of
 * the prescription, neither withdrawn nor already replaced, else DISPENSE_AMEND_IDENTIFIER_MISMATCH;
 * its item statuses then take the place of that notification's (checked against the items as they
 * were before it), and its history entry records the change from before the replaced one, so a
 * withdrawal undoes both.
 */
function amend(s: PrescriptionState, e: Extract<PrescriptionEvent, { kind: 'amend' }>): TransitionResult {
  if (!['0003', '0006', '0007'].includes(s.status)) return invalid(s, 'amend');
  if (s.dispenser !== e.dispenser) return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser.', s.dispenser ? { holder: s.dispenser } : {});
  const last = [...s.history].reverse().find((h) => h.event === 'dispense' || h.event === 'amend' || h.event === 'withdraw' || h.event === 'issue');
  if (!last || (last.event !== 'dispense' && last.event !== 'amend') || last.message === undefined || last.message !== e.replaces) {
    return refuse('DISPENSE_AMEND_IDENTIFIER_MISMATCH', `The amendment replaces ${e.replaces}, which is not the latest dispense notification of prescription ${s.prescriptionId}.`);
  }
  const base = { ...s.items };
  for (const [id, [before]] of Object.entries(last.items ?? {})) base[id] = before;
  const badItem = checkDispensedItems(s, base, e.items);
  if (badItem) return badItem;
  const items = { ...base, ...e.items };
  const changed: Record<string, [LineItemStatus, LineItemStatus]> = {};
  for (const [id, st] of Object.entries(items)) if (base[id] !== st) changed[id] = [base[id]!, st];
  const to = statusAfterDispense(items);
  const entry: HistoryEntry = { at: e.at, event: 'amend', from: last.from, to, ...(Object.keys(changed).length ? { items: changed } : {}), by: e.dispenser, ...(s.repeat ? { issue: s.repeat.issue } : {}), ...(e.message ? { message: e.message } : {}) };
  return { ok: true, state: nextIssue({ ...s, status: to, items, history: [...s.history, entry] }, e.at) };
}

/**
 * A claim amendment: it must name (`replaces`) the latest claim (or claim amendment) of the issue it
 * amends, else DISPENSE_AMEND_IDENTIFIER_MISMATCH ("Replacement target does not match existing claim
 * reference on record."); the issue stays Claimed / No-Claimed.
 */
function claimAmend(s: PrescriptionState, e: Extract<PrescriptionEvent, { kind: 'claim-amend' }>): TransitionResult {
  const claims = s.history.filter((h) => h.event === 'claim' || h.event === 'claim-amend');
  const target = [...claims].reverse().find((h) => h.message === e.replaces);
  const latestOfIssue = target ? [...claims].reverse().find((h) => h.issue === target.issue) : undefined;
  if (!target || latestOfIssue !== target) {
    return refuse('DISPENSE_AMEND_IDENTIFIER_MISMATCH', `The claim amendment replaces ${e.replaces}, which is not the latest claim on record for prescription ${s.prescriptionId}.`);
  }
  if (target.by !== e.dispenser) return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'The claim was made by another dispenser.', target.by ? { holder: target.by } : {});
  const entry: HistoryEntry = { at: e.at, event: 'claim-amend', from: target.to, to: target.to, by: e.dispenser, ...(target.issue !== undefined ? { issue: target.issue } : {}), ...(e.message ? { message: e.message } : {}) };
  return { ok: true, state: { ...s, history: [...s.history, entry] } };
}

/** Applies one event; never mutates `s`. */
export function applyEvent(s: PrescriptionState, e: PrescriptionEvent): TransitionResult {
  switch (e.kind) {
    case 'release':
      if (s.status === '0005') return refuse('PRESCRIPTION_INVALID_STATE_TRANSITION', 'Prescription has been cancelled.');
      if (WITH_DISPENSER.includes(s.status) && s.dispenser !== e.dispenser) {
        return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser.', s.dispenser ? { holder: s.dispenser } : {});
      }
      if (s.status !== '0001') return invalid(s, 'release');
      {
        const notBefore = issueNotBefore(s);
        if (notBefore !== undefined && Date.parse(e.at) < Date.parse(notBefore)) {
          return refuse('PRESCRIPTION_INVALID_STATE_TRANSITION', `Issue ${s.repeat!.issue} of prescription ${s.prescriptionId} cannot be released before ${notBefore}.`, { notBefore });
        }
      }
      return { ok: true, state: moved(s, 'release', e.at, '0002', mapItems(s.items, (_, st) => (st === '0007' ? '0008' : st)), e.dispenser, { dispenser: e.dispenser }) };
    case 'return': {
      const bad = checkHolder(s, e.dispenser, 'return');
      if (bad) return bad;
      if (s.status !== '0002') return invalid(s, 'return');
      return { ok: true, state: moved(s, 'return', e.at, '0001', mapItems(s.items, (_, st) => (st === '0008' ? '0007' : st)), e.dispenser, { clearDispenser: true }) };
    }
    case 'dispense': {
      const bad = checkHolder(s, e.dispenser, 'dispense');
      if (bad) return bad;
      const badItem = checkDispensedItems(s, s.items, e.items);
      if (badItem) return badItem;
      const items = { ...s.items, ...e.items };
      const dispensed = moved(s, 'dispense', e.at, statusAfterDispense(items), items, e.dispenser);
      const entry = dispensed.history[dispensed.history.length - 1]!;
      if (s.repeat) entry.issue = s.repeat.issue;
      if (e.message) entry.message = e.message;
      return { ok: true, state: nextIssue(dispensed, e.at) };
    }
    case 'amend':
      return amend(s, e);
    case 'claim-amend':
      return claimAmend(s, e);
    case 'withdraw': {
      if (!['0003', '0006', '0007'].includes(s.status)) return invalid(s, 'withdraw');
      if (s.dispenser !== e.dispenser) return refuse('PRESCRIPTION_WITH_ANOTHER_DISPENSER', 'Prescription is with another dispenser.', s.dispenser ? { holder: s.dispenser } : {});
      // The last dispense notification is withdrawn: items return to the statuses before it.
      const last = [...s.history].reverse().find((h) => h.event === 'dispense' || h.event === 'amend');
      if (!last) return invalid(s, 'withdraw');
      const items = { ...s.items };
      for (const [id, [before]] of Object.entries(last.items ?? {})) items[id] = before;
      return { ok: true, state: moved(s, 'withdraw', e.at, last.from, items, e.dispenser) };
    }
    case 'claim':
      return claim(s, e);
    case 'expire':
      if (!['0001', '0002', '0003'].includes(s.status)) return invalid(s, 'expire');
      return { ok: true, state: moved(s, 'expire', e.at, '0004', mapItems(s.items, (_, st) => (['0007', '0008', '0003', '0004'].includes(st) ? '0006' : st)), undefined) };
    case 'cancel':
      return cancel(s, e);
  }
}

function cancel(s: PrescriptionState, e: Extract<PrescriptionEvent, { kind: 'cancel' }>): TransitionResult {
  const targets = e.items ?? Object.keys(s.items);
  for (const id of targets) if (s.items[id] === undefined) return refuse('ITEM_NOT_FOUND', `Line item ${id} is not on prescription ${s.prescriptionId}.`, { cancellation: 'R-0008' });
  const fail = (code: CancellationCode): TransitionResult => refuse('PRESCRIPTION_INVALID_STATE_TRANSITION', CANCELLATION_RESPONSE[code], { cancellation: code });
  switch (s.status) {
    case '0001': {
      if (targets.every((id) => s.items[id] === '0005')) return fail('R-0006');
      const items = mapItems(s.items, (id, st) => (targets.includes(id) ? '0005' : st));
      const to: PrescriptionStatus = Object.values(items).every((st) => st === '0005') ? '0005' : '0001';
      return { ok: true, state: moved(s, 'cancel', e.at, to, items, e.prescriber), cancellation: 'R-0001' };
    }
    case '0002':
    case '0003': {
      if (s.pendingCancellation && s.pendingCancellation.by !== e.prescriber) return fail('R-0007');
      const code: CancellationCode = s.status === '0002' ? 'R-0002' : 'R-0003';
      const state: PrescriptionState = { ...s, pendingCancellation: { by: e.prescriber, at: e.at } };
      return { ok: true, state, cancellation: code };
    }
    case '0004':
      return fail('R-0005');
    case '0005':
      return fail('R-0006');
    case '0007':
    case '0009':
      return fail('R-0010');
    case '0006':
    case '0008':
      return fail('R-0004');
  }
}
