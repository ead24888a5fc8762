/**
 * Index extraction on write is complete or fails (FHIR R4 §3.1.1 search.html: a stored resource must
 * be found by every parameter that applies to it): `completeIndex` turns any failed parameter into a
 * FhirError (413 when the evaluation exhausted the stack, 422 otherwise), and the cooperative
 * extraction produces exactly the entries of the synchronous one.
 */
import assert from 'node:assert/strict';
import type { Resource, SearchParameter } from 'fhir/r4';
import fc from 'fast-check';
import { FhirError } from '../fhir/outcome';
import { completeIndex, extractIndexCooperatively, extractIndexWithStats } from './extract';
import { createR4SearchParameters } from './parameters';

const throwing: SearchParameter = {
  resourceType: 'SearchParameter',
  url: 'http://example.org/SearchParameter/family-tail',
  name: 'family-tail',
  status: 'active',
  description: 'Fails on a Patient with several family names (substring of a collection)',
  code: 'family-tail',
  base: ['Patient'],
  type: 'string',
  expression: 'Patient.name.family.substring(1)',
};

describe('complete index extraction', () => {
  it('a parameter whose expression throws fails the extraction with a 422 naming it', () => {
    const registry = createR4SearchParameters();
    registry.register(throwing);
    const one = { resourceType: 'Patient', name: [{ family: 'Solo' }] } as Resource;
    assert.ok(completeIndex('Patient', extractIndexWithStats(one, registry)).some((e) => e.param === 'family-tail'));
    const two = { resourceType: 'Patient', name: [{ family: 'One' }, { family: 'Two' }] } as Resource;
    assert.throws(
      () => completeIndex('Patient', extractIndexWithStats(two, registry)),
      (e: unknown) => e instanceof FhirError && e.status === 422 && e.issues[0]!.code === 'processing' && /family-tail/.test(e.message) && e.issues[0]!.expression?.[0] === 'Patient',
    );
  });

  it('a parameter that exhausted the stack is a 413 too-costly', () => {
    assert.throws(
      () => completeIndex('Patient', { entries: [], failures: [{ param: 'name', error: 'Maximum call stack size exceeded', tooLarge: true }] }),
      (e: unknown) => e instanceof FhirError && e.status === 413 && e.issues[0]!.code === 'too-costly' && /MAX_ARRAY_LENGTH/.test(e.message),
    );
  });

  it('the cooperative extraction gives exactly the entries of the synchronous one', async () => {
    const registry = createR4SearchParameters();
    const nameArb = fc.record({ family: fc.string({ maxLength: 8 }), given: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }) }, { requiredKeys: [] });
    const patientArb = fc.record(
      {
        name: fc.array(nameArb, { maxLength: 30 }),
        birthDate: fc.constantFrom('1970', '1980-02', '1990-03-04'),
        gender: fc.constantFrom('male', 'female', 'other'),
        identifier: fc.array(fc.record({ system: fc.constantFrom('urn:a', 'urn:b'), value: fc.string({ minLength: 1, maxLength: 5 }) }), { maxLength: 5 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(patientArb, async (p) => {
        const resource = { resourceType: 'Patient', ...p } as Resource;
        assert.deepEqual(await extractIndexCooperatively(resource, registry), extractIndexWithStats(resource, registry));
      }),
      { numRuns: 100 },
    );
  });
});
