/**
 * Content negotiation, _format, _pretty, _summary and _elements (FHIR R4 http.html#mime-type,
 * search.html#summary, #elements).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

describe('HTTP: formats, _summary and _elements', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = testApp();
    const res = await request(t.app)
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({
        resourceType: 'Patient',
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter</div>' },
        identifier: [{ value: 'X1' }],
        name: [{ family: 'Chalmers' }],
        gender: 'male',
        birthDate: '1974-12-25',
        maritalStatus: { text: 'married' },
        contact: [{ name: { family: 'Du Marché' } }],
      }));
    id = res.body.id;
  });
  after(() => t.close());

  it('accepts application/json as request and response type', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', 'application/json').set('Accept', 'application/json').send(JSON.stringify({ resourceType: 'Patient' }));
    assert.equal(res.status, 201);
    assert.match(String(res.headers['content-type']), /^application\/json/);
  });

  it('_format=json and _pretty=true', async () => {
    const res = await request(t.app).get(`/fhir/Patient/${id}?_format=json&_pretty=true`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    assert.match(res.text, /\n {2}"resourceType": "Patient"/);
  });

  it('_summary=true keeps summary elements only and tags SUBSETTED', async () => {
    const res = await request(t.app).get(`/fhir/Patient/${id}?_summary=true`);
    assert.equal(res.status, 200);
    assert.equal(res.body.name[0].family, 'Chalmers');
    assert.equal(res.body.birthDate, '1974-12-25');
    assert.equal(res.body.text, undefined);
    assert.equal(res.body.maritalStatus, undefined, 'maritalStatus is not a summary element');
    assert.equal(res.body.contact, undefined);
    assert.ok(res.body.meta.tag.some((x: { code: string }) => x.code === 'SUBSETTED'));
  });

  it('_summary=text, data and false', async () => {
    const text = await request(t.app).get(`/fhir/Patient/${id}?_summary=text`);
    assert.ok(text.body.text);
    assert.equal(text.body.name, undefined);
    const data = await request(t.app).get(`/fhir/Patient/${id}?_summary=data`);
    assert.equal(data.body.text, undefined);
    assert.ok(data.body.maritalStatus);
    const all = await request(t.app).get(`/fhir/Patient/${id}?_summary=false`);
    assert.ok(all.body.text && all.body.contact);
    assert.equal((await request(t.app).get(`/fhir/Patient/${id}?_summary=bogus`)).status, 400);
  });

  it('_elements keeps the listed elements plus id and meta', async () => {
    const res = await request(t.app).get(`/fhir/Patient/${id}?_elements=gender,birthDate`);
    assert.deepEqual(Object.keys(res.body).sort(), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
    const search = await request(t.app).get(`/fhir/Patient?_id=${id}&_elements=gender`);
    assert.deepEqual(Object.keys(search.body.entry[0].resource).sort(), ['gender', 'id', 'meta', 'resourceType']);
  });

  it('HEAD answers headers without a body', async () => {
    const res = await request(t.app).head(`/fhir/Patient/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['etag'], 'W/"1"');
    assert.equal(res.text, undefined);
  });

  it('POST _search with a form body', async () => {
    const res = await request(t.app).post('/fhir/Patient/_search').type('form').send({ family: 'Chalmers' });
    assert.equal(res.status, 200);
    assert.equal(res.body.type, 'searchset');
    assert.ok(res.body.entry.some((e: { resource: { id: string } }) => e.resource.id === id));
  });
});
