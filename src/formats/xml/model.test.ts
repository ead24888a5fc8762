/**
 * The element model read from the R4 StructureDefinitions (FHIR R4 xml.html, json.html): order,
 * lists, attributes, primitives' JSON kinds, choice elements, containers, content references.
 */
import assert from 'node:assert/strict';
import { ownerOf, primitiveValueKind, resourceOwner } from './model';

describe('FHIR XML element model (from the R4 StructureDefinitions)', () => {
  it('gives a resource its children in the documented order, Resource and DomainResource elements first', () => {
    const patient = resourceOwner('Patient')!;
    const names = patient.elements.map((e) => e.name);
    assert.deepEqual(names.slice(0, 9), ['id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension', 'identifier']);
    assert.ok(names.indexOf('name') < names.indexOf('gender') && names.indexOf('gender') < names.indexOf('birthDate'));
    assert.equal(patient.resource, true);
    assert.equal(resourceOwner('HumanName'), undefined, 'a data type is not a resource');
    assert.equal(resourceOwner('DomainResource'), undefined, 'an abstract type is not a resource');
  });

  it('knows lists from cardinality, attributes from representation, and choice elements by their typed names', () => {
    const name = ownerOf('HumanName')!;
    assert.equal(name.byKey.get('given')!.element.repeating, true);
    assert.equal(name.byKey.get('family')!.element.repeating, false);
    assert.deepEqual([...name.attributes.keys()], ['id']);
    assert.deepEqual([...ownerOf('Extension')!.attributes.keys()], ['id', 'url']);
    const patient = resourceOwner('Patient')!;
    assert.equal(patient.attributes.size, 0, "a resource's id is an element");
    assert.equal(patient.byKey.get('id')!.kind, 'primitive');
    assert.equal(patient.byKey.get('deceasedBoolean')!.element, patient.byKey.get('deceasedDateTime')!.element);
    assert.equal(patient.byKey.get('deceased'), undefined);
    assert.ok(patient.jsonKeys.has('_birthDate') && patient.jsonKeys.has('birthDate') && !patient.jsonKeys.has('_name'));
    assert.equal(ownerOf('Extension')!.byKey.get('valueQuantity')!.owner, 'Quantity');
  });

  it('types primitives by their root primitive: positiveInt and unsignedInt are JSON numbers (R4 lists their value as System.String)', () => {
    assert.equal(primitiveValueKind('positiveInt'), 'number');
    assert.equal(primitiveValueKind('unsignedInt'), 'number');
    assert.equal(primitiveValueKind('decimal'), 'number');
    assert.equal(primitiveValueKind('boolean'), 'boolean');
    assert.equal(primitiveValueKind('code'), 'string');
    assert.equal(primitiveValueKind('instant'), 'string');
    assert.equal(primitiveValueKind('HumanName'), undefined);
  });

  it('finds containers, the narrative, backbone elements and content references', () => {
    assert.equal(resourceOwner('Patient')!.byKey.get('contained')!.kind, 'resource');
    assert.equal(ownerOf('Bundle.entry')!.byKey.get('resource')!.kind, 'resource');
    assert.equal(ownerOf('Parameters.parameter')!.byKey.get('resource')!.kind, 'resource');
    assert.equal(ownerOf('Narrative')!.byKey.get('div')!.kind, 'xhtml');
    assert.equal(resourceOwner('Patient')!.byKey.get('contact')!.owner, 'Patient.contact');
    assert.equal(ownerOf('Bundle.entry')!.byKey.get('link')!.owner, 'Bundle.link');
    assert.equal(ownerOf('Parameters.parameter')!.byKey.get('part')!.owner, 'Parameters.parameter');
    assert.equal(ownerOf('Timing.repeat')!.byKey.get('boundsDuration')!.owner, 'Duration');
    assert.equal(ownerOf('Nonexistent.path'), undefined);
  });
});
