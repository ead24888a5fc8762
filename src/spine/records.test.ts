import assert from 'node:assert/strict';
import { FhirError } from '../fhir/outcome';
import { SPINE_ERROR_SYSTEM } from './errors';
import { duplicateMatchesOf, duplicatePatientError } from './records';

describe('spine/records duplicates', () => {
  it('a duplicate create is 409 `duplicate` naming the matches, the Spine code as an extra coding', () => {
    const e = duplicatePatientError('MULTIPLE_MATCHES', ['9000000009', '9000000017'], 'Unable to create new patient', 'Patient');
    assert.equal(e.status, 409);
    const i = e.issues[0]!;
    assert.equal(i.code, 'duplicate');
    assert.equal(i.severity, 'error');
    assert.deepEqual(i.expression, ['Patient']);
    assert.equal(i.diagnostics, 'Unable to create new patient (matching records: Patient/9000000009, Patient/9000000017)');
    assert.deepEqual(i.details?.coding?.map((c) => [c.system, c.code]), [[SPINE_ERROR_SYSTEM, 'MULTIPLE_MATCHES']]);
  });

  it('duplicateMatchesOf gives the matched ids from the error, from a copy of it, and nothing for other errors', () => {
    const single = duplicatePatientError('SINGLE_MATCH', ['9000000009'], 'Unable to create new patient: use Patient/9000000009', 'Patient');
    assert.deepEqual(duplicateMatchesOf(single), ['9000000009']);
    // A transaction answers a copy with its entry named in front of the diagnostics.
    const copy = new FhirError(
      'conflict',
      single.issues.map((i) => ({ ...i, diagnostics: `Bundle.entry[2] (POST Patient): ${i.diagnostics ?? ''}` })),
    );
    assert.deepEqual(duplicateMatchesOf(copy), ['9000000009']);
    const several = duplicatePatientError('MULTIPLE_MATCHES', ['9000000017', '9000000025'], 'x', 'Patient');
    assert.deepEqual(duplicateMatchesOf(new FhirError('conflict', several.issues.map((i) => ({ ...i, diagnostics: i.diagnostics ?? '' })))), ['9000000017', '9000000025']);
    assert.deepEqual(duplicateMatchesOf(new FhirError('conflict', { code: 'conflict', diagnostics: 'Patient/9000000009 was changed (matching record: Patient/9000000009)' })), []);
    assert.deepEqual(duplicateMatchesOf(new FhirError('precondition', 'stale')), []);
  });
});
