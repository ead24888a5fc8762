/**
 * Prefix semantics of ordered parameters (FHIR R4 §3.1.1.4.5 search.html#prefix, search.html#number
 * "Notes about searching on Numbers", search.html#date): the ordering prefixes compare a number or
 * quantity search value exactly, `eq`/`ne`/`ap` its precision range, and dates their range always.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Prefix } from './ir';
import { parseNumberRange } from './normalize';
import { effectiveQueryRange, rangeCondition, rangeMatches, type QueryRange } from './range-semantics';

const ORDERING: Prefix[] = ['gt', 'lt', 'ge', 'le', 'sa', 'eb'];
const PRECISION: Prefix[] = ['eq', 'ne', 'ap'];

/** A search value as the parser makes it: its precision range and the value as written. */
function searchValue(prefix: Prefix, text: string, op: 'number' | 'quantity' = 'number'): { prefix: Prefix; q: QueryRange } {
  const r = parseNumberRange(text)!;
  return { prefix, q: { op, low: r.low, high: r.high, value: r.value } };
}

/** A stored decimal: the range of its own precision. */
const stored = (text: string): { low: number; high: number } => parseNumberRange(text)!;

const matches = (prefix: Prefix, search: string, target: string, op: 'number' | 'quantity' = 'number'): boolean => {
  const { q } = searchValue(prefix, search, op);
  return rangeMatches(rangeCondition(prefix, q), stored(target));
};

describe('range semantics: number and quantity prefixes (search.html#number)', () => {
  it('lt, le, gt, ge, sa and eb ignore the implicit precision of the search value', () => {
    assert.equal(matches('lt', '0.0004', '0.000368'), true, 'lt0.0004 finds 0.000368');
    assert.equal(matches('le', '0', '0.2'), false, 'le0 does not find 0.2');
    assert.equal(matches('le', '0', '0'), true);
    assert.equal(matches('lt', '1', '0.887'), true, 'lt1 finds 0.887');
    assert.equal(matches('gt', '100', '100.2'), true, 'gt100 finds 100.2');
    assert.equal(matches('ge', '100', '99.96'), false, 'ge100 does not find 99.96');
    assert.equal(matches('ge', '100', '100.2', 'quantity'), true);
    assert.equal(matches('sa', '100', '100.2'), true, 'sa100: 100.2 ([100.15, 100.25]) starts after 100');
    assert.equal(matches('eb', '100', '99.8'), true, 'eb100: 99.8 ([99.75, 99.85]) ends before 100');
  });

  it('eq, ne and ap keep the precision range', () => {
    assert.equal(matches('eq', '100', '100.2'), true, '100 means [99.5, 100.5)');
    assert.equal(matches('ne', '100', '100.2'), false);
    assert.equal(matches('eq', '100.00', '100.2'), false);
  });

  it('is the comparison against the point [value, value] for the ordering prefixes, and the precision range otherwise (property)', () => {
    const decimal = fc.integer({ min: -100_000, max: 100_000 }).chain((n) => fc.integer({ min: 0, max: 4 }).map((digits) => (n / 10 ** digits).toFixed(digits)));
    fc.assert(
      fc.property(fc.constantFrom(...ORDERING, ...PRECISION), decimal, decimal, fc.constantFrom('number' as const, 'quantity' as const), (prefix, search, target, op) => {
        const { q } = searchValue(prefix, search, op);
        const exact = ORDERING.includes(prefix);
        const expected = rangeCondition(prefix, exact ? { low: q.value!, high: q.value! } : { low: q.low, high: q.high });
        assert.deepEqual(rangeCondition(prefix, q), expected);
        assert.deepEqual(effectiveQueryRange(prefix, q), exact ? { low: q.value, high: q.value } : { low: q.low, high: q.high });
        // In words: lt means some part of the target lies below the value, gt above it.
        const t = stored(target);
        if (prefix === 'lt') assert.equal(rangeMatches(rangeCondition(prefix, q), t), t.low < q.value!);
        if (prefix === 'gt') assert.equal(rangeMatches(rangeCondition(prefix, q), t), t.high > q.value!);
      }),
    );
  });

  it('dates keep their precision range under every prefix, even when a value is present', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORDERING, ...PRECISION), fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 1e6 }), (prefix, low, width) => {
        const q = { op: 'date', low, high: low + width, value: low + width / 2 };
        assert.deepEqual(effectiveQueryRange(prefix, q), { low, high: low + width });
      }),
    );
  });
});
