/**
 * Conditional interactions whose criteria use terminology and list parameters (FHIR R4 http.html
 * #ccreate, #cond-update, #cdelete, #patch; search.html `:in`, `:not-in`, `:above`, `:below`, `_list`):
 * the criteria go through the same rewrite as a search (src/fhir/conditional.ts), so they match as a
 * search would instead of reaching the store unresolved (500), and no selecting parameter is dropped
 * (a dropped `_list` widened a conditional delete to every match of the other criteria). Found by the
 * chaos suite (test/chaos): `PATCH /fhir/Composition?context:above=urn:chaos|a` answered 500.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

const GENDER_VS = 'http://hl7.org/fhir/ValueSet/administrative-gender';

describe('HTTP: conditional criteria with terminology and list parameters', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = testApp(GENERIC_ENGINE);
    const res = await request(t.app).put('/fhir/Patient/p1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'p1', gender: 'female', name: [{ family: 'Term' }] }));
    assert.equal(res.status, 201, res.text);
  });
  afterEach(() => t.close());

  const body = (extra: Record<string, unknown> = {}): string => JSON.stringify({ resourceType: 'Patient', gender: 'female', name: [{ family: 'Term' }], ...extra });

  it('conditional create with :in finds the existing resource (200), with :not-in creates (201)', async () => {
    const found = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `gender:in=${GENDER_VS}`).send(body());
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.id, 'p1');
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `gender:not-in=${GENDER_VS}`).send(body());
    assert.equal(created.status, 201, created.text);
  });

  it('conditional update and patch with :in change the one match', async () => {
    const upd = await request(t.app).put(`/fhir/Patient?gender:in=${GENDER_VS}`).set('Content-Type', FHIR_JSON).send(body({ birthDate: '1990-01-01' }));
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.id, 'p1');
    const patched = await request(t.app)
      .patch(`/fhir/Patient?gender:in=${GENDER_VS}`)
      .set('Content-Type', 'application/json-patch+json')
      .send(JSON.stringify([{ op: 'replace', path: '/birthDate', value: '1991-01-01' }]));
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.birthDate, '1991-01-01');
  });

  it('conditional delete with _list deletes the listed resource only (the _list criterion is not dropped)', async () => {
    await request(t.app).put('/fhir/Patient/p2').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'p2', gender: 'female' }));
    const list = await request(t.app).put('/fhir/List/l1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'List', id: 'l1', status: 'current', mode: 'working', entry: [{ item: { reference: 'Patient/p2' } }] }));
    assert.equal(list.status, 201, list.text);
    const del = await request(t.app).delete('/fhir/Patient?_list=l1&gender=female');
    assert.ok(del.status === 200 || del.status === 204, del.text);
    assert.equal((await request(t.app).get('/fhir/Patient/p2')).status, 410);
    assert.equal((await request(t.app).get('/fhir/Patient/p1')).status, 200);
  });

  it('a :above / :below criterion that cannot be resolved is a 4xx, not a 500', async () => {
    for (const [method, url] of [
      ['PATCH', '/fhir/Composition?context:above=urn:chaos|a'],
      ['PUT', '/fhir/Patient?gender:below=urn:unknown|x'],
      ['DELETE', '/fhir/Patient?gender:above=urn:unknown|x'],
    ] as const) {
      let r = request(t.app)[method === 'PATCH' ? 'patch' : method === 'PUT' ? 'put' : 'delete'](url);
      if (method !== 'DELETE') r = r.set('Content-Type', method === 'PATCH' ? 'application/json-patch+json' : FHIR_JSON).send(method === 'PATCH' ? '[]' : body());
      const res = await r;
      assert.ok(res.status < 500, `${method} ${url}: ${res.status} ${res.text}`);
      if (res.status >= 400) assert.equal(res.body.resourceType, 'OperationOutcome');
    }
  });
});
