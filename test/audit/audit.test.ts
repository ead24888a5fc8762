/**
 * The audit trail (IHE BALP 1.1; FHIR R4 auditevent.html; src/audit): one AuditEvent per request with
 * the BALP fields, searchable by patient and date, never writable through the API, read only with an
 * AuditEvent scope (a patient token: its own AuditEvents only), written on a clean shutdown.
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditEvent, Bundle } from 'fhir/r4';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, TEST_BASE, testApp, type TestApp } from '../helpers/test-app';
import { auditLogOf } from '../../src/audit';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer } from '../../src/main';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';

const ISSUER = 'http://localhost:8080/auth';

describe('Audit: an AuditEvent for every request (BALP)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let t: TestApp;
  const sign = (claims: Record<string, unknown>): string =>
    jwt.sign({ client_id: 'audit-app', sub: 'clinician-1', jti: crypto.randomUUID(), ...claims }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE, expiresIn: 300 });
  const USER = (): string => sign({ scope: 'openid fhirUser user/*.cruds', fhirUser: `${TEST_BASE}/Practitioner/pr1` });
  const AUDITOR = (): string => sign({ scope: 'system/AuditEvent.rs', sub: 'auditor' });
  const patientToken = (patient: string, scope = 'patient/*.rs patient/AuditEvent.rs'): string => sign({ scope: `launch/patient openid ${scope}`, patient, sub: `user-${patient}` });

  const settle = async (): Promise<void> => {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await auditLogOf(t.services)!.flush();
  };
  const allEvents = async (): Promise<AuditEvent[]> => {
    await settle();
    const res = await request(t.app).get('/fhir/AuditEvent?_count=1000').set('Authorization', `Bearer ${AUDITOR()}`);
    assert.equal(res.status, 200, res.text);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  };
  const eventOf = async (requestId: string): Promise<AuditEvent> => {
    const found = (await allEvents()).filter((e) => e.entity?.some((x) => x.what?.identifier?.value === requestId));
    assert.equal(found.length, 1, `one AuditEvent for ${requestId}, found ${found.length}`);
    return found[0]!;
  };
  const rid = (): string => `audit-${crypto.randomUUID()}`;
  const patientsOf = (e: AuditEvent): string[] => (e.entity ?? []).filter((x) => x.role?.code === '1').map((x) => x.what?.reference ?? '').sort();

  before(async () => {
    t = testApp({ ...GENERIC_ENGINE, AUTH_MODE: 'smart', AUDIT: 'on' }, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
    for (const id of ['pa', 'pb']) {
      const res = await request(t.app).put(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${USER()}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id }));
      assert.ok(res.status === 201 || res.status === 200, res.text);
    }
    const obs = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/pa' } };
    await request(t.app).put('/fhir/Observation/o1').set('Authorization', `Bearer ${USER()}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(obs));
  });
  after(async () => t.close());

  it('a read: type rest, subtype read, action R, outcome 0, client, user, source, patient, request id, address', async () => {
    const id = rid();
    const res = await request(t.app).get('/fhir/Patient/pa').set('Authorization', `Bearer ${USER()}`).set('X-Request-ID', id);
    assert.equal(res.status, 200);
    const e = await eventOf(id);
    assert.equal(e.type.code, 'rest');
    assert.equal(e.type.system, 'http://terminology.hl7.org/CodeSystem/audit-event-type');
    assert.deepEqual(e.subtype?.map((c) => c.code), ['read']);
    assert.equal(e.action, 'R');
    assert.equal(e.outcome, '0');
    assert.ok(!Number.isNaN(Date.parse(e.recorded)));
    const client = e.agent.find((a) => a.type?.coding?.[0]?.code === '110153');
    assert.equal(client?.who?.identifier?.value, 'audit-app');
    assert.ok(client?.network?.address, 'source address recorded');
    const user = e.agent.find((a) => a.type?.coding?.[0]?.code === 'humanuser');
    assert.equal(user?.who?.reference, 'Practitioner/pr1');
    assert.equal(user?.who?.identifier?.value, 'clinician-1');
    assert.equal(user?.requestor, true);
    assert.equal(e.source.observer.identifier?.value, TEST_BASE);
    assert.ok(e.entity?.some((x) => x.what?.reference === 'Patient/pa' && x.role?.code === '4'));
    assert.deepEqual(patientsOf(e), ['Patient/pa']);
  });

  it('create, update, patch, delete: actions C, U, U, D; a failure: outcome 4', async () => {
    const auth = { Authorization: `Bearer ${USER()}`, 'Content-Type': FHIR_JSON };
    const ids = { create: rid(), update: rid(), patch: rid(), delete: rid(), missing: rid() };
    const created = await request(t.app).post('/fhir/Observation').set(auth).set('X-Request-ID', ids.create).send(JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient/pb' } }));
    assert.equal(created.status, 201, created.text);
    const oid = (created.body as { id: string }).id;
    await request(t.app).put(`/fhir/Observation/${oid}`).set(auth).set('X-Request-ID', ids.update).send(JSON.stringify({ resourceType: 'Observation', id: oid, status: 'amended', code: { text: 'y' }, subject: { reference: 'Patient/pb' } }));
    await request(t.app).patch(`/fhir/Observation/${oid}`).set(auth).set('Content-Type', 'application/json-patch+json').set('X-Request-ID', ids.patch).send(JSON.stringify([{ op: 'replace', path: '/status', value: 'final' }]));
    await request(t.app).delete(`/fhir/Observation/${oid}`).set('Authorization', auth.Authorization).set('X-Request-ID', ids.delete);
    const missing = await request(t.app).get('/fhir/Observation/nope').set('Authorization', auth.Authorization).set('X-Request-ID', ids.missing);
    assert.equal(missing.status, 404);
    const expected: Array<[string, string, string, string]> = [
      [ids.create, 'create', 'C', '0'],
      [ids.update, 'update', 'U', '0'],
      [ids.patch, 'patch', 'U', '0'],
      [ids.delete, 'delete', 'D', '0'],
      [ids.missing, 'read', 'R', '4'],
    ];
    for (const [id, subtype, action, outcome] of expected) {
      const e = await eventOf(id);
      assert.deepEqual([e.subtype?.[0]?.code, e.action, e.outcome], [subtype, action, outcome], id);
    }
    assert.deepEqual(patientsOf(await eventOf(ids.create)), ['Patient/pb']);
  });

  it('a search: subtype search-type, action E, the query in base64, the patients of the query and results', async () => {
    const id = rid();
    const res = await request(t.app).get('/fhir/Observation?subject=Patient/pa&_count=5').set('Authorization', `Bearer ${USER()}`).set('X-Request-ID', id);
    assert.equal(res.status, 200);
    const e = await eventOf(id);
    assert.equal(e.subtype?.[0]?.code, 'search-type');
    assert.equal(e.action, 'E');
    const q = e.entity?.find((x) => x.role?.code === '24')?.query;
    assert.equal(Buffer.from(q ?? '', 'base64').toString('utf8'), 'subject=Patient/pa&_count=5');
    assert.deepEqual(patientsOf(e), ['Patient/pa']);
  });

  it('an unauthenticated request is recorded too (outcome 4, no user)', async () => {
    const id = rid();
    const res = await request(t.app).get('/fhir/Patient/pa').set('X-Request-ID', id);
    assert.equal(res.status, 401);
    const e = await eventOf(id);
    assert.equal(e.outcome, '4');
    assert.ok(!e.agent.some((a) => a.type?.coding?.[0]?.code === 'humanuser'));
  });

  it('AuditEvent?patient=&date= finds who looked at a record', async () => {
    await request(t.app).get('/fhir/Patient/pb').set('Authorization', `Bearer ${USER()}`);
    await settle();
    const today = new Date().toISOString().slice(0, 10);
    const res = await request(t.app).get(`/fhir/AuditEvent?patient=Patient/pb&date=ge${today}&_count=1000`).set('Authorization', `Bearer ${AUDITOR()}`);
    assert.equal(res.status, 200, res.text);
    const events = ((res.body as Bundle).entry ?? []).map((x) => x.resource as AuditEvent);
    assert.ok(events.length >= 2, `events about Patient/pb: ${events.length}`);
    for (const e of events) assert.ok(patientsOf(e).includes('Patient/pb'));
    const none = await request(t.app).get('/fhir/AuditEvent?patient=Patient/pb&date=lt2000-01-01').set('Authorization', `Bearer ${AUDITOR()}`);
    assert.equal((none.body as Bundle).entry?.length ?? 0, 0);
  });

  it('AuditEvent cannot be created, updated, patched or deleted through the API, nor in a transaction', async () => {
    const [any] = await allEvents();
    assert.ok(any?.id);
    const tok = sign({ scope: 'system/*.cruds system/AuditEvent.cruds' });
    const body = JSON.stringify({ ...any, id: undefined });
    const h = { Authorization: `Bearer ${tok}`, 'Content-Type': FHIR_JSON };
    const answers = [
      await request(t.app).post('/fhir/AuditEvent').set(h).send(body),
      await request(t.app).put(`/fhir/AuditEvent/${any.id}`).set(h).send(JSON.stringify(any)),
      await request(t.app).patch(`/fhir/AuditEvent/${any.id}`).set(h).set('Content-Type', 'application/json-patch+json').send('[{"op":"replace","path":"/outcome","value":"0"}]'),
      await request(t.app).delete(`/fhir/AuditEvent/${any.id}`).set('Authorization', h.Authorization),
      await request(t.app).post(`/fhir/AuditEvent/${any.id}/$meta-add`).set(h).send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: { tag: [{ system: 'urn:x', code: 'y' }] } }] })),
    ];
    for (const res of answers) {
      assert.equal(res.status, 405, res.text);
      assert.equal((res.body as { resourceType: string }).resourceType, 'OperationOutcome');
    }
    const tx = await request(t.app).post('/fhir').set(h).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `AuditEvent/${any.id}` } }] }));
    assert.ok(tx.status >= 400 && tx.status < 500, tx.text);
    const still = await request(t.app).get(`/fhir/AuditEvent/${any.id}`).set('Authorization', `Bearer ${AUDITOR()}`);
    assert.equal(still.status, 200);
    assert.equal((still.body as AuditEvent).meta?.versionId, '1');
  });

  it('reading AuditEvent needs a scope naming it: a * scope gets 403 and no AuditEvent from _type or _revinclude', async () => {
    const wildcard = sign({ scope: 'system/*.rs' });
    const res = await request(t.app).get('/fhir/AuditEvent').set('Authorization', `Bearer ${wildcard}`);
    assert.equal(res.status, 403, res.text);
    const [any] = await allEvents();
    const read = await request(t.app).get(`/fhir/AuditEvent/${any!.id}`).set('Authorization', `Bearer ${wildcard}`);
    assert.equal(read.status, 403);
    const rev = await request(t.app).get('/fhir/Patient?_id=pa&_revinclude=AuditEvent:patient').set('Authorization', `Bearer ${wildcard}`);
    assert.ok(!((rev.body as Bundle).entry ?? []).some((x) => x.resource?.resourceType === 'AuditEvent'), 'no AuditEvent included');
    const withScope = await request(t.app).get('/fhir/Patient?_id=pa&_revinclude=AuditEvent:patient').set('Authorization', `Bearer ${sign({ scope: 'system/*.rs system/AuditEvent.rs' })}`);
    assert.ok(((withScope.body as Bundle).entry ?? []).some((x) => x.resource?.resourceType === 'AuditEvent'), 'AuditEvent included with the scope');
  });

  it('a patient token reads the AuditEvents about its patient only', async () => {
    await request(t.app).get('/fhir/Patient/pa').set('Authorization', `Bearer ${USER()}`);
    await settle();
    const mine = await request(t.app).get('/fhir/AuditEvent?_count=1000').set('Authorization', `Bearer ${patientToken('pa')}`);
    assert.equal(mine.status, 200, mine.text);
    const events = ((mine.body as Bundle).entry ?? []).map((x) => x.resource as AuditEvent);
    assert.ok(events.length > 0);
    for (const e of events) assert.ok(patientsOf(e).includes('Patient/pa'), JSON.stringify(patientsOf(e)));
    const others = await request(t.app).get('/fhir/AuditEvent?patient=Patient/pb').set('Authorization', `Bearer ${patientToken('pa')}`);
    for (const e of (others.body as Bundle).entry ?? []) assert.ok(patientsOf(e.resource as AuditEvent).includes('Patient/pa'));
    const aboutB = (await allEvents()).find((e) => patientsOf(e).join() === 'Patient/pb');
    assert.ok(aboutB?.id);
    const read = await request(t.app).get(`/fhir/AuditEvent/${aboutB.id}`).set('Authorization', `Bearer ${patientToken('pa')}`);
    assert.equal(read.status, 404);
    const noScope = await request(t.app).get('/fhir/AuditEvent').set('Authorization', `Bearer ${patientToken('pa', 'patient/*.rs')}`);
    assert.equal(noScope.status, 403);
  });

  it('searching AuditEvent is itself audited once (no recursion)', async () => {
    const id = rid();
    await request(t.app).get('/fhir/AuditEvent?_count=1').set('Authorization', `Bearer ${AUDITOR()}`).set('X-Request-ID', id);
    const e = await eventOf(id);
    assert.equal(e.subtype?.[0]?.code, 'search-type');
  });
});

describe('Audit: configuration and shutdown', () => {
  it('AUDIT=off records nothing; AuditEvent writes are refused all the same', async () => {
    const t = testApp({ ...GENERIC_ENGINE, AUDIT: 'off' });
    try {
      await request(t.app).get('/fhir/Patient/x');
      assert.equal(auditLogOf(t.services), undefined);
      const post = await request(t.app).post('/fhir/AuditEvent').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'AuditEvent' }));
      assert.equal(post.status, 405);
      const res = await request(t.app).get('/fhir/AuditEvent');
      assert.equal((res.body as Bundle).total ?? (res.body as Bundle).entry?.length ?? 0, 0);
    } finally {
      await t.close();
    }
  });

  it('a clean shutdown writes every buffered AuditEvent', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-'));
    const file = path.join(dir, 'fhir.sqlite');
    try {
      const config = loadConfig({ PORT: '0', SQLITE_PATH: file, DATA_DIR: dir, LOG_LEVEL: 'silent', AUTH_MODE: 'off', AUDIT: 'on', ...GENERIC_ENGINE });
      const running = await startServer(config, silentLogger());
      const n = 25;
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${running.url}/Patient/p${i}`);
        await res.arrayBuffer();
      }
      await running.close();
      const store = openSqliteStore(file);
      try {
        const page = await store.search({ resourceTypes: ['AuditEvent'], sort: [], count: 1000, offset: 0, total: 'accurate' });
        assert.equal(page.entries.length, n);
      } finally {
        await store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
