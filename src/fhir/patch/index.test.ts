/**
 * Choosing the patch format from the media type (FHIR R4 http.html#patch).
 */
import assert from 'node:assert/strict';
import type { Patient } from 'fhir/r4';
import { FhirError } from '../outcome';
import { applyPatch } from './index';

const patient = (): Patient => ({ resourceType: 'Patient', id: 'p1', gender: 'female' });
const fhirpathDelete = { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }, { name: 'path', valueString: 'Patient.gender' }] }] };
const jsonDelete = [{ op: 'remove', path: '/gender' }];

function status(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FhirError, String(e));
    return e.status;
  }
  return 200;
}

describe('applyPatch (media type dispatch)', () => {
  it('application/json-patch+json is JSON Patch, with or without parameters and in any case', () => {
    assert.deepEqual(applyPatch(patient(), jsonDelete, 'application/json-patch+json'), { resourceType: 'Patient', id: 'p1' });
    assert.deepEqual(applyPatch(patient(), jsonDelete, 'Application/JSON-Patch+JSON; charset=utf-8'), { resourceType: 'Patient', id: 'p1' });
  });

  it('application/fhir+json and application/json carry FHIRPath Patch Parameters', () => {
    assert.deepEqual(applyPatch(patient(), fhirpathDelete, 'application/fhir+json'), { resourceType: 'Patient', id: 'p1' });
    assert.deepEqual(applyPatch(patient(), fhirpathDelete, 'application/json'), { resourceType: 'Patient', id: 'p1' });
  });

  it('400 for a FHIR JSON body that is not Parameters (e.g. a JSON Patch sent with the wrong type)', () => {
    assert.equal(status(() => applyPatch(patient(), jsonDelete, 'application/fhir+json')), 400);
    assert.equal(status(() => applyPatch(patient(), patient(), 'application/json')), 400);
  });

  it('FHIR XML bodies (read into JSON by the HTTP adapter) carry FHIRPath Patch Parameters too', () => {
    for (const ct of ['application/fhir+xml', 'application/xml', 'text/xml']) {
      assert.deepEqual(applyPatch(patient(), fhirpathDelete, ct), { resourceType: 'Patient', id: 'p1' }, ct);
      assert.equal(status(() => applyPatch(patient(), patient(), ct)), 400, ct);
    }
  });

  it('415 for any other media type', () => {
    for (const ct of ['application/xml-patch+xml', 'text/plain', '']) {
      assert.equal(status(() => applyPatch(patient(), jsonDelete, ct)), 415, ct);
    }
  });
});
