/**
 * FHIR documents at `/fhir/Bundle` (R4 documents.html, bundle.html bdl-9/bdl-11; src/fhir/documents.ts):
 * identifier and first-entry Composition required, identifier unique (422 duplicate), stored documents
 * immutable (405 with Allow), on single interactions and inside transaction Bundles.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

function documentBundle(value = `urn:uuid:${randomUUID()}`): Bundle {
  return {
    resourceType: 'Bundle',
    identifier: { system: 'urn:ietf:rfc:3986', value },
    type: 'document',
    timestamp: '2024-05-01T10:00:00Z',
    entry: [
      {
        fullUrl: 'urn:uuid:0b6b4b0e-5b5e-4d6e-9c55-6d1f4c2a0a01',
        resource: { resourceType: 'Composition', status: 'final', type: { text: 'Discharge summary' }, date: '2024-05-01T10:00:00Z', author: [{ display: 'Dr A' }], title: 'Discharge summary' },
      },
    ],
  };
}

function outcome(res: request.Response): OperationOutcome {
  assert.equal((res.body as OperationOutcome).resourceType, 'OperationOutcome', res.text);
  return res.body as OperationOutcome;
}

describe('FHIR documents on /fhir/Bundle (documents.html)', function () {
  let t: TestApp;
  beforeEach(() => {
    t = testApp(GENERIC_ENGINE);
  });
  afterEach(() => t.close());
  const post = (b: unknown): request.Test => request(t.app).post('/fhir/Bundle').set('Content-Type', FHIR_JSON).send(JSON.stringify(b));
  const base = (b: unknown): request.Test => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(b));

  it('a document needs an identifier with system and value and a Composition first (422, at the element)', async () => {
    const noId = documentBundle();
    delete noId.identifier;
    const noSystem = { ...documentBundle(), identifier: { value: 'x' } };
    const notComposition = { ...documentBundle(), entry: [{ resource: { resourceType: 'Patient' } }] };
    for (const [body, at] of [[noId, 'Bundle.identifier'], [noSystem, 'Bundle.identifier'], [notComposition, 'Bundle.entry[0].resource']] as const) {
      const res = await post(body);
      assert.equal(res.status, 422, res.text);
      assert.deepEqual(outcome(res).issue[0]!.expression, [at]);
    }
    assert.equal((await request(t.app).get('/fhir/Bundle')).body.total, 0);
  });

  it('a second document with the same identifier is refused with 422 duplicate (POST and PUT)', async () => {
    const value = `urn:uuid:${randomUUID()}`;
    const first = await post(documentBundle(value));
    assert.equal(first.status, 201, first.text);
    const again = await post(documentBundle(value));
    assert.equal(again.status, 422, again.text);
    assert.equal(outcome(again).issue[0]!.code, 'duplicate');
    assert.match(outcome(again).issue[0]!.diagnostics ?? '', /already stored/);
    const put = await request(t.app).put('/fhir/Bundle/other-doc').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...documentBundle(value), id: 'other-doc' }));
    assert.equal(put.status, 422, put.text);
    // A different identifier is a different document.
    assert.equal((await post(documentBundle())).status, 201);
    const all = await request(t.app).get('/fhir/Bundle').query({ identifier: `urn:ietf:rfc:3986|${value}` });
    assert.equal((all.body as Bundle).total, 1);
  });

  it('concurrent POSTs of one document identifier store one', async () => {
    const value = `urn:uuid:${randomUUID()}`;
    const answers = await Promise.all([post(documentBundle(value)), post(documentBundle(value)), post(documentBundle(value))]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 422, 422]);
    const all = await request(t.app).get('/fhir/Bundle').query({ identifier: `urn:ietf:rfc:3986|${value}` });
    assert.equal((all.body as Bundle).total, 1);
  });

  it('a stored document is immutable: PUT, PATCH, DELETE and conditional DELETE answer 405 with Allow', async () => {
    const value = `urn:uuid:${randomUUID()}`;
    const created = await post(documentBundle(value));
    assert.equal(created.status, 201, created.text);
    const id = (created.body as Bundle).id!;
    const tries: request.Test[] = [
      request(t.app).put(`/fhir/Bundle/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...documentBundle(value), id })),
      request(t.app).put(`/fhir/Bundle/${id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', id, type: 'collection' })),
      request(t.app).patch(`/fhir/Bundle/${id}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify([{ op: 'replace', path: '/timestamp', value: '2025-01-01T00:00:00Z' }])),
      request(t.app).delete(`/fhir/Bundle/${id}`),
      request(t.app).delete('/fhir/Bundle').query({ identifier: `urn:ietf:rfc:3986|${value}` }),
    ];
    for (const r of tries) {
      const res = await r;
      assert.equal(res.status, 405, res.text);
      assert.equal(res.headers['allow'], 'GET, HEAD');
      assert.match(outcome(res).issue[0]!.diagnostics ?? '', /immutable/);
    }
    const read = await request(t.app).get(`/fhir/Bundle/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.headers['etag'], 'W/"1"');
  });

  it('Bundles that are not documents stay ordinary resources', async () => {
    const put = await request(t.app).put('/fhir/Bundle/c1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', id: 'c1', type: 'collection' }));
    assert.equal(put.status, 201, put.text);
    assert.equal((await request(t.app).put('/fhir/Bundle/c1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', id: 'c1', type: 'collection', timestamp: '2024-01-01T00:00:00Z' }))).status, 200);
    assert.ok([200, 204].includes((await request(t.app).delete('/fhir/Bundle/c1')).status));
  });

  it('inside a transaction: duplicates, a duplicate pair and changes of a stored document fail the transaction, naming the entry', async () => {
    const value = `urn:uuid:${randomUUID()}`;
    const created = await post(documentBundle(value));
    const id = (created.body as Bundle).id!;
    const patient = { fullUrl: 'urn:uuid:5a1e0c3e-2f6b-4bb4-8d0c-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } };
    const cases: Array<[Bundle, number, string]> = [
      [{ resourceType: 'Bundle', type: 'transaction', entry: [patient, { resource: documentBundle(value), request: { method: 'POST', url: 'Bundle' } }] } as Bundle, 422, 'Bundle.entry[1]'],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [patient, { resource: documentBundle(`${value}-2`), request: { method: 'POST', url: 'Bundle' } }, { resource: documentBundle(`${value}-2`), request: { method: 'POST', url: 'Bundle' } }] } as Bundle, 422, 'Bundle.entry[2]'],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [patient, { request: { method: 'DELETE', url: `Bundle/${id}` } }] } as Bundle, 405, 'Bundle.entry[1]'],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [patient, { resource: { ...documentBundle(value), id }, request: { method: 'PUT', url: `Bundle/${id}` } }] } as Bundle, 405, 'Bundle.entry[1]'],
      [{ resourceType: 'Bundle', type: 'transaction', entry: [patient, { resource: { ...documentBundle(), entry: [] }, request: { method: 'POST', url: 'Bundle' } }] } as Bundle, 422, 'Bundle.entry[1]'],
    ];
    for (const [tx, status, at] of cases) {
      const res = await base(tx);
      assert.equal(res.status, status, res.text);
      assert.ok(outcome(res).issue[0]!.expression?.includes(at), res.text);
    }
    // Nothing of the failed transactions is stored.
    assert.equal((await request(t.app).get('/fhir/Patient').query({ family: 'Tx' })).body.total, 0);
    assert.equal((await request(t.app).get('/fhir/Bundle').query({ type: 'document' })).body.total, 1);
    // A transaction storing a new document is fine.
    const ok = await base({ resourceType: 'Bundle', type: 'transaction', entry: [patient, { resource: documentBundle(), request: { method: 'POST', url: 'Bundle' } }] });
    assert.equal(ok.status, 200, ok.text);
  });
});
