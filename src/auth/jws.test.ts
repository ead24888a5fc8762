/**
 * Compact JWS decoding (RFC 7515 §7.1; RFC 7519 §7.2): JSON object header with a string alg, JSON
 * object claims, or undefined — never an exception.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeJws, MAX_JWS_LENGTH } from './jws';

const b64 = (s: string): string => Buffer.from(s).toString('base64url');

describe('auth: JWS decoding', () => {
  it('decodes a JWS with a JSON object header (string alg, string kid) and JSON object claims', () => {
    const d = decodeJws(`${b64('{"alg":"RS256","kid":"k","typ":"JWT"}')}.${b64('{"sub":"x"}')}.sig`);
    assert.deepEqual(d, { header: { alg: 'RS256', kid: 'k', typ: 'JWT' }, payload: { sub: 'x' } });
    assert.ok(decodeJws(`${b64('{"alg":"none"}')}.${b64('{}')}.`));
  });

  it('refuses everything else without throwing', () => {
    const header = b64('{"alg":"RS256","typ":"JWT"}');
    for (const t of [
      `${b64('{"typ":"JWT"}')}.${b64('garbage!!')}.${b64('sig')}`,
      `${header}.${b64('not json')}.s`,
      `${header}.${b64('null')}.s`,
      `${header}.${b64('[1]')}.s`,
      `${header}.${b64('"str"')}.s`,
      `${b64('{"alg":1}')}.${b64('{}')}.s`,
      `${b64('{"alg":"RS256","kid":7}')}.${b64('{}')}.s`,
      `${b64('[]')}.${b64('{}')}.s`,
      `${header}.${b64('{}')}`,
      `${header}..s`,
      `${header}.${b64('{}')}.s.t`,
      `${header}.${b64('{}')}.s+/=`,
      `${header}.${b64(`{"x":"${'a'.repeat(MAX_JWS_LENGTH)}"}`)}.s`,
      '',
    ]) {
      assert.equal(decodeJws(t), undefined, t.slice(0, 80));
    }
    for (const v of [undefined, null, 42, {}, ['a.b.c']]) assert.equal(decodeJws(v), undefined);
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => void decodeJws(s)));
  });
});
