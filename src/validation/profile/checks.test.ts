/**
 * Element checks of the profile validator against small hand-written profiles (FHIR R4
 * elementdefinition.html: cardinality, types, fixed/pattern, maxLength, min/max values, references,
 * contained resources, extensions, bindings, invariants).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileProfile } from './compile';
import { errorPaths, errorsOf, testBed } from './test-support';
import { fixedMatches, patternMatches } from './values';

const LOINC = 'http://loinc.org';

describe('profile validator: element checks', () => {
  const bed = testBed();

  it('checks cardinality (min and max 0)', async () => {
    const p = bed.profile('card', 'Patient', [
      { id: 'Patient.name', path: 'Patient.name', min: 1 },
      { id: 'Patient.photo', path: 'Patient.photo', max: '0' },
    ]);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', name: [{ family: 'X' }] })), []);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient' })), ['Patient.name']);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', name: [{ family: 'X' }], photo: [{ url: 'http://x' }] })), ['Patient.photo']);
  });

  it('restricts the types of a choice element', async () => {
    const p = bed.profile('choice', 'Observation', [{ id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'Quantity' }] }]);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueQuantity: { value: 1 } })), []);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueString: 'one' })), ['Observation.valueString']);
  });

  it('checks fixed (exact) and pattern (partial) values', async () => {
    const p = bed.profile('fixpat', 'Observation', [
      { id: 'Observation.status', path: 'Observation.status', fixedCode: 'final' },
      { id: 'Observation.code', path: 'Observation.code', patternCodeableConcept: { coding: [{ system: LOINC, code: '8867-4' }] } },
    ]);
    const good = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://other', code: 'a' }, { system: LOINC, code: '8867-4', display: 'Heart rate' }], text: 'HR' } };
    assert.deepEqual(errorPaths(await p.validate(good)), []);
    assert.deepEqual(errorPaths(await p.validate({ ...good, status: 'amended' })), ['Observation.status']);
    assert.deepEqual(errorPaths(await p.validate({ ...good, code: { coding: [{ system: LOINC, code: '1234-5' }] } })), ['Observation.code']);
  });

  it('checks maxLength and minValue/maxValue', async () => {
    const p = bed.profile('lengths', 'Observation', [
      { id: 'Observation.value[x]', path: 'Observation.value[x]', type: [{ code: 'integer' }], minValueInteger: 0, maxValueInteger: 10 },
      { id: 'Observation.code.text', path: 'Observation.code.text', maxLength: 5 },
    ]);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'abc' } };
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueInteger: 3 })), []);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueInteger: -1 })), ['Observation.valueInteger']);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueInteger: 11 })), ['Observation.valueInteger']);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, code: { text: 'abcdef' }, valueInteger: 1 })), ['Observation.code.text']);
  });

  it('checks reference target types, relative and contained', async () => {
    const p = bed.profile('refs', 'Observation', [
      { id: 'Observation.subject', path: 'Observation.subject', type: [{ code: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'] }] },
    ]);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assert.deepEqual(errorPaths(await p.validate({ ...obs, subject: { reference: 'Patient/1' } })), []);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, subject: { reference: 'Group/1' } })), ['Observation.subject.reference']);
    const contained = { ...obs, contained: [{ resourceType: 'Group', id: 'g', type: 'person', actual: true }], subject: { reference: '#g' } };
    assert.deepEqual(errorPaths(await p.validate(contained)), ['Observation.subject.reference']);
    const ok = { ...obs, contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#p' } };
    assert.deepEqual(errorPaths(await p.validate(ok)), []);
    // ref-1: a local reference needs its contained resource
    assert.ok(errorsOf(await p.validate({ ...obs, subject: { reference: '#nothere' } })).some((i) => i.diagnostics.includes('ref-1')));
  });

  it('validates contained resources against their base type', async () => {
    const p = bed.profile('contained', 'Observation', []);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: '#p' }, contained: [{ resourceType: 'Patient', id: 'p', gender: 'robot' }] };
    assert.deepEqual(errorPaths(await p.validate(obs)), ['Observation.contained[0].gender']);
  });

  it('checks required, extensible and unknown-system bindings', async () => {
    const patient = bed.compiled('http://hl7.org/fhir/StructureDefinition/Patient');
    assert.deepEqual(errorPaths(await patient.validate({ resourceType: 'Patient', gender: 'female' })), []);
    const bad = await patient.validate({ resourceType: 'Patient', gender: 'robot' });
    assert.deepEqual(errorPaths(bad), ['Patient.gender']);
    assert.equal(errorsOf(bad)[0]?.code, 'code-invalid');
    // extensible (Patient.maritalStatus? preferred in R4: use Identifier.type, extensible)
    const ext = await patient.validate({ resourceType: 'Patient', identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NOPE' }] }, value: '1' }] });
    assert.deepEqual(errorsOf(ext), []);
    assert.ok(ext.some((i) => i.severity === 'warning' && i.expression[0] === 'Patient.identifier[0].type'));
    // codes of systems not known locally are "not checked": information, never an error
    const p = bed.profile('snomed', 'Patient', [
      { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/marital-status' } },
    ]);
    const sct = await p.validate({ resourceType: 'Patient', maritalStatus: { coding: [{ system: 'http://snomed.info/sct', code: '87915002' }] } });
    assert.deepEqual(errorsOf(sct), []);
    assert.ok(sct.some((i) => i.severity === 'information' && i.diagnostics.includes('not checked')));
    const textOnly = await p.validate({ resourceType: 'Patient', maritalStatus: { text: 'married' } });
    assert.deepEqual(errorsOf(textOnly), []);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'ZZ' }] } })), ['Patient.maritalStatus']);
  });

  it('reports an unexpandable value set as information "not checked"', async () => {
    const p = bed.profile('vsunknown', 'Patient', [
      { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', binding: { strength: 'required', valueSet: 'http://example.org/ValueSet/none' } },
    ]);
    const r = await p.validate({ resourceType: 'Patient', maritalStatus: { coding: [{ system: 'http://x', code: 'y' }] } });
    assert.deepEqual(errorsOf(r), []);
    assert.ok(r.some((i) => i.severity === 'information'));
  });

  it('resolves extensions by url: unknown (flag), context, value type, modifier rules', async () => {
    const url = 'http://example.org/StructureDefinition/never-defined';
    const asError = bed.profile('ext-any', 'Patient', [], { unknownExtension: 'error' });
    const asWarning = compileProfile(asError.structureDefinition, bed.deps, { unknownExtension: 'warning' });
    const withUnknown = { resourceType: 'Patient', extension: [{ url, valueString: 'x' }] };
    assert.deepEqual(errorPaths(await asError.validate(withUnknown)), ['Patient.extension[0]']);
    assert.deepEqual(errorsOf(await asWarning.validate(withUnknown)), []);
    assert.ok((await asWarning.validate(withUnknown)).some((i) => i.severity === 'warning'));
    // unknown modifier extensions are errors whatever the flag
    assert.deepEqual(errorPaths(await asWarning.validate({ resourceType: 'Patient', modifierExtension: [{ url, valueString: 'x' }] })), ['Patient.modifierExtension[0]']);
    // context: patient-birthTime belongs on Patient.birthDate
    const birthTime = 'http://hl7.org/fhir/StructureDefinition/patient-birthTime';
    assert.deepEqual(errorPaths(await asError.validate({ resourceType: 'Patient', birthDate: '2000-01-01', _birthDate: { extension: [{ url: birthTime, valueDateTime: '2000-01-01T10:00:00Z' }] } })), []);
    assert.deepEqual(errorPaths(await asError.validate({ resourceType: 'Patient', extension: [{ url: birthTime, valueDateTime: '2000-01-01T10:00:00Z' }] })), ['Patient.extension[0]']);
    // value type per the extension's own definition
    assert.deepEqual(errorPaths(await asError.validate({ resourceType: 'Patient', birthDate: '2000-01-01', _birthDate: { extension: [{ url: birthTime, valueString: 'ten' }] } })), ['Patient.birthDate.extension[0].valueString']);
    // a normal extension used as a modifier extension
    assert.deepEqual(errorPaths(await asError.validate({ resourceType: 'Patient', modifierExtension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Leeds' } }] })), ['Patient.modifierExtension[0]']);
  });

  it('validates complex extensions: nested slices by url', async () => {
    const p = bed.profile('ext-complex', 'Patient', []);
    const nat = 'http://hl7.org/fhir/StructureDefinition/patient-nationality';
    const good = { resourceType: 'Patient', extension: [{ url: nat, extension: [{ url: 'code', valueCodeableConcept: { text: 'British' } }] }] };
    assert.deepEqual(errorPaths(await p.validate(good)), []);
    const wrongType = { resourceType: 'Patient', extension: [{ url: nat, extension: [{ url: 'code', valueString: 'British' }] }] };
    assert.ok(errorPaths(await p.validate(wrongType)).includes('Patient.extension[0].extension[0].valueString'));
    const both = { resourceType: 'Patient', extension: [{ url: nat, valueString: 'x', extension: [{ url: 'code', valueCodeableConcept: { text: 'British' } }] }] };
    assert.ok(errorPaths(await p.validate(both)).includes('Patient.extension[0]'));
  });

  it('evaluates invariants (base and profile); a throwing invariant is a warning naming its key', async () => {
    const p = bed.profile('inv', 'Patient', [
      { id: 'Patient', path: 'Patient', constraint: [{ key: 'test-1', severity: 'error', human: 'needs a name', expression: 'name.exists()' }] },
      { id: 'Patient.address', path: 'Patient.address', constraint: [{ key: 'test-2', severity: 'error', human: 'broken', expression: 'city.(' }] },
    ]);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', name: [{ family: 'X' }] })), []);
    const noName = errorsOf(await p.validate({ resourceType: 'Patient' }));
    assert.ok(noName.some((i) => i.diagnostics.includes('test-1')));
    // pat-1 from the base Patient definition
    assert.ok(errorsOf(await p.validate({ resourceType: 'Patient', name: [{ family: 'X' }], contact: [{ gender: 'male' }] })).some((i) => i.diagnostics.includes('pat-1')));
    const broken = await p.validate({ resourceType: 'Patient', name: [{ family: 'X' }], address: [{ city: 'Leeds' }] });
    assert.deepEqual(errorsOf(broken), []);
    assert.ok(broken.some((i) => i.severity === 'warning' && i.diagnostics.includes('test-2')));
  });

  it('caches compiled profiles by url|version', () => {
    const patient = bed.compiled('http://hl7.org/fhir/StructureDefinition/Patient');
    assert.equal(bed.compiled('http://hl7.org/fhir/StructureDefinition/Patient'), patient);
  });

  it('never throws on arbitrary JSON (property)', async () => {
    const p = bed.compiled('http://hl7.org/fhir/StructureDefinition/Observation');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (v) => {
        const input = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, resourceType: 'Observation' } : v;
        const issues = await p.validate(input);
        assert.ok(Array.isArray(issues));
      }),
      { numRuns: 200 },
    );
  });

  it('pattern and fixed matching are reflexive; a pattern matches any extension of itself (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.ok(fixedMatches(v, v));
        assert.ok(patternMatches(v, v));
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (pattern, extra) => {
        assert.ok(patternMatches(pattern, { ...extra, ...pattern }));
      }),
    );
  });
});
