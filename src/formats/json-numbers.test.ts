/**
 * Decimals as written (FHIR R4 json.html#primitive): parsing JSON text keeps the text of numbers
 * that `String(n)` would not write back, and otherwise parses exactly like JSON.parse.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { numberText, parseJsonKeepingNumbers } from './json-numbers';

describe('JSON numbers as written', () => {
  it('parses like JSON.parse', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        assert.deepEqual(parseJsonKeepingNumbers(text).value, JSON.parse(text));
      }),
      { numRuns: 500 },
    );
    const text = ' { "__proto__": 1, "a": [ 1 , { } , [ ] , "x\\u00e9\\n" ], "b": true, "c": null, "a": 2 } ';
    assert.deepEqual(parseJsonKeepingNumbers(text).value, JSON.parse(text));
  });

  it('keeps the text of numbers String(n) would not write back, in objects and arrays', () => {
    const { value, lexemes } = parseJsonKeepingNumbers('{"a": 20.00, "b": 7, "c": [1.0, 2, 1E-22, -0], "d": {"e": 1.000000000000000000E-245}}');
    const v = value as { a: number; b: number; c: number[]; d: { e: number } };
    assert.equal(numberText(lexemes, v, 'a', v.a), '20.00');
    assert.equal(numberText(lexemes, v, 'b', v.b), '7');
    assert.deepEqual(v.c.map((n, i) => numberText(lexemes, v.c, i, n)), ['1.0', '2', '1E-22', '-0']);
    assert.equal(numberText(lexemes, v.d, 'e', v.d.e), '1.000000000000000000E-245');
    assert.equal(lexemes.get(v)?.has('b'), false, 'nothing recorded where String(n) is the text');
  });

  it('refuses what JSON.parse refuses', () => {
    for (const bad of ['', '{', '{"a":}', '[1,]', '01', '1.', '.5', '+1', "'a'", '{"a":1}x', 'nul', '"\u0001"', '{"a" 1}', '[1 2]', 'NaN']) {
      assert.throws(() => JSON.parse(bad), SyntaxError, bad);
      assert.throws(() => parseJsonKeepingNumbers(bad), SyntaxError, bad);
    }
  });

  it('reads deeply nested JSON without exhausting the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    let v = parseJsonKeepingNumbers(deep).value;
    let depth = 0;
    while (Array.isArray(v) && v.length > 0) {
      v = v[0];
      depth++;
    }
    assert.equal(depth, 99_999);
  });
});
