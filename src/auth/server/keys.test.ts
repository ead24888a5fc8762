/**
 * Signing keys (RFC 7517 JWK, RFC 7638 thumbprint): kid = thumbprint, persisted 0600, reloaded
 * unchanged, several keys published for rotation, in memory without a data directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { KEYS_FILE, loadSigningKeys, rsaThumbprint, signingKeysOf } from './keys';

describe('auth server: signing keys', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates an RSA 2048 key whose kid is its RFC 7638 thumbprint, in a 0600 file, and reloads it', () => {
    const k = loadSigningKeys(dir);
    const file = path.join(dir, KEYS_FILE);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(k.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    const jwk = k.jwks().keys[0];
    assert.ok(jwk);
    assert.equal(k.kid, rsaThumbprint(jwk));
    assert.equal(jwk.d, undefined);
    const again = loadSigningKeys(dir);
    assert.equal(again.kid, k.kid);
    const token = jwt.sign({ a: 1 }, k.privateKey, { algorithm: 'RS256', keyid: k.kid });
    const key = again.publicKey(k.kid);
    assert.ok(key);
    assert.equal((jwt.verify(token, key, { algorithms: ['RS256'] }) as { a: number }).a, 1);
  });

  it('matches the RFC 7638 §3.1 example thumbprint', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    assert.equal(rsaThumbprint({ kty: 'RSA', n, e: 'AQAB' }), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  it('publishes every key and signs with the first (rotation)', () => {
    const a = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    const k = signingKeysOf([
      { kid: rsaThumbprint(a), jwk: a },
      { kid: rsaThumbprint(b), jwk: b },
    ]);
    assert.equal(k.kid, rsaThumbprint(a));
    assert.deepEqual(k.jwks().keys.map((x) => x.kid), [rsaThumbprint(a), rsaThumbprint(b)]);
    assert.ok(k.publicKey(rsaThumbprint(b)));
    assert.equal(k.publicKey('unknown'), undefined);
  });

  it('keeps keys in memory without a data directory', () => {
    const a = loadSigningKeys(undefined);
    const b = loadSigningKeys(undefined);
    assert.notEqual(a.kid, b.kid);
  });
});
