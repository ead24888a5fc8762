/**
 * The short-form prescription ID (EPS, `MedicationRequest.groupIdentifier.value` with system
 * https://fhir.nhs.uk/Id/prescription-order-number): `XXXXXX-XXXXXX-XXXXXC`, six hexadecimal
 * characters, the prescriber's six-character ODS code, five hexadecimal characters and a check
 * character computed with ISO/IEC 7064 MOD 37-2 over the 17 preceding characters (hyphens removed),
 * alphabet `0-9A-Z+`.
 *
 * MOD 37-2: for each character `total = ((total + value) * 2) mod 37`; the check value is
 * `(38 - total) mod 37`, and 36 is written `+`.
 */

export const PRESCRIPTION_ORDER_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-number';

/** The MOD 37-2 alphabet, value = index. */
export const MOD37_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+';

const SHORT_FORM = /^[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]$/;

/** The MOD 37-2 check character of `body` (characters of the alphabet, case-sensitive), or undefined. */
export function mod37CheckCharacter(body: string): string | undefined {
  let total = 0;
  for (const ch of body) {
    const v = MOD37_ALPHABET.indexOf(ch);
    if (v < 0 || ch === '+') return undefined;
    total = ((total + v) * 2) % 37;
  }
  return MOD37_ALPHABET[(38 - total) % 37];
}

export type PrescriptionIdProblem = 'format' | 'checksum';

/** Why `id` is not a valid short-form prescription ID, or undefined when it is. */
export function prescriptionIdProblem(id: string): PrescriptionIdProblem | undefined {
  if (typeof id !== 'string' || !SHORT_FORM.test(id)) return 'format';
  const compact = id.replace(/-/g, '');
  return mod37CheckCharacter(compact.slice(0, 17)) === compact[17] ? undefined : 'checksum';
}

export function isValidPrescriptionId(id: string): boolean {
  return prescriptionIdProblem(id) === undefined;
}

/**
 * A new short-form prescription ID for the prescriber's ODS code: `random` supplies 11 hexadecimal
 * characters (6 + 5). The ODS code is upper-cased and left-padded with zeros to six characters.
 */
export function newPrescriptionId(odsCode: string, random: string): string {
  const ods = odsCode.toUpperCase().padStart(6, '0');
  if (!/^[0-9A-Z]{6}$/.test(ods)) throw new Error(`not an ODS code: ${odsCode}`);
  const hex = random.toUpperCase();
  if (!/^[0-9A-F]{11}$/.test(hex)) throw new Error('random part must be 11 hexadecimal characters');
  const body = `${hex.slice(0, 6)}${ods}${hex.slice(6)}`;
  const check = mod37CheckCharacter(body);
  if (check === undefined) throw new Error('unreachable: body outside the alphabet');
  return `${body.slice(0, 6)}-${body.slice(6, 12)}-${body.slice(12)}${check}`;
}
