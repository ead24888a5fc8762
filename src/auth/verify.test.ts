/**
 * Access token verification (SMART App Launch 2.0.0 app-launch.html "Access token"; RFC 7519 JWT):
 * the verified-token cache — a token is verified once, then answered from memory until its `exp`,
 * while revocation is still checked on every use and expiry still ends it.
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { createVerifier, TokenError } from './verify';

describe('auth: access token verifier cache', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ISSUER = 'http://localhost/auth';
  const AUD = 'http://localhost/fhir';
  // Issued at the verifier's clock (2026-01-01 in these tests): a later iat would be in the future.
  const sign = (exp: number): string =>
    jwt.sign({ scope: 'user/*.rs', jti: crypto.randomUUID(), exp, iat: Math.floor(Date.parse('2026-01-01T00:00:00Z') / 1000) }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: AUD });

  const setup = (size?: number) => {
    let now = new Date('2026-01-01T00:00:00Z');
    let lookups = 0;
    const revoked = new Set<string>();
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUD,
      keys: (kid) => {
        lookups++;
        return kid === 'k1' ? rsa.publicKey : undefined;
      },
      now: () => now,
      isRevoked: (jti) => revoked.has(jti),
      ...(size !== undefined ? { verifiedCacheSize: size } : {}),
    });
    return { verifier, revoked, lookups: () => lookups, setNow: (d: Date) => (now = d), nowSec: () => Math.floor(now.getTime() / 1000) };
  };

  it('verifies a token once and answers it from memory afterwards', async () => {
    const s = setup();
    const token = sign(s.nowSec() + 600);
    const a = await s.verifier.verify(token);
    const b = await s.verifier.verify(token);
    assert.equal(a, b);
    assert.equal(s.lookups(), 1);
    // A token that differs in one character of its signature is verified (and refused), never matched.
    const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
    await assert.rejects(s.verifier.verify(tampered), TokenError);
  });

  it('still refuses a remembered token once it is revoked or expired', async () => {
    const s = setup();
    const token = sign(s.nowSec() + 600);
    const claims = await s.verifier.verify(token);
    s.revoked.add(claims.jti!);
    await assert.rejects(s.verifier.verify(token), /revoked/);
    const other = sign(s.nowSec() + 600);
    await s.verifier.verify(other);
    s.setNow(new Date(Date.parse('2026-01-01T00:00:00Z') + 700_000));
    await assert.rejects(s.verifier.verify(other), /expired/);
  });

  it('keeps at most verifiedCacheSize tokens, and none with 0', async () => {
    const s = setup(2);
    const tokens = [sign(s.nowSec() + 600), sign(s.nowSec() + 600), sign(s.nowSec() + 600)];
    for (const t of tokens) await s.verifier.verify(t);
    assert.equal(s.lookups(), 3);
    await s.verifier.verify(tokens[0]!); // evicted (oldest): verified again
    assert.equal(s.lookups(), 4);
    await s.verifier.verify(tokens[2]!); // still remembered
    assert.equal(s.lookups(), 4);
    const none = setup(0);
    const t = sign(none.nowSec() + 600);
    await none.verifier.verify(t);
    await none.verifier.verify(t);
    assert.equal(none.lookups(), 2);
  });
});
