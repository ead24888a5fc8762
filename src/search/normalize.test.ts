/**
 * Tests of search value normalisation (FHIR R4 §3.1.1.4 search.html: string, date, number, quantity).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_INSTANT, MIN_INSTANT } from './index-entry';
import { nextDown, normalizeQuantity, normalizeRange, normalizeString, parseDateRange, parseNumberRange, periodRange, textWords, timingRange, xhtmlText } from './normalize';

const ms = (iso: string): number => Date.parse(iso);

describe('search/normalize', () => {
  describe('normalizeString', () => {
    it('lower-cases, removes accents, collapses whitespace and trims', () => {
      assert.equal(normalizeString('  Élodie   Müller-Ståhl\t '), 'elodie muller-stahl');
    });
    it('keeps punctuation', () => {
      assert.equal(normalizeString("O'Brien, Jr."), "o'brien, jr.");
    });
    it('is idempotent', () => {
      fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => normalizeString(normalizeString(s)) === normalizeString(s)));
    });
  });

  describe('parseDateRange', () => {
    it('year precision covers the whole year (UTC)', () => {
      assert.deepEqual(parseDateRange('2020'), { low: ms('2020-01-01T00:00:00Z'), high: ms('2021-01-01T00:00:00Z') - 1 });
    });
    it('month precision covers the whole month, including leap February', () => {
      assert.deepEqual(parseDateRange('2020-02'), { low: ms('2020-02-01T00:00:00Z'), high: ms('2020-03-01T00:00:00Z') - 1 });
    });
    it('day precision covers the day in UTC', () => {
      assert.deepEqual(parseDateRange('1974-12-25'), { low: ms('1974-12-25T00:00:00Z'), high: ms('1974-12-26T00:00:00Z') - 1 });
    });
    it('minute precision (search values without seconds)', () => {
      assert.deepEqual(parseDateRange('2013-01-14T10:00Z'), { low: ms('2013-01-14T10:00:00Z'), high: ms('2013-01-14T10:01:00Z') - 1 });
    });
    it('second precision with an offset', () => {
      assert.deepEqual(parseDateRange('2013-01-14T10:00:00+10:00'), { low: ms('2013-01-14T00:00:00Z'), high: ms('2013-01-14T00:00:01Z') - 1 });
    });
    it('a dateTime without a timezone is taken as UTC', () => {
      assert.deepEqual(parseDateRange('2013-01-14T10:00:00'), parseDateRange('2013-01-14T10:00:00Z'));
    });
    it('fractional seconds set the precision to the written digits (ms at most)', () => {
      assert.deepEqual(parseDateRange('2015-02-07T13:28:17.239+02:00'), { low: ms('2015-02-07T11:28:17.239Z'), high: ms('2015-02-07T11:28:17.239Z') });
      assert.deepEqual(parseDateRange('2015-02-07T13:28:17.2Z'), { low: ms('2015-02-07T13:28:17.200Z'), high: ms('2015-02-07T13:28:17.299Z') });
      assert.deepEqual(parseDateRange('2015-02-07T13:28:17.23999Z'), { low: ms('2015-02-07T13:28:17.239Z'), high: ms('2015-02-07T13:28:17.239Z') });
    });
    it('years before 100 are not shifted to the 1900s', () => {
      assert.equal(new Date(parseDateRange('0050')!.low).getUTCFullYear(), 50);
    });
    it('rejects impossible or malformed dates', () => {
      for (const bad of ['2021-02-29', '2020-13', '2020-00-01', '2020-01-01T24:00:00Z', '2020-01-01T10:60Z', '20', '2020-1-1', '2020-01-01T10', 'abc', '', '2020-01-01T10:00:00+15:00', '0000'])
        assert.equal(parseDateRange(bad), undefined, bad);
    });
    it('low <= high for any valid day', () => {
      fc.assert(
        fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true }), (d) => {
          const r = parseDateRange(d.toISOString());
          return r !== undefined && r.low === d.getTime() && r.high === r.low;
        }),
      );
    });
  });

  describe('Period and Timing', () => {
    it('open Period ends become MIN_INSTANT / MAX_INSTANT', () => {
      assert.deepEqual(periodRange({ start: '2020-01-01' }), { low: ms('2020-01-01T00:00:00Z'), high: MAX_INSTANT });
      assert.deepEqual(periodRange({ end: '2020-01-01' }), { low: MIN_INSTANT, high: ms('2020-01-02T00:00:00Z') - 1 });
      assert.equal(periodRange({}), undefined);
    });
    it('Timing covers its events and boundsPeriod', () => {
      assert.deepEqual(timingRange({ event: ['2020-05-01', '2020-03-01'], repeat: { boundsPeriod: { start: '2020-04-01', end: '2020-06-01' } } }), {
        low: ms('2020-03-01T00:00:00Z'),
        high: ms('2020-06-02T00:00:00Z') - 1,
      });
      assert.equal(timingRange({}), undefined);
    });
  });

  describe('parseNumberRange', () => {
    const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;
    it('integers: half a unit either side', () => {
      const r = parseNumberRange('100')!;
      assert.ok(close(r.low, 99.5) && close(r.high, 100.5) && r.value === 100);
    });
    it('decimals: half the last digit', () => {
      const r = parseNumberRange('1.0')!;
      assert.ok(close(r.low, 0.95) && close(r.high, 1.05));
      const s = parseNumberRange('-0.125')!;
      assert.ok(close(s.low, -0.1255) && close(s.high, -0.1245));
    });
    it('exponent form: precision of the mantissa times the exponent', () => {
      const r = parseNumberRange('1e2')!;
      assert.ok(close(r.low, 50) && close(r.high, 150) && r.value === 100);
      const s = parseNumberRange('1.5E-1')!;
      assert.ok(close(s.low, 0.145) && close(s.high, 0.155));
    });
    it('the upper end is open: adjacent precision ranges do not overlap', () => {
      const r = parseNumberRange('100')!;
      assert.ok(r.high < 100.5 && nextDown(100.5) === r.high);
      const a = parseNumberRange('0.01')!;
      const b = parseNumberRange('0.02')!;
      assert.ok(a.high < b.low, `${a.high} < ${b.low}`);
      fc.assert(
        fc.property(fc.integer({ min: -100000, max: 100000 }), (n) => {
          const lo = parseNumberRange(String(n))!;
          const hi = parseNumberRange(String(n + 1))!;
          return lo.high < hi.low && lo.low <= n && n <= lo.high;
        }),
      );
    });
    it('nextDown is the largest double below', () => {
      for (const x of [1, -1, 0.1, 1e300, -1e-300, Number.MIN_VALUE]) {
        const d = nextDown(x);
        assert.ok(d < x, String(x));
        const mid = d + (x - d) / 2;
        assert.ok(mid === d || mid === x, `nothing between ${d} and ${x}`);
      }
      assert.equal(nextDown(0), -Number.MIN_VALUE);
      assert.equal(nextDown(Number.MIN_VALUE), 0);
      assert.equal(nextDown(Infinity), Infinity);
    });
    it('rejects non-numbers', () => {
      for (const bad of ['', 'abc', '1.', '1e', '--1', '0x10', 'Infinity', 'NaN', '1,0', ' 1']) assert.equal(parseNumberRange(bad), undefined, bad);
    });
    it('the value always lies inside its range', () => {
      fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const r = parseNumberRange(String(d));
        return r !== undefined && r.low <= d && d <= r.high;
      }));
    });
  });

  describe('quantities', () => {
    it('Quantity keeps system, code and unit', () => {
      const q = normalizeQuantity({ value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg', unit: 'milligram' })!;
      assert.equal(q.system, 'http://unitsofmeasure.org');
      assert.equal(q.code, 'mg');
      assert.equal(q.unit, 'milligram');
      assert.ok(Math.abs(q.low - 5.35) < 1e-9 && Math.abs(q.high - 5.45) < 1e-9);
    });
    it('Money uses ISO 4217', () => {
      assert.deepEqual(
        { ...normalizeQuantity({ value: 10, currency: 'EUR' })!, low: 0, high: 0 },
        { value: 10, low: 0, high: 0, system: 'urn:iso:std:iso:4217', code: 'EUR', unit: 'EUR' },
      );
    });
    it('a Range spans low.value to high.value, open ends unbounded', () => {
      const r = normalizeRange({ low: { value: 2, code: 'a' }, high: { value: 4, code: 'a' } })!;
      assert.deepEqual([r.low, r.high, r.value, r.code], [2, 4, 3, 'a']);
      assert.equal(normalizeRange({ low: { value: 2 } })!.high, Number.MAX_VALUE);
      assert.equal(normalizeRange({}), undefined);
    });
    it('a Quantity without a value gives nothing', () => {
      assert.equal(normalizeQuantity({ code: 'mg' }), undefined);
    });
  });

  describe('textWords and xhtmlText', () => {
    it('words are the normalised runs of letters and digits', () => {
      assert.deepEqual(textWords("Héart-attack, O'Brien  x2 ÉCOLE"), ['heart', 'attack', 'o', 'brien', 'x2', 'ecole']);
      assert.deepEqual(textWords('  -- '), []);
    });
    it('narrative markup, comments and character references', () => {
      assert.deepEqual(textWords(xhtmlText('<div xmlns="http://www.w3.org/1999/xhtml"><p>a&amp;b</p><!-- c --><td>d</td>&#x41;&#66;&nbsp;&bogus;</div>')), ['a', 'b', 'd', 'ab', 'bogus']);
    });
    it('the ASCII fast path gives the words of the general rule (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary-ascii' }), (s) => {
          const general = normalizeString(s).split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '');
          assert.deepEqual(textWords(s), general);
        }),
        { numRuns: 500 },
      );
    });
    it('words never contain separators and are stable under re-splitting (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme' }), (s) => {
          const words = textWords(xhtmlText(s));
          for (const w of words) assert.match(w, /^[\p{L}\p{N}]+$/u);
          assert.deepEqual(textWords(words.join(' ')), words);
        }),
        { numRuns: 500 },
      );
    });
  });
});
