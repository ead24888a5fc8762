/**
 * Paging cursors (FHIR R4 §3.1.1.6 search.html "Paging"): signed payloads round-trip, and any change
 * to a cursor, or a cursor signed with another key, is rejected with a 400.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { FhirError } from '../fhir/outcome';
import { cursorKey, queryHash, signCursor, verifyCursor, type CursorPayload } from './cursor';

const KEY = Buffer.from('k'.repeat(40));
const OTHER = Buffer.from('o'.repeat(40));

const payloadArb: fc.Arbitrary<CursorPayload> = fc
  .record({
    h: fc.string({ maxLength: 30 }),
    s: fc.string({ maxLength: 30 }),
    o: fc.option(fc.nat(), { nil: undefined }),
    c: fc.nat({ max: 100000 }),
    t: fc.nat(),
    a: fc.option(fc.array(fc.oneof(fc.constant(null), fc.string({ maxLength: 20 }), fc.integer(), fc.double({ noNaN: true })), { maxLength: 5 }), { nil: undefined }),
    n: fc.option(fc.nat(), { nil: undefined }),
    w: fc.option(fc.integer({ min: 0, max: 2 ** 48 }), { nil: undefined }),
  })
  .map((r) => {
    const p: CursorPayload = { v: 2, h: r.h, s: r.s, c: r.c, t: r.t };
    if (r.o !== undefined) p.o = r.o;
    // -0 does not survive JSON; the store never produces it.
    if (r.a !== undefined) p.a = r.a.map((x) => (Object.is(x, -0) ? 0 : x));
    if (r.n !== undefined) p.n = r.n;
    if (r.w !== undefined) p.w = r.w;
    return p;
  });

const isBadCursor = (e: unknown): boolean => e instanceof FhirError && e.status === 400;

describe('search/cursor', () => {
  it('a signed payload verifies to the same payload, positions with ±Infinity included (property)', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        assert.deepEqual(verifyCursor(signCursor(p, KEY), KEY), p);
      }),
    );
  });

  it('changing any one character of a cursor is rejected with 400 (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(payloadArb, fc.nat(), fc.nat(), (p, i, j) => {
        const token = signCursor(p, KEY);
        const pos = i % token.length;
        const replacement = alphabet[j % alphabet.length]!;
        fc.pre(token[pos] !== replacement);
        const altered = token.slice(0, pos) + replacement + token.slice(pos + 1);
        assert.throws(() => verifyCursor(altered, KEY), isBadCursor);
      }),
    );
  });

  it('a cursor signed with another key is rejected with 400', () => {
    const token = signCursor({ v: 2, h: 'x', s: '', o: 20, c: 10, t: 1 }, OTHER);
    assert.throws(() => verifyCursor(token, KEY), isBadCursor);
  });

  it('arbitrary text never verifies and never raises anything but a 400 (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        assert.throws(() => verifyCursor(s, KEY), isBadCursor);
      }),
    );
  });

  it('a correctly signed but malformed payload is rejected with 400', () => {
    const signed = (payload: unknown): string => {
      const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
      return `${body}.${createHmac('sha256', KEY).update(body).digest('base64url')}`;
    };
    assert.throws(() => verifyCursor(signed({ v: 2, h: 'x', s: '', o: -5, c: 10, t: 1 }), KEY), isBadCursor);
    assert.throws(() => verifyCursor(signed({ v: 2, h: 'x', s: '', c: 10, t: 1, a: [{ inf: 2 }] }), KEY), isBadCursor);
    assert.throws(() => verifyCursor(signed({ v: 2, h: 'x', s: '', c: 10, t: 1, a: [{ x: 1 }] }), KEY), isBadCursor);
    assert.throws(() => verifyCursor(signed({ v: 2, h: 'x', s: '', c: 10, t: 1, w: 1.5 }), KEY), isBadCursor);
  });

  it('a cursor of the former offset format (version 1) is refused with 400, asking to restart', () => {
    const body = Buffer.from(JSON.stringify({ v: 1, h: 'x', s: '', o: 20, c: 10, t: 1 })).toString('base64url');
    const token = `${body}.${createHmac('sha256', KEY).update(body).digest('base64url')}`;
    assert.throws(() => verifyCursor(token, KEY), (e: unknown) => isBadCursor(e) && /older version/.test((e as FhirError).message + JSON.stringify((e as FhirError).toOperationOutcome())));
  });

  it('the query hash depends on the path, the names, the values and their order', () => {
    const h = queryHash('Patient', [['name', 'a'], ['gender', 'male']]);
    assert.equal(h, queryHash('Patient', [['name', 'a'], ['gender', 'male']]));
    assert.notEqual(h, queryHash('Observation', [['name', 'a'], ['gender', 'male']]));
    assert.notEqual(h, queryHash('Patient', [['gender', 'male'], ['name', 'a']]));
    assert.notEqual(h, queryHash('Patient', [['name', 'a'], ['gender', 'female']]));
    assert.notEqual(queryHash('P', [['a', 'b=c']]), queryHash('P', [['a=b', 'c']]));
  });

  it('without a configured secret one random key is used for the whole process', () => {
    assert.equal(cursorKey(undefined), cursorKey(undefined));
    assert.equal(cursorKey(undefined).length, 32);
    assert.deepEqual(cursorKey('s'.repeat(32)), Buffer.from('s'.repeat(32)));
  });
});
