/**
 * Prescription expiry (EPS-task-business-status 0004 Expired; MedicationRequest
 * `dispenseRequest.validityPeriod`, electronic-prescription-service-api.yaml ReleaseMedicationRequest:
 * "End date of an issue; capped at 12 months … with the time set to 23:59:59 on the last valid day").
 *
 * A prescription's expiry is the earliest `validityPeriod.end` of its MedicationRequests; one without
 * any end expires DEFAULT_VALIDITY_MONTHS after its `validityPeriod.start` (else `authoredOn`), at the
 * end of that day UTC — the specification gives no default, this is the six months of the Human
 * Medicines Regulations 2012 (reg. 217) for prescription-only medicines. Then:
 *
 * - Repeat dispensing (eRD, src/spine/eps/repeat-dispensing.ts): the eRD as a whole expires at that
 *   date (its default without an end: ERD_MAX_VALIDITY_MONTHS), capped at ERD_MAX_VALIDITY_MONTHS
 *   after its start ("capped at 12 months").
 * - Controlled drugs of Schedules 2, 3 and 4 (Extension-DM-ControlledDrug `schedule`, CodeSystem
 *   https://fhir.nhs.uk/CodeSystem/medicationrequest-controlled-drug CD2 / CD3 / CD4 on any
 *   MedicationRequest; ControlledDrug.yaml): at most CONTROLLED_DRUG_VALIDITY_DAYS after the
 *   "appropriate date", the later of the signing date (`authoredOn`) and the start date
 *   (`validityPeriod.start`) — Human Medicines Regulations 2012 reg. 217 / Misuse of Drugs
 *   Regulations 2001 reg. 15-16. Schedule 5 (CD5) and CD1 keep the six months.
 *
 * Expiry is judged by `expireIfDue` when a prescription is touched, and by the expiry sweep
 * (src/facades/eps/expiry-sweep.ts, ADR 38) for prescriptions nobody touches.
 */
import type { MedicationRequest } from 'fhir/r4';
import { isRepeatDispensing } from './repeat-dispensing';
import { applyEvent, type PrescriptionState } from './state-machine';

export const DEFAULT_VALIDITY_MONTHS = 6;
export const ERD_MAX_VALIDITY_MONTHS = 12;
export const CONTROLLED_DRUG_VALIDITY_DAYS = 28;
export const CONTROLLED_DRUG_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ControlledDrug';
export const CONTROLLED_DRUG_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/medicationrequest-controlled-drug';
/** The schedules whose prescriptions are valid 28 days. */
export const TWENTY_EIGHT_DAY_SCHEDULES: readonly string[] = ['CD2', 'CD3', 'CD4'];

const DAY_MS = 86_400_000;

/** The end of the last valid day (UTC) of a FHIR date, or the instant of a dateTime; undefined when unreadable. */
function endOf(value: string): Date | undefined {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T23:59:59Z`) : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** 23:59:59 UTC of the day of `d`. */
function endOfDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59));
}

function addMonths(d: Date, months: number): Date {
  const out = new Date(d.getTime());
  out.setUTCMonth(out.getUTCMonth() + months);
  return out;
}

function dates(values: ReadonlyArray<string | undefined>): Date[] {
  return values.filter((s): s is string => typeof s === 'string').map(endOf).filter((d): d is Date => d !== undefined);
}

/** The controlled-drug schedule code (CD1 … CD5) of a MedicationRequest's Extension-DM-ControlledDrug, or undefined. */
export function controlledDrugSchedule(m: MedicationRequest): string | undefined {
  const ext = m.extension?.find((e) => e.url === CONTROLLED_DRUG_EXTENSION);
  const coding = ext?.extension?.find((e) => e.url === 'schedule')?.valueCoding;
  return coding && (coding.system === undefined || coding.system === CONTROLLED_DRUG_SYSTEM) ? coding.code : undefined;
}

/** Whether a prescription is under the 28-day rule (a MedicationRequest names Schedule 2, 3 or 4). */
export function isTwentyEightDayControlledDrug(mrs: readonly MedicationRequest[]): boolean {
  return mrs.some((m) => TWENTY_EIGHT_DAY_SCHEDULES.includes(controlledDrugSchedule(m) ?? ''));
}

/** The instant a prescription expires (ISO dateTime), or undefined when its MedicationRequests give no date. */
export function prescriptionExpiry(mrs: readonly MedicationRequest[]): string | undefined {
  const erd = mrs.some(isRepeatDispensing);
  const ends = dates(mrs.map((m) => m.dispenseRequest?.validityPeriod?.end));
  const starts = dates(mrs.map((m) => m.dispenseRequest?.validityPeriod?.start ?? m.authoredOn));
  const start = starts.length ? new Date(Math.min(...starts.map((d) => d.getTime()))) : undefined;
  const candidates: number[] = [];
  if (ends.length) candidates.push(Math.min(...ends.map((d) => d.getTime())));
  else if (start) candidates.push(endOfDay(addMonths(start, erd ? ERD_MAX_VALIDITY_MONTHS : DEFAULT_VALIDITY_MONTHS)).getTime());
  if (erd && start) candidates.push(endOfDay(addMonths(start, ERD_MAX_VALIDITY_MONTHS)).getTime());
  if (isTwentyEightDayControlledDrug(mrs)) {
    // The appropriate date: the later of the signing date and the start date (per MedicationRequest; the earliest governs).
    const appropriate = dates(mrs.flatMap((m) => {
      const signed = m.authoredOn ? endOf(m.authoredOn) : undefined;
      const from = m.dispenseRequest?.validityPeriod?.start ? endOf(m.dispenseRequest.validityPeriod.start) : undefined;
      const later = signed && from ? (signed.getTime() >= from.getTime() ? signed : from) : (signed ?? from);
      return later ? [later.toISOString()] : [];
    }));
    if (appropriate.length) candidates.push(endOfDay(new Date(Math.min(...appropriate.map((d) => d.getTime())) + CONTROLLED_DRUG_VALIDITY_DAYS * DAY_MS)).getTime());
  }
  const finite = candidates.filter((t) => Number.isFinite(t));
  return finite.length ? new Date(Math.min(...finite)).toISOString() : undefined;
}

/** Whether `expiry` has passed at `now`. */
export function hasExpired(expiry: string | undefined, now: Date): boolean {
  if (expiry === undefined) return false;
  const t = Date.parse(expiry);
  return !Number.isNaN(t) && now.getTime() > t;
}

/**
 * The state after an `expire` transition when `expiry` has passed at `now` and the prescription can
 * still expire (0001 To be Dispensed, 0002 / 0003 With Dispenser); else `s` unchanged.
 */
export function expireIfDue(s: PrescriptionState, expiry: string | undefined, now: Date): PrescriptionState {
  if (!hasExpired(expiry, now) || !['0001', '0002', '0003'].includes(s.status)) return s;
  const r = applyEvent(s, { kind: 'expire', at: now.toISOString() });
  return r.ok ? r.state : s;
}
