/**
 * Issue 11: forged and malformed tokens (RFC 7515 §5.2, RFC 7519 §7.2, RFC 8725 §3; RFC 6750 §3.1
 * `invalid_token`; RFC 6749 §5.2 `invalid_client`; RFC 7519 §4.1.6 `iat`).
 *
 * A JWS whose header says `typ: JWT` over a payload that is not JSON used to escape from
 * `jsonwebtoken.decode` as a 500 with a stack trace on every endpoint. Every token and assertion the
 * server receives is now decoded without throwing: 401 (`invalid_token` on the FHIR API with an
 * OperationOutcome and WWW-Authenticate; OAuth error JSON on /auth), logged as one line without a
 * stack. Properties feed arbitrary garbage and near-JWTs to the verifier and to every endpoint and
 * assert that nothing answers 500. A token or client assertion issued in the future (iat beyond the
 * 30 s clock tolerance) is refused.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import request from 'supertest';
import { createVerifier, TokenError } from '../../src/auth/verify';
import { decodeJws } from '../../src/auth/jws';
import { JWT_BEARER, SEC_BASE, SEC_ISSUER, startSecurityServer, type SecurityServer, type TokenBody } from '../helpers/security-server';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
/** The attacker's token: 36 bytes, a `typ: JWT` header over a payload that is not JSON. */
const FORGED = `${b64('{"typ":"JWT"}')}.${b64('garbage!!')}.${b64('sig')}`;
const FORGED_RS256 = `${b64('{"alg":"RS256","typ":"JWT","kid":"k"}')}.${b64('not json')}.${b64('sig')}`;

/** Near-JWTs: three base64url segments whose header and payload are JSON of any kind, text or bytes. */
const segment = fc.oneof(
  fc.json().map((j) => b64(j)),
  fc.string().map((s) => b64(s)),
  fc.uint8Array({ maxLength: 64 }).map((a) => b64(Buffer.from(a))),
  fc.record({ alg: fc.constantFrom('RS256', 'ES384', 'RS384', 'HS256', 'none', 'PS256'), typ: fc.constantFrom('JWT', 'at+jwt', undefined), kid: fc.option(fc.string(), { nil: undefined }) }).map((h) => b64(JSON.stringify(h))),
  fc.constantFrom(b64('null'), b64('[]'), b64('1'), b64('"x"'), b64('{"typ":"JWT"}'), b64('{"alg":"RS256","typ":"JWT"}'), ''),
);
const nearJwt = fc.tuple(segment, segment, fc.oneof(fc.constant(''), fc.base64String().map((s) => s.replace(/[+/=]/g, 'A')))).map(([h, p, s]) => `${h}.${p}.${s}`);
/** What can stand in an HTTP header value: visible ASCII without spaces. */
const headerSafe = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 200 });
const garbage = fc.oneof(nearJwt, headerSafe, fc.string(), fc.string({ unit: 'binary' }));

describe('security: malformed and forged tokens never answer 500', () => {
  describe('the token decoder and the verifier', () => {
    it('decodeJws never throws and returns only JSON objects', () => {
      fc.assert(
        fc.property(garbage, (t) => {
          const d = decodeJws(t);
          if (d) assert.ok(typeof d.payload === 'object' && d.payload !== null && !Array.isArray(d.payload) && typeof d.header.alg === 'string');
        }),
        { numRuns: 2000 },
      );
      assert.equal(decodeJws(FORGED), undefined);
      assert.equal(decodeJws(FORGED_RS256), undefined);
    });

    it('the verifier rejects every garbage or near-JWT string with a TokenError', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const verifier = createVerifier({ issuer: SEC_ISSUER, audience: SEC_BASE, keys: (kid) => (kid === 'k' ? rsa.publicKey : undefined) });
      assert.equal(FORGED.length, 36);
      for (const t of [FORGED, FORGED_RS256]) await assert.rejects(verifier.verify(t), TokenError);
      await fc.assert(
        fc.asyncProperty(garbage, async (t) => {
          await assert.rejects(verifier.verify(t), (e: unknown) => e instanceof TokenError);
        }),
        { numRuns: 1000 },
      );
      // Signed with the right key, but claims that are not an object, or an unusable iat/exp.
      const signed = (payload: string): string => {
        const head = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k' }));
        const body = b64(payload);
        // A raw RS256 signature (jsonwebtoken refuses to sign claims that are not an object).
        return `${head}.${body}.${createSign('RSA-SHA256').update(`${head}.${body}`).sign(rsa.privateKey).toString('base64url')}`;
      };
      for (const p of ['null', '[]', '7', '"text"', 'not json', `{"iss":"${SEC_ISSUER}","aud":"${SEC_BASE}","exp":-1e300}`, `{"iss":"${SEC_ISSUER}","aud":"${SEC_BASE}","exp":4102444800,"nbf":1e300}`, `{"iss":"${SEC_ISSUER}","aud":"${SEC_BASE}","exp":4102444800,"iat":1e300}`]) {
        await assert.rejects(verifier.verify(signed(p)), TokenError, p);
      }
    });
  });

  describe('over HTTP', () => {
    let s: SecurityServer;
    let lines: string[];
    before(async () => {
      lines = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
          cb();
        },
      });
      // Generous failure limits: these properties exercise the endpoints, not the throttle.
      s = await startSecurityServer({ env: { AUTH_FAILURES_PER_MINUTE: '1000000' }, logger: pino({ level: 'info' }, sink) });
    });
    after(() => s.close());
    beforeEach(() => {
      lines.length = 0;
    });

    // The refusal's own lines (the access line every request gets, docs/operations.md, is apart).
    const parsed = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const logLinesOf = (): Array<Record<string, unknown>> => parsed().filter((l) => l['msg'] !== 'request');
    const accessLinesOf = (): Array<Record<string, unknown>> => parsed().filter((l) => l['msg'] === 'request');

    it('the forged token gets 401 invalid_token with an OperationOutcome on the FHIR API, logged as one line without a stack', async () => {
      for (const t of [FORGED, FORGED_RS256]) {
        lines.length = 0;
        const res = await request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${t}`);
        assert.equal(res.status, 401, res.text);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="[^"]+", error="invalid_token", error_description="/);
        const oo = JSON.parse(res.text) as { resourceType: string; issue: Array<{ code: string }> };
        assert.equal(oo.resourceType, 'OperationOutcome');
        assert.equal(oo.issue[0]?.code, 'login');
        const logged = logLinesOf();
        assert.equal(logged.length, 1, lines.join('\n'));
        assert.equal(logged[0]?.['level'], 40);
        assert.ok(!JSON.stringify(logged[0]).includes('stack'), lines.join('\n'));
        assert.deepEqual(accessLinesOf().map((l) => l['status']), [401]);
      }
    });

    it('the forged token gets OAuth error JSON at /auth/token, /auth/introspect, /auth/launch and /auth/revoke, logged as one line without a stack', async () => {
      const server = s.running.server;
      const cases: Array<[string, () => request.Test, number, string]> = [
        ['token (client_assertion)', () => request(server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: FORGED }), 401, 'invalid_client'],
        ['introspect (bearer)', () => request(server).post('/auth/introspect').set('Authorization', `Bearer ${FORGED}`).type('form').send({ token: FORGED }), 401, 'invalid_client'],
        ['introspect (assertion)', () => request(server).post('/auth/introspect').type('form').send({ token: FORGED, client_assertion_type: JWT_BEARER, client_assertion: FORGED }), 401, 'invalid_client'],
        ['launch (bearer)', () => request(server).post('/auth/launch').set('Authorization', `Bearer ${FORGED}`).send({ patient: 'x' }), 401, 'invalid_token'],
        ['revoke (assertion)', () => request(server).post('/auth/revoke').type('form').send({ token: FORGED, client_assertion_type: JWT_BEARER, client_assertion: FORGED }), 401, 'invalid_client'],
      ];
      for (const [name, send, status, error] of cases) {
        lines.length = 0;
        const res = await send();
        assert.equal(res.status, status, `${name}: ${res.text}`);
        assert.equal((res.body as TokenBody).error, error, name);
        assert.equal(res.headers['cache-control'], 'no-store', name);
        const logged = logLinesOf();
        assert.equal(logged.length, 1, `${name}: ${lines.join('\n')}`);
        assert.equal(logged[0]?.['level'], 40, name);
        assert.ok(!JSON.stringify(logged[0]).includes('stack'), lines.join('\n'));
        assert.deepEqual(accessLinesOf().map((l) => l['status']), [status], name);
      }
      // Revoking a forged token with a real client: RFC 7009 §2.2, an invalid token is answered 200.
      const revoke = await request(server).post('/auth/revoke').type('form').send({ token: FORGED, client_id: 'app' });
      assert.equal(revoke.status, 200, revoke.text);
      const intro = await request(server).post('/auth/introspect').type('form').send({ token: FORGED, client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
      assert.deepEqual(intro.body, { active: false });
    });

    it('property: no garbage or near-JWT bearer token gets anything but 401 on the FHIR API', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(nearJwt, headerSafe), async (t) => {
          const res = await request(s.running.server).get('/fhir/Patient/x').set('Authorization', `Bearer ${t}`);
          assert.equal(res.status, 401, res.text);
          assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
        }),
        { numRuns: 150 },
      );
      assert.ok(!lines.some((l) => l.includes('"level":50') || l.includes('stack')), 'no error or stack was logged');
    });

    it('property: no garbage or near-JWT assertion, bearer or token makes an authorization server endpoint answer 500', async () => {
      const server = s.running.server;
      await fc.assert(
        fc.asyncProperty(fc.oneof(nearJwt, headerSafe), fc.constantFrom('token', 'refresh', 'code', 'introspect-bearer', 'introspect-assertion', 'introspect-token', 'launch', 'revoke'), async (t, where) => {
          let res: request.Response;
          switch (where) {
            case 'token':
              res = await request(server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: t });
              break;
            case 'refresh':
              res = await request(server).post('/auth/token').type('form').send({ grant_type: 'refresh_token', client_id: 'app', refresh_token: t });
              break;
            case 'code':
              res = await request(server).post('/auth/token').type('form').send({ grant_type: 'authorization_code', client_id: 'app', code: t, redirect_uri: 'http://127.0.0.1:9/callback', code_verifier: 'v'.repeat(43) });
              break;
            case 'introspect-bearer':
              res = await request(server).post('/auth/introspect').set('Authorization', `Bearer ${t}`).type('form').send({ token: t });
              break;
            case 'introspect-assertion':
              res = await request(server).post('/auth/introspect').type('form').send({ token: 'x', client_assertion_type: JWT_BEARER, client_assertion: t });
              break;
            case 'introspect-token':
              res = await request(server).post('/auth/introspect').type('form').send({ token: t, client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
              assert.deepEqual(res.body, { active: false });
              break;
            case 'launch':
              res = await request(server).post('/auth/launch').set('Authorization', `Bearer ${t}`).send({ patient: 'p' });
              break;
            default:
              res = await request(server).post('/auth/revoke').type('form').send({ token: t, client_assertion_type: JWT_BEARER, client_assertion: t });
          }
          assert.ok(res.status < 500, `${where}: ${res.status} ${res.text}`);
          assert.equal(typeof (res.body as { error?: unknown; active?: unknown }).error === 'string' || (res.body as { active?: unknown }).active === false, true, `${where}: ${res.text}`);
        }),
        { numRuns: 200 },
      );
      assert.ok(!lines.some((l) => l.includes('"level":50') || l.includes('stack')), 'no error or stack was logged');
    });

    it('refuses an access token issued in the future (iat beyond the clock tolerance); accepts one within it', async () => {
      const token = await s.backendToken('system/*.rs');
      const claims = jwt.decode(token) as jwt.JwtPayload;
      const key = s.running.auth!.keys;
      const now = Math.floor(Date.now() / 1000);
      const withIat = (iat: number): string =>
        jwt.sign({ ...claims, iat, exp: now + 600, jti: randomUUID() }, key.privateKey, { algorithm: 'RS256', keyid: key.kid });
      const future = await request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${withIat(now + 3600)}`);
      assert.equal(future.status, 401, future.text);
      assert.match(String(future.headers['www-authenticate']), /error="invalid_token", error_description="the access token was issued in the future/);
      const skewed = await request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${withIat(now + 10)}`);
      assert.equal(skewed.status, 200, skewed.text);
      const head = b64(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: key.kid }));
      const body = b64(JSON.stringify({ ...claims, iat: 'soon', exp: now + 600, jti: randomUUID() }));
      const iatNotNumber = `${head}.${body}.${createSign('RSA-SHA256').update(`${head}.${body}`).sign(key.privateKey).toString('base64url')}`;
      const notNumber = await request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${iatNotNumber}`);
      assert.equal(notNumber.status, 401, notNumber.text);
    });

    it('refuses a client assertion issued in the future at the token endpoint', async () => {
      const now = Math.floor(Date.now() / 1000);
      const assertion = (iat: number): string =>
        jwt.sign({ iss: 'backend', sub: 'backend', aud: `${SEC_ISSUER}/token`, jti: randomUUID(), exp: now + 240, iat }, s.backendKey, { algorithm: 'RS384', keyid: 'rsa-1' });
      const res = await request(s.running.server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion(now + 200) });
      assert.equal(res.status, 401, res.text);
      assert.equal((res.body as TokenBody).error, 'invalid_client');
      assert.match(String((res.body as TokenBody).error_description), /issued in the future/);
      const ok = await request(s.running.server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion(now + 10) });
      assert.equal(ok.status, 200, ok.text);
    });
  });
});
