import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isResourceType } from '../definitions/resource-types';
import { classifyRequest, maskedPath, queryParameterNames } from './observability';

describe('observability: request classification and log masking', () => {
  it('names the FHIR R4 interactions from method and path', () => {
    const cases: Array<[string, string, string, string, string]> = [
      ['GET', '/fhir/Patient/123', 'fhir', 'read', 'Patient'],
      ['GET', '/fhir/Patient/123/_history/2', 'fhir', 'vread', 'Patient'],
      ['GET', '/fhir/Patient/123/_history', 'fhir', 'history', 'Patient'],
      ['GET', '/fhir/Patient/_history', 'fhir', 'history', 'Patient'],
      ['GET', '/fhir/_history', 'fhir', 'history', '-'],
      ['PUT', '/fhir/Patient/123', 'fhir', 'update', 'Patient'],
      ['PATCH', '/fhir/Patient/123', 'fhir', 'patch', 'Patient'],
      ['DELETE', '/fhir/Patient/123', 'fhir', 'delete', 'Patient'],
      ['POST', '/fhir/Patient', 'fhir', 'create', 'Patient'],
      ['GET', '/fhir/Patient', 'fhir', 'search', 'Patient'],
      ['POST', '/fhir/Patient/_search', 'fhir', 'search', 'Patient'],
      ['GET', '/fhir/Patient/1/Observation', 'fhir', 'search', 'Patient'],
      ['POST', '/fhir', 'fhir', 'batch/transaction', '-'],
      ['GET', '/fhir/metadata', 'fhir', 'capabilities', '-'],
      ['POST', '/fhir/Patient/$match', 'fhir', 'operation', 'Patient'],
      ['GET', '/fhir/Patient/1/$everything', 'fhir', 'operation', 'Patient'],
      ['GET', '/fhir/$export', 'fhir', 'operation', '-'],
      ['GET', '/personal-demographics/FHIR/R4/Patient/9000000009', 'pds', 'read', 'Patient'],
      ['GET', '/personal-demographics/FHIR/R4/_ping', 'pds', 'ping', '-'],
      ['POST', '/auth/token', 'auth', 'auth', '-'],
      ['GET', '/metrics', 'ops', 'metrics', '-'],
      ['GET', '/nowhere', 'other', 'unknown', '-'],
      ['GET', '/fhir/NotAType/1', 'fhir', 'unknown', '-'],
    ];
    for (const [method, path, api, interaction, type] of cases) {
      assert.deepEqual(classifyRequest(method, path, '/fhir'), { api, interaction, type }, `${method} ${path}`);
    }
  });

  it('property: never throws; the type label is a known resource type or "-", whatever the path', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'X'), fc.array(fc.oneof(fc.string(), fc.constantFrom('Patient', '_history', '$x', 'fhir', 'metadata')), { maxLength: 6 }), (method, segs) => {
        const c = classifyRequest(method, `/${segs.join('/')}`, '/fhir');
        assert.ok(c.type === '-' || isResourceType(c.type), c.type);
      }),
    );
  });

  it('masks every 10-digit run (NHS Numbers) and keeps only query parameter names', () => {
    assert.equal(maskedPath('/fhir/Patient/9000000009/_history/12'), '/fhir/Patient/**********/_history/12');
    assert.deepEqual(queryParameterNames('/fhir/Patient?family=Smith&birthdate=eq1990-01-01&identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009&_count=5'), ['family', 'birthdate', 'identifier', '_count']);
    assert.deepEqual(queryParameterNames('/x?%ZZ=1&&a+b=2'), ['%ZZ', 'a b']);
    fc.assert(
      fc.property(fc.stringMatching(/^\d{10}$/), fc.string(), (nhs, other) => {
        assert.doesNotMatch(maskedPath(`/a/${other}${nhs}${other}`), /\d{10}/);
        assert.ok(!queryParameterNames(`/a?name=${nhs}&${nhs}=x`).some((n) => n.includes(nhs)));
      }),
    );
  });
});
