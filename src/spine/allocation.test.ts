import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocate, NhsNumberAllocator, RangeExhaustedError } from './allocation';
import { isValidNhsNumber } from './nhs-number';

describe('spine/allocation', () => {
  it('gives only valid numbers inside the range, wrapping around, each stem once per cycle', () => {
    const a = new NhsNumberAllocator('9990000000', '9990000999', () => 95);
    const seen = new Set<string>();
    for (;;) {
      const n = a.next()!;
      assert.ok(isValidNhsNumber(n) && n >= '9990000000' && n <= '9990000999', n);
      if (seen.has(n)) break;
      seen.add(n);
    }
    // 100 stems, about 1 in 11 has check digit 10.
    assert.ok(seen.size > 80 && seen.size < 100, String(seen.size));
  });

  it('property: any range and seed yields valid numbers within the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_999_999_000 }), fc.integer({ min: 10, max: 5000 }), fc.nat(), (lowN, width, seed) => {
        const low = String(lowN).padStart(10, '0');
        const high = String(Math.min(lowN + width, 9_999_999_999)).padStart(10, '0');
        const a = new NhsNumberAllocator(low, high, () => seed);
        for (let i = 0; i < 20; i++) {
          const n = a.next();
          if (n === undefined) break;
          assert.ok(isValidNhsNumber(n) && n >= low && n <= high, `${n} in ${low}-${high}`);
        }
      }),
    );
  });

  it('skips taken candidates and fails clearly when the range is exhausted', async () => {
    const a = new NhsNumberAllocator('9990000000', '9990000099', () => 0);
    const taken = new Set<string>();
    for (;;) {
      try {
        const n = await allocate(a, async (c) => (taken.has(c) ? undefined : (taken.add(c), c)));
        assert.ok(isValidNhsNumber(n));
      } catch (e) {
        assert.ok(e instanceof RangeExhaustedError);
        break;
      }
    }
    assert.ok(taken.size >= 8 && taken.size <= 10, String(taken.size));
  });

  it('refuses a malformed range', () => {
    assert.throws(() => new NhsNumberAllocator('999', '9999999999'));
    assert.throws(() => new NhsNumberAllocator('9999999999', '9990000000'));
  });
});
