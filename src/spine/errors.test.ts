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

  it('keeps an R4 issue code when asked, the Spine code as an extra coding (plain R4 answers on /fhir)', () => {
    const e = spineError('gone', 'INVALIDATED_RESOURCE', 'deleted', 'source-patient', { issueCode: 'deleted' });
    assert.equal(e.status, 410);
    assert.equal(e.issues[0]!.code, 'deleted');
    assert.equal(spineCodeOf(e.issues), 'INVALIDATED_RESOURCE');
  });

  it('decorates engine errors by status and leaves coded ones alone', () => {
    const d = withSpineCode(new FhirError('not-found', { diagnostics: 'Resource Patient/x is not known' }));
    assert.equal(d.status, 404);
    assert.equal(spineCodeOf(d.issues), 'RESOURCE_NOT_FOUND');
    assert.equal(d.issues[0]!.diagnostics, 'Resource Patient/x is not known');
    // A stale If-Match is the engine's 412 on /fhir: it keeps its status and issue code, the coding is PRECONDITION_FAILED.
    const stale = withSpineCode(new FhirError('precondition', { code: 'conflict', diagnostics: 'stale' }));
    assert.equal(stale.status, 412);
    assert.equal(stale.issues[0]!.code, 'conflict');
    assert.equal(spineCodeOf(stale.issues), 'PRECONDITION_FAILED');
    // A deleted record is the engine's 410 `deleted`, coded INVALIDATED_RESOURCE for a façade to map.
    const gone = withSpineCode(new FhirError('gone', { code: 'deleted', diagnostics: 'deleted' }));
    assert.equal(gone.status, 410);
    assert.equal(gone.issues[0]!.code, 'deleted');
    assert.equal(spineCodeOf(gone.issues), 'INVALIDATED_RESOURCE');
    assert.equal(spineCodeOf(withSpineCode(new FhirError('unprocessable', 'bad')).issues), 'INVALID_VALUE');
    const coded = spineError('conflict', 'RESOURCE_VERSION_MISMATCH', 'x');
    assert.equal(withSpineCode(coded), coded);
    const h = withSpineCode(new FhirError('not-allowed', { diagnostics: 'no' }, { headers: { Allow: 'GET' } }));
    assert.equal(h.headers['Allow'], 'GET');
  });
});
