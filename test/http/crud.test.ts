/**
 * HTTP behaviour of create, read, vread, update, delete and history (FHIR R4 http.html).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, TEST_BASE, type TestApp } from '../helpers/test-app';

const patient = (family = 'Chalmers') => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: '12345' }],
  name: [{ family, given: ['Peter', 'James'] }],
  gender: 'male',
  birthDate: '1974-12-25',
});

describe('HTTP: create, read, vread, update, delete, history', () => {
  let t: TestApp;
  before(() => {
    t = testApp();
  });
  after(() => t.close());

  it('creates with a server-assigned id, answers 201 with Location, ETag and Last-Modified', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient(), id: 'client-id' }));
    assert.equal(res.status, 201);
    assert.match(String(res.headers['location']), new RegExp(`^${TEST_BASE}/Patient/[0-9a-f-]{36}/_history/1$`));
    assert.equal(res.headers['etag'], 'W/"1"');
    assert.ok(res.headers['last-modified']);
    assert.match(String(res.headers['content-type']), /^application\/fhir\+json/);
    assert.notEqual(res.body.id, 'client-id', 'the server assigns the id on create');
    assert.equal(res.body.meta.versionId, '1');
    assert.match(res.body.meta.lastUpdated, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('reads back the stored resource byte-for-byte with ETag and Last-Modified', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
    const id = created.body.id as string;
    const res = await request(t.app).get(`/fhir/Patient/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.text, created.text);
    assert.equal(res.headers['etag'], 'W/"1"');
    assert.equal(res.headers['last-modified'], new Date(created.body.meta.lastUpdated).toUTCString());
  });

  it('updates with versioning, vreads old versions, and keeps history newest first', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient('One')));
    const id = created.body.id as string;
    const upd = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient('Two'), id }));
    assert.equal(upd.status, 200);
    assert.equal(upd.headers['etag'], 'W/"2"');
    assert.equal(upd.body.meta.versionId, '2');
    const v1 = await request(t.app).get(`/fhir/Patient/${id}/_history/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body.name[0].family, 'One');
    const v2 = await request(t.app).get(`/fhir/Patient/${id}/_history/2`);
    assert.equal(v2.body.name[0].family, 'Two');
    const v9 = await request(t.app).get(`/fhir/Patient/${id}/_history/9`);
    assert.equal(v9.status, 404);
    assert.equal(v9.body.resourceType, 'OperationOutcome');
    const hist = await request(t.app).get(`/fhir/Patient/${id}/_history`);
    assert.equal(hist.status, 200);
    assert.equal(hist.body.type, 'history');
    assert.equal(hist.body.total, 2);
    assert.deepEqual(hist.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId), ['2', '1']);
    assert.equal(hist.body.entry[0].request.method, 'PUT');
    assert.equal(hist.body.entry[1].request.method, 'POST');
  });

  it('update-as-create with a client id answers 201; body id must match the URL', async () => {
    const res = await request(t.app).put('/fhir/Patient/pat-client-1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient(), id: 'pat-client-1' }));
    assert.equal(res.status, 201);
    assert.equal(res.headers['location'], `${TEST_BASE}/Patient/pat-client-1/_history/1`);
    const mismatch = await request(t.app).put('/fhir/Patient/pat-client-1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient(), id: 'other' }));
    assert.equal(mismatch.status, 400);
    const missing = await request(t.app).put('/fhir/Patient/pat-client-1').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
    assert.equal(missing.status, 400);
    assert.equal(missing.body.resourceType, 'OperationOutcome');
  });

  it('If-Match guards update and delete: stale version 412, current version succeeds', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
    const id = created.body.id as string;
    const stale = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"7"').send(JSON.stringify({ ...patient(), id }));
    assert.equal(stale.status, 412);
    assert.equal(stale.body.resourceType, 'OperationOutcome');
    const ok = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"1"').send(JSON.stringify({ ...patient(), id }));
    assert.equal(ok.status, 200);
    const badDelete = await request(t.app).delete(`/fhir/Patient/${id}`).set('If-Match', 'W/"1"');
    assert.equal(badDelete.status, 412);
    const malformed = await request(t.app).delete(`/fhir/Patient/${id}`).set('If-Match', 'nonsense');
    assert.equal(malformed.status, 400);
  });

  it('conditional read: If-None-Match and If-Modified-Since answer 304', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
    const id = created.body.id as string;
    const inm = await request(t.app).get(`/fhir/Patient/${id}`).set('If-None-Match', 'W/"1"');
    assert.equal(inm.status, 304);
    assert.equal(inm.text, '');
    const other = await request(t.app).get(`/fhir/Patient/${id}`).set('If-None-Match', 'W/"2"');
    assert.equal(other.status, 200);
    // An If-Modified-Since in the future is ignored (RFC 9110 §13.1.3): the server's own clock is the latest date.
    const ims = await request(t.app).get(`/fhir/Patient/${id}`).set('If-Modified-Since', new Date().toUTCString());
    assert.equal(ims.status, 304);
    const old = await request(t.app).get(`/fhir/Patient/${id}`).set('If-Modified-Since', 'Mon, 01 Jan 2001 00:00:00 GMT');
    assert.equal(old.status, 200);
  });

  it('delete: later read is 410 Gone, history keeps the delete, deleting again is idempotent, update resurrects', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
    const id = created.body.id as string;
    const del = await request(t.app).delete(`/fhir/Patient/${id}`);
    assert.equal(del.status, 204);
    const gone = await request(t.app).get(`/fhir/Patient/${id}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.resourceType, 'OperationOutcome');
    assert.equal(gone.body.issue[0].code, 'deleted');
    const again = await request(t.app).delete(`/fhir/Patient/${id}`);
    assert.equal(again.status, 204);
    const hist = await request(t.app).get(`/fhir/Patient/${id}/_history`);
    assert.equal(hist.body.total, 2);
    assert.equal(hist.body.entry[0].request.method, 'DELETE');
    assert.equal(hist.body.entry[0].resource, undefined);
    const vDeleted = await request(t.app).get(`/fhir/Patient/${id}/_history/2`);
    assert.equal(vDeleted.status, 410);
    const back = await request(t.app).put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...patient(), id }));
    assert.equal(back.status, 201);
    assert.equal(back.body.meta.versionId, '3');
    const never = await request(t.app).delete('/fhir/Patient/never-existed');
    assert.equal(never.status, 204);
  });

  it('type and system history with _since, _count and paging links', async () => {
    const local = testApp();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await request(local.app).post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: `obs ${i}` } }));
        ids.push(r.body.id);
      }
      const mid = (await request(local.app).get(`/fhir/Observation/${ids[2]}`)).body.meta.lastUpdated as string;
      await request(local.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(patient()));
      const typeHist = await request(local.app).get('/fhir/Observation/_history?_count=2');
      assert.equal(typeHist.status, 200);
      assert.equal(typeHist.body.total, 5);
      assert.equal(typeHist.body.entry.length, 2);
      const next = typeHist.body.link.find((l: { relation: string }) => l.relation === 'next');
      assert.ok(next, 'a next link');
      const page2 = await request(local.app).get(new URL(next.url).pathname + new URL(next.url).search);
      assert.equal(page2.body.entry.length, 2);
      const since = await request(local.app).get(`/fhir/Observation/_history?_since=${encodeURIComponent(mid)}`);
      assert.equal(since.body.total, 3);
      const sys = await request(local.app).get('/fhir/_history');
      assert.equal(sys.body.total, 6);
      assert.equal(sys.body.entry[0].resource.resourceType, 'Patient');
      const bad = await request(local.app).get('/fhir/_history?_since=yesterday');
      assert.equal(bad.status, 400);
    } finally {
      await local.close();
    }
  });

  it('Prefer: return=minimal gives no body, return=OperationOutcome gives an outcome', async () => {
    const minimal = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=minimal').send(JSON.stringify(patient()));
    assert.equal(minimal.status, 201);
    assert.equal(minimal.text, '');
    assert.ok(minimal.headers['location']);
    const oo = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=OperationOutcome').send(JSON.stringify(patient()));
    assert.equal(oo.status, 201);
    assert.equal(oo.body.resourceType, 'OperationOutcome');
    assert.equal(oo.body.issue[0].severity, 'information');
  });

  it('keeps meta content other than versionId/lastUpdated and ignores client versions', async () => {
    const res = await request(t.app)
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ ...patient(), meta: { versionId: '42', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'http://example.org/tags', code: 'a' }] } }));
    assert.equal(res.status, 201);
    assert.equal(res.body.meta.versionId, '1');
    assert.notEqual(res.body.meta.lastUpdated, '2001-01-01T00:00:00Z');
    assert.deepEqual(res.body.meta.tag, [{ system: 'http://example.org/tags', code: 'a' }]);
  });
});
