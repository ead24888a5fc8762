/**
 * NHS Number allocation (PDS FHIR API "Create a new patient": a record created without an NHS Number
 * is allocated a new one). Candidates come from NHS_NUMBER_RANGE (default the 999 test range) and
 * always have a valid Modulus 11 check digit (nine-digit stems whose check digit would be 10 are
 * skipped).
 *
 * Per process, a counter starts at a random stem inside the range and walks upwards (wrapping to the
 * low end). Uniqueness does not rest on the counter: each candidate is written with the store's
 * optimistic lock `expectedVersion: 0` ("must not exist"), so two requests — or two server instances
 * sharing one store — that pick the same number cannot both win; the loser moves to the next
 * candidate. Numbers ever used (including invalidated, i.e. deleted, records) are never reused: a
 * candidate with any stored version is skipped before the write is attempted. The random start keeps
 * instances sharing a store from walking the same sequence.
 */
import { randomInt } from 'node:crypto';
import { withCheckDigit } from './nhs-number';

export class RangeExhaustedError extends Error {
  constructor(readonly low: string, readonly high: string) {
    super(`No unused NHS Number is left in the range ${low}-${high}`);
    this.name = 'RangeExhaustedError';
  }
}

export class NhsNumberAllocator {
  private readonly lowStem: number;
  private readonly highStem: number;
  private stem: number;

  constructor(
    readonly low: string,
    readonly high: string,
    seed: (size: number) => number = (size) => (size > 1 ? randomInt(0, Math.min(size, 2 ** 47)) : 0),
  ) {
    if (!/^\d{10}$/.test(low) || !/^\d{10}$/.test(high) || low > high) throw new Error(`NHS Number range ${low}-${high} is not two 10-digit numbers low <= high`);
    this.lowStem = Number(low.slice(0, 9));
    this.highStem = Number(high.slice(0, 9));
    const size = this.highStem - this.lowStem + 1;
    this.stem = this.lowStem + (seed(size) % size);
  }

  /** Number of nine-digit stems in the range (an upper bound on the candidates). */
  get size(): number {
    return this.highStem - this.lowStem + 1;
  }

  /**
   * The next candidate in the range with a valid check digit; undefined after `size` stems were
   * tried without finding one (a range with no valid number in it).
   */
  next(): string | undefined {
    for (let tries = 0; tries < this.size; tries++) {
      const stem = this.stem;
      this.stem = stem >= this.highStem ? this.lowStem : stem + 1;
      const candidate = withCheckDigit(String(stem).padStart(9, '0'));
      if (candidate !== undefined && candidate >= this.low && candidate <= this.high) return candidate;
    }
    return undefined;
  }
}

/**
 * Tries candidates until `attempt` accepts one (returns a value) or the range is exhausted.
 * `attempt` returns undefined for a candidate that is already taken.
 */
export async function allocate<T>(allocator: NhsNumberAllocator, attempt: (nhsNumber: string) => Promise<T | undefined>, maxAttempts = Math.min(allocator.size, 10_000)): Promise<T> {
  for (let i = 0; i < maxAttempts; i++) {
    const candidate = allocator.next();
    if (candidate === undefined) break;
    const done = await attempt(candidate);
    if (done !== undefined) return done;
  }
  throw new RangeExhaustedError(allocator.low, allocator.high);
}
