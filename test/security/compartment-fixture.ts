/**
 * Two patients' records for the compartment attack suites (issue 11; SMART App Launch 2.0.0
 * patient-level scopes; FHIR R4 compartmentdefinition-patient.html): patient A is the attacker with
 * legitimate patient-context tokens, patient B the victim. B's resources carry the marker text
 * `zqvictim` in their content (never in their ids, which a caller may echo in a request), so "nothing
 * of B comes back" can be checked on any response body; A's resources include the cross-patient
 * references an attacker would use (an Observation of A's whose performer is B, one of B's whose
 * focus is A, one that moved from B to A, a List of B's naming A's Observation).
 *
 * Tokens are RS256 JWTs signed with a key generated per run, verified through the built-in issuer's
 * key lookup (as test/http/smart-resource-server.test.ts does).
 */
import crypto, { generateKeyPairSync } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { FHIR_JSON, TEST_BASE, testApp, type TestApp } from '../helpers/test-app';
import { checkDigit, NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';

export const ISSUER = 'http://localhost:8080/auth';
export const MARKER = 'zqvictim';

/** A valid test-range NHS Number from its first nine digits. */
export function nhsNumber(first9: string): string {
  const d = checkDigit(first9);
  if (d === undefined) throw new Error(`${first9} has no valid check digit`);
  return `${first9}${d}`;
}

export interface CompartmentWorld {
  t: TestApp;
  /** Ids of the two patients. */
  a: string;
  b: string;
  /** A token of patient A (or B) with the given scopes. */
  patientToken(scope: string, patient?: string): string;
  /** A backend token that may do everything. */
  system(): string;
  /** Requests with a bearer token. */
  get(url: string, tok: string): request.Test;
  send(method: 'post' | 'put' | 'patch' | 'delete', url: string, tok: string, body?: unknown, contentType?: string): request.Test;
  close(): Promise<void>;
}

export type WorldKind = 'generic' | 'nhs';

/**
 * The app and the two records. `generic`: the generic engine (server-assigned Patient ids);
 * `nhs`: the server defaults (NHS Number Patient ids, PDS record rules, UK Core Patients).
 */
export async function compartmentWorld(kind: WorldKind): Promise<CompartmentWorld> {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const env: Record<string, string> = kind === 'generic' ? { REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server', AUTH_MODE: 'smart' } : { PATIENT_ID_POLICY: 'nhs-number', AUTH_MODE: 'smart' };
  const t = testApp(env, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
  const a = kind === 'nhs' ? nhsNumber('999000001') : 'pa';
  const b = kind === 'nhs' ? nhsNumber('999000002') : 'pb';
  const sign = (claims: Record<string, unknown>): string =>
    jwt.sign({ client_id: 'attack-app', sub: String(claims['patient'] ?? 'backend'), jti: crypto.randomUUID(), ...claims }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE, expiresIn: 600 });
  const world: CompartmentWorld = {
    t,
    a,
    b,
    patientToken: (scope, patient = a) => sign({ scope: `launch/patient openid fhirUser ${scope}`, patient }),
    system: () => sign({ scope: 'system/*.cruds' }),
    get: (url, tok) => request(t.app).get(url).set('Authorization', `Bearer ${tok}`),
    send: (method, url, tok, body, contentType = FHIR_JSON) => {
      const r = request(t.app)[method](url).set('Authorization', `Bearer ${tok}`);
      return body === undefined ? r : r.set('Content-Type', contentType).send(JSON.stringify(body));
    },
    close: () => t.close(),
  };
  await seed(world, kind);
  return world;
}

const obs = (id: string, subject: string, code: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'urn:test:codes', code }], text: code },
  subject: { reference: `Patient/${subject}` },
  ...extra,
});

/** Observation A may write: about A, performed by nobody else. */
export function ownObservation(w: CompartmentWorld, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return obs(id, w.a, 'a-own', extra);
}

async function seed(w: CompartmentWorld, kind: WorldKind): Promise<void> {
  const s = w.system();
  const put = async (r: Record<string, unknown>): Promise<void> => {
    const res = await w.send('put', `/fhir/${String(r['resourceType'])}/${String(r['id'])}`, s, r);
    if (res.status >= 300) throw new Error(`seeding ${String(r['resourceType'])}/${String(r['id'])}: ${res.status} ${res.text}`);
  };
  const patient = (id: string, family: string, extra: Record<string, unknown>): Record<string, unknown> => ({
    resourceType: 'Patient',
    id,
    ...(kind === 'nhs' ? { identifier: [{ system: NHS_NUMBER_SYSTEM, value: id }] } : { identifier: [{ system: 'urn:test:mrn', value: `mrn-${id}` }] }),
    name: [{ use: 'usual', family, given: [family === 'Ashdown' ? 'Alice' : `Beatrix${MARKER}`] }],
    ...extra,
  });
  await put(patient(w.a, 'Ashdown', { gender: 'male', birthDate: '1990-05-06' }));
  await put(
    patient(w.b, `Bexley${MARKER}`, {
      gender: 'female',
      birthDate: '1961-02-03',
      telecom: [{ system: 'phone', value: `07700900123${MARKER}` }],
      address: [{ line: [`1 ${MARKER} Street`], city: 'Leeds', postalCode: 'LS1 4AP' }],
    }),
  );
  await put(obs('oa1', w.a, 'a-own'));
  // A's Observation that names B as performer (written by a clinician system): the chain probe's foothold.
  await put(obs('oa-perf', w.a, 'a-perf', { performer: [{ reference: `Patient/${w.b}` }] }));
  // B's Observation performed by A: in both compartments (performer is a Patient compartment parameter).
  await put(obs('ob-by-a', w.b, 'b-by-a', { performer: [{ reference: `Patient/${w.a}` }] }));
  // B's labels (tag, security label, profile) carry the marker: `$meta` at the type or system level must not show them to A.
  await put(obs('ob1', w.b, `b-${MARKER}-1`, { valueString: `${MARKER} result`, meta: { tag: [{ system: 'urn:test:tags', code: `tag-${MARKER}` }], security: [{ system: 'urn:test:labels', code: `label-${MARKER}` }] } }));
  // B's Observation whose focus (not a compartment parameter) is A: the _has probe's target.
  await put(obs('ob-focus', w.b, `b-${MARKER}-focus`, { focus: [{ reference: `Patient/${w.a}` }] }));
  // B's deleted Observation.
  await put(obs('ob-del', w.b, `b-${MARKER}-del`, { valueString: `${MARKER} deleted` }));
  await w.send('delete', '/fhir/Observation/ob-del', s).expect(204);
  // A's own deleted Observation (positive control: A still sees its own history).
  await put(obs('oa-del', w.a, 'a-del'));
  await w.send('delete', '/fhir/Observation/oa-del', s).expect(204);
  // Moved from B (version 1, B's data) to A (version 2).
  await put(obs('o-moved', w.b, `b-${MARKER}-moved`, { valueString: `${MARKER} before the move` }));
  await put(obs('o-moved', w.a, 'a-moved'));
  // B's List that names A's Observation.
  await put({ resourceType: 'List', id: 'lb', status: 'current', mode: 'working', title: `${MARKER} list`, subject: { reference: `Patient/${w.b}` }, entry: [{ item: { reference: 'Observation/oa1' } }] });
  await put({ resourceType: 'List', id: 'la', status: 'current', mode: 'working', title: 'A list', subject: { reference: `Patient/${w.a}` }, entry: [{ item: { reference: 'Observation/oa1' } }] });
}

/** The ids of B's resources (every one must stay invisible to A's tokens). */
export function victimResources(w: CompartmentWorld): Array<[type: string, id: string]> {
  return [
    ['Patient', w.b],
    ['Observation', 'ob1'],
    ['Observation', 'ob-focus'],
    ['Observation', 'ob-del'],
    ['List', 'lb'],
  ];
}

/**
 * A response as text with the id (or value) asked about replaced by `ID`, and what differs between
 * two requests for reasons of their own (a Bundle's generated id, timestamps) taken out: equal for a
 * resource outside the compartment and an absent one when nothing reveals which is which.
 */
export function normalisedAnswer(text: string, asked: string): string {
  return text
    .split(asked)
    .join('ID')
    .replace(/"id":"[0-9a-f-]{36}"/g, '"id":"BUNDLE"')
    .replace(/"lastUpdated":"[^"]+"/g, '"lastUpdated":"T"');
}
