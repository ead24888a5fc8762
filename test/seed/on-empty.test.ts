/**
 * `npm start` on an empty data directory seeds SEED_ON_EMPTY synthetic patients once (src/seed/on-empty.ts),
 * never on a store that has held anything, never with SEED_ON_EMPTY=0; the development logins
 * (ADR 22, ADR 30) then resolve to seeded records: dev-patient's launch context is a seeded Patient
 * with clinical records, dev-practitioner is a seeded GP whose launch/patient picker finds patients.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import type { Bundle, Patient, Practitioner } from 'fhir/r4';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';
import { DEFAULT_REQUIRED_PROFILES, loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer } from '../../src/main';
import { GMC_SYSTEM } from '../../src/seed/generate';
import { SEC_BASE, startSecurityServer } from '../helpers/security-server';

const DEFAULTS = { PATIENT_ID_POLICY: 'nhs-number', REQUIRED_PROFILES: DEFAULT_REQUIRED_PROFILES };

describe('seed: seeding on an empty store at start-up', function () {
  this.timeout(120_000);

  it('seeds once on a fresh data directory; the development users are seeded records; a restart seeds nothing', async () => {
    const s = await startSecurityServer({ persistent: true, env: { ...DEFAULTS, SEED_ON_EMPTY: '12' } });
    try {
      const backend = await s.backendToken('system/*.rs');
      const count = async (type: string): Promise<number> => {
        const res = await request(s.running.server).get(`/fhir/${type}?_summary=count`).set('Authorization', `Bearer ${backend}`);
        assert.equal(res.status, 200, res.text);
        return (res.body as Bundle).total ?? -1;
      };
      assert.equal(await count('Patient'), 12);
      const encounters = await count('Encounter');
      assert.ok(encounters >= 12);

      // dev-patient: its launch context is the seeded Patient, with its own clinical records.
      const tok = await s.codeFlow({ scope: 'launch/patient openid fhirUser patient/*.rs', user: 'dev-patient' });
      assert.equal(tok.patient, DEV_PATIENT_ID);
      const auth = `Bearer ${tok.access_token}`;
      const me = await request(s.running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}`).set('Authorization', auth);
      assert.equal(me.status, 200, me.text);
      assert.match((me.body as Patient).generalPractitioner?.[0]?.reference ?? '', /^Organization\//, 'a seeded, registered patient');
      const mine = await request(s.running.server).get(`/fhir/Encounter?patient=${DEV_PATIENT_ID}`).set('Authorization', auth);
      assert.equal(mine.status, 200, mine.text);
      assert.ok(((mine.body as Bundle).entry ?? []).length >= 1, 'dev-patient has encounters');
      const obs = await request(s.running.server).get(`/fhir/Observation?patient=${DEV_PATIENT_ID}`).set('Authorization', auth);
      assert.ok(((obs.body as Bundle).entry ?? []).length >= 1, 'dev-patient has observations');

      // dev-practitioner: a seeded GP; its launch/patient picker picks a seeded patient.
      const all = await request(s.running.server).get('/fhir/Patient?_count=50').set('Authorization', `Bearer ${backend}`);
      const other = ((all.body as Bundle).entry ?? []).map((e) => e.resource!.id!).find((id) => id !== DEV_PATIENT_ID)!;
      const prac = await s.codeFlow({ scope: 'launch/patient openid fhirUser user/*.rs', user: 'dev-practitioner', pick: other });
      assert.equal(prac.patient, other);
      const fhirUser = String((jwt.decode(prac.id_token ?? '') as jwt.JwtPayload)['fhirUser']);
      assert.equal(fhirUser, `${SEC_BASE}/Practitioner/dev-practitioner`);
      const user = await request(s.running.server).get('/fhir/Practitioner/dev-practitioner').set('Authorization', `Bearer ${prac.access_token}`);
      assert.equal(user.status, 200, user.text);
      assert.ok((user.body as Practitioner).identifier?.some((i) => i.system === GMC_SYSTEM), 'the seeded GP (GMC number)');
      const picked = await request(s.running.server).get(`/fhir/Patient/${other}`).set('Authorization', `Bearer ${prac.access_token}`);
      assert.equal(picked.status, 200, picked.text);

      await s.restart();
      const backend2 = await s.backendToken('system/*.rs');
      const again = await request(s.running.server).get('/fhir/Patient?_summary=count').set('Authorization', `Bearer ${backend2}`);
      assert.equal((again.body as Bundle).total, 12, 'not seeded again');
      const history = await request(s.running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}/_history`).set('Authorization', `Bearer ${backend2}`);
      assert.equal(history.body.total, 1, 'dev-patient written once');
    } finally {
      await s.close();
    }
  });

  it('does not seed a store that has held a resource, nor with SEED_ON_EMPTY=0, nor in memory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-on-empty-'));
    const env = { ...DEFAULTS, DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'silent', AUTH_MODE: 'off' };
    try {
      let running = await startServer(loadConfig({ ...env, SEED_ON_EMPTY: '0' }), silentLogger());
      const patients = async (): Promise<number> => ((await request(running.server).get('/fhir/Patient?_summary=count')).body as Bundle).total ?? -1;
      assert.equal(await patients(), 0, 'SEED_ON_EMPTY=0: nothing');
      const created = await request(running.server).post('/fhir/Organization').set('Content-Type', 'application/fhir+json').send({ resourceType: 'Organization', name: 'Mine' });
      assert.equal(created.status, 201, created.text);
      assert.equal((await request(running.server).delete(`/fhir/Organization/${String(created.body.id)}`)).status, 204);
      await running.close();
      running = await startServer(loadConfig({ ...env, SEED_ON_EMPTY: '5' }), silentLogger());
      assert.equal(await patients(), 0, 'a store that has held a resource (even deleted) is not seeded');
      await running.close();
      running = await startServer(loadConfig({ ...env, SQLITE_PATH: ':memory:', SEED_ON_EMPTY: '5' }), silentLogger());
      assert.equal(await patients(), 0, 'never in memory');
      await running.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
