/**
 * batch and transaction Bundles (FHIR R4 http.html#transaction, bundle.html#transaction).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

describe('HTTP: batch and transaction', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp();
  });
  afterEach(() => t.close());

  const postBundle = (b: unknown) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(b));

  it('transaction: resolves urn:uuid fullUrls, rewrites references, answers in request order', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' } }, request: { method: 'POST', url: 'Observation' } },
        { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: { resourceType: 'Patient', name: [{ family: 'Txn' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.type, 'transaction-response');
    assert.equal(res.body.entry.length, 2);
    assert.ok(res.body.entry.every((e: { response: { status: string } }) => e.response.status.startsWith('201')));
    const obsLoc = res.body.entry[0].response.location as string;
    const patLoc = res.body.entry[1].response.location as string;
    assert.match(obsLoc, /^Observation\/[^/]+\/_history\/1$/);
    const obs = await request(t.app).get(`/fhir/${obsLoc.replace(/\/_history\/\d+$/, '')}`);
    assert.equal(obs.body.subject.reference, patLoc.replace(/\/_history\/\d+$/, ''));
  });

  it('transaction: conditional references and ifNoneExist inside entries', async () => {
    await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:s', value: 'CR1' }] }));
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient?identifier=urn:s|CR1' } }, request: { method: 'POST', url: 'Observation' } },
        { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:s', value: 'CR1' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:s|CR1' } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.entry[0].response.status, /^201/);
    assert.match(res.body.entry[1].response.status, /^200/);
    const obs = await request(t.app).get(`/fhir/${res.body.entry[0].response.location.replace(/\/_history\/\d+$/, '')}`);
    assert.match(obs.body.subject.reference, /^Patient\/[^?]+$/);
    const total = (await request(t.app).get('/fhir/Patient?identifier=urn:s|CR1&_total=accurate')).body.total;
    assert.equal(total, 1);
  });

  it('entry request members of the wrong JSON type are a 400 naming the member, not a 500 (found by the chaos suite)', async () => {
    for (const [request_, path] of [
      [{ method: { toString: 'x' }, url: 'Basic' }, 'Bundle.entry[0].request.method'],
      [{ method: 'POST', url: 'Basic', ifNoneExist: 1 }, 'Bundle.entry[0].request.ifNoneExist'],
      [{ method: 'PUT', url: 'Basic/b1', ifMatch: { v: 1 } }, 'Bundle.entry[0].request.ifMatch'],
      [{ method: 'GET', url: 'Basic/b1', ifModifiedSince: 20260101 }, 'Bundle.entry[0].request.ifModifiedSince'],
    ] as const) {
      for (const type of ['transaction', 'batch']) {
        const res = await postBundle({ resourceType: 'Bundle', type, entry: [{ resource: { resourceType: 'Basic', id: 'b1', code: { text: 'x' } }, request: request_ }] });
        const outcome = type === 'batch' ? res.body.entry?.[0]?.response?.outcome : res.body;
        if (type === 'transaction') assert.equal(res.status, 400, res.text);
        else assert.match(String(res.body.entry?.[0]?.response?.status), /^400/, res.text);
        assert.deepEqual(outcome.issue[0].expression, [path], res.text);
      }
    }
  });

  it('transaction is atomic: a failing entry leaves nothing behind and the answer names it', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Atomic' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', birthDate: 'garbage' }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(res.body.issue[0].diagnostics, /Bundle\.entry\[1\]/);
    const total = (await request(t.app).get('/fhir/Patient?family=Atomic&_total=accurate')).body.total;
    assert.equal(total, 0);
    const hist = (await request(t.app).get('/fhir/_history')).body.total;
    assert.equal(hist, 0);
  });

  it('transaction processes DELETE, POST, PUT, GET in that order', async () => {
    await request(t.app).put('/fhir/Patient/ord-1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'ord-1' }));
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: 'Patient/ord-2' } },
        { resource: { resourceType: 'Patient', id: 'ord-2', gender: 'female' }, request: { method: 'PUT', url: 'Patient/ord-2' } },
        { request: { method: 'DELETE', url: 'Patient/ord-1' } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.entry[0].response.status, /^200/);
    assert.equal(res.body.entry[0].resource.gender, 'female', 'GET ran after the PUT');
    assert.match(res.body.entry[2].response.status, /^204/);
    assert.equal((await request(t.app).get('/fhir/Patient/ord-1')).status, 410);
  });

  it('batch: entries are independent, each with its own status and outcome', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Batch' }] }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { resource: { resourceType: 'Patient', birthDate: 'nope' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient?family=Batch' } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.type, 'batch-response');
    assert.match(res.body.entry[0].response.status, /^201/);
    assert.equal(res.body.entry[1].response.status, '404');
    assert.equal(res.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
    assert.equal(res.body.entry[2].response.status, '422');
    assert.equal(res.body.entry[3].resource.type, 'searchset');
    assert.equal(res.body.entry[3].resource.total, 1);
  });

  it('rejects a Bundle that is neither batch nor transaction, and nested bundles', async () => {
    assert.equal((await postBundle({ resourceType: 'Bundle', type: 'collection' })).status, 400);
    assert.equal((await postBundle({ resourceType: 'Patient' })).status, 400);
    const nested = await postBundle({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '' } }] });
    assert.equal(nested.status, 200);
    assert.equal(nested.body.entry[0].response.status, '400');
  });
});

describe('HTTP: transaction reference resolution against absolute fullUrls', () => {
  it('resolves a relative reference against the base of the entry fullUrl (bundle.html#references)', async () => {
    const t = testApp();
    try {
      const res = await request(t.app)
        .post('/fhir')
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { fullUrl: 'http://other.example/fhir/Observation/o1', resource: { resourceType: 'Observation', status: 'final', code: { text: 'z' }, subject: { reference: 'Patient/p1' } }, request: { method: 'POST', url: 'Observation' } },
            { fullUrl: 'http://other.example/fhir/Patient/p1', resource: { resourceType: 'Patient', id: 'p1' }, request: { method: 'POST', url: 'Patient' } },
          ],
        }));
      assert.equal(res.status, 200, res.text);
      const patientId = (res.body.entry[1].response.location as string).split('/')[1];
      assert.notEqual(patientId, 'p1', 'POST assigns a new id');
      const obs = await request(t.app).get(`/fhir/${(res.body.entry[0].response.location as string).replace(/\/_history\/\d+$/, '')}`);
      assert.equal(obs.body.subject.reference, `Patient/${patientId}`);
    } finally {
      await t.close();
    }
  });
});

describe('HTTP: references to this server by absolute URL', () => {
  it('an absolute reference under the base URL is searchable as the local Type/id', async () => {
    const t = testApp();
    try {
      await request(t.app).put('/fhir/Patient/abs-1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'abs-1' }));
      const obs = await request(t.app)
        .post('/fhir/Observation')
        .set('Content-Type', FHIR_JSON)
        .send(JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'abs' }, subject: { reference: 'http://localhost:8080/fhir/Patient/abs-1' } }));
      assert.equal(obs.status, 201, obs.text);
      const byLocal = await request(t.app).get('/fhir/Observation?subject=Patient/abs-1');
      assert.deepEqual(byLocal.body.entry.map((e: { resource: { id: string } }) => e.resource.id), [obs.body.id]);
      const byAbsolute = await request(t.app).get(`/fhir/Observation?subject=${encodeURIComponent('http://localhost:8080/fhir/Patient/abs-1')}`);
      assert.deepEqual(byAbsolute.body.entry.map((e: { resource: { id: string } }) => e.resource.id), [obs.body.id]);
    } finally {
      await t.close();
    }
  });
});
