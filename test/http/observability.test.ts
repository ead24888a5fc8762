/**
 * Operating the server over HTTP (issue 16, "Observability and operation"): `/healthz`, `/readyz`
 * (503 when the store cannot answer), Prometheus `/metrics` counting requests by interaction, and
 * one access log line per request that carries no patient data.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { loadConfig } from '../../src/config/config';
import { enableSmartAuth } from '../../src/auth/setup';
import { createApp } from '../../src/http/app';
import { buildServices } from '../../src/main';
import { TEST_BASE, FHIR_JSON } from '../helpers/test-app';

describe('HTTP: health, readiness, metrics and the access log', function () {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const config = loadConfig({ SQLITE_PATH: ':memory:', BASE_URL: TEST_BASE, LOG_LEVEL: 'info', AUTH_MODE: 'off', PATIENT_ID_POLICY: 'server', REQUIRED_PROFILES: '' });
  const services = buildServices(config, pino({ level: 'info' }, sink));
  enableSmartAuth(services, {});
  const app = createApp(services);
  after(() => services.store.close());

  it('/healthz 200; /readyz 200 naming the store', async () => {
    const h = await request(app).get('/healthz');
    assert.equal(h.status, 200);
    assert.deepEqual(h.body, { status: 'pass' });
    const r = await request(app).get('/readyz');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.store, 'sqlite');
  });

  it('/metrics counts requests by API, interaction, type and status class, with the Node.js defaults', async () => {
    await request(app).put('/fhir/Patient/p1').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Smith' }] });
    await request(app).get('/fhir/Patient/p1');
    await request(app).get('/fhir/Patient/p1');
    await request(app).get('/fhir/Patient/nope');
    const m = await request(app).get('/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(m.text, /http_requests_total\{api="fhir",interaction="read",type="Patient",status="2xx"\} 2\n/);
    assert.match(m.text, /http_requests_total\{api="fhir",interaction="read",type="Patient",status="4xx"\} 1\n/);
    assert.match(m.text, /http_requests_total\{api="fhir",interaction="update",type="Patient",status="2xx"\} 1\n/);
    assert.match(m.text, /http_request_duration_seconds_bucket\{le="0\.1",api="fhir",interaction="read",type="Patient",status="2xx"\} \d+/);
    assert.match((await request(app).get('/metrics')).text, /nodejs_eventloop_lag_seconds/);
  });

  it('/metrics times store operations (read, write, search, transaction) and validation by outcome', async () => {
    const count = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"=]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = (await request(app).get('/metrics')).text;
    await request(app).put('/fhir/Patient/p2').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id: 'p2', name: [{ family: 'Jones' }] });
    await request(app).put('/fhir/Patient/p3').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id: 'p3', gender: 'not-a-gender' });
    await request(app).get('/fhir/Patient/p2');
    await request(app).get('/fhir/Patient?family=jones');
    await request(app).post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } }] });
    const after = (await request(app).get('/metrics')).text;
    for (const op of ['read', 'write', 'search', 'transaction']) {
      const series = `store_operation_duration_seconds_count{operation="${op}"}`;
      assert.ok(count(after, series) > count(before, series), `${series} grew`);
    }
    assert.ok(count(after, 'validation_duration_seconds_count{outcome="valid"}') >= count(before, 'validation_duration_seconds_count{outcome="valid"}') + 2);
    assert.equal(count(after, 'validation_duration_seconds_count{outcome="invalid"}'), count(before, 'validation_duration_seconds_count{outcome="invalid"}') + 1);
  });

  it('a second app on the same services neither times twice nor misses its own figures', async () => {
    const second = createApp(services);
    const text = async (a: typeof app): Promise<string> => (await request(a).get('/metrics')).text;
    const writes = (t: string): number => Number(/^store_operation_duration_seconds_count\{operation="write"\} (\d+)$/m.exec(t)?.[1] ?? 0);
    const [a0, b0] = [writes(await text(app)), writes(await text(second))];
    await request(second).put('/fhir/Basic/once').set('Content-Type', FHIR_JSON).send({ resourceType: 'Basic', id: 'once', code: { text: 'x' } });
    assert.equal(writes(await text(app)) - a0, writes(await text(second)) - b0);
    assert.ok(writes(await text(second)) - b0 >= 1);
  });

  it('one access line per request: request id, interaction, status, latency; no names, NHS Numbers or query values', async () => {
    lines.length = 0;
    await request(app).get('/fhir/Patient?family=Chalmers&identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009').set('X-Request-ID', 'req-obs-1');
    await request(app).get('/fhir/Patient/9000000009');
    const access = lines.filter((l) => l['msg'] === 'request');
    assert.equal(access.length, 2, JSON.stringify(lines));
    const [search, read] = access;
    assert.equal(search?.['requestId'], 'req-obs-1');
    assert.equal(search?.['interaction'], 'search');
    assert.equal(search?.['status'], 200);
    assert.equal(typeof search?.['ms'], 'number');
    assert.deepEqual(search?.['params'], ['family', 'identifier']);
    assert.equal(read?.['path'], '/fhir/Patient/**********');
    const all = JSON.stringify(lines);
    assert.doesNotMatch(all, /Chalmers|9000000009/);
  });

  it('/readyz answers 503 when the store cannot answer', async () => {
    const broken = buildServices(config, pino({ level: 'silent' }));
    enableSmartAuth(broken, {});
    const brokenApp = createApp(broken);
    await broken.store.close();
    const r = await request(brokenApp).get('/readyz');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.status, 'fail');
    assert.equal((await request(brokenApp).get('/healthz')).status, 200);
  });
});
