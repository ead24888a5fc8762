/**
 * Error answers of the HTTP adapter (FHIR R4 http.html "HTTP status codes"): every failure is an
 * OperationOutcome with the right status; no input produces a 500.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

describe('HTTP: errors and robustness', () => {
  let t: TestApp;
  before(() => {
    t = testApp({ MAX_BODY_BYTES: '2048' });
  });
  after(() => t.close());

  const isOutcome = (res: request.Response, status: number): void => {
    assert.equal(res.status, status, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome', res.text);
    assert.ok(res.body.issue?.[0]?.diagnostics, 'a human-readable diagnostics text');
  };

  it('unknown resource type: 404', async () => isOutcome(await request(t.app).get('/fhir/Unicorn/1'), 404));
  it('unknown id: 404', async () => isOutcome(await request(t.app).get('/fhir/Patient/nope'), 404));
  it('no endpoint outside the base: 404', async () => isOutcome(await request(t.app).get('/elsewhere'), 404));
  it('wrong method: 405 with Allow', async () => {
    const res = await request(t.app).post('/fhir/Patient/123').set('Content-Type', FHIR_JSON).send('{}');
    isOutcome(res, 405);
    assert.ok(res.headers['allow']);
  });
  it('body too large: 413', async () => {
    const big = JSON.stringify({ resourceType: 'Patient', name: [{ text: 'x'.repeat(5000) }] });
    isOutcome(await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(big), 413);
  });
  it('bad JSON: 400', async () => isOutcome(await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType": '), 400));
  it('wrong content type: 415', async () => {
    isOutcome(await request(t.app).post('/fhir/Patient').set('Content-Type', 'text/turtle').send('@prefix fhir: <http://hl7.org/fhir/> .'), 415);
    isOutcome(await request(t.app).post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'), 415);
  });
  it('unsupported Accept or _format: 406', async () => {
    isOutcome(await request(t.app).get('/fhir/metadata').set('Accept', 'text/turtle'), 406);
    isOutcome(await request(t.app).get('/fhir/metadata?_format=ttl'), 406);
  });
  it('resourceType in the body differing from the URL: 400 with the expression', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Observation' }));
    isOutcome(res, 400);
  });
  it('invalid content: 422 with the path of the problem', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', birthDate: 'not-a-date', foo: 1 }));
    isOutcome(res, 422);
    const expressions = res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
    assert.ok(expressions.includes('Patient.birthDate'), JSON.stringify(expressions));
    assert.ok(expressions.includes('Patient.foo'), JSON.stringify(expressions));
  });
  it('pathologically deep JSON: 400, not a crash', async () => {
    const deep = '['.repeat(1500) + ']'.repeat(1500);
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(deep);
    assert.ok(res.status === 400 || res.status === 413, String(res.status));
  });
  it('echoes X-Request-ID and X-Correlation-ID, generates a request id otherwise', async () => {
    const res = await request(t.app).get('/fhir/Patient/nope').set('X-Request-ID', 'abc-123').set('X-Correlation-ID', 'corr-9');
    assert.equal(res.headers['x-request-id'], 'abc-123');
    assert.equal(res.headers['x-correlation-id'], 'corr-9');
    const gen = await request(t.app).get('/fhir/metadata');
    assert.match(String(gen.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('no generated request ever answers 5xx (property)', async () => {
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
    const segment = fc.oneof(fc.constantFrom('Patient', 'Observation', '_history', '$meta', 'metadata', '_search', '123', '', '..', '%ZZ', 'Bundle'), fc.string({ maxLength: 12 }));
    const body = fc.oneof(fc.json(), fc.constant('{"resourceType":"Patient","id":"x"}'), fc.string({ maxLength: 50 }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), fc.array(segment, { minLength: 0, maxLength: 4 }), fc.string({ maxLength: 30 }), body, async (method, segs, qs, b) => {
        const path = '/fhir/' + segs.map((s) => encodeURIComponent(s)).join('/') + '?' + encodeURIComponent(qs).replace(/%3D/g, '=').replace(/%26/g, '&');
        let r = request(t.app)[method.toLowerCase() as 'get'](path);
        if (method !== 'GET' && method !== 'DELETE') r = r.set('Content-Type', FHIR_JSON).send(b);
        const res = await r;
        assert.ok(res.status < 500, `${method} ${path} -> ${res.status} ${res.text}`);
      }),
      { numRuns: 150 },
    );
  });
});
