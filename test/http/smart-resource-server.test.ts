/**
 * SMART on FHIR resource server (SMART App Launch 2.0.0 app-launch.html "Access token",
 * scopes-and-launch-context.html; RFC 6750 §3; FHIR R4 security.html): token verification (negative
 * cases), scope enforcement for every interaction, patient-compartment restriction inside queries,
 * `_include`/`_revinclude`, transactions, v2 query-restricted scopes, and an external issuer's JWKS.
 *
 * Tokens are signed here with key pairs generated per run; the verifier gets the public keys by `kid`
 * (the built-in issuer path) or from a tiny local JWKS server (the external issuer path).
 */
import assert from 'node:assert/strict';
import crypto, { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, TEST_BASE, testApp, type TestApp } from '../helpers/test-app';

const ISSUER = 'http://localhost:8080/auth';
const b64url = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

interface Entry {
  resource?: { resourceType: string; id: string };
  search?: { mode: string };
  response?: { status: string };
}
interface BundleBody {
  total?: number;
  entry?: Entry[];
}
const keys = (b: BundleBody, mode?: string): string[] =>
  (b.entry ?? [])
    .filter((e) => e.resource && (mode === undefined || e.search?.mode === mode))
    .map((e) => `${e.resource!.resourceType}/${e.resource!.id}`)
    .sort();

describe('HTTP: SMART on FHIR resource server', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let t: TestApp;

  const sign = (claims: Record<string, unknown>, opts: { key?: KeyObject; kid?: string; expiresIn?: number; audience?: string; issuer?: string } = {}): string =>
    jwt.sign({ client_id: 'test-app', sub: 'tester', jti: crypto.randomUUID(), ...claims }, opts.key ?? rsa.privateKey, {
      algorithm: 'RS256',
      keyid: opts.kid ?? 'k1',
      issuer: opts.issuer ?? ISSUER,
      audience: opts.audience ?? TEST_BASE,
      expiresIn: opts.expiresIn ?? 300,
    });
  const token = (scope: string, extra: Record<string, unknown> = {}): string => sign({ scope, ...extra });
  const SYSTEM = (): string => token('system/*.*');
  const patientToken = (scope: string, patient = 'a'): string => token(`launch/patient openid fhirUser ${scope}`, { patient });

  const get = (url: string, tok?: string): request.Test => {
    const r = request(t.app).get(url);
    return tok === undefined ? r : r.set('Authorization', `Bearer ${tok}`);
  };
  const put = (r: { resourceType: string; id: string } & Record<string, unknown>, tok: string): request.Test =>
    request(t.app).put(`/fhir/${r.resourceType}/${r.id}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
  const post = (url: string, body: unknown, tok: string): request.Test => request(t.app).post(url).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));

  const obs = (id: string, subject: string, category: string, extra: Record<string, unknown> = {}): { resourceType: string; id: string } & Record<string, unknown> => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
    code: { text: 'x' },
    subject: { reference: `Patient/${subject}` },
    performer: [{ reference: 'Practitioner/pr1' }],
    ...extra,
  });

  before(async () => {
    t = testApp({ ...GENERIC_ENGINE, AUTH_MODE: 'smart' }, { keys: (kid) => (kid === 'k1' ? rsa.publicKey : undefined) });
    const s = SYSTEM();
    for (const r of [
      { resourceType: 'Organization', id: 'org1', name: 'Org' },
      { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Who' }] },
      { resourceType: 'Patient', id: 'a', name: [{ family: 'Same' }], managingOrganization: { reference: 'Organization/org1' } },
      { resourceType: 'Patient', id: 'b', name: [{ family: 'Same' }], managingOrganization: { reference: 'Organization/org1' } },
      obs('ob1', 'b', 'laboratory'),
      obs('oa1', 'a', 'laboratory', { hasMember: [{ reference: 'Observation/ob1' }] }),
      obs('oa2', 'a', 'vital-signs'),
    ]) {
      const res = await put(r, s);
      assert.equal(res.status, 201, res.text);
    }
  });
  after(() => t.close());

  describe('authentication (401 with WWW-Authenticate)', () => {
    const assert401 = (res: request.Response, error: boolean, text?: RegExp): void => {
      assert.equal(res.status, 401, res.text);
      const h = String(res.headers['www-authenticate']);
      assert.match(h, /^Bearer realm="http:\/\/localhost:8080\/fhir"/);
      if (error) assert.match(h, /error="invalid_token", error_description="[^"]+"/);
      else assert.doesNotMatch(h, /error=/);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      if (text) assert.match(res.body.issue[0].diagnostics, text);
    };

    it('no token: 401 naming the Bearer scheme, without an error code (RFC 6750 §3.1)', async () => {
      assert401(await get('/fhir/Patient/a'), false);
      assert401(await get('/fhir/Patient?name=same'), false);
      assert401(await post('/fhir', { resourceType: 'Bundle', type: 'batch', entry: [] }, '').set('Authorization', ''), false);
    });

    it('a valid token is accepted', async () => {
      assert.equal((await get('/fhir/Patient/a', SYSTEM())).status, 200);
    });

    it('expired: 401; within the 30 s leeway: accepted', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = jwt.sign({ scope: 'system/*.*', exp: now - 120, iat: now - 600 }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE });
      assert401(await get('/fhir/Patient/a', expired), true, /expired/);
      const skewed = jwt.sign({ scope: 'system/*.*', exp: now - 10, iat: now - 600 }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE });
      assert.equal((await get('/fhir/Patient/a', skewed)).status, 200);
    });

    it('not yet valid (nbf in the future beyond the leeway): 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const early = jwt.sign({ scope: 'system/*.*', nbf: now + 600, exp: now + 900 }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE });
      assert401(await get('/fhir/Patient/a', early), true, /not valid before|not active|nbf/i);
    });

    it('wrong audience, wrong issuer: 401', async () => {
      assert401(await get('/fhir/Patient/a', sign({ scope: 'system/*.*' }, { audience: 'http://elsewhere.example/fhir' })), true, /audience/);
      assert401(await get('/fhir/Patient/a', sign({ scope: 'system/*.*' }, { issuer: 'http://evil.example/auth' })), true, /issuer/);
    });

    it('alg none: 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT', kid: 'k1' }))}.${b64url(JSON.stringify({ iss: ISSUER, aud: TEST_BASE, exp: now + 300, scope: 'system/*.*' }))}.`;
      assert401(await get('/fhir/Patient/a', none), true, /algorithm "none"/);
    });

    it('HS256 signed with the public key (algorithm confusion): 401', async () => {
      const now = Math.floor(Date.now() / 1000);
      const pem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
      const head = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' }))}.${b64url(JSON.stringify({ iss: ISSUER, aud: TEST_BASE, exp: now + 300, scope: 'system/*.*' }))}`;
      const forged = `${head}.${crypto.createHmac('sha256', pem).update(head).digest('base64url')}`;
      assert401(await get('/fhir/Patient/a', forged), true, /HS256/);
    });

    it('tampered payload (scope widened after signing): 401', async () => {
      const good = patientToken('patient/*.rs');
      const [h, , s] = good.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      payload['scope'] = 'system/*.*';
      delete payload['patient'];
      const tampered = `${h}.${b64url(JSON.stringify(payload))}.${s}`;
      assert401(await get('/fhir/Patient/b', tampered), true, /signature/);
    });

    it('signed by another key with the same kid, or an unknown kid: 401', async () => {
      assert401(await get('/fhir/Patient/a', sign({ scope: 'system/*.*' }, { key: other.privateKey })), true, /signature/);
      assert401(await get('/fhir/Patient/a', sign({ scope: 'system/*.*' }, { kid: 'k9' })), true, /kid/);
    });

    it('a token without exp, a malformed header, a non-JWT: 401', async () => {
      const noExp = jwt.sign({ scope: 'system/*.*' }, rsa.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: ISSUER, audience: TEST_BASE });
      assert401(await get('/fhir/Patient/a', noExp), true, /exp/);
      assert401(await request(t.app).get('/fhir/Patient/a').set('Authorization', 'Basic dXNlcjpwYXNz'), true, /Bearer/);
      assert401(await get('/fhir/Patient/a', 'not-a-jwt'), true, /compact JWS/);
    });
  });

  describe('public discovery with CORS', () => {
    it('/metadata needs no token and declares SMART (oauth-uris, service coding, cors)', async () => {
      const res = await get('/fhir/metadata');
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const sec = res.body.rest[0].security;
      assert.equal(sec.cors, true);
      assert.equal(sec.service[0].coding[0].code, 'SMART-on-FHIR');
      const uris = Object.fromEntries(sec.extension[0].extension.map((e: { url: string; valueUri: string }) => [e.url, e.valueUri]));
      assert.equal(sec.extension[0].url, 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
      assert.deepEqual(uris, { authorize: `${ISSUER}/authorize`, token: `${ISSUER}/token`, introspect: `${ISSUER}/introspect`, revoke: `${ISSUER}/revoke` });
    });

    it('[base]/.well-known/smart-configuration needs no token and has the SMART 2.0 fields', async () => {
      const res = await get('/fhir/.well-known/smart-configuration');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const c = res.body;
      assert.equal(c.issuer, ISSUER);
      assert.equal(c.jwks_uri, `${ISSUER}/jwks`);
      assert.equal(c.authorization_endpoint, `${ISSUER}/authorize`);
      assert.equal(c.token_endpoint, `${ISSUER}/token`);
      assert.equal(c.introspection_endpoint, `${ISSUER}/introspect`);
      assert.equal(c.revocation_endpoint, `${ISSUER}/revoke`);
      assert.ok(c.grant_types_supported.includes('authorization_code'));
      assert.ok(c.grant_types_supported.includes('client_credentials'));
      assert.deepEqual(c.code_challenge_methods_supported, ['S256']);
      assert.ok(c.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
      assert.ok(Array.isArray(c.capabilities) && c.capabilities.every((x: unknown) => typeof x === 'string'));
      for (const cap of ['launch-standalone', 'launch-ehr', 'permission-v2', 'permission-patient', 'sso-openid-connect']) assert.ok(c.capabilities.includes(cap), cap);
      assert.ok(c.scopes_supported.includes('launch/patient'));
    });

    it('OPTIONS preflight below the base allows the Authorization header', async () => {
      const res = await request(t.app).options('/fhir/Patient/a').set('Origin', 'https://app.example').set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'authorization');
      assert.equal(res.status, 204);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.match(String(res.headers['access-control-allow-headers']), /authorization/i);
      assert.match(String(res.headers['access-control-allow-methods']), /GET/);
    });

    it('FHIR responses carry CORS headers too (browser apps read with a bearer token)', async () => {
      const res = await get('/fhir/Patient/a', SYSTEM());
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.match(String(res.headers['access-control-expose-headers']), /WWW-Authenticate/);
    });
  });

  describe('scopes (403 with an OperationOutcome naming the scope)', () => {
    const assert403 = (res: request.Response, text: RegExp): void => {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.equal(res.body.issue[0].code, 'forbidden');
      assert.match(res.body.issue[0].diagnostics, text);
    };

    it('write with a read-only scope: 403 naming the write scope, WWW-Authenticate insufficient_scope', async () => {
      const res = await put(obs('oa2', 'a', 'vital-signs'), patientToken('patient/*.read'));
      assert403(res, /requires patient\/Observation\.u \(v1: patient\/Observation\.write\)/);
      assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="patient\/Observation\.u/);
      assert403(await request(t.app).delete('/fhir/Observation/oa2').set('Authorization', `Bearer ${token('user/*.rs')}`), /requires user\/Observation\.d/);
      assert403(await post('/fhir/Observation', obs('x', 'a', 'laboratory'), token('user/Observation.rus')), /requires user\/Observation\.c/);
    });

    it('a type the token does not name: 403; search without s, read without r: 403', async () => {
      assert403(await get('/fhir/Patient/a', token('user/Observation.rs')), /read of Patient\/a requires user\/Patient\.r/);
      assert403(await get('/fhir/Observation?status=final', token('user/Observation.r')), /search of Observation requires user\/Observation\.s/);
      assert403(await get('/fhir/Observation/oa1', token('user/Observation.s')), /requires user\/Observation\.r/);
      assert403(await get('/fhir', token('openid fhirUser')), /requires user\/\*\.s/);
    });

    it('each scope style works: v1 read/write/*, v2 cruds subsets, user/ and system/', async () => {
      assert.equal((await get('/fhir/Observation/ob1', token('user/Observation.read'))).status, 200);
      assert.equal((await get('/fhir/Observation/ob1', token('user/*.rs'))).status, 200);
      assert.equal((await get('/fhir/Observation?status=final', token('system/Observation.s'))).status, 200);
      const created = await post('/fhir/Observation', obs('new', 'b', 'laboratory'), token('user/Observation.write'));
      assert.equal(created.status, 201, created.text);
      const id = String(created.body.id);
      assert.equal((await put({ ...obs(id, 'b', 'laboratory'), status: 'amended' }, token('system/Observation.u'))).status, 200);
      assert.equal((await request(t.app).delete(`/fhir/Observation/${id}`).set('Authorization', `Bearer ${token('user/*.*')}`)).status < 300, true);
    });

    it('system search with a system scope sees every type; a type-limited scope only its type', async () => {
      const all = await get('/fhir?_type=Patient,Observation&_total=accurate', token('system/*.rs'));
      assert.equal(all.status, 200);
      assert.deepEqual(keys(all.body), ['Observation/oa1', 'Observation/oa2', 'Observation/ob1', 'Patient/a', 'Patient/b']);
      const obsOnly = await get('/fhir?_type=Patient,Observation&_total=accurate', token('system/Observation.rs'));
      assert.deepEqual(keys(obsOnly.body), ['Observation/oa1', 'Observation/oa2', 'Observation/ob1']);
      assert.equal(obsOnly.body.total, 3);
    });

    it('batch entries are each checked against the Bundle token (no re-authentication)', async () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Observation/ob1' } }, { request: { method: 'GET', url: 'Patient/b' } }],
      };
      const res = await post('/fhir', bundle, token('user/Observation.rs'));
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        (res.body.entry as Entry[]).map((e) => e.response?.status.slice(0, 3)),
        ['200', '403'],
      );
    });

    it('operations: non-state-changing type-level $validate needs s on the type', async () => {
      const ok = await post('/fhir/Observation/$validate', obs('v', 'a', 'laboratory'), token('user/Observation.s'));
      assert.equal(ok.status, 200, ok.text);
      assert403(await post('/fhir/Observation/$validate', obs('v', 'a', 'laboratory'), token('user/Patient.s')), /operation \$validate of Observation requires user\/Observation\.s/);
    });
  });

  describe('patient-context tokens (compartment restriction inside the query)', () => {
    const assert403 = (res: request.Response, text?: RegExp): void => {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      if (text) assert.match(res.body.issue[0].diagnostics, text);
    };
    /** The answer about a resource outside the compartment is the answer about one that does not exist. */
    const assertHidden = (outside: request.Response, absent: request.Response): void => {
      assert.equal(outside.status, absent.status, outside.text);
      const norm = (r: request.Response): string => r.text.replace(/ob1|oa2|\bb\b|nope/g, 'ID');
      assert.equal(norm(outside), norm(absent));
    };

    it('reads inside the compartment succeed; another patient\'s resources answer as if they did not exist', async () => {
      const tok = patientToken('patient/*.rs');
      assert.equal((await get('/fhir/Patient/a', tok)).status, 200);
      assert.equal((await get('/fhir/Observation/oa1', tok)).status, 200);
      for (const [outside, absent] of [
        ['/fhir/Patient/b', '/fhir/Patient/nope'],
        ['/fhir/Observation/ob1', '/fhir/Observation/nope'],
        ['/fhir/Observation/ob1/_history/1', '/fhir/Observation/nope/_history/1'],
        ['/fhir/Observation/ob1/_history', '/fhir/Observation/nope/_history'],
      ] as const) {
        assertHidden(await get(outside, tok), await get(absent, tok));
      }
      assert.equal((await get('/fhir/Observation/oa1/_history', tok)).status, 200);
      assert.equal((await get('/fhir/Observation/oa1/_history/1', tok)).status, 200);
      // Types with no Patient compartment membership: nothing from a patient/ scope.
      assert403(await get('/fhir/Organization/org1', tok));
      assert403(await get('/fhir/Practitioner/pr1', tok));
    });

    it('search results and totals count only the compartment', async () => {
      const tok = patientToken('patient/*.rs');
      const res = await get('/fhir/Observation?_total=accurate', tok);
      assert.deepEqual(keys(res.body), ['Observation/oa1', 'Observation/oa2']);
      assert.equal(res.body.total, 2);
      const other = await get('/fhir/Observation?subject=Patient/b&_total=accurate', tok);
      assert.deepEqual(keys(other.body), []);
      assert.equal(other.body.total, 0);
      const pats = await get('/fhir/Patient?name=same&_total=accurate', tok);
      assert.deepEqual(keys(pats.body), ['Patient/a']);
      assert.equal(pats.body.total, 1);
      const orgs = await get('/fhir/Organization?_total=accurate', tok);
      assert.equal(orgs.body.total, 0);
      const compartment = await get('/fhir/Patient/b/Observation?_total=accurate', tok);
      assert.equal(compartment.body.total, 0);
    });

    it('_include does not leak another compartment (hasMember -> ob1 of patient b; performer not in the compartment)', async () => {
      const tok = patientToken('patient/*.rs');
      const res = await get('/fhir/Observation?_include=Observation:has-member&_include=Observation:performer&_include=Observation:subject', tok);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(keys(res.body, 'match'), ['Observation/oa1', 'Observation/oa2']);
      assert.deepEqual(keys(res.body, 'include'), ['Patient/a']);
      const wild = await get('/fhir/Observation?_include=*', tok);
      assert.ok(!keys(wild.body).includes('Observation/ob1'));
      assert.ok(!keys(wild.body).includes('Practitioner/pr1'));
    });

    it('_revinclude does not leak another compartment', async () => {
      const tok = patientToken('patient/*.rs');
      const res = await get('/fhir/Patient?_revinclude=Observation:subject&_revinclude=Observation:has-member', tok);
      assert.deepEqual(keys(res.body, 'match'), ['Patient/a']);
      assert.deepEqual(keys(res.body, 'include'), ['Observation/oa1', 'Observation/oa2']);
      // The organisation is shared, but it is not in the compartment, and patient b never comes back.
      const org = await get('/fhir/Organization?_revinclude=Patient:organization', tok);
      assert.deepEqual(keys(org.body), []);
    });

    it('system search is restricted type by type', async () => {
      const res = await get('/fhir?_type=Patient,Observation,Organization&_total=accurate', patientToken('patient/*.rs'));
      assert.deepEqual(keys(res.body), ['Observation/oa1', 'Observation/oa2', 'Patient/a']);
      assert.equal(res.body.total, 3);
    });

    it('type and system history are refused (they cannot be restricted in the store)', async () => {
      assert403(await get('/fhir/Observation/_history', patientToken('patient/*.rs')), /history/);
      assert403(await get('/fhir/_history', patientToken('patient/*.rs')));
      assert.equal((await get('/fhir/Observation/_history', token('user/Observation.rs'))).status, 200);
    });

    it('writes inside the compartment are allowed; outside it refused (as written and as stored)', async () => {
      const tok = patientToken('patient/*.cruds');
      const mine = await post('/fhir/Observation', obs('x', 'a', 'laboratory'), tok);
      assert.equal(mine.status, 201, mine.text);
      assert403(await post('/fhir/Observation', obs('x', 'b', 'laboratory'), tok), /as written/);
      // Moving one's own Observation to another patient; overwriting or deleting another patient's
      // Observation answers as for an id that does not exist (update-as-create is not available).
      assert403(await put(obs('oa2', 'b', 'vital-signs'), tok), /as written/);
      assertHidden(await put(obs('ob1', 'a', 'laboratory'), tok), await put(obs('nope', 'a', 'laboratory'), tok));
      assertHidden(await request(t.app).delete('/fhir/Observation/ob1').set('Authorization', `Bearer ${tok}`), await request(t.app).delete('/fhir/Observation/nope').set('Authorization', `Bearer ${tok}`));
      assert403(await post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'New' }] }, tok));
      assert.equal((await put(obs('oa9', 'a', 'laboratory'), tok)).status, 404);
      const cleanup = await request(t.app).delete(`/fhir/Observation/${String(mine.body.id)}`).set('Authorization', `Bearer ${tok}`);
      assert.ok(cleanup.status < 300);
      assert.equal((await get('/fhir/Observation/ob1', SYSTEM())).body.subject.reference, 'Patient/b');
    });

    it('a patch is checked before (stored) and after (result), the refused result rolled back', async () => {
      const tok = patientToken('patient/*.cruds');
      const patch = (id: string, ops: unknown[]): request.Test =>
        request(t.app).patch(`/fhir/Observation/${id}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify(ops));
      assertHidden(await patch('ob1', [{ op: 'replace', path: '/status', value: 'amended' }]), await patch('nope', [{ op: 'replace', path: '/status', value: 'amended' }]));
      assert403(await patch('oa2', [{ op: 'replace', path: '/subject/reference', value: 'Patient/b' }]), /references Patient\/b/);
      const after = await get('/fhir/Observation/oa2', SYSTEM());
      assert.equal(after.body.subject.reference, 'Patient/a');
      assert.equal(after.body.meta.versionId, '1');
      assert.equal((await patch('oa2', [{ op: 'replace', path: '/status', value: 'amended' }])).status, 200);
    });

    it('conditional writes are refused with restricted scopes', async () => {
      const tok = patientToken('patient/*.cruds');
      const res = await request(t.app).put('/fhir/Observation?code=x').set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(obs('oa1', 'a', 'laboratory')));
      assert403(res, /conditional/);
      assert403(await request(t.app).delete('/fhir/Observation?subject=Patient/b').set('Authorization', `Bearer ${tok}`), /conditional/);
    });

    it('a transaction with one entry outside the scope is refused and leaves nothing behind', async () => {
      const tok = patientToken('patient/*.cruds');
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:2b1c5a52-7f4e-4c59-9a57-0a1f6d1e0c01', resource: { ...obs('t1', 'a', 'laboratory'), id: undefined, identifier: [{ system: 'urn:test', value: 'tx-left-behind' }] }, request: { method: 'POST', url: 'Observation' } },
          { resource: obs('ob1', 'b', 'laboratory', { status: 'amended' }), request: { method: 'PUT', url: 'Observation/ob1' } },
        ],
      };
      const res = await post('/fhir', bundle, tok);
      assert.equal(res.status, 403, res.text);
      const left = await get('/fhir/Observation?identifier=urn:test|tx-left-behind&_total=accurate', SYSTEM());
      assert.equal(left.body.total, 0);
      assert.equal((await get('/fhir/Observation/ob1', SYSTEM())).body.status, 'final');
    });

    it('a patient/ scope without a patient in context grants nothing', async () => {
      const tok = token('patient/*.rs');
      assert.equal((await get('/fhir/Observation?_total=accurate', tok)).body.total, 0);
      assert403(await get('/fhir/Observation/oa1', tok));
    });

    it('a user/ scope alongside patient/ scopes is not restricted to the compartment', async () => {
      const tok = patientToken('patient/*.rs user/Practitioner.rs');
      assert.equal((await get('/fhir/Practitioner/pr1', tok)).status, 200);
      const inc = await get('/fhir/Observation?_include=Observation:performer', tok);
      assert.deepEqual(keys(inc.body, 'include'), ['Practitioner/pr1']);
    });

    it('type-level operations need an unrestricted scope', async () => {
      assert403(await post('/fhir/Observation/$validate', obs('v', 'a', 'laboratory'), patientToken('patient/*.rs')), /unrestricted/);
    });
  });

  describe('v2 query-restricted scopes', () => {
    it('patient/Observation.rs?category=laboratory: only laboratory results of the patient', async () => {
      const tok = patientToken('patient/Patient.rs patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
      const res = await get('/fhir/Observation?_total=accurate', tok);
      assert.equal(res.status, 200, res.text);
      assert.ok(keys(res.body).includes('Observation/oa1'));
      assert.ok(!keys(res.body).includes('Observation/oa2'), 'vital signs are outside the scope');
      assert.ok(!keys(res.body).includes('Observation/ob1'), 'another patient');
      assert.equal((await get('/fhir/Observation/oa1', tok)).status, 200);
      assert.equal((await get('/fhir/Observation/oa2', tok)).status, 404);
      assert.equal((await get('/fhir/Observation/ob1', tok)).status, 404);
    });

    it('user/Observation.rs?category=laboratory: every patient, laboratory only; writes need their own scope', async () => {
      const tok = token('user/Observation.rs?category=laboratory user/Observation.c?category=laboratory');
      const res = await get('/fhir/Observation?_total=accurate', tok);
      assert.ok(keys(res.body).includes('Observation/ob1'));
      assert.ok(!keys(res.body).includes('Observation/oa2'));
      assert.equal((await post('/fhir/Observation', obs('n', 'b', 'laboratory'), tok)).status, 201);
      assert.equal((await post('/fhir/Observation', obs('n', 'b', 'vital-signs'), tok)).status, 403);
    });

    it('a query restriction the server cannot parse grants nothing (fail closed)', async () => {
      const tok = token('user/Observation.rs?no-such-parameter=1');
      assert.equal((await get('/fhir/Observation?_total=accurate', tok)).body.total, 0);
      assert.equal((await get('/fhir/Observation/oa1', tok)).status, 403);
    });
  });
});

describe('HTTP: SMART resource server with an external issuer (JWKS URL)', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const EXT = 'https://idp.example.org/realms/fhir';
  let jwks: { keys: JsonWebKey[] } = { keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec1', alg: 'ES384', use: 'sig' }] };
  let fetches = 0;
  let server: http.Server;
  let t: TestApp;

  before(async () => {
    server = http.createServer((req, res) => {
      fetches++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    t = testApp({ ...GENERIC_ENGINE, AUTH_MODE: 'smart', AUTH_ISSUER: EXT, AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks` });
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const sign = (key: KeyObject, alg: 'ES384' | 'RS256', kid: string, issuer = EXT): string =>
    jwt.sign({ scope: 'system/*.rs', client_id: 'backend' }, key, { algorithm: alg, keyid: kid, issuer, audience: TEST_BASE, expiresIn: 300 });

  it('accepts an ES384 token whose key comes from the JWKS, and caches the key set', async () => {
    const tok = sign(ec.privateKey, 'ES384', 'ec1');
    assert.equal((await request(t.app).get('/fhir/Patient').set('Authorization', `Bearer ${tok}`)).status, 200);
    const before = fetches;
    assert.equal((await request(t.app).get('/fhir/Patient').set('Authorization', `Bearer ${tok}`)).status, 200);
    assert.equal(fetches, before, 'the second request uses the cached key');
  });

  it('an unknown kid makes it fetch the key set again (key rotation)', async () => {
    jwks = { keys: [...jwks.keys, { ...rotated.publicKey.export({ format: 'jwk' }), kid: 'rsa2', alg: 'RS256', use: 'sig' }] };
    const before = fetches;
    const res = await request(t.app).get('/fhir/Patient').set('Authorization', `Bearer ${sign(rotated.privateKey, 'RS256', 'rsa2')}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(fetches > before);
  });

  it('refuses the built-in issuer and keys the JWKS does not hold', async () => {
    const res = await request(t.app).get('/fhir/Patient').set('Authorization', `Bearer ${sign(ec.privateKey, 'ES384', 'ec1', ISSUER)}`);
    assert.equal(res.status, 401);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const res2 = await request(t.app).get('/fhir/Patient').set('Authorization', `Bearer ${sign(stranger.privateKey, 'ES384', 'nope')}`);
    assert.equal(res2.status, 401);
    assert.match(String(res2.headers['www-authenticate']), /invalid_token/);
  });
});

describe('HTTP: AUTH_MODE=off (the engine test default)', () => {
  it('serves without a token, declares no security and no SMART discovery', async () => {
    const t = testApp(GENERIC_ENGINE);
    try {
      assert.equal((await request(t.app).get('/fhir/Patient')).status, 200);
      const md = await request(t.app).get('/fhir/metadata');
      assert.equal(md.body.rest[0].security, undefined);
      assert.equal((await request(t.app).get('/fhir/.well-known/smart-configuration')).status, 404);
    } finally {
      await t.close();
    }
  });
});
