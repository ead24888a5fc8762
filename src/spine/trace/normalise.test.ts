import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compactName, editDistance, foldText, jaroWinkler, nameParts, normalisePhone, normalisePostcode, outwardCode } from './normalise';

describe('Trace normalisation', () => {
  it('folds case, accents and punctuation', () => {
    assert.equal(foldText('  ZOË  O’Brien-Smith '), 'zoe obrien smith');
    assert.equal(compactName('Smith-Jones'), 'smithjones');
    assert.equal(compactName('smith jones'), 'smithjones');
    assert.deepEqual(nameParts('Mary-Jane  Van der Berg'), ['mary', 'jane', 'van', 'der', 'berg']);
  });

  it('normalises postcodes and finds the outward code', () => {
    assert.equal(normalisePostcode(' ls1 6ae'), 'LS16AE');
    assert.equal(outwardCode('LS16AE'), 'LS1');
    assert.equal(outwardCode('SW1A1AA'), 'SW1A');
    assert.equal(outwardCode('LS1'), 'LS1');
  });

  it('normalises phone numbers to national digits', () => {
    assert.equal(normalisePhone('+44 (0)113 496 0000'.replace('(0)', '')), '01134960000');
    assert.equal(normalisePhone('0113-496-0000'), '01134960000');
  });

  it('property: folding is idempotent and yields only [a-z0-9 ] without edge spaces', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const f = foldText(s);
        assert.equal(foldText(f), f);
        assert.match(f, /^(?:[a-z0-9]+(?: [a-z0-9]+)*)?$/);
      }),
    );
  });

  it('property: postcode normalisation ignores case and spaces', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9 ]{0,10}$/), (s) => {
        assert.equal(normalisePostcode(s), normalisePostcode(s.toLowerCase().replace(/ /g, '')));
      }),
    );
  });

  it('property: edit distance is a metric bounded by the longer length; Jaro-Winkler is 1 exactly for equal strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        assert.equal(d, editDistance(b, a));
        assert.ok(d <= Math.max(a.length, b.length));
        assert.equal(d === 0, a === b);
        const jw = jaroWinkler(a, b);
        assert.ok(jw >= 0 && jw <= 1);
        if (a === b) assert.equal(jw, 1);
      }),
    );
  });
});
