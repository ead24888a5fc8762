/**
 * Writing FHIR XML (FHIR R4 xml.html): documented element order, attributes, primitives with their
 * `_name`, the narrative, escaping, decimals as written, and the 406 for what cannot be written.
 */
import assert from 'node:assert/strict';
import { FhirError } from '../../fhir/outcome';
import { parseJsonKeepingNumbers } from '../json-numbers';
import { readFhirXml } from './reader';
import { writeFhirXml } from './writer';

const X = 'http://www.w3.org/1999/xhtml';

function write(resource: unknown, options: Parameters<typeof writeFhirXml>[1] = {}): string {
  return writeFhirXml(resource, { omitDeclaration: true, ...options });
}

function refused(resource: unknown, diagnostics: RegExp, expression?: string): void {
  try {
    write(resource);
  } catch (e) {
    assert.ok(e instanceof FhirError, `a FhirError, not ${String(e)}`);
    assert.equal(e.status, 406);
    assert.match(e.issues[0]!.diagnostics ?? '', diagnostics);
    if (expression !== undefined) assert.deepEqual(e.issues[0]!.expression, [expression]);
    return;
  }
  assert.fail(`written: ${JSON.stringify(resource)}`);
}

describe('FHIR XML writer', () => {
  it('writes elements in the documented order whatever the JSON key order, with the declaration and namespace', () => {
    const xml = writeFhirXml({ gender: 'male', name: [{ given: ['Peter'], family: 'Chalmers' }], id: 'p1', resourceType: 'Patient', active: true });
    assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir"><id value="p1"/><active value="true"/><name><family value="Chalmers"/><given value="Peter"/></name><gender value="male"/></Patient>');
  });

  it('writes element ids and extension urls as attributes, primitives with their id and extensions, choice types by their typed names', () => {
    const xml = write({
      resourceType: 'Patient',
      extension: [{ url: 'http://e/a', id: 'e1', valueCodeableConcept: { text: 't' } }],
      name: [{ id: 'n1', given: ['Peter', null, 'James'], _given: [null, { id: 'g2', extension: [{ url: 'http://e/b', valueString: 'x' }] }] }],
      birthDate: '1974-12-25',
      _birthDate: { extension: [{ url: 'http://e/t', valueDateTime: '1974-12-25T14:35:45-05:00' }] },
      deceasedBoolean: false,
      multipleBirthInteger: 2,
    });
    assert.equal(
      xml,
      '<Patient xmlns="http://hl7.org/fhir"><extension id="e1" url="http://e/a"><valueCodeableConcept><text value="t"/></valueCodeableConcept></extension>' +
        '<name id="n1"><given value="Peter"/><given id="g2"><extension url="http://e/b"><valueString value="x"/></extension></given><given value="James"/></name>' +
        '<birthDate value="1974-12-25"><extension url="http://e/t"><valueDateTime value="1974-12-25T14:35:45-05:00"/></extension></birthDate>' +
        '<deceasedBoolean value="false"/><multipleBirthInteger value="2"/></Patient>',
    );
  });

  it('writes contained, entry and parameter resources inside their container element', () => {
    const xml = write({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Parameters', parameter: [{ name: 'p', resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o' }] } }, { name: 'q', part: [{ name: 'r', valueCode: 'x' }] }] } }] });
    assert.equal(
      xml,
      '<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource><Parameters><parameter><name value="p"/><resource><Patient><contained><Organization><id value="o"/></Organization></contained></Patient></resource></parameter><parameter><name value="q"/><part><name value="r"/><valueCode value="x"/></part></parameter></Parameters></resource></entry></Bundle>',
    );
  });

  it('embeds the narrative as written, adding the XHTML namespace when the JSON lacks it', () => {
    const div = `<div xmlns="${X}">a &amp; <b class='c'>b</b><br/>&#169;</div>`;
    assert.equal(write({ resourceType: 'Basic', text: { status: 'generated', div } }), `<Basic xmlns="http://hl7.org/fhir"><text><status value="generated"/>${div}</text></Basic>`);
    assert.match(write({ resourceType: 'Basic', text: { status: 'generated', div: '<div><p>x</p></div>' } }), /<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"><p>x<\/p><\/div>/);
  });

  it('escapes attribute values so that every string reads back unchanged', () => {
    const family = 'a & b < c > d " e \' f\tg\nh\r\ni \u00e9 \u{1F600}';
    const xml = write({ resourceType: 'Patient', name: [{ family }] });
    assert.match(xml, /value="a &amp; b &lt; c &gt; d &quot; e ' f&#x9;g&#xA;h&#xD;&#xA;i é 😀"/);
    assert.equal((readFhirXml(xml).value as { name: Array<{ family: string }> }).name[0]!.family, family);
  });

  it('writes decimals as they were written when the text was kept, else as JSON.stringify stored them', () => {
    const { value, lexemes } = parseJsonKeepingNumbers('{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":20.00},"component":[{"code":{"text":"c"},"valueInteger":7}],"extension":[{"url":"http://e","valueDecimal":1.000000000000000000E-245}]}');
    const xml = write(value, { lexemes });
    assert.match(xml, /<valueDecimal value="1\.000000000000000000E-245"\/>/);
    assert.match(xml, /<value value="20\.00"\/>/);
    assert.match(xml, /<valueInteger value="7"\/>/);
    assert.match(write(value), /<value value="20"\/>/);
  });

  it('indents with _pretty, leaving the narrative as it is', () => {
    const xml = writeFhirXml({ resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="${X}">\n  x</div>` }, name: [{ family: 'F' }] }, { pretty: true });
    assert.equal(xml, `<?xml version="1.0" encoding="UTF-8"?>\n<Patient xmlns="http://hl7.org/fhir">\n  <text>\n    <status value="generated"/>\n    <div xmlns="${X}">\n  x</div>\n  </text>\n  <name>\n    <family value="F"/>\n  </name>\n</Patient>`);
  });

  describe('refuses what cannot be FHIR XML with a 406 naming the element (the client may ask for JSON)', () => {
    it('keys that are not R4 elements, and values of the wrong shape', () => {
      refused({ resourceType: 'Patient', foo: 1 }, /foo is not an element of Patient in R4/, 'Patient.foo');
      refused({ resourceType: 'Patient', name: [{ famly: 'x' }] }, /famly is not an element of HumanName/, 'Patient.name[0].famly');
      refused({ resourceType: 'Unicorn' }, /"Unicorn" is not an R4 resource type/);
      refused({ resourceType: 'Patient', name: { family: 'x' } }, /name repeats.*a JSON array is expected/, 'Patient.name');
      refused({ resourceType: 'Patient', gender: ['male'] }, /gender does not repeat/, 'Patient.gender');
      refused({ resourceType: 'Patient', active: 'true' }, /a boolean must be a JSON boolean, not the string "true"/, 'Patient.active');
      refused({ resourceType: 'Patient', gender: 3 }, /a code must be a JSON string/, 'Patient.gender');
      refused({ resourceType: 'Patient', maritalStatus: 'M' }, /a CodeableConcept must be a JSON object/, 'Patient.maritalStatus');
      refused({ resourceType: 'Patient', _gender: { value: 'x' } }, /_gender has "value"/, 'Patient.gender');
      refused({ resourceType: 'Patient', contained: [{ id: 'x' }] }, /undefined is not an R4 resource type/, 'Patient.contained[0]');
    });

    it('empty objects, arrays and strings (R4 json.html never has them), nulls without extensions', () => {
      refused({ resourceType: 'Patient', maritalStatus: {} }, /an empty object/, 'Patient.maritalStatus');
      refused({ resourceType: 'Patient', name: [] }, /an empty array/, 'Patient.name');
      refused({ resourceType: 'Patient', gender: '' }, /the empty string is not a value/, 'Patient.gender');
      refused({ resourceType: 'Patient', gender: 'male', _gender: {} }, /_gender is an empty object/, 'Patient.gender');
      refused({ resourceType: 'Patient', name: [{ given: ['a', null] }] }, /item 1 is null and _given gives nothing for it/, 'Patient.name[0].given[1]');
    });

    it('characters XML 1.0 cannot carry, unless asked to replace them', () => {
      refused({ resourceType: 'Patient', name: [{ family: 'a\u0001b' }] }, /a character XML 1\.0 cannot represent \(U\+0001\)/, 'Patient.name[0].family');
      refused({ resourceType: 'Patient', name: [{ family: 'a\uD800b' }] }, /U\+D800/);
      const xml = write({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad \u0000 \uFFFF' }] }, { replaceInvalidChars: true });
      assert.match(xml, /<diagnostics value="bad \uFFFD \uFFFD"\/>/);
    });

    it('a narrative that is not one well-formed XHTML div', () => {
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</div>' } }, /not one XHTML div: it is not well-formed XML/, 'Basic.text.div');
      refused({ resourceType: 'Basic', text: { status: 'generated', div: 'plain text' } }, /not well-formed XML|not a single element/, 'Basic.text.div');
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<p xmlns="http://www.w3.org/1999/xhtml">x</p>' } }, /its element is <p>, not <div>/);
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<!-- c --><div>x</div>' } }, /something precedes its div/);
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<div xmlns="urn:x">x</div>' } }, /in the namespace "urn:x"/);
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<!DOCTYPE div [<!ENTITY e "x">]><div xmlns="http://www.w3.org/1999/xhtml">&e;</div>' } }, /DOCTYPE|not well-formed/);
      refused({ resourceType: 'Basic', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">a</div><div xmlns="http://www.w3.org/1999/xhtml">b</div>' } }, /not well-formed XML|not a single element/);
    });
  });
});
