/**
 * The built-in SMART authorization server over the real server (SMART App Launch 2.0.0
 * app-launch.html, backend-services.html, token-introspection.html; RFC 6749, RFC 7636, RFC 7009,
 * RFC 7662, RFC 7523): PKCE, redirect URI matching, single-use codes, refresh rotation, scope
 * escalation, client assertions (replay, audience, expiry), introspection, revocation (the FHIR API
 * then refuses the token), no-store headers, JWKS, EHR launch and the id token.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import request from 'supertest';
import jwt from 'jsonwebtoken';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer, type RunningServer } from '../../src/main';
import type { TokenResponse } from '../../src/auth/server/tokens';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';
import { clientAssertion, cookieFrom, hiddenField, JWT_BEARER, pkce } from '../helpers/smart-flow';

const BASE = 'http://localhost:8080/fhir';
const ISSUER = 'http://localhost:8080/auth';
const TOKEN_URL = `${ISSUER}/token`;
const REDIRECT = 'http://127.0.0.1:9/callback';
const FHIR_JSON = 'application/fhir+json';
const jtiOf = (token: string): string => String((jwt.decode(token) as jwt.JwtPayload).jti);

/** A token endpoint answer: a token response, or an RFC 6749 error. */
type TokenBody = TokenResponse & { error?: string };

describe('HTTP: built-in SMART authorization server', function () {
  let running: RunningServer;
  let dir: string;
  let rsa: { privateKey: KeyObject; kid: string };
  let ec: { privateKey: KeyObject; kid: string };

  const agent = (): request.Agent => request.agent(running.server);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smart-auth-'));
    const r = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const e = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    rsa = { privateKey: r.privateKey, kid: 'rsa-1' };
    ec = { privateKey: e.privateKey, kid: 'ec-1' };
    const clients = {
      clients: [
        { client_id: 'app', client_name: 'Test <app>', redirect_uris: [REDIRECT], scope: 'openid fhirUser launch launch/patient offline_access patient/*.rs user/*.rs', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] },
        { client_id: 'other', redirect_uris: [REDIRECT], scope: 'patient/*.rs offline_access launch/patient', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] },
        {
          client_id: 'backend',
          scope: 'system/*.rs system/Patient.cruds',
          token_endpoint_auth_method: 'private_key_jwt',
          grant_types: ['client_credentials'],
          jwks: {
            keys: [
              { ...createPublicKey(r.privateKey).export({ format: 'jwk' }), kid: rsa.kid, alg: 'RS384' },
              { ...createPublicKey(e.privateKey).export({ format: 'jwk' }), kid: ec.kid, alg: 'ES384' },
            ],
          },
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'clients.json'), JSON.stringify(clients));
    // Generic Patients under client ids (p1, p2): the generic engine's id rules, not the NHS Number ids.
    const config = loadConfig({ SQLITE_PATH: ':memory:', PORT: '0', BASE_URL: BASE, LOG_LEVEL: 'silent', AUTH_MODE: 'smart', REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server', AUTH_CLIENTS_FILE: path.join(dir, 'clients.json') });
    running = await startServer(config, silentLogger());
    // Two patients, written with a backend token.
    const token = await backendToken('system/Patient.cruds');
    for (const [id, family] of [['p1', 'Alpha'], ['p2', 'Beta']] as const) {
      const res = await request(running.server).put(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id, name: [{ family, given: ['Pat'] }] }));
      assert.ok(res.status === 201 || res.status === 200, res.text);
    }
  });
  after(async () => {
    await running?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const assertion = (over: Partial<Parameters<typeof clientAssertion>[0]> = {}): string => clientAssertion({ clientId: 'backend', aud: TOKEN_URL, key: rsa.privateKey, kid: rsa.kid, ...over });

  async function backendToken(scope: string): Promise<string> {
    const res = await request(running.server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: assertion() });
    assert.equal(res.status, 200, res.text);
    return (res.body as TokenBody).access_token;
  }

  function authorizeUrl(over: Record<string, string | undefined> = {}, challenge = pkce().challenge): string {
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: 'app',
      redirect_uri: REDIRECT,
      scope: 'launch/patient patient/*.rs openid fhirUser offline_access',
      state: 'st-123',
      aud: BASE,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...over,
    };
    const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
    return `/auth/authorize?${q.toString()}`;
  }

  /** Runs the browser part of the flow; returns the redirect Location. */
  async function authorize(opts: { over?: Record<string, string | undefined>; challenge: string; user?: string; pick?: string }): Promise<URL> {
    const a = agent();
    const page = await a.get(authorizeUrl(opts.over, opts.challenge));
    assert.equal(page.status, 200, page.text);
    const user = opts.user ?? 'dev-practitioner';
    const login = await a.post('/auth/login').type('form').send({ tx: hiddenField(page.text, 'tx'), csrf: hiddenField(page.text, 'csrf'), username: user, password: user, action: 'login' });
    let final = login;
    if (login.status === 200) {
      assert.match(login.text, /Choose a patient/);
      final = await a.post('/auth/pick').type('form').send({ tx: hiddenField(login.text, 'tx'), csrf: hiddenField(login.text, 'csrf'), patient: opts.pick ?? 'p1' });
    }
    assert.equal(final.status, 303, final.text);
    return new URL(String(final.headers['location']));
  }

  async function codeFlow(scope?: string, user?: string): Promise<{ body: TokenBody; verifier: string }> {
    const { verifier, challenge } = pkce();
    const loc = await authorize({ challenge, ...(scope ? { over: { scope } } : {}), ...(user ? { user } : {}) });
    const res = await request(running.server).post('/auth/token').type('form').send({ grant_type: 'authorization_code', client_id: 'app', redirect_uri: REDIRECT, code: loc.searchParams.get('code') ?? '', code_verifier: verifier });
    assert.equal(res.status, 200, res.text);
    return { body: res.body as TokenBody, verifier };
  }

  const tokenPost = (form: Record<string, string>): request.Test => request(running.server).post('/auth/token').type('form').send(form);

  describe('authorization endpoint', () => {
    it('refuses a missing PKCE challenge and the plain method, to the redirect URI with the state', async () => {
      for (const over of [{ code_challenge: undefined }, { code_challenge_method: 'plain' }, { code_challenge_method: undefined }]) {
        const res = await request(running.server).get(authorizeUrl(over));
        assert.equal(res.status, 302);
        const loc = new URL(String(res.headers['location']));
        assert.equal(`${loc.origin}${loc.pathname}`, REDIRECT);
        assert.equal(loc.searchParams.get('error'), 'invalid_request');
        assert.equal(loc.searchParams.get('state'), 'st-123');
      }
    });

    it('never redirects to an unregistered redirect URI or for an unknown client', async () => {
      for (const over of [{ redirect_uri: 'http://127.0.0.1:9/callback/other' }, { redirect_uri: 'http://evil.example/callback' }, { redirect_uri: undefined }, { client_id: 'nobody' }]) {
        const res = await request(running.server).get(authorizeUrl(over));
        assert.equal(res.status, 400);
        assert.equal(res.headers['location'], undefined);
        assert.match(String(res.headers['content-type']), /text\/html/);
      }
    });

    it('refuses a wrong aud, a missing state, scopes beyond the registration and other response types', async () => {
      const cases: Array<[Record<string, string | undefined>, string]> = [
        [{ aud: 'http://elsewhere.example/fhir' }, 'invalid_request'],
        [{ state: undefined }, 'invalid_request'],
        [{ scope: 'patient/*.cruds' }, 'invalid_scope'],
        [{ scope: 'system/*.rs' }, 'invalid_scope'],
        [{ response_type: 'token' }, 'unsupported_response_type'],
      ];
      for (const [over, error] of cases) {
        const res = await request(running.server).get(authorizeUrl(over));
        assert.equal(res.status, 302, JSON.stringify(over));
        assert.equal(new URL(String(res.headers['location'])).searchParams.get('error'), error, JSON.stringify(over));
      }
    });

    it('escapes what it writes into the login page and requires the CSRF token and the browser cookie', async () => {
      const a = agent();
      const page = await a.get(authorizeUrl());
      assert.ok(page.text.includes('Test &lt;app&gt;'));
      assert.ok(!page.text.includes('Test <app>'));
      const tx = hiddenField(page.text, 'tx');
      const csrf = hiddenField(page.text, 'csrf');
      const forged = await a.post('/auth/login').type('form').send({ tx, csrf: 'x'.repeat(43), username: 'dev-practitioner', password: 'dev-practitioner' });
      assert.equal(forged.status, 403);
      const otherBrowser = await request(running.server).post('/auth/login').type('form').send({ tx, csrf, username: 'dev-practitioner', password: 'dev-practitioner' });
      assert.equal(otherBrowser.status, 403);
      const wrong = await a.post('/auth/login').type('form').send({ tx, csrf, username: 'dev-practitioner', password: 'nope' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /Wrong user name or password/);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.ok(cookieFrom(page.headers['set-cookie']).startsWith('smart_auth='));
    });

    it('lists patients found by name on the picker page', async () => {
      const a = agent();
      const page = await a.get(authorizeUrl());
      const login = await a.post('/auth/login').type('form').send({ tx: hiddenField(page.text, 'tx'), csrf: hiddenField(page.text, 'csrf'), username: 'dev-practitioner', password: 'dev-practitioner' });
      assert.match(login.text, /Pat Alpha/);
      assert.match(login.text, /Pat Beta/);
      const search = await a.get(`/auth/picker?tx=${hiddenField(login.text, 'tx')}&name=beta`);
      assert.equal(search.status, 200);
      assert.match(search.text, /Pat Beta/);
      assert.doesNotMatch(search.text, /Pat Alpha/);
    });

    it('sends access_denied with the state when the user denies', async () => {
      const a = agent();
      const page = await a.get(authorizeUrl());
      const res = await a.post('/auth/login').type('form').send({ tx: hiddenField(page.text, 'tx'), csrf: hiddenField(page.text, 'csrf'), action: 'deny' });
      assert.equal(res.status, 303);
      const loc = new URL(String(res.headers['location']));
      assert.equal(loc.searchParams.get('error'), 'access_denied');
      assert.equal(loc.searchParams.get('state'), 'st-123');
    });
  });

  describe('token endpoint: authorization code', () => {
    it('returns the redirect with code and state, then tokens with patient context, an id token and no-store headers', async () => {
      const { verifier, challenge } = pkce();
      const loc = await authorize({ challenge, over: { nonce: 'n-1' } });
      assert.equal(loc.searchParams.get('state'), 'st-123');
      const res = await tokenPost({ grant_type: 'authorization_code', client_id: 'app', redirect_uri: REDIRECT, code: loc.searchParams.get('code') ?? '', code_verifier: verifier });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['pragma'], 'no-cache');
      const body = res.body as TokenBody;
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.patient, 'p1');
      assert.ok(body.expires_in > 0 && body.refresh_token);
      assert.equal(body.scope, 'launch/patient patient/*.rs openid fhirUser offline_access');
      const claims = jwt.decode(body.access_token, { complete: true });
      assert.ok(claims && typeof claims.payload !== 'string');
      assert.equal(claims.header.alg, 'RS256');
      assert.equal(claims.header.kid, running.auth?.keys.kid);
      for (const [k, v] of Object.entries({ iss: ISSUER, aud: BASE, sub: 'dev-practitioner', client_id: 'app', patient: 'p1', fhirUser: 'Practitioner/dev-practitioner' })) assert.equal(claims.payload[k], v, k);
      assert.ok(typeof claims.payload.jti === 'string' && typeof claims.payload.exp === 'number' && typeof claims.payload.iat === 'number');
      const id = jwt.verify(body.id_token ?? '', createPublicKey(running.auth?.keys.privateKey as KeyObject), { algorithms: ['RS256'], audience: 'app', issuer: ISSUER }) as jwt.JwtPayload;
      assert.equal(id['fhirUser'], `${BASE}/Practitioner/dev-practitioner`);
      assert.equal(id['nonce'], 'n-1');
    });

    it('refuses a wrong or missing code_verifier', async () => {
      for (const verifier of [pkce().verifier, undefined]) {
        const { challenge } = pkce();
        const loc = await authorize({ challenge });
        const form: Record<string, string> = { grant_type: 'authorization_code', client_id: 'app', redirect_uri: REDIRECT, code: loc.searchParams.get('code') ?? '' };
        if (verifier) form['code_verifier'] = verifier;
        const res = await tokenPost(form);
        assert.equal(res.status, 400);
        assert.equal((res.body as TokenBody).error, 'invalid_grant');
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    });

    it('refuses a redirect_uri or client other than the authorization request', async () => {
      const { verifier, challenge } = pkce();
      const loc = await authorize({ challenge });
      const code = loc.searchParams.get('code') ?? '';
      const wrongUri = await tokenPost({ grant_type: 'authorization_code', client_id: 'app', redirect_uri: `${REDIRECT}x`, code, code_verifier: verifier });
      assert.equal((wrongUri.body as TokenBody).error, 'invalid_grant');
      const { verifier: v2, challenge: c2 } = pkce();
      const loc2 = await authorize({ challenge: c2 });
      const otherClient = await tokenPost({ grant_type: 'authorization_code', client_id: 'other', redirect_uri: REDIRECT, code: loc2.searchParams.get('code') ?? '', code_verifier: v2 });
      assert.equal((otherClient.body as TokenBody).error, 'invalid_grant');
    });

    it('accepts a code once: reuse is refused and revokes the tokens it issued', async () => {
      const { verifier, challenge } = pkce();
      const loc = await authorize({ challenge });
      const form = { grant_type: 'authorization_code', client_id: 'app', redirect_uri: REDIRECT, code: loc.searchParams.get('code') ?? '', code_verifier: verifier };
      const first = await tokenPost(form);
      assert.equal(first.status, 200);
      const again = await tokenPost(form);
      assert.equal(again.status, 400);
      assert.equal((again.body as TokenBody).error, 'invalid_grant');
      assert.equal(running.auth?.isRevoked(jtiOf((first.body as TokenBody).access_token)), true);
    });

    it('answers unknown grant types, unknown clients and bad content types per RFC 6749', async () => {
      assert.equal(((await tokenPost({ grant_type: 'password', client_id: 'app' })).body as TokenBody).error, 'unsupported_grant_type');
      const unknown = await tokenPost({ grant_type: 'authorization_code', client_id: 'nobody', code: 'x', redirect_uri: REDIRECT, code_verifier: pkce().verifier });
      assert.equal(unknown.status, 401);
      assert.equal((unknown.body as TokenBody).error, 'invalid_client');
      const json = await request(running.server).post('/auth/token').send({ grant_type: 'client_credentials' });
      assert.equal((json.body as TokenBody).error, 'invalid_request');
    });

    it('gives a Patient user their own patient and never user/ scopes', async () => {
      const { body } = await codeFlow('launch/patient patient/*.rs user/*.rs', 'dev-patient');
      assert.equal(body.patient, DEV_PATIENT_ID);
      assert.equal(body.scope, 'launch/patient patient/*.rs');
    });
  });

  describe('token endpoint: refresh', () => {
    it('rotates refresh tokens: the old one is refused, and its reuse revokes the family', async () => {
      const { body } = await codeFlow();
      const r1 = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '' });
      assert.equal(r1.status, 200, r1.text);
      const b1 = r1.body as TokenBody;
      assert.ok(b1.refresh_token && b1.refresh_token !== body.refresh_token);
      assert.equal(b1.patient, 'p1');
      assert.equal(b1.scope, body.scope);
      const ok = await request(running.server).get('/fhir/Patient/p1').set('Authorization', `Bearer ${b1.access_token}`);
      assert.equal(ok.status, 200, ok.text);
      const reuse = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '' });
      assert.equal(reuse.status, 400);
      assert.equal((reuse.body as TokenBody).error, 'invalid_grant');
      // The whole family is gone: the rotated refresh token and the access token issued with it.
      const after = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: b1.refresh_token });
      assert.equal((after.body as TokenBody).error, 'invalid_grant');
      assert.equal(running.auth?.isRevoked(jtiOf(b1.access_token)), true);
      assert.equal(running.auth?.isRevoked(jtiOf(body.access_token)), true);
    });

    it('a public client refreshes without client_id, as fhirclient does (RFC 6749 §6); discovery lists the methods that work', async () => {
      const { body } = await codeFlow();
      const r1 = await tokenPost({ grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '' });
      assert.equal(r1.status, 200, r1.text);
      const b1 = r1.body as TokenBody;
      assert.ok(b1.refresh_token && b1.refresh_token !== body.refresh_token, 'rotated');
      assert.equal(b1.scope, body.scope);
      assert.equal((jwt.decode(b1.access_token) as jwt.JwtPayload)['client_id'], 'app');
      const ok = await request(running.server).get('/fhir/Patient/p1').set('Authorization', `Bearer ${b1.access_token}`);
      assert.equal(ok.status, 200, ok.text);
      // Reuse without client_id still revokes the family; an unknown token is invalid_grant.
      const reuse = await tokenPost({ grant_type: 'refresh_token', refresh_token: body.refresh_token ?? '' });
      assert.equal((reuse.body as TokenBody).error, 'invalid_grant');
      assert.equal(running.auth?.isRevoked(jtiOf(b1.access_token)), true);
      assert.equal((await tokenPost({ grant_type: 'refresh_token', refresh_token: 'not-a-token' })).body.error, 'invalid_grant');
      const smart = await request(running.server).get('/fhir/.well-known/smart-configuration');
      assert.deepEqual(smart.body.token_endpoint_auth_methods_supported, ['none', 'private_key_jwt']);
    });

    it('refuses scope escalation on refresh and allows narrowing', async () => {
      const { body } = await codeFlow();
      const esc = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '', scope: 'patient/*.rs user/*.rs offline_access' });
      assert.equal(esc.status, 400);
      assert.equal((esc.body as TokenBody).error, 'invalid_scope');
      const narrow = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '', scope: 'patient/Patient.r offline_access' });
      assert.equal(narrow.status, 200, narrow.text);
      assert.equal((narrow.body as TokenBody).scope, 'patient/Patient.r offline_access');
    });

    it('refuses a refresh token presented by another client', async () => {
      const { body } = await codeFlow();
      const res = await tokenPost({ grant_type: 'refresh_token', client_id: 'other', refresh_token: body.refresh_token ?? '' });
      assert.equal((res.body as TokenBody).error, 'invalid_grant');
      const still = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '' });
      assert.equal(still.status, 200);
    });
  });

  describe('token endpoint: backend services', () => {
    it('issues a system token for RS384 and ES384 assertions', async () => {
      for (const key of [rsa, ec]) {
        const res = await tokenPost({ grant_type: 'client_credentials', scope: 'system/Observation.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion({ key: key.privateKey, kid: key.kid, alg: key === ec ? 'ES384' : 'RS384' }) });
        assert.equal(res.status, 200, res.text);
        const body = res.body as TokenBody;
        assert.equal(body.scope, 'system/Observation.rs');
        assert.equal(body.refresh_token, undefined);
        assert.equal(res.headers['cache-control'], 'no-store');
      }
    });

    it('refuses a replayed assertion (same jti twice)', async () => {
      const a = assertion({ jti: 'once-only' });
      const form = { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: a };
      assert.equal((await tokenPost(form)).status, 200);
      const replay = await tokenPost(form);
      assert.equal(replay.status, 401);
      assert.equal((replay.body as TokenBody).error, 'invalid_client');
    });

    it('refuses a wrong aud, an expired assertion, an exp too far ahead, a foreign key and a wrong assertion type', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const bad = [
        assertion({ aud: `${ISSUER}/other` }),
        assertion({ expiresIn: -120 }),
        assertion({ expiresIn: 3600 }),
        assertion({ key: other }),
        assertion({ iss: 'someone-else' }),
      ];
      for (const a of bad) {
        const res = await tokenPost({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: a });
        assert.equal(res.status, 401, res.text);
        assert.equal((res.body as TokenBody).error, 'invalid_client');
      }
      const wrongType = await tokenPost({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:x', client_assertion: assertion() });
      assert.equal(wrongType.status, 401);
    });

    it('grants only system/ scopes the client registered', async () => {
      for (const scope of ['patient/*.rs', 'system/Observation.cruds', 'user/*.rs']) {
        const res = await tokenPost({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: assertion() });
        assert.equal(res.status, 400, scope);
        assert.equal((res.body as TokenBody).error, 'invalid_scope');
      }
      const publicClient = await tokenPost({ grant_type: 'client_credentials', scope: 'system/*.rs', client_id: 'app' });
      assert.equal((publicClient.body as TokenBody).error, 'unauthorized_client');
    });
  });

  describe('introspection, revocation, JWKS, EHR launch', () => {
    it('introspects an active token (with a bearer token), reports revoked and unknown ones inactive, and the FHIR API refuses a revoked one', async () => {
      const { body } = await codeFlow();
      const intro = (token: string, bearer = body.access_token): request.Test => request(running.server).post('/auth/introspect').set('Authorization', `Bearer ${bearer}`).type('form').send({ token });
      const active = await intro(body.access_token);
      assert.equal(active.status, 200);
      const a = active.body as Record<string, unknown>;
      assert.equal(a['active'], true);
      assert.equal(a['patient'], 'p1');
      assert.equal(a['client_id'], 'app');
      assert.equal(a['fhirUser'], 'Practitioner/dev-practitioner');
      assert.equal(a['scope'], body.scope);
      assert.equal(typeof a['exp'], 'number');
      assert.deepEqual((await intro('not-a-token')).body, { active: false });
      const system = await backendToken('system/*.rs');
      const before = await request(running.server).get('/fhir/Patient/p1').set('Authorization', `Bearer ${body.access_token}`);
      assert.equal(before.status, 200, before.text);
      const revoke = await request(running.server).post('/auth/revoke').type('form').send({ client_id: 'app', token: body.access_token });
      assert.equal(revoke.status, 200);
      assert.deepEqual((await intro(body.access_token, system)).body, { active: false });
      // The FHIR API refuses the revoked access token at once (the verifier consults the revocation list).
      const after = await request(running.server).get('/fhir/Patient/p1').set('Authorization', `Bearer ${body.access_token}`);
      assert.equal(after.status, 401, after.text);
      assert.match(after.headers['www-authenticate'] ?? '', /revoked/);
      assert.equal(running.auth?.isRevoked(jtiOf(body.access_token)), true);
      assert.equal(running.auth?.isRevoked(jtiOf(system)), false);
    });

    it('requires authentication to introspect', async () => {
      const res = await request(running.server).post('/auth/introspect').type('form').send({ token: 'x' });
      assert.equal(res.status, 401);
      const withAssertion = await request(running.server).post('/auth/introspect').type('form').send({ token: 'x', client_assertion_type: JWT_BEARER, client_assertion: assertion({ aud: TOKEN_URL }) });
      assert.equal(withAssertion.status, 200);
    });

    it('revokes a refresh token (its family included) and refuses revoking another client\'s token', async () => {
      const { body } = await codeFlow();
      const foreign = await request(running.server).post('/auth/revoke').type('form').send({ client_id: 'other', token: body.refresh_token ?? '' });
      assert.equal(foreign.status, 400);
      const res = await request(running.server).post('/auth/revoke').type('form').send({ client_id: 'app', token: body.refresh_token ?? '', token_type_hint: 'refresh_token' });
      assert.equal(res.status, 200);
      const refresh = await tokenPost({ grant_type: 'refresh_token', client_id: 'app', refresh_token: body.refresh_token ?? '' });
      assert.equal((refresh.body as TokenBody).error, 'invalid_grant');
      assert.equal((await request(running.server).post('/auth/revoke').type('form').send({ client_id: 'app', token: 'unknown' })).status, 200);
    });

    it('publishes the signing key in the JWKS, with CORS', async () => {
      const res = await request(running.server).get('/auth/jwks');
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const keys = (res.body as { keys: Array<{ kid: string; kty: string; d?: string }> }).keys;
      assert.equal(keys.length, 1);
      assert.equal(keys[0]?.kid, running.auth?.keys.kid);
      assert.equal(keys[0]?.d, undefined);
      const { body } = await codeFlow();
      const header = jwt.decode(body.access_token, { complete: true })?.header;
      const jwk = keys.find((k) => k.kid === header?.kid);
      assert.ok(jwk);
      jwt.verify(body.access_token, createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }), { algorithms: ['RS256'] });
      const oidc = await request(running.server).get('/auth/.well-known/openid-configuration');
      assert.equal((oidc.body as { jwks_uri: string }).jwks_uri, `${ISSUER}/jwks`);
    });

    it('EHR launch: a launch context created by an authenticated user brings its patient without a picker', async () => {
      const unauthenticated = await request(running.server).post('/auth/launch').send({ patient: 'p2' });
      assert.equal(unauthenticated.status, 401);
      const { body: ehr } = await codeFlow('user/*.rs openid fhirUser');
      const created = await request(running.server).post('/auth/launch').set('Authorization', `Bearer ${ehr.access_token}`).send({ patient: 'p2' });
      assert.equal(created.status, 201, created.text);
      const launch = (created.body as { launch: string }).launch;
      const { verifier, challenge } = pkce();
      const a = agent();
      const page = await a.get(authorizeUrl({ scope: 'launch patient/*.rs', launch }, challenge));
      assert.equal(page.status, 200, page.text);
      const login = await a.post('/auth/login').type('form').send({ tx: hiddenField(page.text, 'tx'), csrf: hiddenField(page.text, 'csrf'), username: 'dev-practitioner', password: 'dev-practitioner' });
      assert.equal(login.status, 303, login.text);
      const code = new URL(String(login.headers['location'])).searchParams.get('code') ?? '';
      const res = await tokenPost({ grant_type: 'authorization_code', client_id: 'app', redirect_uri: REDIRECT, code, code_verifier: verifier });
      assert.equal((res.body as TokenBody).patient, 'p2');
      // A launch value is single-use.
      const again = await request(running.server).get(authorizeUrl({ scope: 'launch patient/*.rs', launch }));
      assert.equal(new URL(String(again.headers['location'])).searchParams.get('error'), 'invalid_request');
    });
  });
});
