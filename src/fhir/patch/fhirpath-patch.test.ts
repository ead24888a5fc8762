/**
 * FHIRPath Patch (FHIR R4 fhirpatch.html): each operation, the JSON rules it must keep (primitive `_x`
 * siblings, choice names, no empty leftovers) and its error paths (400 malformed, 422 not applicable).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Parameters, ParametersParameter, Patient, Resource } from 'fhir/r4';
import { FhirError } from '../outcome';
import { applyFhirPathPatch } from './fhirpath-patch';
import { quoteKeywordMembers } from './locate';

type Part = ParametersParameter;

function operation(type: string, path: string, ...more: Part[]): ParametersParameter {
  return { name: 'operation', part: [{ name: 'type', valueCode: type }, { name: 'path', valueString: path }, ...more] };
}
const name = (n: string): Part => ({ name: 'name', valueString: n });
const value = (v: Omit<Part, 'name'>): Part => ({ name: 'value', ...v });
const int = (n: 'index' | 'source' | 'destination', i: number): Part => ({ name: n, valueInteger: i });
const params = (...ops: ParametersParameter[]): Parameters => ({ resourceType: 'Parameters', parameter: ops });

/** Applies and checks the input was not mutated. */
function apply(resource: Resource, body: unknown): Record<string, unknown> {
  const before = structuredClone(resource);
  const out = applyFhirPathPatch(resource, body);
  assert.deepEqual(resource, before, 'input not mutated');
  return out as unknown as Record<string, unknown>;
}

function assertFails(resource: Resource, body: unknown, status: number, ...fragments: string[]): FhirError {
  const before = structuredClone(resource);
  let caught: unknown;
  try {
    applyFhirPathPatch(resource, body);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FhirError, `expected a FhirError, got ${String(caught)}`);
  assert.equal(caught.status, status, caught.message);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message "${caught.message}" mentions "${f}"`);
  assert.deepEqual(resource, before, 'input not mutated');
  return caught;
}

const patient = (): Patient => (({
  resourceType: 'Patient',
  id: 'p1',
  birthDate: '1970-01-01',
  _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1970-01-01T08:00:00Z' }] },
  name: [{ family: 'Smith', given: ['Ann', 'Bea', 'Cat'], _given: [null, { id: 'g2' }, null] }],
  identifier: [{ system: 'urn:s', value: '1' }, { system: 'urn:s', value: '2' }],
  deceasedBoolean: false,
}) as unknown as Patient);

describe('FHIRPath Patch: add', () => {
  it('adds a missing non-repeating element', () => {
    const out = apply({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('gender'), value({ valueCode: 'female' }))));
    assert.deepEqual(out, { resourceType: 'Patient', gender: 'female' });
  });

  it('appends to a repeating element, creating the list when absent', () => {
    const out = apply(patient(), params(operation('add', 'Patient', name('identifier'), value({ valueIdentifier: { value: '3' } }))));
    assert.deepEqual((out.identifier as unknown[]).at(-1), { value: '3' });
    const fresh = apply({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('telecom'), value({ valueContactPoint: { system: 'phone', value: '1' } }))));
    assert.deepEqual(fresh.telecom, [{ system: 'phone', value: '1' }]);
  });

  it('appends to a repeating primitive, keeping the _x list in step', () => {
    const out = apply(patient(), params(operation('add', 'Patient.name[0]', name('given'), value({ valueString: 'Dee', _valueString: { id: 'g4' } } as Part))));
    const n = (out.name as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(n.given, ['Ann', 'Bea', 'Cat', 'Dee']);
    assert.deepEqual(n._given, [null, { id: 'g2' }, null, { id: 'g4' }]);
  });

  it('refuses to add a non-repeating element that already exists (422)', () => {
    assertFails(patient(), params(operation('add', 'Patient', name('birthDate'), value({ valueDate: '1980-01-01' }))), 422, 'operation 1', 'already', 'replace');
  });

  it('names a choice element by its base name and the value type', () => {
    const out = apply({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('deceased'), value({ valueDateTime: '2020-01-01' }))));
    assert.deepEqual(out, { resourceType: 'Patient', deceasedDateTime: '2020-01-01' });
    assertFails(patient(), params(operation('add', 'Patient', name('deceased'), value({ valueDateTime: '2020-01-01' }))), 422, 'deceasedBoolean');
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('deceased'), value({ valueString: 'yes' }))), 422, 'does not allow');
  });

  it('rejects a value of the wrong type and an unknown element (422)', () => {
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('birthDate'), value({ valueInteger: 3 }))), 422, 'type integer');
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('maritalStatus'), value({ valueCoding: { code: 'M' } }))), 422, 'Coding');
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('shoeSize'), value({ valueInteger: 3 }))), 422, "no element 'shoeSize'");
  });

  it('adds an extension to a primitive in its _x sibling', () => {
    const ext = value({ part: [{ name: 'url', valueUri: 'http://example.org/x' }, { name: 'value', valueString: 'hello' }] });
    const out = apply({ resourceType: 'Patient', gender: 'male' } as Patient, params(operation('add', 'Patient.gender', name('extension'), ext)));
    assert.deepEqual(out._gender, { extension: [{ url: 'http://example.org/x', valueString: 'hello' }] });
    assert.equal(out.gender, 'male');
  });

  it('builds anonymous types from nested parts, with lists where the element repeats', () => {
    const contact = value({
      part: [
        { name: 'name', valueHumanName: { text: 'N' } },
        { name: 'telecom', valueContactPoint: { value: '1' } },
        { name: 'telecom', valueContactPoint: { value: '2' } },
        { name: 'relationship', valueCodeableConcept: { text: 'friend' } },
      ],
    });
    const out = apply({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('contact'), contact)));
    assert.deepEqual(out.contact, [{ name: { text: 'N' }, telecom: [{ value: '1' }, { value: '2' }], relationship: [{ text: 'friend' }] }]);
    const twice = value({ part: [{ name: 'gender', valueCode: 'male' }, { name: 'gender', valueCode: 'female' }] });
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('contact'), twice)), 422, 'does not repeat');
  });

  it('adds a contained resource given as a resource part', () => {
    const out = apply({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('contained'), value({ resource: { resourceType: 'Organization', id: 'o1' } }))));
    assert.deepEqual(out.contained, [{ resourceType: 'Organization', id: 'o1' }]);
    assertFails({ resourceType: 'Patient' }, params(operation('add', 'Patient', name('managingOrganization'), value({ resource: { resourceType: 'Organization' } }))), 422);
  });

  it('needs the path to select exactly one element (422)', () => {
    assertFails(patient(), params(operation('add', 'Patient.identifier', name('use'), value({ valueCode: 'usual' }))), 422, 'selects 2 elements');
    assertFails(patient(), params(operation('add', 'Patient.contact', name('gender'), value({ valueCode: 'male' }))), 422, 'No content found'.toLowerCase());
  });
});

describe('FHIRPath Patch: insert', () => {
  it('inserts at the start, the middle and the end (index = length)', () => {
    const ins = (i: number): Record<string, unknown> => apply(patient(), params(operation('insert', 'Patient.identifier', int('index', i), value({ valueIdentifier: { value: 'new' } }))));
    assert.deepEqual((ins(0).identifier as Array<{ value: string }>).map((x) => x.value), ['new', '1', '2']);
    assert.deepEqual((ins(1).identifier as Array<{ value: string }>).map((x) => x.value), ['1', 'new', '2']);
    assert.deepEqual((ins(2).identifier as Array<{ value: string }>).map((x) => x.value), ['1', '2', 'new']);
  });

  it('rejects an index beyond the end of the list (422)', () => {
    assertFails(patient(), params(operation('insert', 'Patient.identifier', int('index', 3), value({ valueIdentifier: { value: 'x' } }))), 422, 'index 3', 'out of bounds');
  });

  it('inserts into a list that does not exist yet at index 0 only', () => {
    const out = apply({ resourceType: 'Patient' }, params(operation('insert', 'Patient.identifier', int('index', 0), value({ valueIdentifier: { value: 'x' } }))));
    assert.deepEqual(out.identifier, [{ value: 'x' }]);
    assertFails({ resourceType: 'Patient' }, params(operation('insert', 'Patient.identifier', int('index', 1), value({ valueIdentifier: { value: 'x' } }))), 422, 'out of bounds');
  });

  it('keeps a primitive list and its _x list in step', () => {
    const out = apply(patient(), params(operation('insert', 'Patient.name[0].given', int('index', 1), value({ valueString: 'Zed' }))));
    const n = (out.name as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(n.given, ['Ann', 'Zed', 'Bea', 'Cat']);
    assert.deepEqual(n._given, [null, null, { id: 'g2' }, null]);
  });

  it('refuses a path that is not a whole list (422)', () => {
    assertFails(patient(), params(operation('insert', 'Patient.birthDate', int('index', 0), value({ valueDate: '2000-01-01' }))), 422, 'not a list');
    assertFails(patient(), params(operation('insert', "Patient.identifier.where(value = '2')", int('index', 0), value({ valueIdentifier: {} }))), 422, 'whole list');
    assertFails(patient(), params(operation('insert', 'Patient.identifier', int('index', 0), value({ valueString: 'x' }))), 422, 'type string');
  });
});

describe('FHIRPath Patch: delete', () => {
  it('deleting nothing is not an error', () => {
    const p = patient();
    assert.deepEqual(apply(p, params(operation('delete', 'Patient.contact'))), p);
  });

  it('deletes a primitive together with its _x sibling', () => {
    const out = apply(patient(), params(operation('delete', 'Patient.birthDate')));
    assert.ok(!('birthDate' in out) && !('_birthDate' in out));
  });

  it('deletes one item of a primitive list, keeping _x in step, and drops _x when it is all null', () => {
    const out = apply(patient(), params(operation('delete', 'Patient.name[0].given[1]')));
    const n = (out.name as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(n.given, ['Ann', 'Cat']);
    assert.ok(!('_given' in n));
  });

  it('removes objects and lists left empty', () => {
    const out = apply({ resourceType: 'Patient', contact: [{ name: { text: 'x' } }] } as Patient, params(operation('delete', 'Patient.contact[0].name.text')));
    assert.deepEqual(out, { resourceType: 'Patient' });
  });

  it('deletes a choice element by its base name', () => {
    const out = apply(patient(), params(operation('delete', 'Patient.deceased')));
    assert.ok(!('deceasedBoolean' in out));
  });

  it('refuses to delete more than one element, the resource, or its resourceType (422)', () => {
    assertFails(patient(), params(operation('delete', 'Patient.identifier')), 422, 'only a single element');
    assertFails(patient(), params(operation('delete', 'Patient')), 422, 'resource itself');
    assertFails(patient(), params(operation('delete', 'Patient.resourceType')), 422);
  });

  it('reads a keyword used as an element name (ValueSet.expansion.contains) as a member', () => {
    const vs = { resourceType: 'ValueSet', status: 'active', expansion: { timestamp: '2020', contains: [{ code: 'a' }, { code: 'b' }] } } as Resource;
    const out = apply(vs, params(operation('delete', "ValueSet.expansion.contains.where(code = 'a')")));
    assert.deepEqual((out.expansion as { contains: unknown[] }).contains, [{ code: 'b' }]);
  });
});

describe('FHIRPath Patch: replace', () => {
  it('replaces a primitive and drops the old _x unless the value carries one', () => {
    const out = apply(patient(), params(operation('replace', 'Patient.birthDate', value({ valueDate: '1980-02-02' }))));
    assert.equal(out.birthDate, '1980-02-02');
    assert.ok(!('_birthDate' in out));
    const withExt = apply(patient(), params(operation('replace', 'Patient.birthDate', value({ valueDate: '1980-02-02', _valueDate: { id: 'b' } } as Part))));
    assert.deepEqual(withExt._birthDate, { id: 'b' });
  });

  it('replaces one item of a list', () => {
    const out = apply(patient(), params(operation('replace', 'Patient.name[0].given[1]', value({ valueString: 'Bee' }))));
    const n = (out.name as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(n.given, ['Ann', 'Bee', 'Cat']);
    assert.ok(!('_given' in n), 'the replaced item took its id with it; nothing left in _given');
    const id = apply(patient(), params(operation('replace', "Patient.identifier.where(value = '2').system", value({ valueUri: 'urn:t' }))));
    assert.deepEqual(id.identifier, [{ system: 'urn:s', value: '1' }, { system: 'urn:t', value: '2' }]);
  });

  it('changes the type of a choice element', () => {
    const out = apply(patient(), params(operation('replace', 'Patient.deceased', value({ valueDateTime: '2021-01-01' }))));
    assert.equal(out.deceasedDateTime, '2021-01-01');
    assert.ok(!('deceasedBoolean' in out));
  });

  it('needs exactly one element and a value of the right type (422)', () => {
    assertFails(patient(), params(operation('replace', 'Patient.gender', value({ valueCode: 'male' }))), 422, 'no content found');
    assertFails(patient(), params(operation('replace', 'Patient.identifier.value', value({ valueString: 'x' }))), 422, 'selects 2');
    assertFails(patient(), params(operation('replace', 'Patient.birthDate', value({ valueBoolean: true }))), 422, 'type boolean');
    assertFails(patient(), params(operation('replace', "'abc'", value({ valueString: 'x' }))), 422, 'computed value');
    assertFails(patient(), params(operation('replace', 'Patient', value({ valueString: 'x' }))), 422, 'resource itself');
  });
});

describe('FHIRPath Patch: move', () => {
  it('moves an item within a list, with its _x entry', () => {
    const out = apply(patient(), params(operation('move', 'Patient.name[0].given', int('source', 1), int('destination', 2))));
    const n = (out.name as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(n.given, ['Ann', 'Cat', 'Bea']);
    assert.deepEqual(n._given, [null, null, { id: 'g2' }]);
  });

  it('rejects out-of-bounds indexes and paths that are not a list (422)', () => {
    assertFails(patient(), params(operation('move', 'Patient.identifier', int('source', 2), int('destination', 0))), 422, 'source 2');
    assertFails(patient(), params(operation('move', 'Patient.identifier', int('source', 0), int('destination', 5))), 422, 'destination 5');
    assertFails(patient(), params(operation('move', 'Patient.contact', int('source', 0), int('destination', 0))), 422, 'no list');
    assertFails(patient(), params(operation('move', 'Patient.birthDate', int('source', 0), int('destination', 0))), 422, 'not a list');
  });
});

describe('FHIRPath Patch: sequences and malformed bodies', () => {
  it('applies operations in order, each seeing the previous result', () => {
    const out = apply({ resourceType: 'Patient' }, params(
      operation('add', 'Patient', name('identifier'), value({ valueIdentifier: { value: 'a' } })),
      operation('add', 'Patient.identifier[0]', name('system'), value({ valueUri: 'urn:x' })),
    ));
    assert.deepEqual(out.identifier, [{ value: 'a', system: 'urn:x' }]);
  });

  it('an empty Parameters changes nothing', () => {
    assert.deepEqual(apply(patient(), { resourceType: 'Parameters' }), patient());
  });

  it('a later failure leaves the input untouched and names the operation number and path', () => {
    const e = assertFails(patient(), params(operation('delete', 'Patient.birthDate'), operation('replace', 'Patient.gender', value({ valueCode: 'male' }))), 422, 'operation 2', 'Patient.gender');
    assert.deepEqual(e.issues[0]?.expression, ['Patient.gender']);
  });

  const malformed: Array<[string, unknown, string]> = [
    ['not a Parameters resource', { resourceType: 'Patient' }, 'Parameters'],
    ['parameter not an array', { resourceType: 'Parameters', parameter: {} }, 'array'],
    ['a parameter not named operation', params({ name: 'op', part: [] }), "'operation'"],
    ['an operation without parts', params({ name: 'operation' }), 'parts'],
    ['a missing type', params({ name: 'operation', part: [{ name: 'path', valueString: 'Patient' }] }), "'type'"],
    ['an unknown type', params(operation('upsert', 'Patient')), "unknown type 'upsert'"],
    ['a missing path', params({ name: 'operation', part: [{ name: 'type', valueCode: 'delete' }] }), "'path'"],
    ['an unknown part', params(operation('delete', 'Patient', { name: 'colour', valueString: 'x' })), "unknown part 'colour'"],
    ['a repeated part', params(operation('delete', 'Patient', { name: 'path', valueString: 'Patient' })), 'more than once'],
    ['add without a name', params(operation('add', 'Patient', value({ valueCode: 'x' }))), "'name'"],
    ['add with a name that is not an element name', params(operation('add', 'Patient', name('__proto__'), value({ valueCode: 'x' }))), 'not an element name'],
    ['replace without a value', params(operation('replace', 'Patient.gender')), "'value'"],
    ['a value with two value[x]', params(operation('replace', 'Patient.gender', value({ valueCode: 'x', valueString: 'y' }))), 'exactly one'],
    ['a value[x] of the wrong JSON type', params(operation('replace', 'Patient.active', value({ valueBoolean: 'yes' } as unknown as Part))), 'JSON boolean'],
    ['an unknown value[x]', params(operation('replace', 'Patient.active', { name: 'value', valueWidget: 1 } as Part)), 'not a Parameters value type'],
    ['insert without index', params(operation('insert', 'Patient.identifier', value({ valueIdentifier: {} }))), "'index'"],
    ['a negative index', params(operation('insert', 'Patient.identifier', int('index', -1), value({ valueIdentifier: {} }))), '>= 0'],
    ['move without destination', params(operation('move', 'Patient.identifier', int('source', 0))), "'destination'"],
    ['a FHIRPath syntax error', params(operation('delete', 'Patient.name[')), 'not a valid FHIRPath'],
  ];
  for (const [what, body, fragment] of malformed) {
    it(`400 for ${what}`, () => {
      assertFails(patient(), body, 400, fragment);
    });
  }
});

describe('quoteKeywordMembers', () => {
  it('delimits keywords used as member names, and nothing else', () => {
    assert.equal(quoteKeywordMembers('Patient.text.div'), 'Patient.text.`div`');
    assert.equal(quoteKeywordMembers('ValueSet.expansion.contains.code'), 'ValueSet.expansion.`contains`.code');
    assert.equal(quoteKeywordMembers("name.given.contains('a.div')"), "name.given.contains('a.div')");
    assert.equal(quoteKeywordMembers('value.as(Quantity) and active'), 'value.as(Quantity) and active');
    assert.equal(quoteKeywordMembers('1.5 div 2'), '1.5 div 2');
  });
});

describe('FHIRPath Patch: property', () => {
  const paths = ['Patient', 'Patient.name', 'Patient.name[0]', 'Patient.name[0].given', 'Patient.name.given[1]', 'Patient.identifier', 'Patient.identifier[5]', 'Patient.birthDate', 'Patient.deceased', 'Patient.contact', 'Patient.birthDate.extension', "Patient.identifier.where(value='1')", '1 + 1', 'Patient.name[', 'Patient.text.div', 'Patient.resourceType', '%resource', ''];
  const names = ['given', 'identifier', 'gender', 'deceased', 'contact', 'extension', 'text', 'zzz', 'id'];
  const values: Part[] = [
    { name: 'value', valueString: 'x' }, { name: 'value', valueCode: 'male' }, { name: 'value', valueBoolean: true }, { name: 'value', valueInteger: 3 },
    { name: 'value', valueIdentifier: { value: 'v' } }, { name: 'value', valueHumanName: { family: 'F' } }, { name: 'value', resource: { resourceType: 'Basic' } as unknown as Part['resource'] },
    { name: 'value', part: [{ name: 'gender', valueCode: 'male' }, { name: 'url', valueUri: 'urn:u' }] },
  ];
  const partArb: fc.Arbitrary<Part> = fc.oneof(
    fc.constantFrom('add', 'insert', 'delete', 'replace', 'move', 'bogus').map((t) => ({ name: 'type', valueCode: t })),
    fc.constantFrom(...paths).map((p) => ({ name: 'path', valueString: p })),
    fc.constantFrom(...names).map((n) => ({ name: 'name', valueString: n })),
    fc.constantFrom(...values),
    fc.tuple(fc.constantFrom('index', 'source', 'destination'), fc.integer({ min: -1, max: 5 })).map(([n, i]) => ({ name: n, valueInteger: i })),
  );
  const opArb = fc.array(partArb, { maxLength: 6 }).map((part): ParametersParameter => ({ name: 'operation', part }));

  function noEmpties(v: unknown, path: string): void {
    if (Array.isArray(v)) {
      assert.ok(v.length > 0, `empty array at ${path}`);
      v.forEach((x, i) => x !== null && noEmpties(x, `${path}[${i}]`));
    } else if (typeof v === 'object' && v !== null) {
      assert.ok(Object.keys(v).length > 0, `empty object at ${path}`);
      for (const [k, x] of Object.entries(v)) {
        assert.ok(x !== null, `null at ${path}.${k}`);
        noEmpties(x, `${path}.${k}`);
      }
    }
  }

  it('any patch gives a FhirError (400/422) or a resource without empty objects, lists or nulls; the input is never mutated', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 4 }), (ops) => {
      const p = patient();
      const before = structuredClone(p);
      try {
        const out = applyFhirPathPatch(p, params(...ops));
        assert.equal(out.resourceType, 'Patient');
        noEmpties(out, 'Patient');
      } catch (e) {
        if (!(e instanceof FhirError) || (e.status !== 400 && e.status !== 422)) throw e;
      }
      assert.deepEqual(p, before);
    }), { numRuns: 1500 });
  });

  it('arbitrary JSON bodies give a FhirError or a result, never another exception', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ resourceType: fc.constant('Parameters'), parameter: fc.jsonValue() })), (body) => {
      try {
        applyFhirPathPatch(patient(), body);
      } catch (e) {
        if (!(e instanceof FhirError)) throw e;
      }
    }), { numRuns: 1000 });
  });
});
