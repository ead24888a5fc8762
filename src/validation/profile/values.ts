/**
 * Value comparisons of profiling (FHIR R4 elementdefinition.html: `fixed[x]` "exact match",
 * `pattern[x]` "the instance must contain at least the pattern's values"; `minValue[x]`/`maxValue[x]`
 * over date, dateTime, instant, time, decimal, integer, positiveInt, unsignedInt and Quantity;
 * `maxLength`) and the JSON naming of choice types (json.html §2.6.2.4 `value[x]` -> `valueQuantity`).
 */
import type { ElementDefinition } from 'fhir/r4';
import { allStructureDefinitions } from '../../definitions/structure-definitions';
import { compileFhirPath, type CompiledFhirPath } from './fhirpath-r4';

let primitives: ReadonlySet<string> | undefined;

/** The R4 primitive type names (`string`, `dateTime`, ...). */
export function primitiveTypes(): ReadonlySet<string> {
  if (!primitives) {
    const s = new Set<string>();
    for (const sd of allStructureDefinitions()) if (sd.kind === 'primitive-type') s.add(sd.type);
    primitives = s;
  }
  return primitives;
}

const SYSTEM_PREFIX = 'http://hl7.org/fhirpath/System.';

/** Whether a type code denotes a JSON primitive (an R4 primitive or a FHIRPath system type). */
export function isPrimitiveType(code: string): boolean {
  return code.startsWith(SYSTEM_PREFIX) || primitiveTypes().has(code);
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The type code named by the suffix of a choice key (`Quantity`, `DateTime` -> `dateTime`), or undefined. */
export function typeOfChoiceSuffix(suffix: string): string | undefined {
  if (suffix === '' || suffix.charAt(0) !== suffix.charAt(0).toUpperCase()) return undefined;
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  if (primitiveTypes().has(lower)) return lower;
  return /^[A-Z][A-Za-z]*$/.test(suffix) ? suffix : undefined;
}

/** The `fixed[x]` / `pattern[x]` / `minValue[x]` / `maxValue[x]` of a definition: type and value. */
export function typedProperty(def: ElementDefinition, prefix: 'fixed' | 'pattern' | 'minValue' | 'maxValue'): { type: string; value: unknown } | undefined {
  for (const key of Object.keys(def)) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      const type = typeOfChoiceSuffix(key.slice(prefix.length));
      if (type) return { type, value: (def as unknown as Record<string, unknown>)[key] };
    }
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function primitiveEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeof a === 'number' && typeof b === 'string') return a === Number(b);
  if (typeof a === 'string' && typeof b === 'number') return Number(a) === b;
  return a === b;
}

/** Exact equality of `fixed[x]`: same keys, same values, arrays in the same order. */
export function fixedMatches(fixed: unknown, value: unknown): boolean {
  if (Array.isArray(fixed)) {
    return Array.isArray(value) && value.length === fixed.length && fixed.every((f, i) => fixedMatches(f, value[i]));
  }
  if (isObject(fixed)) {
    if (!isObject(value)) return false;
    const fk = Object.keys(fixed);
    const vk = Object.keys(value).filter((k) => k !== 'id');
    return vk.length === fk.filter((k) => k !== 'id').length && fk.every((k) => k === 'id' || fixedMatches(fixed[k], value[k]));
  }
  return primitiveEqual(fixed, value);
}

/** `pattern[x]` matching: every property of the pattern is present with a matching value; each item of a pattern array matched by some item. */
export function patternMatches(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : [value];
    return pattern.every((p) => items.some((v) => patternMatches(p, v)));
  }
  if (isObject(pattern)) {
    if (!isObject(value)) return false;
    return Object.keys(pattern).every((k) => value[k] !== undefined && patternMatches(pattern[k], value[k]));
  }
  return primitiveEqual(pattern, value);
}

/** A date/time as [low, high] epoch ms (partial dates cover their whole period); undefined when unparsable. */
function timeRange(s: string): [number, number] | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, tz] = m;
  const year = Number(y);
  if (mo === undefined) return [Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1) - 1];
  const month = Number(mo) - 1;
  if (d === undefined) return [Date.UTC(year, month, 1), Date.UTC(year, month + 1, 1) - 1];
  const day = Number(d);
  if (h === undefined) return [Date.UTC(year, month, day), Date.UTC(year, month, day + 1) - 1];
  let t = Date.UTC(year, month, day, Number(h), Number(mi), Number(sec ?? 0), Math.round(Number(frac ?? 0) * 1000));
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    t -= sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000;
  }
  const high = sec === undefined ? t + 59_999 : t;
  return [t, high];
}

function timeOfDay(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?$/.exec(s);
  return m ? (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0)) * 1000 + Math.round(Number(m[4] ?? 0) * 1000) : undefined;
}

const UCUM = 'http://unitsofmeasure.org';

/** Milliseconds of the UCUM time units (calendar units as their mean lengths). */
const TIME_UNIT_MS: Readonly<Record<string, number>> = {
  a: 365.25 * 86_400_000,
  mo: 30.4375 * 86_400_000,
  wk: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  min: 60_000,
  s: 1000,
  ms: 1,
};

const quantityComparators = new Map<string, CompiledFhirPath>();

/** `value OP bound` over Quantities with UCUM conversion (fhirpath.js quantity comparison), or undefined. */
function compareQuantities(value: Record<string, unknown>, b: Record<string, unknown>, side: 'min' | 'max'): boolean | undefined {
  const code = typeof b.code === 'string' ? b.code : undefined;
  if (typeof b.value !== 'number' || typeof value.value !== 'number') return undefined;
  const sameUnit = (b.code ?? b.unit) === (value.code ?? value.unit) && (b.system === undefined || value.system === undefined || b.system === value.system);
  if (sameUnit) return side === 'min' ? value.value >= b.value : value.value <= b.value;
  if (!code || b.system !== UCUM || value.system !== UCUM || !/^[^'\\]+$/.test(code)) return undefined;
  const expr = `$this ${side === 'min' ? '>=' : '<='} ${b.value} '${code}'`;
  let fn = quantityComparators.get(expr);
  if (!fn) {
    fn = compileFhirPath('Quantity', expr);
    quantityComparators.set(expr, fn);
  }
  try {
    const r = fn(value);
    return r[0] === true ? true : r[0] === false ? false : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a value satisfies a `minValue[x]` (side `min`) or `maxValue[x]` (`max`) bound: undefined
 * when they cannot be compared (different unit dimensions, unparsable values). Partial dates satisfy
 * a bound when any instant of their period does. A Duration bound on a date/time is relative to the
 * current time: min = now - duration, max = now + duration.
 */
export function satisfiesBound(value: unknown, bound: { type: string; value: unknown }, side: 'min' | 'max', now = Date.now()): boolean | undefined {
  const b = bound.value;
  if (typeof b === 'number' && typeof value === 'number') return side === 'min' ? value >= b : value <= b;
  if (typeof value === 'string' && isObject(b) && typeof b.value === 'number') {
    const unitMs = TIME_UNIT_MS[String(b.code ?? b.unit ?? '')];
    const v = timeRange(value);
    if (unitMs === undefined || !v) return undefined;
    const edge = side === 'min' ? now - b.value * unitMs : now + b.value * unitMs;
    return side === 'min' ? v[1] >= edge : v[0] <= edge;
  }
  if (typeof b === 'string' && typeof value === 'string') {
    if (bound.type === 'time') {
      const v = timeOfDay(value);
      const t = timeOfDay(b);
      return v === undefined || t === undefined ? undefined : side === 'min' ? v >= t : v <= t;
    }
    const v = timeRange(value);
    const t = timeRange(b);
    if (!v || !t) return undefined;
    return side === 'min' ? v[1] >= t[0] : v[0] <= t[1];
  }
  if (isObject(b) && isObject(value)) return compareQuantities(value, b, side);
  return undefined;
}

/** The length of a string in Unicode code points (as maxLength counts characters). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
