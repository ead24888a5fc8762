/**
 * Prefix semantics of ordered search parameters (FHIR R4 §3.1.1.4 search.html#prefix, and
 * §3.1.1.4.2-4 for number, date and quantity).
 *
 * Every stored value is a range [low, high] (inclusive) implied by its precision; so is every query
 * value. Each prefix becomes a conjunction of comparisons of the stored bounds against constants.
 * Both store compilers and the in-memory matcher interpret this one definition, so they cannot
 * disagree on what a prefix means.
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

/**
 * @param q the query range [low, high] (inclusive bounds)
 * @param approxDelta the half-width added on each side for `ap` (10% of the distance to now for
 *   dates, 10% of the value for numbers and quantities; see §3.1.1.4)
 */
export function rangeCondition(prefix: Prefix, q: { low: number; high: number }, approxDelta = 0): RangeCondition {
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
