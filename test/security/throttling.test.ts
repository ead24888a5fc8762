/**
 * Issue 11: throttling (RFC 6585 §4 429 + Retry-After; OAuth 2.0 Security BCP, RFC 9700 §4.6 and
 * RFC 6749 §10.10 brute force; NIST SP 800-63B §5.2.2): a login lockout with back-off per user name
 * that says so without revealing whether the user exists; failed authentication throttled per
 * source address (FHIR API bad tokens, /auth bad codes, refresh tokens and assertions) and per
 * client; per-client and per-user request quotas on the FHIR API and per-client quotas at /auth.
 * Different source addresses are simulated with X-Forwarded-For and TRUST_PROXY=1.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { hiddenField, pkce } from '../helpers/smart-flow';
import { JWT_BEARER, SEC_BASE, SEC_ISSUER, SEC_REDIRECT, startSecurityServer, type SecurityServer, type TokenBody } from '../helpers/security-server';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A browser at the login page of a fresh authorization request. */
async function loginPage(s: SecurityServer, address?: string): Promise<{ login: (username: string, password: string) => Promise<request.Response> }> {
  const a = request.agent(s.running.server);
  if (address !== undefined) a.set('X-Forwarded-For', address);
  const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: SEC_REDIRECT, scope: 'user/*.rs openid fhirUser', state: 's', aud: SEC_BASE, code_challenge: pkce().challenge, code_challenge_method: 'S256' });
  const page = await a.get(`/auth/authorize?${q.toString()}`);
  assert.equal(page.status, 200, page.text);
  const tx = hiddenField(page.text, 'tx');
  const csrf = hiddenField(page.text, 'csrf');
  return { login: (username, password) => a.post('/auth/login').type('form').send({ tx, csrf, username, password, action: 'login' }) };
}

/** The message of the login page (the first alert). */
const alertOf = (html: string): string => /<p class="error" role="alert">([^<]*)<\/p>/.exec(html)?.[1] ?? '';

describe('security: throttling and lockout', () => {
  describe('login lockout with back-off', () => {
    let s: SecurityServer;
    before(async () => {
      s = await startSecurityServer({ env: { AUTH_FAILURES_PER_MINUTE: '1000' } });
    });
    after(() => s.close());

    it('40 wrong passwords, then the right one: the login is refused (429), the page says so, and an unknown user name gets the same page', async () => {
      const known = await loginPage(s);
      const unknown = await loginPage(s);
      const answers: Array<[number, string]> = [];
      for (let i = 0; i < 40; i++) {
        const k = await known.login('dev-practitioner', `wrong-${i}`);
        const u = await unknown.login('nobody-at-all', `wrong-${i}`);
        assert.equal(k.status, u.status, `attempt ${i + 1}`);
        assert.equal(alertOf(k.text), alertOf(u.text), `attempt ${i + 1}`);
        answers.push([k.status, alertOf(k.text)]);
      }
      assert.deepEqual(answers.slice(0, 4).map(([st]) => st), [401, 401, 401, 401]);
      assert.equal(answers[4]?.[0], 429, 'the fifth failure locks the user name');
      assert.ok(answers.slice(5).every(([st]) => st === 429));
      const right = await known.login('dev-practitioner', 'dev-practitioner');
      assert.equal(right.status, 429, 'the right password is refused while locked');
      assert.match(alertOf(right.text), /paused after too many failed attempts/);
      assert.ok(Number(right.headers['retry-after']) >= 1);
      const wrongUnknown = await unknown.login('nobody-at-all', 'dev-practitioner');
      assert.equal(alertOf(wrongUnknown.text), alertOf(right.text), 'same page whether or not the user exists');
      // Another user name is not locked.
      const other = await loginPage(s);
      assert.equal((await other.login('dev-patient', 'dev-patient')).status, 303);
    });

    it('each failure after a lockout doubles it; the right password works once it is over, and resets the count', async () => {
      const t = await startSecurityServer({ env: { AUTH_FAILURES_PER_MINUTE: '1000', LOGIN_LOCKOUT_THRESHOLD: '2', LOGIN_LOCKOUT_SECONDS: '1', LOGIN_LOCKOUT_MAX_SECONDS: '60' } });
      try {
        const b = await loginPage(t);
        assert.equal((await b.login('dev-patient', 'x')).status, 401);
        const first = await b.login('dev-patient', 'x');
        assert.equal(first.status, 429);
        assert.equal(first.headers['retry-after'], '1');
        await sleep(1100);
        const second = await b.login('dev-patient', 'x');
        assert.equal(second.status, 429);
        assert.equal(second.headers['retry-after'], '2', 'the next lockout is twice as long');
        await sleep(1100);
        assert.equal((await b.login('dev-patient', 'dev-patient')).status, 429, 'still locked after the first lockout\'s length');
        await sleep(1000);
        assert.equal((await b.login('dev-patient', 'dev-patient')).status, 303, 'the right password works once the lockout is over');
        const again = await loginPage(t);
        assert.equal((await again.login('dev-patient', 'x')).status, 401, 'a success resets the count of failures');
      } finally {
        await t.close();
      }
    });
  });

  describe('failed authentication per source address', () => {
    let s: SecurityServer;
    before(async () => {
      s = await startSecurityServer({ env: { TRUST_PROXY: '1' } });
    });
    after(() => s.close());

    it('300 bad tokens on the FHIR API in under a second: past AUTH_FAILURES_PER_MINUTE (30) the address gets 429 throttled, even with a valid token; other addresses do not', async () => {
      const good = await s.backendToken('system/*.rs');
      const from = (address: string, token: string): request.Test => request(s.running.server).get('/fhir/Patient').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`);
      const statuses: number[] = [];
      const started = Date.now();
      for (let i = 0; i < 300; i += 50) statuses.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => from('203.0.113.7', `bad.token.${i + j}`)))).map((r) => r.status));
      assert.ok(Date.now() - started < 10_000);
      assert.equal(statuses.filter((x) => x === 401).length, 30, JSON.stringify(statuses));
      assert.equal(statuses.filter((x) => x === 429).length, 270);
      const blocked = await from('203.0.113.7', good);
      assert.equal(blocked.status, 429, blocked.text);
      assert.ok(Number(blocked.headers['retry-after']) >= 1);
      const oo = JSON.parse(blocked.text) as { resourceType: string; issue: Array<{ code: string; diagnostics: string }> };
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.equal(oo.issue[0]?.code, 'throttled');
      assert.equal((await from('198.51.100.1', good)).status, 200, 'another address is not blocked');
      assert.equal((await request(s.running.server).get('/fhir/metadata').set('X-Forwarded-For', '203.0.113.7')).status, 200, 'the CapabilityStatement stays public');
    });

    it('bad codes, refresh tokens and assertions at /auth/token: past the limit 429 slow_down with Retry-After, valid credentials included', async () => {
      const post = (address: string, form: Record<string, string>): request.Test => request(s.running.server).post('/auth/token').set('X-Forwarded-For', address).type('form').send(form);
      const bad: Array<Record<string, string>> = [
        { grant_type: 'authorization_code', client_id: 'app', code: 'guess', redirect_uri: SEC_REDIRECT, code_verifier: 'v'.repeat(43) },
        { grant_type: 'refresh_token', client_id: 'app', refresh_token: 'guess' },
        { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: 'a.b.c' },
      ];
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await post('203.0.113.9', bad[i % 3]!)).status);
      assert.deepEqual([...new Set(statuses.slice(0, 30))].sort(), [400, 401]);
      assert.ok(statuses.slice(30).every((x) => x === 429), JSON.stringify(statuses));
      const valid = await post('203.0.113.9', { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
      assert.equal(valid.status, 429);
      assert.equal((valid.body as TokenBody).error, 'slow_down');
      assert.ok(Number(valid.headers['retry-after']) >= 1);
      assert.equal(valid.headers['cache-control'], 'no-store');
      const elsewhere = await post('198.51.100.2', { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
      assert.equal(elsewhere.status, 200, elsewhere.text);
    });

    it('failed sign-ins count against the address too, whatever the user name, and then block its FHIR requests', async () => {
      const b = await loginPage(s, '203.0.113.11');
      const statuses: number[] = [];
      // A different user name each time: no lockout, only the address's budget.
      for (let i = 0; i < 32; i++) statuses.push((await b.login(`user-${i}`, 'x')).status);
      assert.deepEqual(statuses.slice(0, 30), Array<number>(30).fill(401));
      assert.ok(statuses.slice(30).every((x) => x === 429), 'the thirtieth failure blocks the address');
      const last = await b.login('dev-practitioner', 'dev-practitioner');
      assert.equal(last.status, 429);
      assert.match(alertOf(last.text), /from your network address/);
      const fhir = await request(s.running.server).get('/fhir/Patient').set('X-Forwarded-For', '203.0.113.11').set('Authorization', `Bearer ${await s.backendToken('system/*.rs')}`);
      assert.equal(fhir.status, 429);
    });
  });

  describe('failed authentication per client', () => {
    it('bad assertions naming one client from many addresses block that client (429) until the block ends', async () => {
      const s = await startSecurityServer({ env: { TRUST_PROXY: '1', AUTH_CLIENT_FAILURES_PER_MINUTE: '5' } });
      try {
        const forged = jwt.sign({ iss: 'backend', sub: 'backend', aud: `${SEC_ISSUER}/token`, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 60 }, 'not-the-key', { algorithm: 'HS256' });
        const post = (address: string, assertion: string): request.Test =>
          request(s.running.server).post('/auth/token').set('X-Forwarded-For', address).type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion });
        for (let i = 0; i < 5; i++) assert.equal((await post(`192.0.2.${i + 1}`, forged)).status, 401, 'the fifth failure starts the block');
        const valid = await post('192.0.2.200', s.assertion());
        assert.equal(valid.status, 429, valid.text);
        assert.match(String((valid.body as TokenBody).error_description), /failed authentication of this client/);
        // Another client is not affected.
        const code = await request(s.running.server).post('/auth/token').set('X-Forwarded-For', '192.0.2.201').type('form').send({ grant_type: 'refresh_token', client_id: 'app', refresh_token: 'unknown' });
        assert.equal((code.body as TokenBody).error, 'invalid_grant');
      } finally {
        await s.close();
      }
    });
  });

  describe('request quotas', () => {
    it('FHIR API: per client and per user (RATE_LIMIT_FHIR_PER_MINUTE), 429 throttled with Retry-After', async () => {
      const s = await startSecurityServer({ env: { RATE_LIMIT_FHIR_PER_MINUTE: '5' } });
      try {
        const keys = s.running.auth!.keys;
        const now = Math.floor(Date.now() / 1000);
        const token = (client: string, sub: string): string =>
          jwt.sign({ iss: SEC_ISSUER, aud: SEC_BASE, sub, client_id: client, scope: 'system/*.rs', iat: now, exp: now + 600, jti: randomUUID() }, keys.privateKey, { algorithm: 'RS256', keyid: keys.kid });
        const get = (t: string): Promise<request.Response> => request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${t}`);
        const c1u = token('c1', 'u');
        const c2u = token('c2', 'u');
        const c1v = token('c1', 'v');
        for (let i = 0; i < 3; i++) assert.equal((await get(c1u)).status, 200);
        for (let i = 0; i < 2; i++) assert.equal((await get(c2u)).status, 200);
        const user = await get(c2u);
        assert.equal(user.status, 429, 'user u made 5 requests through two clients');
        assert.match(user.text, /user requests/);
        assert.equal((await get(c1v)).status, 200);
        assert.equal((await get(c1v)).status, 200);
        const client = await get(c1v);
        assert.equal(client.status, 429, 'client c1 made 5 requests for two users');
        assert.match(client.text, /client requests/);
        assert.ok(Number(client.headers['retry-after']) >= 1 && Number(client.headers['retry-after']) <= 60);
        assert.equal((JSON.parse(client.text) as { issue: Array<{ code: string }> }).issue[0]?.code, 'throttled');
        // A batch counts once, whatever its entries.
        const other = token('c3', 'w');
        const batch = await request(s.running.server)
          .post('/fhir')
          .set('Authorization', `Bearer ${other}`)
          .set('Content-Type', 'application/fhir+json')
          .send(JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 8 }, () => ({ request: { method: 'GET', url: 'Patient' } })) }));
        assert.equal(batch.status, 200, batch.text);
        assert.ok((JSON.parse(batch.text) as { entry: Array<{ response: { status: string } }> }).entry.every((e) => e.response.status.startsWith('200')));
      } finally {
        await s.close();
      }
    });

    it('authorization server: per client (RATE_LIMIT_AUTH_PER_MINUTE), 429 slow_down with Retry-After', async () => {
      const s = await startSecurityServer({ env: { RATE_LIMIT_AUTH_PER_MINUTE: '3' } });
      try {
        for (let i = 0; i < 3; i++) await s.backendToken('system/*.rs');
        const res = await request(s.running.server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
        assert.equal(res.status, 429, res.text);
        assert.equal((res.body as TokenBody).error, 'slow_down');
        assert.ok(Number(res.headers['retry-after']) >= 1);
        // The public app is another client.
        const app = await request(s.running.server).post('/auth/token').type('form').send({ grant_type: 'refresh_token', client_id: 'app', refresh_token: 'x' });
        assert.equal((app.body as TokenBody).error, 'invalid_grant');
      } finally {
        await s.close();
      }
    });
  });
});
