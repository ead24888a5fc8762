/**
 * Tests of the conformance-resource registry (FHIR R4 conformance-module.html; canonical urls and
 * versions per references.html): precedence runtime > package > profiles > r4, versions, removal,
 * change events, snapshots on demand.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StructureDefinition, ValueSet } from 'fhir/r4';
import { ConformanceRegistry, loadConformanceRegistry, type ConformanceChange } from './conformance';
import { SnapshotError } from './snapshot';
import { externalDir } from '../validation/external-test-data';
import { diagnostic } from '../../test/helpers/diagnostics';

const URL_VS = 'http://example.org/ValueSet/x';

function vs(version: string, title: string): ValueSet {
  return { resourceType: 'ValueSet', url: URL_VS, version, status: 'active', title };
}

function patientProfile(url: string, elements: StructureDefinition['differential'], baseDefinition = 'http://hl7.org/fhir/StructureDefinition/Patient'): StructureDefinition {
  return { resourceType: 'StructureDefinition', url, name: 'P', status: 'draft', kind: 'resource', abstract: false, type: 'Patient', baseDefinition, derivation: 'constraint', differential: elements };
}

describe('definitions/conformance', () => {
  it('answers the R4 base definitions by type name and url, with their published snapshots', () => {
    const reg = new ConformanceRegistry();
    const p = reg.structureDefinition('Patient');
    assert.equal(p?.url, 'http://hl7.org/fhir/StructureDefinition/Patient');
    assert.ok((p?.snapshot?.element.length ?? 0) > 30);
    assert.equal(reg.structureDefinition('http://hl7.org/fhir/StructureDefinition/vitalsigns')?.type, 'Observation');
    assert.ok(reg.resource('StructureDefinition', 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace'), 'R4 extension definitions');
    assert.ok(reg.resource('SearchParameter', 'http://hl7.org/fhir/SearchParameter/individual-birthdate'));
    assert.ok(reg.resource('ValueSet', 'http://hl7.org/fhir/ValueSet/administrative-gender'));
    assert.ok(reg.resource('CodeSystem', 'http://hl7.org/fhir/administrative-gender'));
    assert.ok(reg.resource('OperationDefinition', 'http://hl7.org/fhir/OperationDefinition/Resource-validate'));
    assert.ok(reg.resource('CompartmentDefinition', 'http://hl7.org/fhir/CompartmentDefinition/patient'));
    assert.ok(reg.all('ConceptMap').length > 0);
    assert.equal(reg.structureDefinition('http://example.org/none'), undefined);
    assert.ok(!reg.all('StructureDefinition').some((s) => s.url?.startsWith('https://medplum.com/')), 'no Medplum definitions');
  });

  it('applies precedence runtime > package > profiles > r4 for the same url', () => {
    const reg = new ConformanceRegistry({ r4: false });
    reg.add(vs('1', 'from profiles'), 'profiles');
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'from profiles');
    reg.add(vs('1', 'from package'), 'package');
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'from package');
    reg.add(vs('0.1', 'from api'));
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'from api', 'runtime wins even with an older version');
    assert.equal(reg.resource('ValueSet', URL_VS, '1')?.title, 'from package', 'an asked-for version is honoured');
    assert.equal(reg.resource('ValueSet', `${URL_VS}|1`)?.title, 'from package', 'url|version is accepted');
    assert.equal(reg.all('ValueSet').length, 1);
    assert.ok(reg.remove(URL_VS));
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'from package');
    assert.ok(!reg.remove(URL_VS), 'nothing left at runtime');
  });

  it('prefers an official package over a same-url R4 or profiles/ definition', () => {
    const reg = new ConformanceRegistry();
    const mine = { ...vs('9', 'mine'), url: 'http://hl7.org/fhir/ValueSet/administrative-gender' };
    reg.add(mine, 'profiles');
    assert.equal(reg.resource('ValueSet', mine.url)?.title, 'mine', 'profiles/ beats the R4 base');
    reg.add({ ...mine, title: 'official' }, 'package');
    assert.equal(reg.resource('ValueSet', mine.url)?.title, 'official');
  });

  it('picks the newest version within a source and replaces the same url|version', () => {
    const reg = new ConformanceRegistry({ r4: false });
    reg.add(vs('1.9.0', 'a'), 'package');
    reg.add(vs('1.10.0', 'b'), 'package');
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'b');
    reg.add(vs('1.10.0', 'c'), 'package');
    assert.equal(reg.resource('ValueSet', URL_VS)?.title, 'c');
    assert.equal(reg.entriesFrom('ValueSet', 'package').length, 2);
  });

  it('rejects resources that are not conformance resources or lack a url', () => {
    const reg = new ConformanceRegistry({ r4: false });
    assert.throws(() => reg.add({ resourceType: 'ValueSet', status: 'draft' }));
    assert.throws(() => reg.add({ resourceType: 'Patient' } as unknown as ValueSet));
  });

  it('feeds listeners and lists the non-R4 ValueSets and CodeSystems for the terminology service', () => {
    const reg = new ConformanceRegistry();
    const seen: ConformanceChange[] = [];
    const off = reg.onChange((c) => seen.push(c));
    reg.add(vs('1', 'x'), 'package');
    reg.add({ resourceType: 'CodeSystem', url: 'http://example.org/cs', status: 'active', content: 'complete' });
    reg.remove('http://example.org/cs');
    off();
    reg.add(vs('2', 'y'));
    assert.deepEqual(seen.map((c) => `${c.kind}:${c.resource.resourceType}:${c.source}`), ['added:ValueSet:package', 'added:CodeSystem:runtime', 'removed:CodeSystem:runtime']);
    const fed = reg.valueSetsAndCodeSystems();
    assert.deepEqual(fed.map((r) => r.url), [URL_VS]);
    assert.equal(fed[0]?.version, '2');
  });

  it('generates, caches and invalidates snapshots of differential-only profiles', () => {
    const reg = new ConformanceRegistry();
    const url = 'http://example.org/StructureDefinition/p';
    reg.add(patientProfile(url, { element: [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }] }));
    const first = reg.structureDefinition(url);
    assert.equal(first?.snapshot?.element.find((e) => e.id === 'Patient.gender')?.min, 1);
    assert.equal(reg.structureDefinition(url), first, 'cached');
    assert.equal(reg.resource('StructureDefinition', url)?.snapshot, undefined, 'the stored resource is not changed');
    reg.add(patientProfile(url, { element: [{ id: 'Patient.gender', path: 'Patient.gender', max: '0' }] }));
    const second = reg.structureDefinition(url);
    assert.notEqual(second, first);
    assert.equal(second?.snapshot?.element.find((e) => e.id === 'Patient.gender')?.max, '0');
  });

  it('generates a profile on a differential-only profile, and reports broken or circular ones as SnapshotError', () => {
    const reg = new ConformanceRegistry();
    const a = 'http://example.org/StructureDefinition/a';
    const b = 'http://example.org/StructureDefinition/b';
    reg.add(patientProfile(a, { element: [{ id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } }, { id: 'Patient.identifier:x', path: 'Patient.identifier', sliceName: 'x' }] }));
    reg.add(patientProfile(b, { element: [{ id: 'Patient.identifier:x', path: 'Patient.identifier', sliceName: 'x', min: 1 }] }, a));
    assert.equal(reg.structureDefinition(b)?.snapshot?.element.find((e) => e.id === 'Patient.identifier:x')?.min, 1);
    const c1 = 'http://example.org/StructureDefinition/c1';
    const c2 = 'http://example.org/StructureDefinition/c2';
    reg.add(patientProfile(c1, { element: [] }, c2));
    reg.add(patientProfile(c2, { element: [] }, c1));
    assert.throws(() => reg.structureDefinition(c1), SnapshotError);
    reg.add(patientProfile('http://example.org/StructureDefinition/bad', { element: [{ id: 'Patient.nope', path: 'Patient.nope' }] }));
    assert.throws(() => reg.structureDefinition('http://example.org/StructureDefinition/bad'), /no element Patient\.nope/);
  });

  it('builds from sources: profiles/ and packages, problems returned rather than thrown', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
    try {
      fs.writeFileSync(path.join(tmp, 'vs.json'), JSON.stringify(vs('1', 'mine')));
      fs.writeFileSync(path.join(tmp, 'bad.json'), '{');
      const { registry, problems } = loadConformanceRegistry({ profilesDir: tmp, packages: [path.join(tmp, 'missing.tgz')], r4: false });
      assert.equal(registry.entry('ValueSet', URL_VS)?.source, 'profiles');
      assert.equal(problems.length, 2);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('loads UK Core as a package: its extensions resolve and its ValueSets are fed to terminology', function () {
    const dir = externalDir('uk-core');
    if (!dir) {
      diagnostic('    skipped: ../shared/external/uk-core is absent');
      this.skip();
    }
    const { registry, problems } = loadConformanceRegistry({ packages: [dir] });
    assert.deepEqual(problems, []);
    assert.equal(registry.entry('StructureDefinition', 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient')?.source, 'package');
    assert.equal(registry.valueSetsAndCodeSystems().length, 48);
    const patient = registry.structureDefinition('https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient');
    assert.ok(patient?.snapshot);
  });
});
