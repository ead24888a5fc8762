/**
 * Tests of the filter helpers (FHIR R4 §3.1.1 search.html string/uri matching): escaped regexes
 * match user text literally, both as JavaScript (mingo) regexes and as prefix / substring tests.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Query } from 'mingo';
import { andCond, contains, escapeRegex, notCond, orCond, prefixesOf, startsWith, toFilter } from './filter';

describe('MongoDB search filter helpers', () => {
  it('escapeRegex: the pattern matches exactly the text itself, whatever its characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        assert.ok(new RegExp(`^${escapeRegex(s)}$`).test(s));
      }),
      { numRuns: 500 },
    );
  });

  it('startsWith / contains agree with String.startsWith / includes under mingo, metacharacters included', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '^', '$', '\\', '(', ')', '[', ']', '{', '}', '|', '?', '+', '-', '/', '\n', '\0', 'é') });
    fc.assert(
      fc.property(text, text, (stored, query) => {
        const doc = { n: stored };
        assert.equal(new Query(startsWith('n', query)).test(doc), stored.startsWith(query), 'startsWith');
        assert.equal(new Query(contains('n', query)).test(doc), stored.includes(query), 'contains');
      }),
      { numRuns: 1000 },
    );
  });

  it('escapeRegex never leaves a NUL in the pattern (MongoDB refuses one)', () => {
    assert.equal(escapeRegex('a\0b'), 'a\\x00b');
  });

  it('prefixesOf lists every prefix, the empty one included, without splitting a surrogate pair', () => {
    assert.deepEqual(prefixesOf('ab'), ['', 'a', 'ab']);
    assert.deepEqual(prefixesOf('a😀'), ['', 'a', 'a😀']);
  });

  it('the combinators fold constants and keep single parts as they are', () => {
    assert.deepEqual(andCond([true, { a: 1 }, true]), { a: 1 });
    assert.deepEqual(andCond([{ a: 1 }, { b: 2 }]), { a: 1, b: 2 });
    assert.deepEqual(andCond([{ a: 1 }, { a: 2 }]), { $and: [{ a: 1 }, { a: 2 }] });
    assert.equal(andCond([{ a: 1 }, false]), false);
    assert.equal(andCond([]), true);
    assert.equal(orCond([false, false]), false);
    assert.equal(orCond([{ a: 1 }, true]), true);
    assert.deepEqual(orCond([{ a: 1 }, false, { b: 1 }]), { $or: [{ a: 1 }, { b: 1 }] });
    assert.equal(notCond(true), false);
    assert.deepEqual(notCond({ a: 1 }), { $nor: [{ a: 1 }] });
    assert.deepEqual(toFilter(true), {});
    assert.equal(new Query(toFilter(false)).test({ _id: 'x' }), false);
  });
});
