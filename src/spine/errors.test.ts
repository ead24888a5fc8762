import assert from 'node:assert/strict';
import { FhirError } from '../fhir/outcome';
import { spineCodeOf, spineError, SPINE_ERROR_SYSTEM, withSpineCode } from './errors';

describe('spine/errors', () => {
  it('builds a FhirError with the Spine coding, PDS issue code and the category status', () => {
    const e = spineError('invalid', 'INVALID_RESOURCE_ID', 'bad id', 'Patient.id');
    assert.equal(e.status, 400);
    const i = e.issues[0]!;
    assert.equal(i.code, 'value');
    assert.equal(i.severity, 'error');
    assert.deepEqual(i.details?.coding?.[0], { system: SPINE_ERROR_SYSTEM, version: '1', code: 'INVALID_RESOURCE_ID', display: 'Resource Id is invalid' });
    assert.deepEqual(i.expression, ['Patient.id']);
    assert.equal(spineError('not-found', 'RESOURCE_NOT_FOUND', 'x').issues[0]!.severity, 'information');
  });

  it('decorates engine errors by status and leaves coded ones alone', () => {
    const d = withSpineCode(new FhirError('not-found', { diagnostics: 'Resource Patient/x is not known' }));
    assert.equal(d.status, 404);
    assert.equal(spineCodeOf(d.issues), 'RESOURCE_NOT_FOUND');
    assert.equal(d.issues[0]!.diagnostics, 'Resource Patient/x is not known');
    assert.equal(spineCodeOf(withSpineCode(new FhirError('precondition', 'stale')).issues), 'PRECONDITION_FAILED');
    assert.equal(spineCodeOf(withSpineCode(new FhirError('unprocessable', 'bad')).issues), 'INVALID_VALUE');
    const coded = spineError('conflict', 'RESOURCE_VERSION_MISMATCH', 'x');
    assert.equal(withSpineCode(coded), coded);
    const h = withSpineCode(new FhirError('not-allowed', { diagnostics: 'no' }, { headers: { Allow: 'GET' } }));
    assert.equal(h.headers['Allow'], 'GET');
  });
});
