/**
 * SMART scopes (SMART App Launch 2.0.0 scopes-and-launch-context.html): v1 and v2 syntax, query
 * restrictions, and properties of the parser (never throws on any text; format/parse round-trips).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatScope, grants, parseScope, parseScopes, PERMISSIONS, type Permission, type ScopeGrant } from './scopes';

const pick = (g: ScopeGrant | undefined): unknown => g && { context: g.context, resourceType: g.resourceType, permissions: g.permissions, query: g.query, v1: g.v1 };

describe('SMART scopes', () => {
  it('parses v1 scopes: read = rs, write = cud, * = cruds', () => {
    assert.deepEqual(pick(parseScope('patient/Observation.read')), { context: 'patient', resourceType: 'Observation', permissions: ['r', 's'], query: undefined, v1: true });
    assert.deepEqual(pick(parseScope('user/*.write')), { context: 'user', resourceType: '*', permissions: ['c', 'u', 'd'], query: undefined, v1: true });
    assert.deepEqual(pick(parseScope('system/*.*')), { context: 'system', resourceType: '*', permissions: ['c', 'r', 'u', 'd', 's'], query: undefined, v1: true });
  });

  it('parses v2 scopes, with and without a query restriction', () => {
    assert.deepEqual(pick(parseScope('patient/Observation.rs')), { context: 'patient', resourceType: 'Observation', permissions: ['r', 's'], query: undefined, v1: false });
    assert.deepEqual(parseScope('user/Patient.cruds')?.permissions, ['c', 'r', 'u', 'd', 's']);
    assert.deepEqual(parseScope('patient/Observation.rs?category=laboratory')?.query, [['category', 'laboratory']]);
    assert.deepEqual(parseScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory&status=final')?.query, [
      ['category', 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory'],
      ['status', 'final'],
    ]);
  });

  it('refuses malformed scopes and ignores non-resource scopes', () => {
    for (const s of ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/Observation', 'patient/Observation.', 'patient/Observation.sr', 'patient/Observation.rr', 'patient/Observation.x', 'admin/Observation.rs', 'patient/observation.rs', 'patient/Observation.read?category=x', 'patient/Observation.rs?', ' patient/Observation.rs', '']) {
      assert.equal(parseScope(s), undefined, s);
    }
    assert.deepEqual(
      parseScopes('openid fhirUser launch/patient patient/Patient.read  patient/Observation.rs offline_access').map((g) => g.raw),
      ['patient/Patient.read', 'patient/Observation.rs'],
    );
    assert.deepEqual(parseScopes(undefined), []);
  });

  it('grants by type and permission, `*` covering every type', () => {
    const g = parseScope('patient/*.rs')!;
    assert.ok(grants(g, 'Observation', 'r'));
    assert.ok(grants(g, 'Patient', 's'));
    assert.ok(!grants(g, 'Patient', 'u'));
    const o = parseScope('user/Observation.c')!;
    assert.ok(grants(o, 'Observation', 'c'));
    assert.ok(!grants(o, 'Patient', 'c'));
  });

  it('property: the parser never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        parseScope(s);
        parseScopes(s);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.constantFrom('patient/', 'user/', 'system/', 'x/'), fc.string(), fc.constantFrom('.', '.r', '.read', '?'), fc.string(), (a, b, c, d) => {
        parseScope(a + b + c + d);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: format then parse gives the same grant back', () => {
    const typeArb = fc.oneof(fc.constant('*'), fc.stringMatching(/^[A-Z][A-Za-z]{0,20}$/));
    const permsArb = fc.subarray([...PERMISSIONS] as Permission[], { minLength: 1 });
    const queryArb = fc.option(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 3 }), { nil: undefined });
    fc.assert(
      fc.property(fc.constantFrom('patient', 'user', 'system') as fc.Arbitrary<ScopeGrant['context']>, typeArb, permsArb, queryArb, (context, resourceType, permissions, query) => {
        const text = formatScope({ context, resourceType, permissions, ...(query ? { query } : {}) });
        const back = parseScope(text);
        assert.ok(back, text);
        assert.equal(back.context, context);
        assert.equal(back.resourceType, resourceType);
        assert.deepEqual(back.permissions, PERMISSIONS.filter((p) => permissions.includes(p)));
        assert.deepEqual(back.query, query);
        assert.equal(formatScope(back), text);
      }),
      { numRuns: 1000 },
    );
  });
});
