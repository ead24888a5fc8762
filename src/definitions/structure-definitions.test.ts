import assert from 'node:assert/strict';
import { allStructureDefinitions, removedNonR4Elements, retypedNonR4Elements, structureDefinition } from './structure-definitions';
import { fhirpathR4Model } from './r4-package';
import { diagnostic } from '../../test/helpers/diagnostics';

function paths(type: string): string[] {
  return (structureDefinition(type)?.snapshot?.element ?? []).map((e) => e.path);
}

describe('R4 StructureDefinitions (filtered to R4)', () => {
  it('reports the non-R4 elements it removed and the elements it retyped', () => {
    const removed = removedNonR4Elements();
    const bySd = new Map<string, string[]>();
    for (const r of removed) bySd.set(r.structureDefinition, [...(bySd.get(r.structureDefinition) ?? []), r.path]);
    diagnostic(`      removed ${removed.length} non-R4 snapshot elements:`);
    for (const [sd, list] of bySd) diagnostic(`        ${sd}: ${list.join(', ')}`);
    for (const r of retypedNonR4Elements()) diagnostic(`      retyped ${r.path}: ${r.from} -> ${r.to} (R4)`);
    const removedPaths = new Set(removed.map((r) => r.path));
    for (const p of ['Meta.project', 'Meta.author', 'Meta.account', 'Meta.accounts', 'Meta.compartment', 'Meta.onBehalfOf', 'Binary.url', 'DeviceDefinition.classification', 'EvidenceVariable.characteristic.definitionByTypeAndValue']) {
      assert.ok(removedPaths.has(p), `${p} removed`);
    }
  });

  it('keeps every R4 element of Meta and Binary and nothing else', () => {
    assert.deepEqual(paths('Meta'), ['Meta', 'Meta.id', 'Meta.extension', 'Meta.versionId', 'Meta.lastUpdated', 'Meta.source', 'Meta.profile', 'Meta.security', 'Meta.tag']);
    assert.deepEqual(paths('Binary'), ['Binary', 'Binary.id', 'Binary.meta', 'Binary.implicitRules', 'Binary.language', 'Binary.contentType', 'Binary.securityContext', 'Binary.data']);
  });

  it('restores R4 types the package changed (Bundle.entry.response.outcome is a Resource)', () => {
    const el = structureDefinition('Bundle')?.snapshot?.element.find((e) => e.path === 'Bundle.entry.response.outcome');
    assert.deepEqual(el?.type?.map((t) => t.code), ['Resource']);
  });

  it('keeps every element path that remains in the R4 model (or id/extension/contentReference)', () => {
    const model = fhirpathR4Model();
    for (const sd of allStructureDefinitions()) {
      for (const el of sd.snapshot?.element ?? []) {
        const p = el.path;
        if (!p.includes('.') || /\.(id|extension|modifierExtension)$/.test(p) || el.contentReference) continue;
        if (p.endsWith('[x]')) {
          for (const t of el.type ?? []) assert.ok(`${p.slice(0, -3)}${t.code.charAt(0).toUpperCase()}${t.code.slice(1)}` in model.path2Type, `${p} ${t.code}`);
        } else assert.ok(p in model.path2Type, p);
      }
    }
  });

  it('agrees with the R4 model on which elements repeat (max > 1)', () => {
    const model = fhirpathR4Model() as ReturnType<typeof fhirpathR4Model> & { path2Repeating: Record<string, boolean> };
    const disagreements: string[] = [];
    for (const sd of allStructureDefinitions()) {
      if (sd.derivation === 'constraint') continue;
      for (const el of sd.snapshot?.element ?? []) {
        if (!(el.path in model.path2Type)) continue;
        const repeats = el.max === '*' || Number(el.max) > 1;
        if (repeats !== Boolean(model.path2Repeating[el.path])) disagreements.push(`${el.path} ${el.max ?? ''}`);
      }
    }
    assert.deepEqual(disagreements, []);
  });

  it('loads the R4 data types and resources but no Medplum resource types', () => {
    for (const t of ['Patient', 'Observation', 'Bundle', 'HumanName', 'Extension', 'string', 'dateTime', 'Element', 'SimpleQuantity']) {
      assert.ok(structureDefinition(t), t);
    }
    for (const t of ['Project', 'Bot', 'ClientApplication', 'UserConfiguration']) assert.equal(structureDefinition(t), undefined, t);
    assert.ok(allStructureDefinitions().length > 190);
  });
});
