/**
 * Issue 11: `POST /auth/launch` (SMART App Launch 2.0.0 app-launch.html "EHR Launch"; RFC 6750 §3.1)
 * refuses patient-context tokens (a patient app must not mint a launch for another patient), and
 * answers an unknown patient/encounter id exactly as an id the token may not read: the endpoint does
 * not reveal which ids exist.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { SEC_BASE, SEC_ISSUER, startSecurityServer, type SecurityServer, type TokenBody } from '../helpers/security-server';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';

const FHIR_JSON = 'application/fhir+json';

describe('security: EHR launch contexts', () => {
  let s: SecurityServer;
  before(async () => {
    s = await startSecurityServer();
    const writer = await s.backendToken('system/Patient.cruds system/Encounter.cruds');
    const put = async (type: string, id: string, body: Record<string, unknown>): Promise<void> => {
      const res = await request(s.running.server).put(`/fhir/${type}/${id}`).set('Authorization', `Bearer ${writer}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: type, id, ...body }));
      assert.ok(res.status === 200 || res.status === 201, res.text);
    };
    await put('Patient', 'p1', { name: [{ family: 'Alpha' }] });
    await put('Patient', 'p2', { name: [{ family: 'Beta' }] });
    await put('Encounter', 'e1', { status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/p1' } });
  });
  after(() => s.close());

  const launch = (token: string, body: Record<string, unknown>): request.Test => request(s.running.server).post('/auth/launch').set('Authorization', `Bearer ${token}`).send(body);

  /** A token of the built-in server, as /auth/token would issue it, with the given claims. */
  const token = (claims: Record<string, unknown>): string => {
    const keys = s.running.auth!.keys;
    const now = Math.floor(Date.now() / 1000);
    return jwt.sign({ iss: SEC_ISSUER, aud: SEC_BASE, sub: 'someone', client_id: 'app', iat: now, exp: now + 600, jti: randomUUID(), ...claims }, keys.privateKey, { algorithm: 'RS256', keyid: keys.kid });
  };

  it('refuses tokens with patient context: a Patient user\'s token, and a practitioner\'s patient-launch token', async () => {
    const patientUser = await s.codeFlow({ scope: 'launch/patient patient/*.rs openid fhirUser', user: 'dev-patient' });
    assert.equal(patientUser.patient, DEV_PATIENT_ID);
    const practitionerPatientLaunch = await s.codeFlow({ scope: 'launch/patient patient/*.rs openid fhirUser', user: 'dev-practitioner', pick: 'p1' });
    assert.equal(practitionerPatientLaunch.patient, 'p1');
    for (const t of [patientUser.access_token, practitionerPatientLaunch.access_token, token({ scope: 'patient/*.rs', fhirUser: 'Practitioner/x' })]) {
      const res = await launch(t, { patient: 'p2' });
      assert.equal(res.status, 403, res.text);
      assert.equal((res.body as TokenBody).error, 'insufficient_scope');
      assert.match(String(res.headers['www-authenticate']), /insufficient_scope/);
    }
    // An EHR user's token (user/ scope, fhirUser, no patient) may.
    const ehr = await s.codeFlow({ scope: 'user/*.rs openid fhirUser', user: 'dev-practitioner' });
    assert.equal((await launch(ehr.access_token, { patient: 'p2' })).status, 201);
  });

  it('answers an unknown patient or encounter exactly as one the token may not read', async () => {
    const cannotReadPatients = token({ scope: 'system/Encounter.rs' });
    const unknown = await launch(cannotReadPatients, { patient: 'no-such-patient' });
    const unreadable = await launch(cannotReadPatients, { patient: 'p1' });
    assert.equal(unknown.status, 400);
    assert.equal(unreadable.status, unknown.status);
    assert.deepEqual(unreadable.body, unknown.body);
    assert.doesNotMatch(unknown.text, /does not exist/);
    assert.equal((await launch(cannotReadPatients, { encounter: 'e1' })).status, 201);

    // A query-restricted scope: p1 (Alpha) is inside it, p2 (Beta) is answered like an unknown id.
    const alphaOnly = token({ scope: 'system/Patient.rs?family=Alpha system/Encounter.rs' });
    assert.equal((await launch(alphaOnly, { patient: 'p1' })).status, 201);
    const outside = await launch(alphaOnly, { patient: 'p2' });
    const none = await launch(alphaOnly, { patient: 'p3' });
    assert.equal(outside.status, 400);
    assert.deepEqual(outside.body, none.body);

    const noEncounters = token({ scope: 'system/Patient.rs' });
    const e1 = await launch(noEncounters, { patient: 'p1', encounter: 'e1' });
    const e9 = await launch(noEncounters, { patient: 'p1', encounter: 'e9' });
    assert.equal(e1.status, 400);
    assert.deepEqual(e1.body, e9.body);
  });
});
