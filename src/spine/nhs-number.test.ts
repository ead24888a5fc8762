import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkDigit, isTestRangeNhsNumber, isValidNhsNumber, nhsNumberOf, NHS_NUMBER_SYSTEM, normaliseNhsNumber, withCheckDigit } from './nhs-number';

/** Arbitrary valid NHS Numbers: nine random digits completed with their check digit (10 discarded). */
const validNumber = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
  .map((d) => withCheckDigit(d.join('')))
  .filter((n): n is string => n !== undefined);

describe('spine/nhs-number', () => {
  it('accepts the published valid numbers and refuses the invalid one', () => {
    for (const n of ['9000000009', '9000000017', '9000000025', '9000000033', '9990000018']) assert.equal(isValidNhsNumber(n), true, n);
    assert.equal(isValidNhsNumber('9000000000'), false);
  });

  it('computes the Modulus 11 check digit (11 -> 0, 10 -> none)', () => {
    assert.equal(checkDigit('900000000'), 9);
    assert.equal(checkDigit('999000001'), 8);
    // 5 * 2 = 10; 10 mod 11 = 10; 11 - 10 = 1
    assert.equal(checkDigit('000000005'), 1);
  });

  it('returns no check digit when it would be 10, and 0 when it would be 11', () => {
    // weights 10..2; stem 000000006: 6*2 = 12, 12 mod 11 = 1, 11 - 1 = 10 -> invalid
    assert.equal(checkDigit('000000006'), undefined);
    // stem 000000000: sum 0, 11 - 0 = 11 -> 0
    assert.equal(checkDigit('000000000'), 0);
    assert.equal(isValidNhsNumber('0000000000'), true);
    for (let d = 0; d <= 9; d++) assert.equal(isValidNhsNumber(`000000006${d}`), false);
    assert.equal(checkDigit('12345678'), undefined);
    assert.equal(checkDigit('12345678a'), undefined);
  });

  it('normalises the 3-3-4 display form and refuses anything else', () => {
    assert.equal(normaliseNhsNumber('900 000 0009'), '9000000009');
    assert.equal(normaliseNhsNumber('900-000-0009'), '9000000009');
    assert.equal(normaliseNhsNumber(' 9000000009 '), '9000000009');
    assert.equal(normaliseNhsNumber('900000000'), undefined);
    assert.equal(normaliseNhsNumber('90000000099'), undefined);
    assert.equal(normaliseNhsNumber('9OOOOOOOO9'), undefined);
    assert.equal(normaliseNhsNumber('９０００００００09'), undefined, 'full-width digits are not ASCII digits');
  });

  it('property: every valid number, in any spacing, normalises to itself and is valid', () => {
    fc.assert(
      fc.property(validNumber, fc.constantFrom('', ' ', '-'), (n, sep) => {
        const display = `${n.slice(0, 3)}${sep}${n.slice(3, 6)}${sep}${n.slice(6)}`;
        assert.equal(normaliseNhsNumber(display), n);
        assert.equal(isValidNhsNumber(n), true);
      }),
    );
  });

  it('property: changing any one digit of a valid number breaks the check', () => {
    fc.assert(
      fc.property(validNumber, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 9 }), (n, pos, delta) => {
        const digits = n.split('').map(Number);
        digits[pos] = (digits[pos]! + delta) % 10;
        assert.equal(isValidNhsNumber(digits.join('')), false, `${n} -> ${digits.join('')}`);
      }),
    );
  });

  it('property: random text never throws', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[0-9 -]{0,14}$/)), (s) => {
        const n = normaliseNhsNumber(s);
        assert.ok(n === undefined || /^\d{10}$/.test(n));
        assert.equal(typeof isValidNhsNumber(s), 'boolean');
        assert.equal(typeof isTestRangeNhsNumber(s), 'boolean');
        const c = checkDigit(s);
        assert.ok(c === undefined || (Number.isInteger(c) && c >= 0 && c <= 9));
      }),
    );
  });

  it('knows the 999 test range', () => {
    assert.equal(isTestRangeNhsNumber('9990000018'), true);
    assert.equal(isTestRangeNhsNumber('9000000009'), false);
    assert.equal(isTestRangeNhsNumber('9990000010'), false, 'bad check digit');
  });

  it('finds the NHS Number of a Patient', () => {
    assert.equal(nhsNumberOf({ resourceType: 'Patient', identifier: [{ system: 'x', value: '1' }, { system: NHS_NUMBER_SYSTEM, value: '9000000009' }] }), '9000000009');
    assert.equal(nhsNumberOf({ resourceType: 'Patient' }), undefined);
  });
});
