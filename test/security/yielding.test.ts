/**
 * Long work does not freeze the server (FHIR R4 http.html "transaction"; docs/limits.md, ADR 14): a
 * `GET /metadata` sent while a large transaction or a large single write is being processed is
 * handled by the server before that write finishes, because the write gives the event loop turns.
 * The order is recorded on the server side (interceptors), so how fast the client reads the two
 * answers does not matter; durations are never asserted (`npm run bench:limits` measures them).
 */
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import request from 'supertest';
import type { Interceptor } from '../../src/fhir/interaction';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

describe('security: long writes yield to other requests', () => {
  let t: TestApp;
  let order: string[];
  let probe: Promise<void> | undefined;
  /** Starts a GET /metadata in the test's own async context (as another client would), once. */
  let startProbe: () => void;

  beforeEach(() => {
    t = testApp(GENERIC_ENGINE);
    order = [];
    probe = undefined;
    startProbe = AsyncResource.bind(() => {
      probe ??= request(t.app)
        .get('/fhir/metadata')
        .then((res) => assert.equal(res.status, 200));
    });
  });
  afterEach(() => t.close());

  /**
   * An interceptor that starts the probe when the write under test starts being processed, and
   * records when the server handles the probe and when it has finished the write (`done`).
   */
  function probeWhen(start: (i: Parameters<Interceptor>[1], req: Parameters<Interceptor>[0]) => boolean, done: Parameters<Interceptor>[1]['kind']): void {
    const interceptor: Interceptor = async (req, interaction, _ctx, next) => {
      if (interaction.kind === 'capabilities') order.push('metadata');
      if (start(interaction, req)) startProbe();
      const result = await next();
      if (interaction.kind === done && req.bundleEntry === undefined) order.push(done);
      return result;
    };
    t.services.interceptors = [interceptor, ...(t.services.interceptors ?? [])];
  }

  it('GET /metadata is answered while a large transaction is processed', async () => {
    const subject = 'urn:uuid:5e000000-0000-4000-8000-000000000000';
    const entries = [
      { fullUrl: subject, resource: { resourceType: 'Patient', name: [{ family: 'Yield' }] }, request: { method: 'POST', url: 'Patient' } },
      ...Array.from({ length: 1500 }, (_, i) => ({
        resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: subject }, valueQuantity: { value: i, unit: '/min' } },
        request: { method: 'POST', url: 'Observation' },
      })),
    ];
    // The first entry routed: the transaction is under way, holding the database.
    probeWhen((_i, req) => req.bundleEntry?.transaction === true && req.bundleEntry.index === 0, 'transaction');
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }));
    assert.equal(res.status, 200, res.text.slice(0, 500));
    await probe;
    assert.deepEqual(order, ['metadata', 'transaction']);
  });

  it('GET /metadata is answered while one large resource is validated, indexed and written', async () => {
    const names = Array.from({ length: t.config.limits.maxArrayLength }, (_, i) => ({ family: `Family${i}`, given: [`Given${i}`, `Other${i}`] }));
    probeWhen((i) => i.kind === 'create' && i.resourceType === 'Patient', 'create');
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', name: names }));
    assert.equal(res.status, 201, res.text.slice(0, 500));
    await probe;
    assert.deepEqual(order, ['metadata', 'create']);
  });
});
