/**
 * PDS façade "Search for a patient" (components/paths/patient-search.yaml): the sandbox table and the
 * karate mock's searchset stubs replayed (search-scenarios.ts) with the sandbox records and the stubs'
 * records stored, the reduced search view, the trace's "current data" rule, and the access modes with
 * SMART tokens. Skips with a printed reason when ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { Bundle, OperationOutcome, Patient } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { TEST_BASE, type TestApp } from '../../helpers/test-app';
import { assertPdsError, BASE, loadPds, PDS, pds, pdsApp, storePdsPatient, storeSandboxRecords } from './helpers';
import { isValidNhsNumber } from '../../../src/spine/nhs-number';
import { enrich, SCENARIOS, supersededCuff, type Expect } from './search-scenarios';
import { diagnostic } from '../../helpers/diagnostics';

const ISSUER = 'http://localhost:8080/auth';
const keys = (r: object): string[] => Object.keys(r).filter((k) => k !== 'meta').sort();
const ids = (b: Bundle): string[] => (b.entry ?? []).map((e) => (e.resource as Patient).id!);

/** Every Patient of the searchset stubs (the fullest copy of each), with what the scenarios imply. */
function stubRecords(sandboxIds: Set<string>): Patient[] {
  const dir = path.join(PDS!, 'searchResponses');
  const byId = new Map<string, Patient>();
  for (const f of fs.readdirSync(dir).sort()) {
    const b = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Bundle;
    if (b.resourceType !== 'Bundle') continue;
    for (const e of b.entry ?? []) {
      const p = e.resource as Patient;
      if (sandboxIds.has(p.id!) || !isValidNhsNumber(p.id!)) continue; // 9000000015: not a valid NHS Number
      const prev = byId.get(p.id!);
      if (!prev || Object.keys(p).length > Object.keys(prev).length) byId.set(p.id!, p);
    }
  }
  return [...byId.values()].map(enrich);
}

interface Outcome {
  name: string;
  matches: boolean;
  scoresEqual?: boolean;
  note?: string;
}

async function check(res: request.Response, expect: Expect): Promise<{ scoresEqual?: boolean }> {
  if ('error' in expect) {
    const [status, code, diagnostics] = expect.error;
    const oo = assertPdsError(res, status, code);
    if (diagnostics !== undefined) assert.equal(oo.issue[0]!.diagnostics, diagnostics);
    return {};
  }
  assert.equal(res.status, 200, res.text);
  if ('tooMany' in expect) {
    assert.deepEqual(res.body, loadPds<OperationOutcome>('searchResponses', 'TOO_MANY_MATCHES.json'));
    return {};
  }
  const b = res.body as Bundle;
  assert.equal(b.resourceType, 'Bundle', res.text);
  assert.equal(b.type, 'searchset');
  if ('empty' in expect) {
    assert.equal(b.total, 0);
    assert.equal(b.entry, undefined, 'an empty searchset has no entry');
    return {};
  }
  if ('ids' in expect) {
    assert.deepEqual(ids(b), expect.ids);
    return {};
  }
  const stub = loadPds<Bundle>('searchResponses', expect.stub);
  const want = stub.resourceType === 'Bundle' ? stub.entry ?? [] : [{ resource: stub, search: { score: 1 } }];
  // The same records; the order is by score, ties by id (PDS orders ties its own way).
  const byScoreThenId = (a: { id: string; score: number }, c: { id: string; score: number }) => c.score - a.score || (a.id < c.id ? -1 : 1);
  const wantRows = want.map((e) => ({ id: (e.resource as Patient).id!, score: e.search!.score! })).sort(byScoreThenId);
  const gotRows = (b.entry ?? []).map((e) => ({ id: (e.resource as Patient).id!, score: e.search!.score! }));
  assert.deepEqual(gotRows.map((r) => r.id).sort(), wantRows.map((r) => r.id).sort(), 'the same records');
  assert.equal(b.total, want.length);
  for (const e of b.entry ?? []) {
    const w = want.find((x) => (x.resource as Patient).id === (e.resource as Patient).id)!;
    assert.deepEqual(keys(e.resource!), keys(w.resource!), `${(e.resource as Patient).id}: element names`);
    assert.equal(e.fullUrl, `${TEST_BASE.replace(/\/fhir$/, '')}${BASE}/Patient/${(e.resource as Patient).id}`);
  }
  const scoresEqual = JSON.stringify(gotRows.map((r) => [r.id, r.score]).sort()) === JSON.stringify(wantRows.map((r) => [r.id, r.score]).sort());
  return { scoresEqual };
}

describe('PDS façade: search', function () {
  let t: TestApp;
  const outcomes: Outcome[] = [];
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    t = pdsApp();
    const sandbox = await storeSandboxRecords(t);
    for (const p of stubRecords(new Set(sandbox.map((p) => p.id!)))) await storePdsPatient(t, p);
    await storePdsPatient(t, supersededCuff());
    // The sandbox's restricted record as its search stub (Sensitive_PatientSearch.json) and the table's row describe it: born 2005-06-16, Janet's own email.
    const sensitive = loadPds<Patient>('searchResponses', 'Sensitive_Patient.json');
    const full = sandbox[0]!;
    await storePdsPatient(t, { ...sensitive, birthDate: '2005-06-16', deceasedDateTime: '2005-06-16T00:00:00+00:00', address: full.address, generalPractitioner: full.generalPractitioner, contact: full.contact, telecom: [{ system: 'phone', value: '01632960587', use: 'home' }, { system: 'email', value: 'janet.smythe@example.com', use: 'home' }] });
  });
  after(() => {
    if (outcomes.length > 0) {
      const matched = outcomes.filter((o) => o.matches).length;
      const scores = outcomes.filter((o) => o.scoresEqual !== undefined);
      diagnostic(`    PDS search scenarios: ${outcomes.length} replayed, ${matched} answer as the sandbox; of ${scores.length} compared with a stub's scores, ${scores.filter((o) => o.scoresEqual).length} have PDS's exact scores`);
      for (const o of outcomes.filter((x) => !x.matches)) diagnostic(`      differs: ${o.name}: ${o.note}`);
    }
    return t?.close();
  });

  for (const s of SCENARIOS) {
    it(`${s.name}${s.differs ? ' (differs from the sandbox)' : ''}`, async () => {
      const res = await pds(t, 'get', `Patient${s.query ? `?${s.query}` : ''}`);
      if (s.differs) {
        outcomes.push({ name: s.name, matches: false, note: s.differs });
        await check(res, s.instead!);
        return;
      }
      const r = await check(res, s.expect);
      outcomes.push({ name: s.name, matches: true, ...(r.scoresEqual !== undefined ? { scoresEqual: r.scoresEqual } : {}) });
    });
  }

  it('the search view: the sandbox record 9000000009 as PatientSearch.json (ended usual name and home address still current; no temp address, pharmacies, contact preferences, communication, birth place)', async () => {
    const res = await pds(t, 'get', 'Patient?family=Smith&given=Jane&gender=female&birthdate=eq2010-10-22');
    assert.equal(res.status, 200, res.text);
    const got = (res.body as Bundle).entry![0]!;
    const want = loadPds<Bundle>('searchResponses', 'PatientSearch.json').entry![0]!;
    const { meta: _g, ...gotR } = got.resource as Patient;
    const { meta: _w, ...wantR } = want.resource as Patient;
    assert.deepEqual(gotR, wantR);
    assert.deepEqual(got.search, { score: 1 });
    assert.ok(!('mode' in got.search!));
  });

  it('the same search on /fhir Patient/$trace finds the record too (the shared trace keeps ended names current)', async () => {
    const res = await request(t.app).get('/fhir/Patient/$trace?family=Smith&given=Jane&birthdate=eq2010-10-22');
    assert.deepEqual(ids(res.body as Bundle), ['9000000009']);
  });

  it('X-Request-ID is required; X-Correlation-ID is mirrored on search answers and errors', async () => {
    assertPdsError(await request(t.app).get(`${BASE}/Patient?family=Smith&birthdate=eq2010-10-22`), 400, 'MISSING_VALUE');
    for (const q of ['family=Smith&birthdate=eq2010-10-22', 'family=Smith']) {
      const res = await pds(t, 'get', `Patient?${q}`).set('X-Correlation-ID', 'corr  1');
      assert.equal(res.headers['x-correlation-id'], 'corr  1');
    }
  });
});

describe('PDS façade: search access modes (SMART)', function () {
  let t: TestApp;
  let sign: (claims: Record<string, unknown>) => string;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    t = pdsApp({ AUTH_MODE: 'smart' }, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
    sign = (claims) => jwt.sign({ client_id: 'pds-app', sub: String(claims['patient'] ?? 'backend'), jti: crypto.randomUUID(), ...claims }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE, expiresIn: 600 });
    const admin = sign({ scope: 'system/*.cruds' });
    for (const p of [loadPds<Patient>('searchResponses', 'Patient.json'), loadPds<Patient>('searchResponses', 'Patient-Jayne-Smyth.json')]) await storePdsPatient(t, p, admin);
  });
  after(() => t?.close());

  const user = () => sign({ scope: 'openid fhirUser user/Patient.rs', fhirUser: 'Practitioner/p1' });
  const app = () => sign({ scope: 'system/Patient.rs' });
  const patient = () => sign({ scope: 'launch/patient openid fhirUser patient/Patient.rs', patient: '9000000009' });

  it('healthcare worker: up to 50 matches', async () => {
    const res = await pds(t, 'get', 'Patient?family=Sm*&birthdate=eq2010-10-22', { token: user() });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.body as Bundle), ['9000000009', '9000000017']);
  });

  it('application-restricted: a unique match is returned (default _max-results 1)', async () => {
    const res = await pds(t, 'get', 'Patient?family=Smith&given=Jane&birthdate=eq2010-10-22', { token: app() });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.body as Bundle), ['9000000009']);
  });

  it('application-restricted: several matches are TOO_MANY_MATCHES', async () => {
    const res = await pds(t, 'get', 'Patient?family=Sm*&birthdate=eq2010-10-22', { token: app() });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, loadPds<OperationOutcome>('searchResponses', 'TOO_MANY_MATCHES.json'));
  });

  it('application-restricted: _max-results other than 1 is 403 INVALID_VALUE', async () => {
    const oo = assertPdsError(await pds(t, 'get', 'Patient?family=Smith&birthdate=eq2010-10-22&_max-results=2', { token: app() }), 403, 'INVALID_VALUE');
    assert.equal(oo.issue[0]!.diagnostics, "Invalid value - '2' in field '_max-results'");
    assert.equal((await pds(t, 'get', 'Patient?family=Smith&birthdate=eq2010-10-22&_max-results=1', { token: app() })).status, 200);
  });

  it('patient access: search is not available (403 ACCESS_DENIED)', async () => {
    assertPdsError(await pds(t, 'get', 'Patient?family=Smith&birthdate=eq2010-10-22', { token: patient() }), 403, 'ACCESS_DENIED');
  });

  it('no token: 401 ACCESS_DENIED', async () => {
    assertPdsError(await pds(t, 'get', 'Patient?family=Smith&birthdate=eq2010-10-22'), 401, 'ACCESS_DENIED');
  });
});
