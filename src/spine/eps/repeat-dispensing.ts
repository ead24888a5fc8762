/**
 * Electronic repeat dispensing (eRD) of the EPS FHIR API: a prescription whose MedicationRequests
 * have `courseOfTherapyType` `continuous-repeat-dispensing`
 * (https://fhir.nhs.uk/CodeSystem/medicationrequest-course-of-therapy) is dispensed as a series of
 * issues, `dispenseRequest.numberOfRepeatsAllowed` + 1 of them (FHIR R4 MedicationRequest:
 * "repeats authorized after the initial dispense"), or the `numberOfRepeatsAllowed` of the
 * Extension-EPS-RepeatInformation on `basedOn` when the request carries none. Issue numbers are
 * 1-based, as Extension-UKCore-MedicationRepeatInformation `numberOfPrescriptionsIssued` of the
 * first issue is 1 in the examples, and as the dispensing messages' Extension-EPS-RepeatInformation
 * `numberOfRepeatsIssued` names the issue.
 *
 * Issue dates: issue 1 is releasable at once; issue n + 1 from `nextIssueNotBefore` — the date
 * issue n was finished (its dispense notification) plus the expected supply duration
 * (`dispenseRequest.expectedSupplyDuration`, "Duration of each issue in days; defaults to 28",
 * MedicationRequest.yaml) less EARLY_RELEASE_TOLERANCE_DAYS. The specification gives no tolerance;
 * seven days is the NHS eRD rule as PSNC describes it ("the Spine will automatically send the
 * nominated dispensing site a repeat dispensing prescription seven days before the expected end date
 * of the previous issue … 28 days after the date that the previous issue was marked as dispensed
 * unless the prescriber has specified a number of days supply for each issue"). The whole eRD's
 * validity is src/spine/eps/expiry.ts (validityPeriod.end, capped at 12 months).
 */
import type { Extension, MedicationRequest } from 'fhir/r4';
import { epsError } from './errors';

export const REPEAT_DISPENSING_COURSE = 'continuous-repeat-dispensing';
export const EPS_REPEAT_INFORMATION_EXTENSION = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation';
export const UKCORE_REPEAT_INFORMATION_EXTENSION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation';

const MR = 'Bundle.entry.resource.ofType(MedicationRequest)';

/** `expectedSupplyDuration` default (MedicationRequest.yaml: "defaults to 28"). */
export const DEFAULT_SUPPLY_DAYS = 28;
/** How many days before the end of the previous issue's supply the next issue may be released (PSNC eRD guidance; see the header). */
export const EARLY_RELEASE_TOLERANCE_DAYS = 7;
const DAY_MS = 86_400_000;
const DAYS_PER_UNIT: Readonly<Record<string, number>> = { d: 1, day: 1, days: 1, wk: 7, week: 7, weeks: 7 };

/** The days of one `expectedSupplyDuration` (UCUM `d` / `wk`, or the unit text), or undefined when unreadable. */
function supplyDaysOf(m: MedicationRequest): number | undefined {
  const d = m.dispenseRequest?.expectedSupplyDuration;
  if (typeof d?.value !== 'number' || !(d.value > 0) || !Number.isFinite(d.value)) return undefined;
  const per = DAYS_PER_UNIT[(d.code ?? d.unit ?? 'd').toLowerCase()];
  return per === undefined ? undefined : d.value * per;
}

/**
 * The days each issue of a repeat-dispensing prescription lasts: the shortest `expectedSupplyDuration`
 * of its MedicationRequests (the next issue is due when the first item runs out), else
 * DEFAULT_SUPPLY_DAYS; undefined when it is not repeat dispensing.
 */
export function expectedSupplyDays(mrs: readonly MedicationRequest[]): number | undefined {
  if (!mrs.some(isRepeatDispensing)) return undefined;
  const days = mrs.map(supplyDaysOf).filter((d): d is number => d !== undefined);
  return days.length ? Math.min(...days) : DEFAULT_SUPPLY_DAYS;
}

/** The earliest release of the next issue when the previous one was finished at `finishedAt` (see the header), or undefined when `finishedAt` is unreadable. */
export function nextIssueNotBefore(finishedAt: string, supplyDays: number = DEFAULT_SUPPLY_DAYS): string | undefined {
  const t = Date.parse(finishedAt);
  if (Number.isNaN(t)) return undefined;
  const d = new Date(t + Math.max(0, supplyDays - EARLY_RELEASE_TOLERANCE_DAYS) * DAY_MS);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function isRepeatDispensing(m: MedicationRequest): boolean {
  return m.courseOfTherapyType?.coding?.some((c) => c.code === REPEAT_DISPENSING_COURSE) ?? false;
}

function integerIn(ext: Extension[] | undefined, url: string): number | undefined {
  const e = ext?.find((x) => x.url === url);
  const v = e?.valueInteger ?? e?.valueUnsignedInt ?? e?.valuePositiveInt;
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** `numberOfRepeatsAllowed` / `numberOfRepeatsIssued` of an Extension-EPS-RepeatInformation among `ext`. */
export function epsRepeatInformation(ext: Extension[] | undefined): { allowed?: number; issued?: number } | undefined {
  const info = ext?.find((e) => e.url === EPS_REPEAT_INFORMATION_EXTENSION);
  if (!info) return undefined;
  const allowed = integerIn(info.extension, 'numberOfRepeatsAllowed');
  const issued = integerIn(info.extension, 'numberOfRepeatsIssued');
  return { ...(allowed !== undefined ? { allowed } : {}), ...(issued !== undefined ? { issued } : {}) };
}

function repeatsAllowedOf(m: MedicationRequest): number | undefined {
  const v = m.dispenseRequest?.numberOfRepeatsAllowed;
  if (v !== undefined) return v;
  for (const b of m.basedOn ?? []) {
    const allowed = epsRepeatInformation(b.extension)?.allowed;
    if (allowed !== undefined) return allowed;
  }
  return undefined;
}

/**
 * The repeats allowed of a repeat-dispensing prescription (undefined when it is not one): the same
 * non-negative integer on every MedicationRequest, else 400 (MISSING_VALUE / INVALID_VALUE with the
 * path of the field).
 */
export function repeatsAllowed(mrs: readonly MedicationRequest[]): number | undefined {
  if (!mrs.some(isRepeatDispensing)) return undefined;
  const values = mrs.map(repeatsAllowedOf);
  if (values.some((v) => v === undefined)) {
    throw epsError(400, 'required', 'MISSING_VALUE', 'A repeat dispensing MedicationRequest must give dispenseRequest.numberOfRepeatsAllowed.', `${MR}.dispenseRequest.numberOfRepeatsAllowed`);
  }
  const unique = [...new Set(values)];
  if (unique.length > 1) {
    throw epsError(400, 'value', 'INVALID_VALUE', `Expected all MedicationRequests to have the same value for dispenseRequest.numberOfRepeatsAllowed. Received [${unique.join(', ')}].`, `${MR}.dispenseRequest.numberOfRepeatsAllowed`);
  }
  const n = unique[0]!;
  if (!Number.isInteger(n) || n < 0 || n > 99) {
    throw epsError(400, 'value', 'INVALID_VALUE', 'dispenseRequest.numberOfRepeatsAllowed must be an integer from 0 to 99.', `${MR}.dispenseRequest.numberOfRepeatsAllowed`);
  }
  return n;
}

/** A MedicationRequest as released for `issue`: Extension-UKCore-MedicationRepeatInformation `numberOfPrescriptionsIssued` = the issue. */
export function releasedForIssue(m: MedicationRequest, issue: number): MedicationRequest {
  const others = (m.extension ?? []).filter((e) => e.url !== UKCORE_REPEAT_INFORMATION_EXTENSION);
  const current = (m.extension ?? []).find((e) => e.url === UKCORE_REPEAT_INFORMATION_EXTENSION);
  const sub = (current?.extension ?? []).filter((e) => e.url !== 'numberOfPrescriptionsIssued');
  return { ...m, extension: [...others, { url: UKCORE_REPEAT_INFORMATION_EXTENSION, extension: [...sub, { url: 'numberOfPrescriptionsIssued', valueUnsignedInt: issue }] }] };
}
