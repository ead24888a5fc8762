/**
 * Shortcuts for two frequent R4 base invariants that native-invariants.ts does not compile (FHIR R4
 * elementdefinition.html `constraint.expression`, fhirpath.html): each answers only where the
 * verdict is plain from the JSON, and FALLBACK (fhirpath.js decides) everywhere else.
 * - per-1 (Period) "If present, start SHALL have a lower value than end": a bound absent, or both a
 *   dateTime with seconds and a time zone (compared as instants), or both a date of the same
 *   precision (YYYY, YYYY-MM or YYYY-MM-DD, compared as text, which is FHIRPath's component-wise
 *   comparison of equal precisions), no `_start`/`_end`;
 * - obs-7 (Observation) "If code is the same as a component code then the value element associated
 *   with the code SHALL NOT be present": satisfied when there is no value[x] or no component.
 * Keyed by constraint key and exact expression, so a profile's changed expression is never shortcut.
 */
import { FALLBACK, type NativeInvariant } from './native-invariants';

const PER_1 = 'start.hasValue().not() or end.hasValue().not() or (start <= end)';
const OBS_7 = 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()';

/** A dateTime with seconds and a time zone (datatypes.html#dateTime), without fractional seconds. */
const INSTANT_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A date without a time (datatypes.html#date), any of its three precisions; year 0000 is not one. */
const DATE_RE = /^(?!0000)\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

/** Whether the calendar has the day of `s` (Date.parse would move 30 February to March). */
function realDay(s: string): boolean {
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  return new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
}

function per1(value: unknown): ReturnType<NativeInvariant> {
  if (!isObject(value) || '_start' in value || '_end' in value) return FALLBACK;
  const { start, end } = value;
  if (start === undefined || end === undefined) return true;
  if (typeof start === 'string' && typeof end === 'string' && start.length === end.length && DATE_RE.test(start) && DATE_RE.test(end)) {
    if (start.length === 10 && (!realDay(start) || !realDay(end))) return FALLBACK;
    return start <= end;
  }
  if (typeof start !== 'string' || typeof end !== 'string' || !INSTANT_RE.test(start) || !INSTANT_RE.test(end) || !realDay(start) || !realDay(end)) return FALLBACK;
  const s = Date.parse(start);
  const e = Date.parse(end);
  if (Number.isNaN(s) || Number.isNaN(e)) return FALLBACK;
  return s <= e;
}

function obs7(value: unknown): ReturnType<NativeInvariant> {
  if (!isObject(value)) return FALLBACK;
  const keys = Object.keys(value);
  if (!keys.some((k) => k.startsWith('value') || k.startsWith('_value'))) return true;
  if (!keys.some((k) => k === 'component' || k === '_component')) return true;
  return FALLBACK;
}

/** The shortcut of a constraint, or undefined. */
export function invariantShortcut(key: string | undefined, expression: string): NativeInvariant | undefined {
  if (key === 'per-1' && expression === PER_1) return per1;
  if (key === 'obs-7' && expression === OBS_7) return obs7;
  return undefined;
}
