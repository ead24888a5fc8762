/**
 * The ids the server assigns over HTTP (src/fhir/new-id.ts, ADR 0046): a POSTed resource's id, an id
 * a transaction's POST entry is given, a conditional update that creates, the X-Request-ID of a
 * request sent without one, and the audit trail's AuditEvents are UUID version 7, later ones sorting
 * after earlier ones.
 */
import assert from 'node:assert/strict';
import type { AuditEvent, Bundle } from 'fhir/r4';
import request from 'supertest';
import { auditLogOf } from '../../src/audit';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('ids the server assigns are UUID version 7, in creation order', () => {
  let t: TestApp;
  before(() => {
    t = testApp({ ...GENERIC_ENGINE, AUDIT: 'on' });
  });
  after(async () => t.close());

  const idOf = (location: string | undefined): string => /(?:^|\/)Patient\/([^/]+)\/_history\//.exec(String(location))?.[1] ?? '';

  it('POST, a transaction POST entry and a conditional update that creates', async () => {
    const first = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: true });
    assert.equal(first.status, 201);
    const second = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', active: false });
    const [a, b] = [idOf(first.headers['location']), idOf(second.headers['location'])];
    assert.match(a, UUID_V7);
    assert.match(b, UUID_V7);
    assert.ok(b > a, `${b} sorts after ${a}`);

    const tx: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:0b6f8b5e-6b0e-4a5e-9f64-3f1c7a4f2d11', resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } }] };
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(tx);
    assert.equal(res.status, 200);
    const c = idOf((res.body as Bundle).entry?.[0]?.response?.location);
    assert.match(c, UUID_V7);
    assert.ok(c > b);

    const put = await request(t.app).put('/fhir/Patient?identifier=urn:test|server-ids-1').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'server-ids-1' }] });
    assert.equal(put.status, 201);
    assert.match(idOf(put.headers['location']), UUID_V7);
  });

  it('X-Request-ID of a request without one, and the AuditEvents', async () => {
    const given = await request(t.app).get('/fhir/Patient?_count=1').set('X-Request-ID', 'abc-123');
    assert.equal(given.headers['x-request-id'], 'abc-123');
    const r1 = await request(t.app).get('/fhir/Patient?_count=1');
    const r2 = await request(t.app).get('/fhir/Patient?_count=1');
    const [q1, q2] = [String(r1.headers['x-request-id']), String(r2.headers['x-request-id'])];
    assert.match(q1, UUID_V7);
    assert.ok(q2 > q1);
    await auditLogOf(t.services)!.flush();
    const bundle = (await request(t.app).get('/fhir/AuditEvent?_count=100&_sort=_lastUpdated')).body as Bundle;
    const events = (bundle.entry ?? []).map((e) => e.resource as AuditEvent);
    assert.ok(events.length >= 6, `${events.length} AuditEvents`);
    for (const e of events) assert.match(String(e.id), UUID_V7);
    const ids = events.map((e) => e.id!);
    assert.deepEqual([...ids].sort(), ids, 'AuditEvents in recorded order have ids in that order');
    const requestIds = events.flatMap((e) => (e.entity ?? []).filter((x) => x.type?.code === 'XrequestId').map((x) => x.what?.identifier?.value));
    assert.ok(requestIds.includes(q1) && requestIds.includes('abc-123'));
  });
});
