/**
 * Compartment restrictions from the R4 CompartmentDefinitions (FHIR R4 compartmentdefinition.html).
 */
import assert from 'node:assert/strict';
import { compartmentDefinitions, compartmentMemberTypes, compartmentRestriction, isCompartmentType } from './compartments';
import { matchesExpr } from './match';
import type { IndexEntry } from './index-entry';

const ref = (param: string, targetType: string, targetId: string): IndexEntry => ({ kind: 'reference', param, targetType, targetId, url: null });
const target = (resourceType: string, id: string, index: IndexEntry[]) => ({ resourceType, id, lastUpdated: '2024-01-01T00:00:00.000Z', index });

describe('search/compartments', () => {
  it('knows the five R4 compartments with their canonical URLs', () => {
    assert.deepEqual([...compartmentDefinitions().keys()].sort(), ['Device', 'Encounter', 'Patient', 'Practitioner', 'RelatedPerson']);
    assert.equal(compartmentDefinitions().get('Patient')!.url, 'http://hl7.org/fhir/CompartmentDefinition/patient');
    assert.ok(isCompartmentType('Encounter'));
    assert.ok(!isCompartmentType('Observation'));
  });

  it('Observation is in Patient/123 through subject or performer', () => {
    const r = compartmentRestriction('Patient', '123', 'Observation');
    assert.deepEqual(r, {
      op: 'or',
      args: [
        { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: '123' },
        { op: 'reference', param: 'performer', targetTypes: ['Patient'], id: '123' },
      ],
    });
    assert.ok(matchesExpr(r!, target('Observation', 'o1', [ref('subject', 'Patient', '123')])));
    assert.ok(matchesExpr(r!, target('Observation', 'o2', [ref('performer', 'Patient', '123')])));
    assert.ok(!matchesExpr(r!, target('Observation', 'o3', [ref('subject', 'Patient', '999')])));
    assert.ok(!matchesExpr(r!, target('Observation', 'o4', [ref('subject', 'Group', '123')])));
  });

  it('the compartment resource itself is a member ({def}, and Patient/Device themselves)', () => {
    for (const c of ['Patient', 'Encounter', 'Practitioner', 'RelatedPerson', 'Device']) {
      const r = compartmentRestriction(c, 'x1', c);
      assert.ok(r, c);
      assert.ok(matchesExpr(r, target(c, 'x1', [])), c);
      assert.ok(!matchesExpr(r, target(c, 'x2', [])), c);
    }
  });

  it('types outside a compartment have no restriction (undefined: never members)', () => {
    assert.equal(compartmentRestriction('Patient', '1', 'CodeSystem'), undefined);
    assert.equal(compartmentRestriction('Nope', '1', 'Observation'), undefined);
    assert.ok(!compartmentMemberTypes('Patient').includes('CodeSystem'));
    assert.ok(compartmentMemberTypes('Patient').includes('MedicationRequest'));
    assert.ok(compartmentMemberTypes('Patient').length > 50);
  });
});
