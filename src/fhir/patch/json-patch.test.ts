/**
 * JSON Patch for the FHIR patch interaction (FHIR R4 http.html#patch, RFC 6902): shape validation
 * (400 naming the operation), failures on the document (422), no mutation, no prototype pollution.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Patient, Resource } from 'fhir/r4';
import { FhirError } from '../outcome';
import { countValues } from '../limits';
import { applyJsonPatch, pointerToFhirPath } from './json-patch';

const patient = (): Patient => ({ resourceType: 'Patient', id: 'p1', gender: 'female', name: [{ family: 'Smith', given: ['Ann'] }] });

function fails(patch: unknown, status: number, ...fragments: string[]): FhirError {
  const p = patient();
  let caught: unknown;
  try {
    applyJsonPatch(p, patch);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FhirError, `expected a FhirError, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message "${caught.message}" mentions "${f}"`);
  assert.deepEqual(p, patient(), 'input not mutated');
  return caught;
}

describe('JSON Patch', () => {
  it('applies add, remove, replace, move, copy and test in order without mutating the input', () => {
    const p = patient();
    const out = applyJsonPatch(p, [
      { op: 'test', path: '/gender', value: 'female' },
      { op: 'replace', path: '/gender', value: 'male' },
      { op: 'add', path: '/name/0/given/-', value: 'Bea' },
      { op: 'copy', from: '/name/0/family', path: '/name/0/prefix' },
      { op: 'move', from: '/name/0/prefix', path: '/name/0/suffix' },
      { op: 'remove', path: '/id' },
      { op: 'add', path: '/birthDate', value: '1970-01-01' },
    ]);
    assert.deepEqual(out, { resourceType: 'Patient', gender: 'male', birthDate: '1970-01-01', name: [{ family: 'Smith', given: ['Ann', 'Bea'], suffix: 'Smith' }] });
    assert.deepEqual(p, patient());
  });

  it('does not share values with the patch document', () => {
    const value = { family: 'Jones' };
    const out = applyJsonPatch(patient(), [{ op: 'add', path: '/name/-', value }]) as Patient;
    out.name![1]!.family = 'changed';
    assert.equal(value.family, 'Jones');
  });

  it('400 for a malformed patch document, naming the operation', () => {
    fails({ op: 'add' }, 400, 'array');
    fails([{ op: 'remove', path: '/gender' }, 'x'], 400, 'operation 1', 'object');
    fails([{ path: '/gender' }], 400, 'operation 0', "'op'");
    fails([{ op: 'upsert', path: '/gender' }], 400, "unknown op 'upsert'");
    fails([{ op: 'remove' }], 400, "'path'");
    fails([{ op: 'remove', path: 'gender' }], 400, 'JSON Pointer');
    fails([{ op: 'remove', path: '/a~2b' }], 400, "'~'");
    fails([{ op: 'add', path: '/gender' }], 400, "needs member 'value'");
    fails([{ op: 'move', path: '/gender' }], 400, "'from'");
    fails([{ op: 'move', from: '/name', path: '/name/0' }], 400, 'own child');
  });

  it('422 when a test fails or a path does not exist, naming the operation and path', () => {
    const e = fails([{ op: 'remove', path: '/gender' }, { op: 'test', path: '/id', value: 'other' }], 422, 'operation 1', "'/id'", 'test failed');
    assert.deepEqual(e.issues[0]?.expression, ['Patient.id']);
    fails([{ op: 'remove', path: '/birthDate' }], 422, "'/birthDate'");
    fails([{ op: 'replace', path: '/birthDate', value: 'x' }], 422, "'/birthDate'");
    fails([{ op: 'add', path: '/contact/0/name', value: {} }], 422);
    fails([{ op: 'add', path: '/name/5', value: {} }], 422, "'/name/5'");
    fails([{ op: 'move', from: '/nothing', path: '/gender' }], 422);
  });

  it('422 naming the operation when a from under a missing element is moved or copied to the root, never the engine\'s TypeError text', () => {
    // Found by the chaos suite (test/chaos): the diagnostics read "Cannot read properties of undefined (reading '0')".
    for (const [patch, index] of [
      [[{ op: 'move', path: '', from: '/telecom/0/value' }], 0],
      [[{ op: 'test', path: '/gender', value: 'female' }, { op: 'copy', path: '', from: '/address/0' }], 1],
      [[{ op: 'move', path: '', from: '/a/b/c' }], 0],
    ] as const) {
      const e = fails(patch, 422, `JSON Patch operation ${index} (`, 'does not resolve in this resource');
      assert.doesNotMatch(e.message, /Cannot read propert|undefined/);
    }
  });

  it('422 when the result is no longer a resource', () => {
    fails([{ op: 'replace', path: '', value: 5 }], 422, 'no longer a FHIR resource');
    fails([{ op: 'remove', path: '/resourceType' }], 422, 'no longer a FHIR resource');
  });

  it('never modifies Object.prototype', () => {
    for (const path of ['/__proto__/polluted', '/constructor/prototype/polluted']) {
      try {
        applyJsonPatch(patient(), [{ op: 'add', path, value: 'yes' }]);
      } catch (e) {
        assert.ok(e instanceof FhirError);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }
  });

  it('maps JSON Pointers to FHIRPath for issue expressions', () => {
    assert.equal(pointerToFhirPath('Patient', '/name/0/given/1'), 'Patient.name[0].given[1]');
    assert.equal(pointerToFhirPath('Patient', ''), 'Patient');
    assert.equal(pointerToFhirPath('Patient', '/name/-'), undefined);
  });

  it('property: arbitrary bodies and operations give a FhirError or a resource, and never mutate the input', () => {
    const pointer = fc.constantFrom('', '/', '/gender', '/name', '/name/0', '/name/-', '/name/0/given/0', '/name/9', '/id', '/resourceType', '/x/y', '/~0', '/a~1b', '/__proto__', 'bad');
    const op = fc.record(
      { op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '_get', 'nope'), path: pointer, from: pointer, value: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(fc.oneof(fc.array(op, { maxLength: 5 }), fc.jsonValue()), (patch) => {
      const p = patient();
      try {
        const out: Resource = applyJsonPatch(p, patch);
        assert.equal(typeof out.resourceType, 'string');
      } catch (e) {
        if (!(e instanceof FhirError) || (e.status !== 400 && e.status !== 422)) throw e;
      }
      assert.deepEqual(p, patient());
    }), { numRuns: 2000 });
  });

  it('with a size limit: a patch result is never larger than the limit, a growing patch is a 413 before it grows, and the input is untouched', () => {
    const pointer = fc.constantFrom('/name', '/name/0', '/name/0/given', '/name/-', '/name/0/given/-', '/gender', '/name/0/family');
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('copy'), from: pointer, path: pointer }),
      fc.record({ op: fc.constant('add'), path: pointer, value: fc.jsonValue({ maxDepth: 2 }) }),
      fc.record({ op: fc.constant('remove'), path: pointer }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 25 }), fc.integer({ min: 10, max: 200 }), (ops, max) => {
        const input = patient();
        let result: Resource | undefined;
        try {
          result = applyJsonPatch(input, ops, max);
        } catch (e) {
          assert.ok(e instanceof FhirError && e.status < 500, String(e));
        }
        assert.deepEqual(input, patient());
        if (result !== undefined) assert.ok(countValues(result, max) <= max, 'the result is within the limit');
      }),
      { numRuns: 1000 },
    );
    // Doubling by copying the names into themselves is stopped at the limit, not after it.
    const doubling = Array.from({ length: 40 }, () => ({ op: 'copy', from: '/name', path: '/name/0' }));
    assert.throws(() => applyJsonPatch(patient(), doubling, 1000), (e: unknown) => e instanceof FhirError && e.status === 413 && /MAX_RESOURCE_ELEMENTS/.test(e.message) && /operation \d+ \(copy/.test(e.message));
  });
});
