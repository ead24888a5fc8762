/**
 * Throttling building blocks (RFC 6585 §4; RFC 9700 §4.6; NIST SP 800-63B §5.2.2): request quotas,
 * failure blocks per address and client, the login lockout's doubling and cap, address keys.
 */
import assert from 'node:assert/strict';
import { addressKey, AuthThrottle, type ThrottleSettings } from './throttle';

const SETTINGS: ThrottleSettings = {
  fhirRequestsPerMinute: 3,
  authRequestsPerMinute: 2,
  failuresPerMinute: 3,
  clientFailuresPerMinute: 5,
  failureBlockSeconds: 30,
  lockoutThreshold: 3,
  lockoutSeconds: 10,
  lockoutMaxSeconds: 35,
};

describe('auth: throttle', () => {
  it('counts FHIR requests per client and per user; 0 is unlimited', async () => {
    const t = new AuthThrottle(SETTINGS);
    for (let i = 0; i < 3; i++) assert.equal(await t.fhirRequest({ client: 'c', user: `u${i}` }), undefined);
    const over = await t.fhirRequest({ client: 'c', user: 'other' });
    assert.equal(over?.limit, 'client requests');
    assert.ok(over.retryAfterSeconds >= 1 && over.retryAfterSeconds <= 60);
    for (let i = 0; i < 3; i++) assert.equal(await t.fhirRequest({ client: `d${i}`, user: 'u' }), undefined);
    assert.equal((await t.fhirRequest({ client: 'e', user: 'u' }))?.limit, 'user requests');
    const unlimited = new AuthThrottle({ ...SETTINGS, fhirRequestsPerMinute: 0, authRequestsPerMinute: 0 });
    for (let i = 0; i < 100; i++) assert.equal(await unlimited.fhirRequest({ client: 'c', user: 'u' }), undefined);
    for (let i = 0; i < 100; i++) assert.equal(await unlimited.authRequest('c'), undefined);
  });

  it('blocks an address at its failure limit, and a client at its own (higher) one, for the block duration', async () => {
    const t = new AuthThrottle(SETTINGS);
    assert.equal(await t.authenticationFailed({ address: 'a' }), false);
    assert.equal(await t.authenticationFailed({ address: 'a' }), false);
    assert.equal(await t.authenticationBlocked({ address: 'a' }), undefined);
    assert.equal(await t.authenticationFailed({ address: 'a' }), true, 'the third failure starts the block');
    const blocked = await t.authenticationBlocked({ address: 'a' });
    assert.equal(blocked?.limit, 'failed authentication from this address');
    assert.equal(blocked.retryAfterSeconds, 30);
    assert.equal(await t.authenticationBlocked({ address: 'b' }), undefined);
    for (let i = 0; i < 4; i++) await t.authenticationFailed({ address: `x${i}`, client: 'c' });
    assert.equal(await t.authenticationBlocked({ client: 'c' }), undefined);
    await t.authenticationFailed({ address: 'x9', client: 'c' });
    assert.equal((await t.authenticationBlocked({ address: 'fresh', client: 'c' }))?.limit, 'failed authentication of this client');
  });

  it('locks a user name from the threshold on, doubling each further failure up to the maximum; success resets', async () => {
    const t = new AuthThrottle(SETTINGS);
    assert.equal(await t.loginFailed('alice'), undefined);
    assert.equal(await t.loginFailed('alice'), undefined);
    assert.equal(await t.loginLocked('alice'), undefined);
    assert.equal((await t.loginFailed('alice'))?.retryAfterSeconds, 10);
    assert.equal((await t.loginLocked('alice'))?.limit, 'failed sign-ins of this user name');
    assert.equal((await t.loginFailed('alice'))?.retryAfterSeconds, 20);
    assert.equal((await t.loginFailed('alice'))?.retryAfterSeconds, 35, 'capped at lockoutMaxSeconds');
    assert.equal(await t.loginLocked('bob'), undefined);
    await t.loginSucceeded('alice');
    assert.equal(await t.loginLocked('alice'), undefined);
    assert.equal(await t.loginFailed('alice'), undefined, 'the count starts again');
    // A very long user name is a key like any other (hashed).
    assert.equal(await t.loginFailed('x'.repeat(100_000)), undefined);
  });

  it('keys IPv4 addresses as they are and IPv6 addresses by their /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  });
});
