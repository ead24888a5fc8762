import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pointerToFhirPath } from './schema-issues';

describe('JSON pointer to FHIRPath', () => {
  it('maps array indexes to [n] and drops the `_` of primitive siblings', () => {
    assert.equal(pointerToFhirPath('Patient', ''), 'Patient');
    assert.equal(pointerToFhirPath('Patient', '/name/0/family'), 'Patient.name[0].family');
    assert.equal(pointerToFhirPath('Patient', '/name/0/_given/1/extension/0'), 'Patient.name[0].given[1].extension[0]');
    assert.equal(pointerToFhirPath('Bundle', '/entry/10/resource/contained/0/id'), 'Bundle.entry[10].resource.contained[0].id');
    assert.equal(pointerToFhirPath('Patient', '/a~1b/c~0d'), 'Patient.`a/b`.`c~d`');
  });

  it('writes keys that are not FHIRPath identifiers as delimited identifiers', () => {
    assert.equal(pointerToFhirPath('Patient', '/__proto__'), 'Patient.`__proto__`');
    assert.equal(pointerToFhirPath('Patient', '/a b'), 'Patient.`a b`');
    assert.equal(pointerToFhirPath('Patient', '/_birthDate'), 'Patient.birthDate');
  });

  it('yields one segment per pointer token (property)', () => {
    const token = fc.oneof(fc.nat({ max: 999 }).map(String), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{0,8}$/));
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (tokens) => {
        const p = pointerToFhirPath('X', tokens.map((t) => `/${t}`).join(''));
        const expected = 'X' + tokens.map((t) => (/^\d+$/.test(t) ? `[${t}]` : `.${t}`)).join('');
        assert.equal(p, expected);
      }),
    );
  });
});
