/**
 * Prescription expiry (EPS-task-business-status 0004 Expired; MedicationRequest
 * `dispenseRequest.validityPeriod`, electronic-prescription-service-api.yaml ReleaseMedicationRequest:
 * "End date of an issue; capped at 12 months … with the time set to 23:59:59 on the last valid day").
 * A prescription's expiry is the earliest `validityPeriod.end` of its MedicationRequests; one without
 * any end expires DEFAULT_VALIDITY_MONTHS after its `validityPeriod.start` (else `authoredOn`) — the
 * specification gives no default, this is the six months of the Human Medicines Regulations 2012
 * (reg. 217) for prescription-only medicines; the 28 days of Schedule 2-4 controlled drugs are not
 * modelled. Expiry is judged when a prescription is touched (`expireIfDue`), never by a timer.
 */
import type { MedicationRequest } from 'fhir/r4';
import { applyEvent, type PrescriptionState } from './state-machine';

export const DEFAULT_VALIDITY_MONTHS = 6;

/** The end of the last valid day (UTC) of a FHIR date or dateTime, or undefined when unreadable. */
function endOf(value: string): Date | undefined {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T23:59:59Z`) : new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function addMonths(d: Date, months: number): Date {
  const out = new Date(d.getTime());
  out.setUTCMonth(out.getUTCMonth() + months);
  return out;
}

/** The instant a prescription expires (ISO dateTime), or undefined when its MedicationRequests give no date. */
export function prescriptionExpiry(mrs: readonly MedicationRequest[]): string | undefined {
  const ends = mrs.map((m) => m.dispenseRequest?.validityPeriod?.end).filter((e): e is string => typeof e === 'string').map(endOf).filter((d): d is Date => d !== undefined);
  if (ends.length) return new Date(Math.min(...ends.map((d) => d.getTime()))).toISOString();
  const starts = mrs.map((m) => m.dispenseRequest?.validityPeriod?.start ?? m.authoredOn).filter((s): s is string => typeof s === 'string').map(endOf).filter((d): d is Date => d !== undefined);
  if (!starts.length) return undefined;
  const end = addMonths(new Date(Math.min(...starts.map((d) => d.getTime()))), DEFAULT_VALIDITY_MONTHS);
  return Number.isNaN(end.getTime()) ? undefined : end.toISOString();
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
