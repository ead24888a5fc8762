/**
 * Reading FHIR XML (FHIR R4 xml.html, json.html#primitive): the JSON it gives, and the 400s (413,
 * 415) it answers for what FHIR XML does not allow.
 */
import assert from 'node:assert/strict';
import { FhirError } from '../../fhir/outcome';
import { numberText } from '../json-numbers';
import { readFhirXml, readFhirXmlCooperatively } from './reader';

const F = 'xmlns="http://hl7.org/fhir"';
const X = 'xmlns="http://www.w3.org/1999/xhtml"';

function refused(xml: string, status: number, diagnostics: RegExp, expression?: string, options: Parameters<typeof readFhirXml>[1] = {}): FhirError {
  try {
    readFhirXml(xml, options);
  } catch (e) {
    assert.ok(e instanceof FhirError, `a FhirError, not ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.match(e.issues[0]!.diagnostics ?? '', diagnostics);
    if (expression !== undefined) assert.deepEqual(e.issues[0]!.expression, [expression]);
    return e;
  }
  assert.fail(`accepted: ${xml}`);
}

describe('FHIR XML reader', () => {
  it('maps primitives, their id and extensions, lists, choice types and complex elements to FHIR JSON', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <Patient ${F} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://hl7.org/fhir patient.xsd">
        <!-- a comment -->
        <id value="p1"/>
        <extension url="http://example.org/a"><valueBoolean value="true"/></extension>
        <active value="false"/>
        <name id="n1">
          <family value="Chalmers"/>
          <given value="Peter"/>
          <given id="g2"><extension url="http://example.org/b"><valueString value="x"/></extension></given>
          <given value="James"/>
        </name>
        <birthDate id="bd" value="1974-12-25"><extension url="http://example.org/t"><valueDateTime value="1974-12-25T14:35:45-05:00"/></extension></birthDate>
        <multipleBirthInteger value="2"/>
      </Patient>`;
    assert.deepEqual(readFhirXml(xml).value, {
      resourceType: 'Patient',
      id: 'p1',
      extension: [{ url: 'http://example.org/a', valueBoolean: true }],
      active: false,
      name: [{ id: 'n1', family: 'Chalmers', given: ['Peter', null, 'James'], _given: [null, { id: 'g2', extension: [{ url: 'http://example.org/b', valueString: 'x' }] }, null] }],
      birthDate: '1974-12-25',
      _birthDate: { id: 'bd', extension: [{ url: 'http://example.org/t', valueDateTime: '1974-12-25T14:35:45-05:00' }] },
      multipleBirthInteger: 2,
    });
  });

  it('omits a list of values that are all absent (only extensions), as json.html does', () => {
    const xml = `<ActivityDefinition ${F}><status value="draft"/><timingTiming><event><extension url="http://e"><valueString value="Now()"/></extension></event></timingTiming></ActivityDefinition>`;
    assert.deepEqual(readFhirXml(xml).value, { resourceType: 'ActivityDefinition', status: 'draft', timingTiming: { _event: [{ extension: [{ url: 'http://e', valueString: 'Now()' }] }] } });
  });

  it('keeps decimals as written and types numbers and booleans by the element definition', () => {
    const xml = `<Observation ${F}><status value="final"/><code><text value="x"/></code><valueQuantity><value value="20.00"/></valueQuantity><component><code><text value="c"/></code><valueInteger value="7"/></component><component><extension url="http://e"><valueDecimal value="1.000000000000000000E-245"/></extension></component></Observation>`;
    const { value, lexemes } = readFhirXml(xml);
    const q = (value as { valueQuantity: { value: number } }).valueQuantity;
    assert.equal(q.value, 20);
    assert.equal(numberText(lexemes, q, 'value', q.value), '20.00');
    const c = (value as { component: Array<{ valueInteger?: number; extension?: Array<{ valueDecimal: number }> }> }).component;
    assert.equal(c[0]!.valueInteger, 7);
    const ext = c[1]!.extension![0]!;
    assert.equal(ext.valueDecimal, 1e-245);
    assert.equal(numberText(lexemes, ext, 'valueDecimal', ext.valueDecimal), '1.000000000000000000E-245');
    // positiveInt is a specialisation of integer: a JSON number although R4 lists its value as System.String.
    const p = readFhirXml(`<Patient ${F}><telecom><rank value="3"/></telecom></Patient>`).value as { telecom: Array<{ rank: unknown }> };
    assert.equal(p.telecom[0]!.rank, 3);
  });

  it('reads resource containers: contained, Bundle.entry.resource, Parameters.parameter.resource and part', () => {
    const xml = `<Bundle ${F}><type value="collection"/><entry><fullUrl value="urn:uuid:1"/><resource><Parameters><parameter><name value="a"/><resource><Patient><contained><Organization><id value="o"/></Organization></contained><active value="true"/></Patient></resource></parameter><parameter><name value="b"/><part><name value="c"/><valueCode value="x"/></part></parameter></Parameters></resource></entry></Bundle>`;
    assert.deepEqual(readFhirXml(xml).value, {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:1',
          resource: {
            resourceType: 'Parameters',
            parameter: [
              { name: 'a', resource: { resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o' }], active: true } },
              { name: 'b', part: [{ name: 'c', valueCode: 'x' }] },
            ],
          },
        },
      ],
    });
  });

  it('keeps the narrative div as its source text, standing alone', () => {
    const div = `<div ${X}>Peter &amp; <b class='x'>Jim</b><br/>&#169; &lt;3</div>`;
    const v = readFhirXml(`<Patient ${F}><text><status value="generated"/>${div}</text></Patient>`).value as { text: { div: string } };
    assert.equal(v.text.div, div);
    // CR LF read as LF (XML 1.0 §2.11); a prefix declared outside the div is declared on it.
    const w = readFhirXml(`<f:Patient xmlns:f="http://hl7.org/fhir" xmlns:h="${'http://www.w3.org/1999/xhtml'}"><f:text><f:status value="generated"/><h:div><h:p>a\r\nb</h:p></h:div></f:text></f:Patient>`).value as { text: { div: string } };
    assert.equal(w.text.div, '<h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>a\nb</h:p></h:div>');
    const empty = readFhirXml(`<Patient ${F}><text><status value="empty"/><div ${X}/></text></Patient>`).value as { text: { div: string } };
    assert.equal(empty.text.div, `<div ${X}/>`);
  });

  it('reads large documents a chunk at a time, cooperatively too: characters split across chunks, positions of the narrative', async () => {
    const head = `<Patient ${F}><text><status value="generated"/>`;
    // Put an astral character (a surrogate pair) across the 64 Ki boundary between chunks, in the narrative and in a value.
    const pad = 'x'.repeat(65_536 - head.length - `<div ${X}>`.length - 1);
    const div = `<div ${X}>${pad}\u{1F600}</div>`;
    const family = `${'y'.repeat(65_536 - 9)}\u{1F600}`;
    const xml = `${head}${div}</text><name><family value="${family}"/></name></Patient>`;
    for (const v of [readFhirXml(xml).value, (await readFhirXmlCooperatively(xml)).value] as Array<{ text: { div: string }; name: Array<{ family: string }> }>) {
      assert.equal(v.text.div, div);
      assert.equal(v.name[0]!.family, family);
    }
  });

  it('accepts a byte order mark, a prefixed FHIR namespace and an empty resource', () => {
    assert.deepEqual(readFhirXml(`\ufeff<Patient ${F}><active value="true"/></Patient>`).value, { resourceType: 'Patient', active: true });
    assert.deepEqual(readFhirXml('<fhir:Patient xmlns:fhir="http://hl7.org/fhir"><fhir:gender value="male"/></fhir:Patient>').value, { resourceType: 'Patient', gender: 'male' });
    assert.deepEqual(readFhirXml(`<Parameters ${F}></Parameters>`).value, { resourceType: 'Parameters' });
  });

  describe('refuses what FHIR XML does not allow, with a 400 naming the problem and the element', () => {
    it('DTDs: external entities (XXE) and entity expansion are never processed', () => {
      const e = refused(`<!DOCTYPE Patient [<!ENTITY x SYSTEM "file:///etc/passwd">]><Patient ${F}><name><family value="&x;"/></name></Patient>`, 400, /DOCTYPE.*not allowed/);
      assert.equal(e.issues[0]!.code, 'security');
      refused(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Patient ${F}/>`, 400, /DOCTYPE/);
      refused(`<!DOCTYPE Patient SYSTEM "http://example.org/evil.dtd"><Patient ${F}/>`, 400, /DOCTYPE/);
      // An entity nobody declared is not well-formed.
      refused(`<Patient ${F}><gender value="&nbsp;"/></Patient>`, 400, /not well-formed XML.*undefined entity/);
    });

    it('not well-formed XML, another encoding or XML version', () => {
      refused(`<Patient ${F}><active value="true"></Patient>`, 400, /not well-formed XML/);
      refused('', 400, /not well-formed XML|holds no resource/);
      refused(`<Patient ${F}/><Patient ${F}/>`, 400, /not well-formed XML/);
      refused(`<?xml version="1.0" encoding="ISO-8859-1"?><Patient ${F}/>`, 415, /encoding ISO-8859-1/);
      refused(`<?xml version="1.1"?><Patient ${F}/>`, 400, /version 1\.1/);
    });

    it('a root that is not an R4 resource in the FHIR namespace', () => {
      refused('<Patient/>', 400, /not in the FHIR namespace/);
      refused('<Patient xmlns="http://hl7.org/fhir/x"/>', 400, /not in the FHIR namespace/);
      refused(`<Unicorn ${F}/>`, 400, /not an R4 resource type/);
      refused(`<HumanName ${F}/>`, 400, /not an R4 resource type/);
      refused(`<DomainResource ${F}/>`, 400, /not an R4 resource type/);
    });

    it('unknown elements, other namespaces, order, repeats and choice types', () => {
      refused(`<Patient ${F}><name><famly value="x"/></name></Patient>`, 400, /<famly> is not an element of HumanName/, 'Patient.name[0]');
      refused(`<Patient ${F}><deceasedString value="x"/></Patient>`, 400, /not an element of Patient/, 'Patient');
      refused(`<Patient ${F}><gender xmlns="urn:other" value="male"/></Patient>`, 400, /must be in the namespace http:\/\/hl7\.org\/fhir/, 'Patient.gender');
      refused(`<Patient ${F}><gender value="male"/><name><family value="x"/></name></Patient>`, 400, /out of order: name must come before gender/, 'Patient.name');
      refused(`<Patient ${F}><name><given value="a"/><family value="b"/></name></Patient>`, 400, /out of order/, 'Patient.name[0].family');
      refused(`<Patient ${F}><name><given value="a"/><prefix value="b"/><given value="c"/></name></Patient>`, 400, /out of order/, 'Patient.name[0].given');
      refused(`<Patient ${F}><gender value="male"/><gender value="female"/></Patient>`, 400, /occurs more than once; its maximum is 1/, 'Patient.gender');
      refused(`<Patient ${F}><deceasedBoolean value="true"/><deceasedDateTime value="2020"/></Patient>`, 400, /occurs more than once/, 'Patient.deceasedDateTime');
      refused(`<Patient ${F}><text><status value="generated"/><div xmlns="http://hl7.org/fhir">x</div></text></Patient>`, 400, /must be in the namespace http:\/\/www\.w3\.org\/1999\/xhtml/, 'Patient.text.div');
    });

    it('empty elements and attributes, unknown attributes, text content', () => {
      refused(`<Patient ${F}><name/></Patient>`, 400, /<name> is empty/, 'Patient.name[0]');
      refused(`<Patient ${F}><gender/></Patient>`, 400, /neither a value nor an id or extensions/, 'Patient.gender');
      refused(`<Patient ${F}><gender value=""/></Patient>`, 400, /attribute value is empty/, 'Patient.gender');
      refused(`<Patient ${F}><gender value="male" foo="1"/></Patient>`, 400, /attribute foo is not allowed.*only id, value/, 'Patient.gender');
      refused(`<Patient ${F}><name url="x"><family value="f"/></name></Patient>`, 400, /attribute url is not allowed/, 'Patient.name[0]');
      refused(`<Patient ${F} id="p1"/>`, 400, /attribute id is not allowed.*no attributes/, 'Patient');
      refused(`<Patient ${F}><gender value="male" xml:lang="en"/></Patient>`, 400, /attribute xml:lang is not allowed/);
      refused(`<Patient ${F}><gender>male</gender></Patient>`, 400, /text content "male" is not allowed/, 'Patient.gender');
      refused(`<Patient ${F}><name>Peter<family value="x"/></name></Patient>`, 400, /text content/, 'Patient.name[0]');
      refused(`<Patient ${F}><name><family value="x"/><![CDATA[y]]></name></Patient>`, 400, /text content/);
    });

    it('values that are not of the element type', () => {
      refused(`<Patient ${F}><active value="yes"/></Patient>`, 400, /"yes" is not a boolean/, 'Patient.active');
      refused(`<Observation ${F}><status value="final"/><code><text value="x"/></code><valueQuantity><value value="1,5"/></valueQuantity></Observation>`, 400, /"1,5" is not a decimal/, 'Observation.valueQuantity.value');
      refused(`<Observation ${F}><valueInteger value="0x10"/></Observation>`, 400, /is not a integer/);
      refused(`<Observation ${F}><extension url="http://e"><valueDecimal value="1e400"/></extension></Observation>`, 400, /out of range/);
    });

    it('resource containers without exactly one resource', () => {
      refused(`<Patient ${F}><contained></contained></Patient>`, 400, /holds no resource/, 'Patient.contained[0]');
      refused(`<Patient ${F}><contained><Patient xmlns=""/></contained></Patient>`, 400, /not in the FHIR namespace/);
      refused(`<Patient ${F}><contained><Organization/><Organization/></contained></Patient>`, 400, /more than one resource/, 'Patient.contained[0]');
      refused(`<Patient ${F}><contained><HumanName/></contained></Patient>`, 400, /not an R4 resource type/);
    });

    it('a narrative that is not XHTML', () => {
      refused(`<Patient ${F}><text><status value="generated"/><div ${X}><p><fhir:x xmlns:fhir="http://hl7.org/fhir"/></p></div></text></Patient>`, 400, /not in the XHTML namespace/, 'Patient.text.div');
      refused(`<f:Patient xmlns:f="http://hl7.org/fhir"><f:text><f:status value="generated"/><h:div xmlns:h="http://www.w3.org/1999/xhtml"><p/></h:div></f:text></f:Patient>`, 400, /<p>, which is not in the XHTML namespace/);
    });

    it('nesting deeper than the limit', () => {
      const deep = `<Patient ${F}>${'<contained><Patient>'.repeat(60)}${'</Patient></contained>'.repeat(60)}</Patient>`;
      refused(deep, 400, /nested more than 100 levels/);
      // An XHTML narrative nested deeply is text to JSON: no limit beyond the body size.
      const div = `<div ${X}>${'<span>'.repeat(500)}x${'</span>'.repeat(500)}</div>`;
      assert.equal((readFhirXml(`<Patient ${F}><text><status value="generated"/>${div}</text></Patient>`).value as { text: { div: string } }).text.div, div);
    });
  });

  describe('content limits while reading (413, the same limits as JSON bodies)', () => {
    const limits = { maxArrayLength: 3, maxResourceElements: 200, maxBundleEntries: 5 };
    it('a list longer than MAX_ARRAY_LENGTH', () => {
      refused(`<Patient ${F}><name><given value="a"/><given value="b"/><given value="c"/><given value="d"/></name></Patient>`, 413, /Patient\.name\[0\]\.given has at least 4 items.*MAX_ARRAY_LENGTH/, 'Patient.name[0].given', { limits });
    });
    it('a resource with more values than MAX_RESOURCE_ELEMENTS', () => {
      const xml = `<Patient ${F}>${'<contained><Basic><code><text value="x"/></code></Basic></contained>'.repeat(3)}${'<identifier><value value="1"/></identifier>'.repeat(3)}</Patient>`;
      refused(xml, 413, /more than 10 JSON values.*MAX_RESOURCE_ELEMENTS/, 'Patient', { limits: { ...limits, maxResourceElements: 10, maxArrayLength: 100 } });
    });
    it('a transaction: entries up to MAX_BUNDLE_ENTRIES (not MAX_ARRAY_LENGTH), each entry resource counted on its own', () => {
      const entry = `<entry><resource><Patient><active value="true"/></Patient></resource><request><method value="POST"/><url value="Patient"/></request></entry>`;
      const ok = `<Bundle ${F}><type value="transaction"/>${entry.repeat(5)}</Bundle>`;
      assert.equal((readFhirXml(ok, { limits }).value as { entry: unknown[] }).entry.length, 5);
      refused(`<Bundle ${F}><type value="transaction"/>${entry.repeat(6)}</Bundle>`, 413, /Bundle\.entry has at least 6 items/, 'Bundle.entry', { limits });
      const big = `<Bundle ${F}><type value="transaction"/><entry><resource><Patient>${'<identifier><value value="1"/></identifier>'.repeat(3)}</Patient></resource></entry></Bundle>`;
      refused(big, 413, /Bundle\.entry\[0\]\.resource has more than 5 JSON values/, 'Bundle.entry[0].resource', { limits: { ...limits, maxResourceElements: 5 } });
    });
  });
});
