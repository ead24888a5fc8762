/**
 * Issue 11: response headers for patient data (RFC 9111 §5.2.2.5 `no-store`; RFC 6749 §5.1 and
 * SMART App Launch 2.0.0: token responses are not cached; WHATWG Fetch `X-Content-Type-Options:
 * nosniff`). Every FHIR API response but the CapabilityStatement and the discovery document is
 * `Cache-Control: no-store`, as is every authorization server response that carries tokens or user
 * data; every response of any kind is `nosniff`. HSTS is not sent over plain http (docs/smart.md).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { JWT_BEARER, SEC_BASE, SEC_REDIRECT, startSecurityServer, type SecurityServer } from '../helpers/security-server';
import { pkce } from '../helpers/smart-flow';

describe('security: response headers', () => {
  let s: SecurityServer;
  let token: string;
  before(async () => {
    s = await startSecurityServer();
    token = await s.backendToken('system/*.rs system/Patient.cruds');
    const res = await request(s.running.server).put('/fhir/Patient/p1').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Patient', id: 'p1' }));
    assert.ok(res.status < 300, res.text);
  });
  after(() => s.close());

  const fhir = (method: 'get' | 'post' | 'delete' | 'options', path: string, auth = true): request.Test => {
    const r = request(s.running.server)[method](path);
    return auth ? r.set('Authorization', `Bearer ${token}`) : r;
  };

  it('FHIR API responses are no-store (reads, searches, history, errors, 401s), except the CapabilityStatement and the discovery document', async () => {
    const cases: Array<[string, request.Test, number]> = [
      ['read', fhir('get', '/fhir/Patient/p1'), 200],
      ['search', fhir('get', '/fhir/Patient?_id=p1'), 200],
      ['history', fhir('get', '/fhir/Patient/p1/_history'), 200],
      ['not found', fhir('get', '/fhir/Patient/nope'), 404],
      ['no token', fhir('get', '/fhir/Patient/p1', false), 401],
      ['bad token', request(s.running.server).get('/fhir/Patient/p1').set('Authorization', 'Bearer x.y.z'), 401],
      ['bad body', fhir('post', '/fhir/Patient').set('Content-Type', 'application/fhir+json').send('{not json'), 400],
    ];
    for (const [name, req, status] of cases) {
      const res = await req;
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assert.equal(res.headers['cache-control'], 'no-store', name);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', name);
    }
    for (const path of ['/fhir/metadata', '/fhir/.well-known/smart-configuration']) {
      const res = await fhir('get', path, false);
      assert.equal(res.status, 200, path);
      assert.notEqual(res.headers['cache-control'], 'no-store', path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    }
  });

  it('authorization server responses with tokens or user data are no-store; every response is nosniff; no HSTS over http', async () => {
    const server = s.running.server;
    const { challenge } = pkce();
    const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: SEC_REDIRECT, scope: 'user/*.rs', state: 's', aud: SEC_BASE, code_challenge: challenge, code_challenge_method: 'S256' });
    const noStore: Array<[string, request.Test]> = [
      ['token', request(server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: s.assertion() })],
      ['token error', request(server).post('/auth/token').type('form').send({ grant_type: 'refresh_token', client_id: 'app', refresh_token: 'x' })],
      ['introspect', request(server).post('/auth/introspect').set('Authorization', `Bearer ${token}`).type('form').send({ token })],
      ['revoke', request(server).post('/auth/revoke').type('form').send({ client_id: 'app', token: 'x' })],
      ['launch', request(server).post('/auth/launch').set('Authorization', `Bearer ${token}`).send({ patient: 'p1' })],
      ['login page', request(server).get(`/auth/authorize?${q.toString()}`)],
      ['login post', request(server).post('/auth/login').type('form').send({ tx: 'x', csrf: 'y' })],
      ['unknown endpoint', request(server).get('/auth/nothing')],
    ];
    for (const [name, req] of noStore) {
      const res = await req;
      assert.ok(res.status < 500, `${name}: ${res.text}`);
      assert.equal(res.headers['cache-control'], 'no-store', name);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', name);
      assert.equal(res.headers['strict-transport-security'], undefined, name);
    }
    for (const path of ['/auth/jwks', '/auth/.well-known/openid-configuration', '/nowhere', '/fhir-other']) {
      const res = await request(server).get(path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    }
    const preflight = await request(server).options('/auth/token');
    assert.equal(preflight.headers['x-content-type-options'], 'nosniff');
  });
});
