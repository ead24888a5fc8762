/**
 * Prefix semantics of ordered search parameters (FHIR R4 §3.1.1.4.5 search.html#prefix, and
 * §3.1.1.4.6-7 / quantity for number, date and quantity).
 *
 * Every stored value is a range [low, high] (inclusive) implied by its precision (a Range, Period or
 * Timing is explicitly one; an integer is exact, a point). So is every query value, with one rule
 * from search.html#number ("Notes about searching on Numbers"), which the quantity type follows:
 * "When a comparison prefix in the set gt, lt, ge, le, sa & eb is provided, the implicit precision
 * of the number is ignored, and they are treated as if they have arbitrarily high precision". A
 * decimal search value (a number or quantity predicate, which carries `value`) is therefore its
 * exact value, the point [value, value], for those prefixes: `lt0.0004` means below 0.0004 exactly,
 * not below 0.00035. `eq`, `ne` and `ap` keep the precision range (`100` is [99.5, 100.5)). For a
 * date (and `_lastUpdated`) the precision is the range for every prefix, as the date rules of
 * search.html#date require (`lt2013-01-14T10:00` matches 2013-01-14 "because it includes the part
 * of 14-Jan 2013 before 10am").
 *
 * Each prefix becomes a conjunction of comparisons of the stored bounds against constants. Both
 * store compilers and the in-memory matcher interpret this one definition, so they cannot disagree
 * on what a prefix means.
 */
import type { Prefix } from './ir';

export interface Bound {
  field: 'low' | 'high';
  cmp: '<' | '<=' | '>' | '>=';
  value: number;
}

/** All bounds must hold; `negate` inverts the whole conjunction (used for `ne`). */
export interface RangeCondition {
  all: Bound[];
  negate: boolean;
}

/** The prefixes that compare against the exact decimal search value (see the module comment). */
const EXACT_VALUE_PREFIXES: ReadonlySet<Prefix> = new Set(['gt', 'lt', 'ge', 'le', 'sa', 'eb']);

/** A query range: a predicate's bounds, its kind (`op`) and, for a number or quantity, its written value. */
export interface QueryRange {
  op?: string;
  low: number;
  high: number;
  value?: number | undefined;
}

/**
 * The search value's range a prefix compares against: the precision range, or the point
 * [value, value] for a number or quantity search value under gt, lt, ge, le, sa and eb.
 */
export function effectiveQueryRange(prefix: Prefix, q: QueryRange): { low: number; high: number } {
  const decimal = (q.op === 'number' || q.op === 'quantity') && q.value !== undefined && Number.isFinite(q.value);
  if (decimal && EXACT_VALUE_PREFIXES.has(prefix)) return { low: q.value!, high: q.value! };
  return { low: q.low, high: q.high };
}

/**
 * @param query the predicate: its range [low, high] (inclusive bounds), its `op` and, for a number
 *   or quantity, the value as written (`value`): see effectiveQueryRange
 * @param approxDelta the half-width added on each side for `ap` (10% of the distance to now for
 *   dates, 10% of the value for numbers and quantities; see §3.1.1.4.5)
 */
export function rangeCondition(prefix: Prefix, query: QueryRange, approxDelta = 0): RangeCondition {
  const q = effectiveQueryRange(prefix, query);
  const b = (field: Bound['field'], cmp: Bound['cmp'], value: number): Bound => ({ field, cmp, value });
  switch (prefix) {
    case 'eq':
      return { all: [b('low', '>=', q.low), b('high', '<=', q.high)], negate: false };
    case 'ne':
      return { all: [b('low', '>=', q.low), b('high', '<=', q.high)], negate: true };
    case 'gt':
      return { all: [b('high', '>', q.high)], negate: false };
    case 'lt':
      return { all: [b('low', '<', q.low)], negate: false };
    case 'ge':
      return { all: [b('high', '>=', q.low)], negate: false };
    case 'le':
      return { all: [b('low', '<=', q.high)], negate: false };
    case 'sa':
      return { all: [b('low', '>', q.high)], negate: false };
    case 'eb':
      return { all: [b('high', '<', q.low)], negate: false };
    case 'ap':
      return { all: [b('low', '<=', q.high + approxDelta), b('high', '>=', q.low - approxDelta)], negate: false };
  }
}

/** Evaluates a condition against one stored range (the in-memory side of the contract). */
export function rangeMatches(cond: RangeCondition, entry: { low: number; high: number }): boolean {
  const ok = cond.all.every((x) => {
    const v = entry[x.field];
    switch (x.cmp) {
      case '<':
        return v < x.value;
      case '<=':
        return v <= x.value;
      case '>':
        return v > x.value;
      case '>=':
        return v >= x.value;
    }
  });
  return cond.negate ? !ok : ok;
}
