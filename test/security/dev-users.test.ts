/**
 * The documented development logins work on a fresh server (SMART App Launch 2.0.0: a patient app
 * reads its `patient`, a practitioner app its `fhirUser`): the real server on an empty data directory,
 * the authorization code flow through the login page, then the reads a SMART client makes first
 * (fhirclient `client.patient.read()`, `client.user.read()`). With `SQLITE_PATH=:memory:` nothing is
 * seeded.
 */
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { Patient } from 'fhir/r4';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';
import { isTestRangeNhsNumber, isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { SEC_BASE, startSecurityServer, type SecurityServer } from '../helpers/security-server';

describe('Development users: their FHIR resources exist on a fresh server', function () {
  this.timeout(60_000);

  it('dev-patient reads its own Patient (a valid test-range NHS Number), dev-practitioner its Practitioner; a restart writes nothing again; nothing with SQLITE_PATH=:memory:', async () => {
    // The server's defaults for Patients: NHS Number ids, UK Core required.
    const s: SecurityServer = await startSecurityServer({ persistent: true, env: { PATIENT_ID_POLICY: 'nhs-number', REQUIRED_PROFILES: 'Patient=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient' } });
    try {
      const tok = await s.codeFlow({ scope: 'launch/patient openid fhirUser patient/*.rs', user: 'dev-patient' });
      assert.equal(tok.patient, DEV_PATIENT_ID);
      assert.ok(isValidNhsNumber(DEV_PATIENT_ID) && isTestRangeNhsNumber(DEV_PATIENT_ID));
      assert.equal((jwt.decode(tok.id_token ?? '') as jwt.JwtPayload)['fhirUser'], `${SEC_BASE}/Patient/${DEV_PATIENT_ID}`, 'fhirUser names the same Patient');
      const read = await request(s.running.server).get(`/fhir/Patient/${tok.patient ?? ''}`).set('Authorization', `Bearer ${tok.access_token}`);
      assert.equal(read.status, 200, read.text);
      const p = read.body as Patient;
      assert.equal(p.identifier?.[0]?.system, NHS_NUMBER_SYSTEM);
      assert.equal(p.identifier?.[0]?.value, DEV_PATIENT_ID);

      const prac = await s.codeFlow({ scope: 'openid fhirUser user/*.rs', user: 'dev-practitioner' });
      const fhirUser = String((jwt.decode(prac.id_token ?? '') as jwt.JwtPayload)['fhirUser']);
      const user = await request(s.running.server).get(`/fhir/${fhirUser.slice(SEC_BASE.length + 1)}`).set('Authorization', `Bearer ${prac.access_token}`);
      assert.equal(user.status, 200, user.text);
      assert.equal(user.body.resourceType, 'Practitioner');

      await s.restart();
      const backend = await s.backendToken('system/*.rs');
      const history = await request(s.running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}/_history`).set('Authorization', `Bearer ${backend}`);
      assert.equal(history.status, 200, history.text);
      assert.equal(history.body.total, 1, 'seeded once');
    } finally {
      await s.close();
    }
    // With SQLITE_PATH=:memory: (tests) nothing is seeded.
    const memory = await startSecurityServer();
    try {
      const backend = await memory.backendToken('system/*.rs');
      assert.equal((await request(memory.running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}`).set('Authorization', `Bearer ${backend}`)).status, 404);
      assert.equal((await request(memory.running.server).get('/fhir/Practitioner/dev-practitioner').set('Authorization', `Bearer ${backend}`)).status, 404);
    } finally {
      await memory.close();
    }
  });
});
