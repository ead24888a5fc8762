import assert from 'node:assert/strict';
import fc from 'fast-check';
import { r4JsonSchema, xsdRegexToJs, type JsonSchema, type FhirObjectRules } from './json-schema';
import { resourceTypes } from './resource-types';
import { diagnostic } from '../../test/helpers/diagnostics';

function defs(): Record<string, JsonSchema> {
  return r4JsonSchema().definitions as Record<string, JsonSchema>;
}

function props(name: string): Record<string, JsonSchema> {
  const d = defs()[name];
  assert.ok(d, name);
  return d.properties as Record<string, JsonSchema>;
}

describe('R4 JSON schema generation', () => {
  it('has a definition per resource type, complex type, backbone element and primitive', () => {
    const d = defs();
    for (const t of resourceTypes()) assert.ok(d[t], t);
    for (const t of ['HumanName', 'Extension', 'Element', 'Patient.contact', 'Questionnaire.item', 'Timing.repeat', 'string', 'string_null', 'decimal']) assert.ok(d[t], t);
    assert.equal(d.Resource, undefined);
    diagnostic(`      ${Object.keys(d).length} definitions, ${JSON.stringify(r4JsonSchema()).length} bytes of schema`);
  });

  it('follows the R4 JSON rules for a resource (resourceType const, _x siblings, choices expanded, arrays)', () => {
    const p = props('Patient');
    assert.deepEqual(p.resourceType, { const: 'Patient' });
    assert.deepEqual(p.birthDate, { $ref: '#/definitions/date' });
    assert.deepEqual(p._birthDate, { $ref: '#/definitions/Element' });
    assert.ok(p.deceasedBoolean && p.deceasedDateTime && p._deceasedBoolean);
    assert.equal(p['deceased[x]'], undefined);
    assert.equal(p._id, undefined);
    assert.deepEqual(p.name, { type: 'array', minItems: 1, items: { $ref: '#/definitions/HumanName' } });
    assert.deepEqual(p.contained, { type: 'array', minItems: 1, items: { fhirResource: true } });
    assert.equal(defs().Patient?.additionalProperties, false);
    assert.equal(defs().Patient?.minProperties, 1);
    const given = props('HumanName').given;
    assert.deepEqual(given, { type: 'array', minItems: 1, items: { $ref: '#/definitions/string_null' } });
    assert.deepEqual((defs().HumanName?.fhirObject as FhirObjectRules).primitiveArrays, ['given', 'prefix', 'suffix']);
    // contentReference'd element
    assert.deepEqual(props('Questionnaire.item').item, { type: 'array', minItems: 1, items: { $ref: '#/definitions/Questionnaire.item' } });
    // Extension.url is a uri with a `_url` sibling; Element.id has none
    assert.deepEqual(props('Extension').url, { $ref: '#/definitions/uri' });
    assert.equal(props('Element')._id, undefined);
  });

  it('carries min cardinality and choices in fhirObject (the _x sibling counts as present)', () => {
    const rules = defs().Observation?.fhirObject as FhirObjectRules;
    assert.deepEqual(rules.required, [
      { element: 'status', keys: ['status', '_status'] },
      { element: 'code', keys: ['code'] },
    ]);
    assert.ok(rules.choices?.some((c) => c.element === 'value[x]' && c.names.includes('valueQuantity') && c.names.includes('valueString')));
  });

  it('gives primitives their JSON type and anchored R4 regex; integers and decimal are numbers', () => {
    const d = defs();
    assert.deepEqual(d.decimal, { fhirType: 'decimal', type: 'number' });
    assert.deepEqual(d.boolean, { fhirType: 'boolean', type: 'boolean' });
    assert.equal(d.integer?.type, 'integer');
    assert.equal(d.positiveInt?.minimum, 1);
    assert.equal(d.unsignedInt?.minimum, 0);
    assert.deepEqual(d.integer_null?.type, ['integer', 'null']);
    assert.equal(d.id?.pattern, '^(?:[A-Za-z0-9\\-\\.]{1,64})$');
    assert.match(String(d.date?.pattern), /^\^\(\?:.*\)\$$/);
  });

  it('translates XML Schema regexes (\\s is XML whitespace only)', () => {
    assert.equal(xsdRegexToJs('[ \\r\\n\\t\\S]+'), '[\\s\\S]+');
    assert.equal(xsdRegexToJs('[^\\s]+(\\s[^\\s]+)*'), '[^ \\t\\n\\r]+([ \\t\\n\\r][^ \\t\\n\\r]+)*');
    assert.equal(xsdRegexToJs('\\S*'), '[^ \\t\\n\\r]*');
    assert.equal(xsdRegexToJs('[A-Za-z0-9\\-\\.]{1,64}'), '[A-Za-z0-9\\-\\.]{1,64}');
    assert.throws(() => xsdRegexToJs('[a\\S]'));
    const code = new RegExp(`^(?:${xsdRegexToJs('[^\\s]+(\\s[^\\s]+)*')})$`, 'u');
    assert.ok(code.test('a\u00a0b'), 'NBSP is not XML whitespace');
    assert.ok(!code.test('a  b'));
  });

  it('the safe base64Binary regex accepts exactly what the R4 regex accepts (property)', () => {
    const r4 = /^(?:(\s*([0-9a-zA-Z+/=]){4}\s*)+)$/;
    const safe = new RegExp(String(defs().base64Binary?.pattern), 'u');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('A', 'z', '0', '+', '/', '=', ' ', '\n', '\t', '!'), maxLength: 24 }), (s) => {
        assert.equal(safe.test(s), r4.test(s), JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});
