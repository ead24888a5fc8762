/**
 * Requests real clients send and the FHIR R4 text rules on (issue 12): repeated JSON properties
 * (json.html), bodies without a usable Content-Type (http.html#mime-type), ids with characters an id
 * cannot have (datatypes.html#id), If-Modified-Since in the future (RFC 9110 §13.1.3), the
 * `fhirVersion` media type parameter (http.html#version-parameter) and `_format` with an unescaped `+`.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

/** A POST with exactly the given headers (supertest adds a form Content-Type to string bodies). */
function rawPost(app: TestApp['app'], path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'Content-Length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => server.close(() => resolve({ status: res.statusCode ?? 0, body: text })));
      });
      req.on('error', (e) => server.close(() => reject(e)));
      req.end(body);
    });
  });
}

describe('HTTP: requests as the R4 text reads them', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = testApp();
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Conformant' }] }));
    assert.equal(res.status, 201, res.text);
    id = res.body.id;
  });
  after(() => t.close());

  it('a JSON body repeating a property in one object is a 400 naming the element, not "last one wins"', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType":"Patient","gender":"male","gender":"female"}');
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.deepEqual(res.body.issue[0].expression, ['Patient.gender']);
    assert.match(res.body.issue[0].diagnostics, /"gender" more than once/);
    const nested = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(`{"resourceType":"Patient","id":"${id}","name":[{"family":"A","family":"B"}]}`);
    assert.equal(nested.status, 400, nested.text);
    assert.deepEqual(nested.body.issue[0].expression, ['Patient.name[0].family']);
    const escaped = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType":"Patient","active":true,"\\u0061ctive":false}');
    assert.equal(escaped.status, 400, escaped.text);
  });

  it('a repeated property inside a Bundle entry fails the Bundle with the entry named', async () => {
    const text = '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","active":true,"active":false},"request":{"method":"POST","url":"Patient"}}]}';
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(text);
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.body.issue[0].expression, ['Bundle.entry[0].resource.active']);
    // A JSON Patch document carried as a Binary in a transaction entry: the same rule.
    const patch = Buffer.from('[{"op":"replace","path":"/active","value":true,"value":false}]').toString('base64');
    const patched = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: `Patient/${id}` } }] }));
    assert.equal(patched.status, 400, patched.text);
    assert.match(patched.body.issue[0].diagnostics, /"value" more than once/);
  });

  it('a body without Content-Type is a 415', async () => {
    const res = await rawPost(t.app, '/fhir/Patient', {}, JSON.stringify({ resourceType: 'Patient' }));
    assert.equal(res.status, 415, res.body);
    assert.equal(JSON.parse(res.body).resourceType, 'OperationOutcome');
  });

  it('a form body (what curl -d sends without -H) is a 415 outside _search, and still a search at _search', async () => {
    const res = await rawPost(t.app, '/fhir/Patient', { 'Content-Type': 'application/x-www-form-urlencoded' }, JSON.stringify({ resourceType: 'Patient' }));
    assert.equal(res.status, 415, res.body);
    assert.match(JSON.parse(res.body).issue[0].diagnostics, /application\/fhir\+json/);
    const search = await request(t.app).post('/fhir/Patient/_search').type('form').send('family=Conformant');
    assert.equal(search.status, 200, search.text);
    assert.equal(search.body.entry.length, 1);
  });

  it('read, vread and history of an id with characters not allowed in an id are a 400', async () => {
    for (const path of ['/fhir/Patient/a$b', '/fhir/Patient/a%20b', '/fhir/Patient/a$b/_history/1', '/fhir/Patient/a$b/_history', `/fhir/Patient/${'x'.repeat(65)}`]) {
      const res = await request(t.app).get(path);
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
    assert.equal((await request(t.app).get('/fhir/Patient/no-such-id')).status, 404);
  });

  it('If-Modified-Since later than the server clock is ignored (200), a past one still answers 304', async () => {
    const future = new Date(Date.now() + 24 * 3600_000).toUTCString();
    const res = await request(t.app).get(`/fhir/Patient/${id}`).set('If-Modified-Since', future);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, id);
    const now = await request(t.app).get(`/fhir/Patient/${id}`).set('If-Modified-Since', new Date().toUTCString());
    assert.equal(now.status, 304);
  });

  it('Accept with a fhirVersion other than 4.0 is a 406; 4.0 and 4.0.1 are served', async () => {
    const other = await request(t.app).get(`/fhir/Patient/${id}`).set('Accept', 'application/fhir+json; fhirVersion=3.0');
    assert.equal(other.status, 406, other.text);
    assert.match(other.body.issue[0].diagnostics, /fhirVersion=4\.0/);
    for (const accept of ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json;fhirVersion=4.0.1', 'application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0']) {
      const res = await request(t.app).get(`/fhir/Patient/${id}`).set('Accept', accept);
      assert.equal(res.status, 200, `${accept}: ${res.text}`);
    }
    assert.equal((await request(t.app).get(`/fhir/Patient/${id}?_format=${encodeURIComponent('application/fhir+json;fhirVersion=5.0')}`)).status, 406);
  });

  it('_format=application/fhir+json with the + unescaped (arriving as a space) is understood', async () => {
    const res = await request(t.app).get(`/fhir/Patient/${id}?_format=application/fhir+json`);
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    const search = await request(t.app).get('/fhir/Patient?family=Conformant&_format=application/fhir+json');
    assert.equal(search.status, 200, search.text);
    const xml = await request(t.app).get(`/fhir/Patient/${id}?_format=application/fhir+xml`);
    assert.equal(xml.status, 200, xml.text);
    assert.match(String(xml.headers['content-type']), /^application\/fhir\+xml/);
  });
});
