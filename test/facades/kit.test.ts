/**
 * The façade kit (src/facades/kit.ts, ADR 25) over the real app: a small façade mounted the way the
 * composition root mounts the NHS API façades, checking what every façade inherits — routing (404,
 * 405 with Allow), CORS preflights, the body limit, one error shape for everything thrown (never a
 * stack trace), the engine call with the caller's headers and the innermost layer seeing the
 * verified caller.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { FhirError } from '../../src/fhir/outcome';
import { callEngine, engineRequest, facadeRouter, parseJsonBody, resultResource, type FacadeResponse } from '../../src/facades/kit';
import { GENERIC_ENGINE } from '../helpers/test-app';
import { buildServices } from '../../src/main';
import { createApp } from '../../src/http/app';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';

const BASE = '/example-api/FHIR/R4';

function shape(err: FhirError): FacadeResponse {
  return { status: err.status, body: { error: err.issues[0]?.diagnostics ?? '', status: err.status } };
}

describe('façade kit', function () {
  let close: () => Promise<void> = () => Promise.resolve();
  let app: ReturnType<typeof createApp>;
  let layerSaw: { kind?: string; hasSession?: boolean } = {};
  before(() => {
    const config = loadConfig({ SQLITE_PATH: ':memory:', LOG_LEVEL: 'silent', AUTH_MODE: 'off', MAX_BODY_BYTES: '2048', ...GENERIC_ENGINE });
    const services = buildServices(config, silentLogger());
    const router = facadeRouter(services, {
      basePath: BASE,
      renderError: shape,
      routes: [
        {
          method: 'POST',
          path: 'Thing',
          handler: async (req) => {
            const body = parseJsonBody(services, req.rawBody) as Patient;
            const result = await callEngine(services, engineRequest(req, { method: 'POST', path: 'Patient', body, contentType: 'application/fhir+json' }), async (r, i, ctx, next) => {
              layerSaw = { kind: i.kind, hasSession: ctx.session !== undefined };
              return next();
            });
            return { status: result.status, body: resultResource(result) };
          },
        },
        { method: 'GET', path: 'Thing/:id', handler: async (req, p) => ({ status: 200, body: resultResource(await callEngine(services, engineRequest(req, { method: 'GET', path: `Patient/${p['id']}` }))) }) },
        {
          method: 'GET',
          path: 'boom',
          handler: () => {
            throw new Error('secret internals');
          },
        },
      ],
    });
    app = createApp(services, { routers: [router] });
    close = () => services.store.close();
  });
  after(() => close());

  it('runs engine requests with the innermost layer, which sees the interaction', async () => {
    const res = await request(app).post(`${BASE}/Thing`).set('Content-Type', 'application/json').send({ resourceType: 'Patient', name: [{ family: 'Kit' }] });
    assert.equal(res.status, 201, res.text);
    assert.equal(layerSaw.kind, 'create');
    assert.equal(layerSaw.hasSession, true);
    const read = await request(app).get(`${BASE}/Thing/${(res.body as Patient).id}`);
    assert.equal(read.status, 200);
    assert.equal((read.body as Patient).name?.[0]?.family, 'Kit');
  });

  it('answers engine errors, unknown paths and wrong methods in the façade shape (404, 405 with Allow)', async () => {
    const missing = await request(app).get(`${BASE}/Thing/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.status, 404);
    const unknown = await request(app).get(`${BASE}/Other`);
    assert.equal(unknown.status, 404);
    const wrong = await request(app).delete(`${BASE}/Thing/1`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers['allow'], 'GET');
  });

  it('a fault is a 500 in the façade shape without internals; invalid JSON is 400; an oversized body 413', async () => {
    const boom = await request(app).get(`${BASE}/boom`);
    assert.equal(boom.status, 500);
    assert.doesNotMatch(boom.text, /secret internals|at .*\.js/);
    const bad = await request(app).post(`${BASE}/Thing`).set('Content-Type', 'application/json').send('{"resourceType":');
    assert.equal(bad.status, 400);
    const big = await request(app).post(`${BASE}/Thing`).set('Content-Type', 'application/json').send(JSON.stringify({ resourceType: 'Patient', text: 'x'.repeat(5000) }));
    assert.equal(big.status, 413);
    assert.equal(big.body.status, 413);
  });

  it('answers CORS preflights and allows any origin (access is by bearer token)', async () => {
    const res = await request(app).options(`${BASE}/Thing`).set('Origin', 'https://app.example').set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'x-request-id');
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-headers'], 'x-request-id');
  });
});
