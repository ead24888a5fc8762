/**
 * In-memory state: expiry, refresh rotation and family revocation, assertion jti replay cache.
 */
import assert from 'node:assert/strict';
import { AuthState, ExpiringMap } from './state';

describe('auth server: state', () => {
  it('forgets entries at their expiry; take is single use', () => {
    let now = 1_000_000;
    const m = new ExpiringMap<number>(() => now);
    m.set('a', 1, now + 1000);
    assert.equal(m.get('a'), 1);
    now += 1000;
    assert.equal(m.get('a'), undefined);
    m.set('b', 2, now + 5000);
    assert.equal(m.take('b'), 2);
    assert.equal(m.take('b'), undefined);
  });

  it('uses a refresh token once; reuse revokes the family and its access tokens', () => {
    const now = 1_000_000_000;
    const s = new AuthState(() => now);
    const grant = { clientId: 'c', scope: 'offline_access', sub: 'u' };
    const t1 = s.issueRefresh(grant, 'fam', now + 60_000);
    s.recordAccessToken('fam', 'jti-1', now / 1000 + 60, now + 60_000);
    const used = s.useRefresh(t1);
    assert.ok(used && used !== 'reuse');
    const t2 = s.issueRefresh(grant, 'fam', now + 60_000);
    assert.equal(s.isRevoked('jti-1'), false);
    assert.equal(s.useRefresh(t1), 'reuse');
    assert.equal(s.isRevoked('jti-1'), true);
    assert.equal(s.useRefresh(t2), undefined);
    assert.equal(s.useRefresh('unknown'), undefined);
  });

  it('refuses a client assertion jti seen before, per client, until it expires', () => {
    let now = 1_000_000_000;
    const s = new AuthState(() => now);
    assert.equal(s.rememberAssertion('c', 'j', now / 1000 + 60), true);
    assert.equal(s.rememberAssertion('c', 'j', now / 1000 + 60), false);
    assert.equal(s.rememberAssertion('d', 'j', now / 1000 + 60), true);
    now += 200_000;
    assert.equal(s.rememberAssertion('c', 'j', now / 1000 + 60), true);
  });
});
