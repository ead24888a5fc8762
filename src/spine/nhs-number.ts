/**
 * NHS Number (NHS Data Dictionary "NHS Number"; PDS FHIR API `Patient.identifier` with system
 * https://fhir.nhs.uk/Id/nhs-number): format, Modulus 11 check digit, the 999 test range, and the
 * NHS Number of a Patient resource.
 *
 * Check digit: weight digits 1-9 by 10..2 and sum; `11 - (sum mod 11)`; 11 becomes 0; 10 means the
 * number is invalid and never issued.
 */
import type { Patient } from 'fhir/r4';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** Lowest and highest NHS Numbers of the published test range (valid checksums, never issued). */
export const TEST_RANGE_LOW = '9990000000';
export const TEST_RANGE_HIGH = '9999999999';

const TEN_DIGITS = /^[0-9]{10}$/;
const NINE_DIGITS = /^[0-9]{9}$/;

/**
 * Strips spaces and hyphens (the 3-3-4 display form) and returns the 10 digits, or undefined when
 * what remains is not exactly 10 ASCII digits. The check digit is not verified here: see
 * `isValidNhsNumber`.
 */
export function normaliseNhsNumber(s: string): string | undefined {
  if (typeof s !== 'string' || s.length > 64) return undefined;
  const compact = s.trim().replace(/[ -]/g, '');
  return TEN_DIGITS.test(compact) ? compact : undefined;
}

/** The Modulus 11 check digit of the first nine digits, or undefined when it would be 10 (never issued). */
export function checkDigit(nine: string): number | undefined {
  if (!NINE_DIGITS.test(nine)) return undefined;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (nine.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return undefined;
  return check;
}

/** True when `s` is exactly 10 digits (no separators) with a correct Modulus 11 check digit. */
export function isValidNhsNumber(s: string): boolean {
  if (typeof s !== 'string' || !TEN_DIGITS.test(s)) return false;
  const expected = checkDigit(s.slice(0, 9));
  return expected !== undefined && expected === s.charCodeAt(9) - 48;
}

/** True for a valid number in the 999 000 0000 - 999 999 9999 test range. */
export function isTestRangeNhsNumber(s: string): boolean {
  return isValidNhsNumber(s) && s >= TEST_RANGE_LOW && s <= TEST_RANGE_HIGH;
}

/**
 * The Patient's `identifier` entries by position, as far as they are objects (undefined for `null`,
 * strings, ...). These rules also see request bodies before the engine has validated their shape: a
 * malformed `identifier` (not an array, entries that are not objects) yields no NHS Number here and
 * is reported by the validation pipeline instead of throwing a TypeError.
 */
export function identifierEntries(patient: Patient): Array<{ system?: unknown; value?: unknown } | undefined> {
  const list: unknown = (patient as { identifier?: unknown }).identifier;
  if (!Array.isArray(list)) return [];
  return list.map((x: unknown) => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as { system?: unknown; value?: unknown }) : undefined));
}

/** The value of the Patient's first identifier with the NHS Number system (as written, not normalised). */
export function nhsNumberOf(patient: Patient): string | undefined {
  for (const id of identifierEntries(patient)) {
    if (id?.system === NHS_NUMBER_SYSTEM && typeof id.value === 'string') return id.value;
  }
  return undefined;
}

/** Index of the first NHS Number identifier of the Patient, or -1. */
export function nhsNumberIndexOf(patient: Patient): number {
  return identifierEntries(patient).findIndex((id) => id?.system === NHS_NUMBER_SYSTEM);
}

/** Completes nine digits into a valid NHS Number, or undefined when the check digit would be 10. */
export function withCheckDigit(nine: string): string | undefined {
  const c = checkDigit(nine);
  return c === undefined ? undefined : `${nine}${c}`;
}
