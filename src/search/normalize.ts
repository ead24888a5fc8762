/**
 * Value normalisation for search (FHIR R4 §3.1.1.4 search.html "Search Parameter Types": string,
 * date, number, quantity; and datatypes.html for the date/dateTime/instant/Period/Timing formats).
 *
 * Both sides of a search go through these functions: index extraction on write (extract.ts) and query
 * parsing (parse.ts), so stored values and query values are always comparable.
 *
 * - Strings: Unicode NFD, combining marks removed (accents), lower case, runs of whitespace collapsed
 *   to one space, trimmed. Punctuation is kept.
 * - Dates: a FHIR date, dateTime or instant (or a partial date: year, year-month) becomes the inclusive
 *   range [low, high] of epoch milliseconds covered by its precision. A value without a timezone
 *   (every date, and a dateTime without offset) is taken as UTC: the server has no better knowledge
 *   of the writer's zone, and UTC keeps index entries stable whatever the host's zone is.
 *   Fractional seconds are kept to the millisecond; a fraction with more digits is truncated.
 * - Numbers: the range implied by the written precision (§3.1.1.4.2): half a unit of the last written
 *   digit on each side, the upper end excluded as the spec's `[99.5, 100.5)`: `100` -> [99.5,
 *   100.5 - ulp], `1.0` -> [0.95, 1.05 - ulp], `1e2` -> [50, 150 - ulp]. The bounds are inclusive (the
 *   contract of index-entry.ts), so the high bound is the largest double below the open end, as a
 *   date's high bound is the last millisecond of its precision: adjacent ranges (`0.01` and `0.02`)
 *   then do not overlap, which `sa` / `eb` rely on.
 */
import { MAX_INSTANT, MIN_INSTANT } from './index-entry';

export interface Range {
  low: number;
  high: number;
}

/** String normalisation used by string index entries and string search values. */
export function normalizeString(s: string): string {
  return s.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '').replace(/\s+/g, ' ').trim();
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, ms);
  return dt.getTime();
}

function daysInMonth(y: number, mo: number): number {
  return new Date(utc(y, mo + 1, 1) - 1).getUTCDate();
}

/**
 * Parses a FHIR date, dateTime or instant (also partial: `2020`, `2020-03`, and `2020-03-04T10:00`
 * without seconds, as search values allow) into its inclusive epoch-ms range. Returns undefined for
 * anything that is not a valid value (including impossible dates such as 2021-02-30).
 */
export function parseDateRange(text: string): Range | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const y = Number(m[1]);
  if (y < 1) return undefined;
  if (m[2] === undefined) return { low: utc(y, 1, 1), high: utc(y + 1, 1, 1) - 1 };
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return undefined;
  if (m[3] === undefined) return { low: utc(y, mo, 1), high: utc(y, mo + 1, 1) - 1 };
  const d = Number(m[3]);
  if (d < 1 || d > daysInMonth(y, mo)) return undefined;
  if (m[4] === undefined) return { low: utc(y, mo, d), high: utc(y, mo, d + 1) - 1 };
  const h = Number(m[4]);
  const mi = Number(m[5]);
  if (h > 23 || mi > 59) return undefined;
  let offsetMs = 0;
  const tz = m[8];
  if (tz !== undefined && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const oh = Number(tz.slice(1, 3));
    const om = Number(tz.slice(4, 6));
    if (oh > 14 || om > 59) return undefined;
    offsetMs = sign * (oh * 60 + om) * 60000;
  }
  let low: number;
  let width: number;
  if (m[6] === undefined) {
    low = utc(y, mo, d, h, mi);
    width = 60000;
  } else {
    const s = Number(m[6]);
    if (s > 59) return undefined;
    const frac = m[7];
    if (frac === undefined) {
      low = utc(y, mo, d, h, mi, s);
      width = 1000;
    } else {
      const digits = frac.slice(0, 3);
      const ms = Number(digits.padEnd(3, '0'));
      low = utc(y, mo, d, h, mi, s, ms);
      width = 10 ** (3 - digits.length);
    }
  }
  low -= offsetMs;
  return { low, high: low + width - 1 };
}

/** A Period: open ends become MIN_INSTANT / MAX_INSTANT; an unparsable end is treated as open. */
export function periodRange(p: { start?: string; end?: string }): Range | undefined {
  const s = p.start !== undefined ? parseDateRange(p.start) : undefined;
  const e = p.end !== undefined ? parseDateRange(p.end) : undefined;
  if (!s && !e) return undefined;
  return { low: s ? s.low : MIN_INSTANT, high: e ? e.high : MAX_INSTANT };
}

/**
 * A Timing: one range covering all its `event`s and its `repeat.boundsPeriod` (the earliest start to
 * the latest end). Returns undefined when the Timing has neither.
 */
export function timingRange(t: { event?: string[]; repeat?: { boundsPeriod?: { start?: string; end?: string } } }): Range | undefined {
  const ranges: Range[] = [];
  for (const ev of t.event ?? []) {
    const r = parseDateRange(ev);
    if (r) ranges.push(r);
  }
  const bp = t.repeat?.boundsPeriod;
  if (bp) {
    const r = periodRange(bp);
    if (r) ranges.push(r);
  }
  if (ranges.length === 0) return undefined;
  return { low: Math.min(...ranges.map((r) => r.low)), high: Math.max(...ranges.map((r) => r.high)) };
}

const NUMBER_RE = /^[+-]?(?:(\d+)(?:\.(\d+))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;

/**
 * The value and implied precision range of a decimal written as text (search value, or a stored
 * number rendered with String()). Returns undefined when the text is not a decimal.
 */
export function parseNumberRange(text: string): (Range & { value: number }) | undefined {
  const m = NUMBER_RE.exec(text);
  if (!m) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const fracDigits = (m[2] ?? m[3] ?? '').length;
  const exp = m[4] !== undefined ? Number(m[4]) : 0;
  if (Math.abs(exp) > 400) return undefined;
  // The place value of the last written digit is 10^(exp - fracDigits); half of it on each side.
  const half = 0.5 * 10 ** (exp - fracDigits);
  // When half a unit is below the double precision of the value, the open end cannot be told apart.
  const end = value + half;
  return { value, low: value - half, high: end > value ? nextDown(end) : value };
}

/** The largest double below `x` (x itself for ±Infinity and NaN). */
export function nextDown(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  view.setBigUint64(0, x > 0 ? bits - 1n : bits + 1n);
  return view.getFloat64(0);
}

/** A stored JSON number: its precision is that of its shortest decimal rendering. */
export function numberRange(value: number): (Range & { value: number }) | undefined {
  if (!Number.isFinite(value)) return undefined;
  return parseNumberRange(String(value));
}

/** Bounds used for an open-ended Range (a Range without low or high). */
export const MIN_NUMBER = -Number.MAX_VALUE;
export const MAX_NUMBER = Number.MAX_VALUE;

export interface NormalQuantity extends Range {
  value: number;
  system: string | null;
  code: string | null;
  unit: string | null;
}

interface QuantityLike {
  value?: number;
  system?: string;
  code?: string;
  unit?: string;
  currency?: string;
}

/** Quantity, Age, Duration, Distance, Count, SimpleQuantity and Money (currency as ISO 4217 code). */
export function normalizeQuantity(q: QuantityLike): NormalQuantity | undefined {
  if (typeof q.value !== 'number') return undefined;
  const r = numberRange(q.value);
  if (!r) return undefined;
  if (q.currency !== undefined) return { ...r, system: 'urn:iso:std:iso:4217', code: q.currency, unit: q.currency };
  return { ...r, system: q.system ?? null, code: q.code ?? null, unit: q.unit ?? null };
}

/** A Range of quantities: one entry from low.value to high.value (open ends unbounded). */
export function normalizeRange(r: { low?: QuantityLike; high?: QuantityLike }): NormalQuantity | undefined {
  const lo = r.low ? normalizeQuantity(r.low) : undefined;
  const hi = r.high ? normalizeQuantity(r.high) : undefined;
  if (!lo && !hi) return undefined;
  const unitOf = lo ?? hi;
  return {
    value: lo && hi ? (lo.value + hi.value) / 2 : (lo ?? hi)!.value,
    low: lo ? lo.value : MIN_NUMBER,
    high: hi ? hi.value : MAX_NUMBER,
    system: unitOf?.system ?? null,
    code: unitOf?.code ?? null,
    unit: unitOf?.unit ?? null,
  };
}

/**
 * The words of a text for `_text` / `_content` (§3.1.1.5.x "_text" and "_content": full-text
 * search): the text normalised like a string, split into maximal runs of letters and digits. Both
 * the index (every store) and the query use this, so "word" means exactly the same everywhere.
 */
export function textWords(s: string): string[] {
  // ASCII fast path (most FHIR text): the letters and digits are [a-z0-9] once lower-cased.
  const words = ASCII.test(s) ? s.toLowerCase().split(/[^a-z0-9]+/) : normalizeString(s).split(/[^\p{L}\p{N}]+/u);
  return words.filter((w) => w !== '');
}

const ASCII = /^[\x00-\x7f]*$/;

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * The plain text of a narrative's XHTML `div` (datatypes.html#Narrative): tags and comments removed
 * (each replaced by a space, so block boundaries separate words), character references decoded.
 */
export function xhtmlText(div: string): string {
  return div
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/g, (m, ref: string) => {
      if (ref.startsWith('#')) {
        const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ' ';
      }
      return ENTITIES[ref] ?? m;
    });
}
