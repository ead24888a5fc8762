/**
 * Slicing (FHIR R4 profiling.html §5.1.0.10): per-item slice assignment under every discriminator
 * type, the rules open/closed/openAtEnd, ordered slicing, slice cardinality, ambiguous matches,
 * re-slicing and extension slicing, and the R4 core profiles with slicing (vitalsigns, bp) against
 * the official examples.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ElementDefinition } from 'fhir/r4';
import { externalDir } from '../external-test-data';
import { errorPaths, errorsOf, testBed } from './test-support';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const LOCAL = 'http://example.org/local';

function identifierSlicing(rules: 'open' | 'closed' | 'openAtEnd', ordered = false): ElementDefinition[] {
  return [
    { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules, ordered } },
    { id: 'Patient.identifier:nhs', path: 'Patient.identifier', sliceName: 'nhs', min: 1, max: '1' },
    { id: 'Patient.identifier:nhs.system', path: 'Patient.identifier.system', min: 1, fixedUri: NHS },
    { id: 'Patient.identifier:nhs.value', path: 'Patient.identifier.value', min: 1, maxLength: 10 },
    { id: 'Patient.identifier:local', path: 'Patient.identifier', sliceName: 'local', min: 0, max: '*' },
    { id: 'Patient.identifier:local.system', path: 'Patient.identifier.system', min: 1, fixedUri: LOCAL },
  ];
}

const pat = (...identifier: Array<Record<string, unknown>>): Record<string, unknown> => ({ resourceType: 'Patient', identifier });
const nhs = (value = '9000000009'): Record<string, unknown> => ({ system: NHS, value });
const local = (value = 'L1'): Record<string, unknown> => ({ system: LOCAL, value });
const other = (value = 'O1'): Record<string, unknown> => ({ system: 'http://other', value });

describe('profile validator: slicing', () => {
  const bed = testBed();

  describe('value discriminator, open', () => {
    const p = bed.profile('slice-open', 'Patient', identifierSlicing('open'));
    it('accepts matching and unmatched items', async () => {
      assert.deepEqual(errorPaths(await p.validate(pat(nhs(), local(), other()))), []);
    });
    it('enforces slice min and max', async () => {
      assert.deepEqual(errorPaths(await p.validate(pat(local()))), ['Patient.identifier']);
      assert.deepEqual(errorPaths(await p.validate(pat(nhs(), nhs('9000000017')))), ['Patient.identifier']);
    });
    it('validates each item against its slice (constraints under the slice)', async () => {
      assert.deepEqual(errorPaths(await p.validate(pat(nhs('12345678901')))), ['Patient.identifier[0].value']);
      // the same long value is fine in the open part (no slice constrains it)
      assert.deepEqual(errorPaths(await p.validate(pat(nhs(), other('12345678901')))), []);
    });
  });

  it('closed: an item matching no slice is an error', async () => {
    const p = bed.profile('slice-closed', 'Patient', identifierSlicing('closed'));
    assert.deepEqual(errorPaths(await p.validate(pat(nhs(), local()))), []);
    assert.deepEqual(errorPaths(await p.validate(pat(nhs(), other()))), ['Patient.identifier[1]']);
  });

  it('openAtEnd: unmatched items must come after the matched ones', async () => {
    const p = bed.profile('slice-end', 'Patient', identifierSlicing('openAtEnd'));
    assert.deepEqual(errorPaths(await p.validate(pat(nhs(), local(), other()))), []);
    assert.deepEqual(errorPaths(await p.validate(pat(other(), nhs()))), ['Patient.identifier[1]']);
  });

  it('ordered: items must follow the order of the slices', async () => {
    const p = bed.profile('slice-ordered', 'Patient', identifierSlicing('open', true));
    assert.deepEqual(errorPaths(await p.validate(pat(nhs(), local(), local()))), []);
    assert.deepEqual(errorPaths(await p.validate(pat(local(), nhs()))), ['Patient.identifier[1]']);
    const unordered = bed.profile('slice-unordered', 'Patient', identifierSlicing('open', false));
    assert.deepEqual(errorPaths(await unordered.validate(pat(local(), nhs()))), []);
  });

  it('reports an item that matches more than one slice', async () => {
    const p = bed.profile('slice-ambiguous', 'Patient', [
      { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
      { id: 'Patient.identifier:a', path: 'Patient.identifier', sliceName: 'a' },
      { id: 'Patient.identifier:a.system', path: 'Patient.identifier.system', fixedUri: NHS },
      { id: 'Patient.identifier:b', path: 'Patient.identifier', sliceName: 'b' },
      { id: 'Patient.identifier:b.system', path: 'Patient.identifier.system', fixedUri: NHS },
    ]);
    const issues = errorsOf(await p.validate(pat(nhs())));
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.diagnostics ?? '', /more than one slice .*\(a, b\)/);
  });

  it('multiple discriminators: every one must match', async () => {
    const p = bed.profile('slice-multi', 'Patient', [
      { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }, { type: 'value', path: 'use' }], rules: 'closed' } },
      { id: 'Patient.identifier:offnhs', path: 'Patient.identifier', sliceName: 'offnhs' },
      { id: 'Patient.identifier:offnhs.use', path: 'Patient.identifier.use', fixedCode: 'official' },
      { id: 'Patient.identifier:offnhs.system', path: 'Patient.identifier.system', fixedUri: NHS },
    ]);
    assert.deepEqual(errorPaths(await p.validate(pat({ ...nhs(), use: 'official' }))), []);
    assert.deepEqual(errorPaths(await p.validate(pat({ ...nhs(), use: 'secondary' }))), ['Patient.identifier[0]']);
  });

  it('pattern discriminator on a CodeableConcept', async () => {
    const cat = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] };
    const p = bed.profile('slice-pattern', 'Observation', [
      { id: 'Observation.category', path: 'Observation.category', slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' } },
      { id: 'Observation.category:vs', path: 'Observation.category', sliceName: 'vs', min: 1, max: '1', patternCodeableConcept: cat },
    ]);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assert.deepEqual(errorPaths(await p.validate({ ...obs, category: [{ text: 'other' }, { ...cat, text: 'Vital signs' }] })), []);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, category: [{ text: 'other' }] })), ['Observation.category']);
  });

  it('exists discriminator', async () => {
    const p = bed.profile('slice-exists', 'Patient', [
      { id: 'Patient.telecom', path: 'Patient.telecom', slicing: { discriminator: [{ type: 'exists', path: 'period' }], rules: 'closed' } },
      { id: 'Patient.telecom:current', path: 'Patient.telecom', sliceName: 'current', max: '1' },
      { id: 'Patient.telecom:current.period', path: 'Patient.telecom.period', max: '0' },
      { id: 'Patient.telecom:dated', path: 'Patient.telecom', sliceName: 'dated' },
      { id: 'Patient.telecom:dated.period', path: 'Patient.telecom.period', min: 1 },
    ]);
    const cur = { system: 'phone', value: '1' };
    const dated = { system: 'phone', value: '2', period: { start: '2020-01-01' } };
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', telecom: [cur, dated, dated] })), []);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', telecom: [cur, cur] })), ['Patient.telecom']);
  });

  it('type discriminator on a choice element ($this) and ofType() paths', async () => {
    const p = bed.profile('slice-type', 'Observation', [
      { id: 'Observation.value[x]', path: 'Observation.value[x]', slicing: { discriminator: [{ type: 'type', path: '$this' }], rules: 'closed' } },
      { id: 'Observation.value[x]:valueQuantity', path: 'Observation.value[x]', sliceName: 'valueQuantity', type: [{ code: 'Quantity' }] },
      { id: 'Observation.value[x]:valueQuantity.system', path: 'Observation.value[x].system', min: 1, fixedUri: 'http://unitsofmeasure.org' },
    ]);
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueQuantity: { value: 1, system: 'http://unitsofmeasure.org', code: 'kg' } })), []);
    assert.deepEqual(errorPaths(await p.validate({ ...obs, valueQuantity: { value: 1, system: 'http://other' } })), ['Observation.valueQuantity.system']);
    const ofType = bed.profile('slice-oftype', 'Observation', [
      { id: 'Observation.component', path: 'Observation.component', slicing: { discriminator: [{ type: 'type', path: 'value.ofType(Quantity)' }], rules: 'closed' } },
      { id: 'Observation.component:q', path: 'Observation.component', sliceName: 'q', max: '1' },
      { id: 'Observation.component:q.value[x]', path: 'Observation.component.value[x]', type: [{ code: 'Quantity' }] },
    ]);
    const comp = (v: Record<string, unknown>): Record<string, unknown> => ({ code: { text: 'c' }, ...v });
    assert.deepEqual(errorPaths(await ofType.validate({ ...obs, component: [comp({ valueQuantity: { value: 1 } })] })), []);
    assert.deepEqual(errorPaths(await ofType.validate({ ...obs, component: [comp({ valueString: 'a' })] })), ['Observation.component[0]']);
  });

  it('re-slicing: a slice sliced again', async () => {
    const p = bed.profile('reslice', 'Patient', [
      { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
      { id: 'Patient.identifier:nhs', path: 'Patient.identifier', sliceName: 'nhs', max: '2', slicing: { discriminator: [{ type: 'value', path: 'use' }], rules: 'closed' } },
      { id: 'Patient.identifier:nhs.system', path: 'Patient.identifier.system', fixedUri: NHS },
      { id: 'Patient.identifier:nhs/official', path: 'Patient.identifier', sliceName: 'nhs/official', min: 1, max: '1' },
      { id: 'Patient.identifier:nhs/official.use', path: 'Patient.identifier.use', fixedCode: 'official' },
      { id: 'Patient.identifier:nhs/old', path: 'Patient.identifier', sliceName: 'nhs/old', max: '1' },
      { id: 'Patient.identifier:nhs/old.use', path: 'Patient.identifier.use', fixedCode: 'old' },
    ]);
    const off = { ...nhs(), use: 'official' };
    const old = { ...nhs('9000000017'), use: 'old' };
    assert.deepEqual(errorPaths(await p.validate(pat(off, old, other()))), []);
    // within the nhs slice the re-slicing is closed
    assert.ok(errorPaths(await p.validate(pat(off, { ...nhs('9000000025'), use: 'temp' }))).includes('Patient.identifier[1]'));
    // the re-slice minimum
    assert.ok(errorPaths(await p.validate(pat(old))).includes('Patient.identifier'));
  });

  it('extension slicing by url: slice cardinality and the extension definition', async () => {
    const birthPlace = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';
    const p = bed.profile('ext-slice', 'Patient', [
      { id: 'Patient.extension', path: 'Patient.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
      { id: 'Patient.extension:birthPlace', path: 'Patient.extension', sliceName: 'birthPlace', min: 1, max: '1', type: [{ code: 'Extension', profile: [birthPlace] }] },
    ]);
    const bp = { url: birthPlace, valueAddress: { city: 'Leeds' } };
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', extension: [bp] })), []);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient' })), ['Patient.extension']);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', extension: [bp, bp] })), ['Patient.extension']);
    assert.deepEqual(errorPaths(await p.validate({ resourceType: 'Patient', extension: [{ url: birthPlace, valueString: 'Leeds' }] })), ['Patient.extension[0].valueString']);
  });

  it('profile discriminator: each entry conforms to the slice profile', async () => {
    const named = bed.profile('named-patient', 'Patient', [{ id: 'Patient.name', path: 'Patient.name', min: 1 }]);
    const p = bed.profile('slice-profile', 'Bundle', [
      { id: 'Bundle.entry', path: 'Bundle.entry', slicing: { discriminator: [{ type: 'profile', path: 'resource' }], rules: 'closed' } },
      { id: 'Bundle.entry:patient', path: 'Bundle.entry', sliceName: 'patient', min: 1, max: '1' },
      { id: 'Bundle.entry:patient.resource', path: 'Bundle.entry.resource', type: [{ code: 'Patient', profile: [named.url] }] },
    ]);
    const bundle = (resource: Record<string, unknown>): Record<string, unknown> => ({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:1', resource }] });
    assert.deepEqual(errorPaths(await p.validate(bundle({ resourceType: 'Patient', name: [{ family: 'X' }] }))), []);
    const bad = errorPaths(await p.validate(bundle({ resourceType: 'Patient' })));
    assert.ok(bad.includes('Bundle.entry[0]') && bad.includes('Bundle.entry'), bad.join());
  });

  describe('R4 core profiles with slicing against the official examples', function () {
    const dir = externalDir('hl7-r4-examples');
    const read = (file: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir as string, file), 'utf8')) as Record<string, unknown>;
    before(function () {
      if (!dir) {
        console.log('Skipped: ../shared/external/hl7-r4-examples is absent');
        this.skip();
      }
    });
    const claims: Array<[string, string]> = [
      ['Observation-blood-pressure.json', 'bp'],
      ['Observation-blood-pressure.json', 'vitalsigns'],
      ['Observation-bmi.json', 'bmi'],
      ['Observation-body-height.json', 'bodyheight'],
      ['Observation-body-temperature.json', 'bodytemp'],
      ['Observation-heart-rate.json', 'heartrate'],
      ['Observation-satO2.json', 'oxygensat'],
      ['Observation-vitals-panel.json', 'vitalspanel'],
    ];
    for (const [file, id] of claims) {
      it(`${file} is valid against ${id}`, async () => {
        const issues = await bed.compiled(`http://hl7.org/fhir/StructureDefinition/${id}`).validate(read(file));
        assert.deepEqual(errorsOf(issues), []);
      });
    }
    it('broken blood pressures are rejected with the right expression', async () => {
      const bp = bed.compiled('http://hl7.org/fhir/StructureDefinition/bp');
      const ex = read('Observation-blood-pressure.json');
      const components = ex.component as Array<Record<string, unknown>>;
      const onlySystolic = { ...ex, component: components.slice(0, 1) };
      const e1 = errorsOf(await bp.validate(onlySystolic));
      assert.ok(e1.some((i) => i.expression[0] === 'Observation.component' && /DiastolicBP/.test(i.diagnostics)), JSON.stringify(e1));
      const twoSystolic = { ...ex, component: [components[0], components[0], components[1]] };
      const e2 = errorsOf(await bp.validate(twoSystolic));
      assert.ok(e2.some((i) => i.expression[0] === 'Observation.component' && /SystolicBP/.test(i.diagnostics)), JSON.stringify(e2));
      const wrongUnit = structuredClone(ex) as { component: Array<{ valueQuantity: { system: string } }> };
      (wrongUnit.component[0] as { valueQuantity: { system: string } }).valueQuantity.system = 'http://example.org/units';
      assert.deepEqual(errorPaths(await bp.validate(wrongUnit)), ['Observation.component[0].valueQuantity.system']);
      const noCategory = { ...ex, category: [{ text: 'none' }] };
      assert.ok(errorPaths(await bp.validate(noCategory)).includes('Observation.category'));
    });
  });
});
