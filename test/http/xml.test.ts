/**
 * FHIR XML over HTTP (FHIR R4 http.html#mime-type, xml.html, formats.html): responses in XML when
 * asked for (Accept or `_format`), XML request bodies for every interaction that takes a resource,
 * errors as XML OperationOutcomes, and the refusals (400, 406, 413, 415) of what cannot be read or
 * written. Over the real app.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { readFhirXml } from '../../src/formats/xml';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

const FHIR_XML = 'application/fhir+xml';
const F = 'xmlns="http://hl7.org/fhir"';

type Res = request.Response & { text: string };

/** Sends with the body as text and buffers any answer as text (XML included). */
async function asText(test: request.Test): Promise<Res> {
  const res = await test.buffer(true).parse((r, done) => {
    let text = '';
    r.setEncoding('utf8');
    r.on('data', (c: string) => (text += c));
    r.on('end', () => done(null, text));
  });
  return Object.assign(res, { text: typeof res.body === 'string' ? res.body : '' });
}

function xmlOf(res: Res): Record<string, unknown> {
  assert.match(String(res.headers['content-type']), /^(application\/(fhir\+)?xml|text\/xml); charset=utf-8$/, `an XML answer: ${res.headers['content-type']} ${res.text.slice(0, 200)}`);
  assert.match(res.text, /^<\?xml version="1\.0" encoding="UTF-8"\?>/);
  return readFhirXml(res.text).value;
}

function outcomeOf(res: Res, status: number, diagnostics?: RegExp): { issue: Array<{ code: string; diagnostics?: string; expression?: string[] }> } {
  assert.equal(res.status, status, res.text);
  const oo = xmlOf(res) as { resourceType: string; issue: Array<{ code: string; diagnostics?: string; expression?: string[] }> };
  assert.equal(oo.resourceType, 'OperationOutcome');
  if (diagnostics) assert.match(oo.issue[0]!.diagnostics ?? '', diagnostics);
  return oo;
}

const PATIENT_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Patient ${F}>
  <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">Peter <b>Chalmers</b> &amp; co</div></text>
  <identifier><system value="urn:x"/><value value="X1"/></identifier>
  <name><family value="Chalmers"/><given value="Peter"/><given value="James"/></name>
  <gender value="male"/>
  <birthDate value="1974-12-25"><extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1974-12-25T14:35:45-05:00"/></extension></birthDate>
</Patient>`;

describe('HTTP: FHIR XML', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = testApp(GENERIC_ENGINE);
    const res = await asText(request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(PATIENT_XML));
    assert.equal(res.status, 201, res.text);
    id = (xmlOf(res) as { id: string }).id;
  });
  after(() => t.close());

  it('creates from an XML body: the stored resource is the JSON of that XML', async () => {
    const res = await request(t.app).get(`/fhir/Patient/${id}`).set('Accept', FHIR_JSON);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    const { meta, ...rest } = res.body as Record<string, unknown>;
    assert.ok(meta);
    assert.deepEqual(rest, {
      resourceType: 'Patient',
      id,
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter <b>Chalmers</b> &amp; co</div>' },
      identifier: [{ system: 'urn:x', value: 'X1' }],
      name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
      gender: 'male',
      birthDate: '1974-12-25',
      _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1974-12-25T14:35:45-05:00' }] },
    });
  });

  it('reads as XML for each way of asking: Accept fhir+xml, xml, text/xml, xml+fhir; _format xml and the media types', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ Accept: 'application/fhir+xml' }, '', 'application/fhir+xml'],
      [{ Accept: 'application/xml' }, '', 'application/xml'],
      [{ Accept: 'text/xml' }, '', 'text/xml'],
      [{ Accept: 'application/xml+fhir' }, '', 'application/fhir+xml'],
      [{ Accept: 'application/fhir+json;q=0.5, application/fhir+xml' }, '', 'application/fhir+xml'],
      [{}, '?_format=xml', 'application/fhir+xml'],
      [{}, '?_format=application%2Ffhir%2Bxml', 'application/fhir+xml'],
      [{}, '?_format=application/xml', 'application/xml'],
      [{}, '?_format=text/xml', 'text/xml'],
      [{ Accept: 'application/fhir+json' }, '?_format=xml', 'application/fhir+xml'],
    ];
    for (const [headers, query, type] of cases) {
      const res = await asText(request(t.app).get(`/fhir/Patient/${id}${query}`).set(headers));
      assert.equal(res.status, 200, `${JSON.stringify(headers)} ${query}`);
      assert.equal(res.headers['content-type'], `${type}; charset=utf-8`, `${JSON.stringify(headers)} ${query}`);
      assert.equal(res.headers['etag'], 'W/"1"');
      const p = xmlOf(res) as { id: string; name: Array<{ family: string }> };
      assert.equal(p.id, id);
      assert.equal(p.name[0]!.family, 'Chalmers');
    }
    // JSON stays the default and answers what was asked.
    const json = await request(t.app).get(`/fhir/Patient/${id}`).set('Accept', 'application/fhir+xml;q=0.1, application/json');
    assert.match(String(json.headers['content-type']), /^application\/json/);
  });

  it('writes the narrative as XHTML and elements in the documented order', async () => {
    const res = await asText(request(t.app).get(`/fhir/Patient/${id}?_format=xml`));
    assert.match(res.text, /<text><status value="generated"\/><div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml">Peter <b>Chalmers<\/b> &amp; co<\/div><\/text><identifier>/);
    assert.ok(res.text.indexOf('<identifier>') < res.text.indexOf('<name>') && res.text.indexOf('<name>') < res.text.indexOf('<gender'), 'documented order');
    assert.match(res.text, /^<\?xml version="1\.0" encoding="UTF-8"\?><Patient xmlns="http:\/\/hl7\.org\/fhir"><id value="[^"]+"\/><meta><versionId value="1"\/>/);
  });

  it('vread, search, history, _summary, _elements, _pretty and HEAD in XML', async () => {
    const vread = xmlOf(await asText(request(t.app).get(`/fhir/Patient/${id}/_history/1?_format=xml`))) as { meta: { versionId: string } };
    assert.equal(vread.meta.versionId, '1');
    const search = xmlOf(await asText(request(t.app).get(`/fhir/Patient?family=Chalmers&_format=xml`))) as { resourceType: string; type: string; total: number; entry: Array<{ resource: { id: string }; search: { mode: string } }> };
    assert.equal(search.resourceType, 'Bundle');
    assert.equal(search.type, 'searchset');
    assert.equal(search.total, 1);
    assert.equal(search.entry[0]!.resource.id, id);
    assert.equal(search.entry[0]!.search.mode, 'match');
    const history = xmlOf(await asText(request(t.app).get(`/fhir/Patient/${id}/_history`).set('Accept', FHIR_XML))) as { type: string; entry: unknown[] };
    assert.equal(history.type, 'history');
    assert.equal(history.entry.length, 1);
    const summary = xmlOf(await asText(request(t.app).get(`/fhir/Patient/${id}?_summary=true&_format=xml`))) as Record<string, unknown>;
    assert.equal(summary['text'], undefined);
    assert.ok((summary['meta'] as { tag: Array<{ code: string }> }).tag.some((x) => x.code === 'SUBSETTED'));
    const elements = xmlOf(await asText(request(t.app).get(`/fhir/Patient?_id=${id}&_elements=gender&_format=xml`))) as { entry: Array<{ resource: Record<string, unknown> }> };
    assert.deepEqual(Object.keys(elements.entry[0]!.resource).sort(), ['gender', 'id', 'meta', 'resourceType']);
    const pretty = await asText(request(t.app).get(`/fhir/Patient/${id}?_format=xml&_pretty=true`));
    assert.match(pretty.text, /\n<Patient xmlns="http:\/\/hl7\.org\/fhir">\n {2}<id value=/);
    const head = await request(t.app).head(`/fhir/Patient/${id}?_format=xml`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'application/fhir+xml; charset=utf-8');
    assert.ok(Number(head.headers['content-length']) > 100);
  });

  it('updates, patches (FHIRPath Patch Parameters in XML) and validates from XML bodies', async () => {
    const updated = PATIENT_XML.replace(`<Patient ${F}>`, `<Patient ${F}><id value="${id}"/>`).replace('<gender value="male"/>', '<gender value="other"/>');
    const put = await asText(request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', 'application/xml').set('Accept', FHIR_XML).send(updated));
    assert.equal(put.status, 200, put.text);
    assert.equal((xmlOf(put) as { gender: string }).gender, 'other');
    const patch = `<Parameters ${F}><parameter><name value="operation"/><part><name value="type"/><valueCode value="replace"/></part><part><name value="path"/><valueString value="Patient.birthDate"/></part><part><name value="value"/><valueDate value="1975-01-01"/></part></parameter></Parameters>`;
    const patched = await asText(request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'text/xml').set('Accept', FHIR_XML).send(patch));
    assert.equal(patched.status, 200, patched.text);
    assert.equal((xmlOf(patched) as { birthDate: string }).birthDate, '1975-01-01');
    const validate = await asText(request(t.app).post('/fhir/Patient/$validate').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(`<Patient ${F}><birthDate value="not-a-date"/></Patient>`));
    const oo = xmlOf(validate) as { resourceType: string; issue: Array<{ severity: string; expression?: string[] }> };
    assert.equal(oo.resourceType, 'OperationOutcome');
    assert.ok(oo.issue.some((i) => i.severity === 'error' && (i.expression ?? []).includes('Patient.birthDate')), JSON.stringify(oo.issue));
  });

  it('a transaction and a batch in XML, answered in XML', async () => {
    const tx = `<Bundle ${F}><type value="transaction"/>
      <entry><fullUrl value="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"/><resource><Organization><name value="Acme"/></Organization></resource><request><method value="POST"/><url value="Organization"/></request></entry>
      <entry><resource><Patient><name><family value="Tx"/></name><managingOrganization><reference value="urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"/></managingOrganization></Patient></resource><request><method value="POST"/><url value="Patient"/></request></entry>
    </Bundle>`;
    const res = await asText(request(t.app).post('/fhir').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(tx));
    assert.equal(res.status, 200, res.text);
    const b = xmlOf(res) as { type: string; entry: Array<{ response: { status: string; location: string } }> };
    assert.equal(b.type, 'transaction-response');
    assert.deepEqual(b.entry.map((e) => e.response.status.slice(0, 3)), ['201', '201']);
    const orgId = b.entry[0]!.response.location.split('/')[1];
    const patient = await request(t.app).get(`/fhir/${b.entry[1]!.response.location.split('/_history')[0]}`);
    assert.equal(patient.body.managingOrganization.reference, `Organization/${orgId}`);
    const batch = `<Bundle ${F}><type value="batch"/><entry><request><method value="GET"/><url value="Patient/${id}"/></request></entry><entry><request><method value="GET"/><url value="Patient/absent"/></request></entry></Bundle>`;
    const br = xmlOf(await asText(request(t.app).post('/fhir').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(batch))) as { type: string; entry: Array<{ response: { status: string; outcome?: { resourceType: string } } }> };
    assert.equal(br.type, 'batch-response');
    assert.equal(br.entry[0]!.response.status.slice(0, 3), '200');
    assert.equal(br.entry[1]!.response.status.slice(0, 3), '404');
  });

  it('errors are XML OperationOutcomes when XML was asked for, JSON otherwise', async () => {
    outcomeOf(await asText(request(t.app).get('/fhir/Patient/absent').set('Accept', FHIR_XML)), 404, /not known/);
    outcomeOf(await asText(request(t.app).get('/fhir/Patient?birthdate=notadate&_format=xml')), 400);
    // A body error, found before the answer's format is negotiated, still answers in XML.
    outcomeOf(await asText(request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send('<Patient')), 400, /not well-formed XML/);
    const json = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).send('<Patient');
    assert.equal(json.status, 400);
    assert.match(String(json.headers['content-type']), /^application\/fhir\+json/);
    assert.equal(json.body.resourceType, 'OperationOutcome');
    // Validation failures (422) of an XML body, every issue with its path.
    const invalid = outcomeOf(await asText(request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(`<Patient ${F}><birthDate value="1974-13-45"/></Patient>`)), 422);
    assert.ok(invalid.issue.some((i) => (i.expression ?? []).includes('Patient.birthDate')));
  });

  it('refuses bad XML bodies with a 400 naming the problem and the element', async () => {
    const post = (body: string): Promise<Res> => asText(request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(body));
    const xxe = outcomeOf(await post(`<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Patient ${F}><name><family value="&xxe;"/></name></Patient>`), 400, /DOCTYPE/);
    assert.equal(xxe.issue[0]!.code, 'security');
    const unknown = outcomeOf(await post(`<Patient ${F}><name><famly value="x"/></name></Patient>`), 400, /<famly> is not an element of HumanName/);
    assert.deepEqual(unknown.issue[0]!.expression, ['Patient.name[0]']);
    outcomeOf(await post(`<Patient ${F}><gender value="male"/><name><family value="x"/></name></Patient>`), 400, /out of order/);
    outcomeOf(await post('<Patient><gender value="male"/></Patient>'), 400, /not in the FHIR namespace/);
    outcomeOf(await post(`<Observation ${F}/>`), 400, /resourceType|Observation/);
    const latin = await asText(request(t.app).post('/fhir/Patient').set('Content-Type', 'application/fhir+xml; charset=iso-8859-1').set('Accept', FHIR_XML).send(`<Patient ${F}/>`));
    outcomeOf(latin, 415, /charset/);
    outcomeOf(await post(`<?xml version="1.0" encoding="ISO-8859-1"?><Patient ${F}/>`), 415, /encoding ISO-8859-1/);
  });

  it('applies the content limits to XML bodies (413 too-costly), MAX_BODY_BYTES included', async () => {
    const small = testApp({ ...GENERIC_ENGINE, MAX_ARRAY_LENGTH: '3', MAX_BODY_BYTES: '4096' });
    try {
      const given = '<given value="a"/>'.repeat(4);
      const over = outcomeOf(await asText(request(small.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(`<Patient ${F}><name>${given}</name></Patient>`)), 413, /MAX_ARRAY_LENGTH/);
      assert.equal(over.issue[0]!.code, 'too-costly');
      assert.deepEqual(over.issue[0]!.expression, ['Patient.name[0].given']);
      const big = `<Patient ${F}><name><family value="${'x'.repeat(5000)}"/></name></Patient>`;
      outcomeOf(await asText(request(small.app).post('/fhir/Patient').set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(big)), 413, /MAX_BODY_BYTES/);
    } finally {
      await small.close();
    }
  });

  it('406 when a stored resource cannot be written as XML; the same resource reads as JSON', async () => {
    // R4 JSON strings may hold C0 controls ([ \r\n\t\S]+), which XML 1.0 cannot carry at all.
    const created = await request(t.app).post('/fhir/Basic').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Basic', code: { text: 'bell \u0007' } }));
    assert.equal(created.status, 201, created.text);
    const oo = outcomeOf(await asText(request(t.app).get(`/fhir/Basic/${created.body.id}`).set('Accept', FHIR_XML)), 406, /cannot be represented in FHIR XML.*U\+0007/);
    assert.deepEqual(oo.issue[0]!.expression, ['Basic.code.text']);
    assert.equal((await request(t.app).get(`/fhir/Basic/${created.body.id}`)).status, 200);
  });

  it('415 for XML Patch; the CapabilityStatement lists the XML formats', async () => {
    const res = await request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'application/xml-patch+xml').send('<diff/>');
    assert.equal(res.status, 415);
    const cs = await request(t.app).get('/fhir/metadata');
    assert.deepEqual(cs.body.format, ['application/fhir+json', 'application/json', 'application/fhir+xml', 'application/xml']);
    assert.ok(cs.body.patchFormat.includes('application/fhir+xml'));
    const csRes = await asText(request(t.app).get('/fhir/metadata').set('Accept', FHIR_XML));
    assert.equal((xmlOf(csRes) as { resourceType: string }).resourceType, 'CapabilityStatement');
    assert.equal(csRes.headers['vary'], 'Accept', 'a cache keys the CapabilityStatement on Accept');
  });

  it('hostile XML bodies never answer 5xx: always a 4xx (or 2xx) with an OperationOutcome or resource in XML', async function () {
    this.timeout(60_000);
    const valid = PATIENT_XML;
    const fragment = fc.constantFrom('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', '&e;', '<contained><Patient/></contained>', '</name>', '<name>', '<div xmlns="http://www.w3.org/1999/xhtml">', ' value=""', '<valueDecimal value="1e999"/>', '\u0000', '<![CDATA[x]]>', '<x:y xmlns:x="urn:x"/>', '<extension url="u"><valueString value="v"/></extension>', '<active value="true"/>');
    const body = fc.oneof(
      fc.tuple(fc.nat(valid.length), fragment).map(([i, f]) => valid.slice(0, i) + f + valid.slice(i)),
      fc.tuple(fc.nat(valid.length), fc.nat(30)).map(([i, n]) => valid.slice(0, i) + valid.slice(i + n)),
      fc.string({ unit: 'binary', maxLength: 100 }).map((s) => `<Patient ${F}>${s}</Patient>`),
      fc.integer({ min: 1, max: 400 }).map((n) => `<Bundle ${F}><type value="transaction"/>${'<entry><resource><Bundle><type value="collection"/>'.repeat(n)}`),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('/fhir/Patient', '/fhir', '/fhir/Patient/$validate'), async (xml, path) => {
        const res = await asText(request(t.app).post(path).set('Content-Type', FHIR_XML).set('Accept', FHIR_XML).send(xml));
        assert.ok(res.status < 500, `${res.status} for ${JSON.stringify(xml.slice(0, 300))}: ${res.text.slice(0, 300)}`);
        const answer = xmlOf(res);
        if (res.status >= 400) assert.equal(answer['resourceType'], 'OperationOutcome');
      }),
      { numRuns: 150 },
    );
  });
});
