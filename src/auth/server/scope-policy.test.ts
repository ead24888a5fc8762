/**
 * Which scopes a client may be granted (SMART App Launch 2.0.0 scopes-and-launch-context.html):
 * wildcards and permission supersets cover narrower scopes, never the other way round.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { covers, scopeTokens, uncovered } from './scope-policy';

const scopeArb = fc
  .tuple(fc.constantFrom('patient', 'user', 'system'), fc.constantFrom('*', 'Observation', 'Patient'), fc.constantFrom('read', 'write', '*', 'r', 'rs', 'cruds', 'cud', 's'))
  .map(([c, t, p]) => `${c}/${t}.${p}`);

describe('auth server: scope policy', () => {
  it('covers the same token, narrower types and permissions, and query-restricted requests', () => {
    assert.ok(covers('openid', 'openid'));
    assert.ok(covers('patient/*.rs', 'patient/Observation.r'));
    assert.ok(covers('patient/*.read', 'patient/Observation.rs'));
    assert.ok(covers('user/*.*', 'user/Patient.cruds'));
    assert.ok(covers('patient/Observation.rs', 'patient/Observation.rs?category=laboratory'));
    assert.ok(!covers('patient/*.rs', 'patient/*.cruds'));
    assert.ok(!covers('patient/*.rs', 'user/*.rs'));
    assert.ok(!covers('patient/Observation.rs', 'patient/*.rs'));
    assert.ok(!covers('patient/Observation.rs?category=laboratory', 'patient/Observation.rs'));
    assert.ok(!covers('launch', 'launch/patient'));
    assert.deepEqual(uncovered(['openid', 'patient/*.cruds', 'patient/Patient.r'], ['openid', 'patient/*.rs']), ['patient/*.cruds']);
    assert.deepEqual(scopeTokens('  a b  a '), ['a', 'b']);
  });

  it('is reflexive and transitive, and never crosses contexts (property)', () => {
    fc.assert(
      fc.property(scopeArb, scopeArb, scopeArb, (a, b, c) => {
        assert.ok(covers(a, a));
        if (covers(a, b) && covers(b, c)) assert.ok(covers(a, c), `${a} ${b} ${c}`);
        if (a.split('/')[0] !== b.split('/')[0]) assert.ok(!covers(a, b));
      }),
    );
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => typeof covers(a, b) === 'boolean'));
  });
});
