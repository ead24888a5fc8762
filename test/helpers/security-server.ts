/**
 * The real server with its built-in SMART authorization server, for the security suites
 * (test/security/): a registered backend client (private_key_jwt, RS384), a public app, tokens got
 * through the real endpoints (client_credentials; the authorization code flow with the login page),
 * and a restart over the same data directory (keys, clients, revocations and used assertions are
 * read back from it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import request from 'supertest';
import { loadConfig } from '../../src/config/config';
import type { Logger } from '../../src/logging';
import { silentLogger } from '../../src/logging';
import { startServer, type RunningServer } from '../../src/main';
import type { TokenResponse } from '../../src/auth/server/tokens';
import { clientAssertion, hiddenField, JWT_BEARER, pkce, type AssertionOptions } from './smart-flow';

export const SEC_BASE = 'http://localhost:8080/fhir';
export const SEC_ISSUER = 'http://localhost:8080/auth';
export const SEC_TOKEN_URL = `${SEC_ISSUER}/token`;
export const SEC_REDIRECT = 'http://127.0.0.1:9/callback';

export type TokenBody = TokenResponse & { error?: string; error_description?: string };

export interface SecurityServer {
  running: RunningServer;
  /** The data directory (kept across restarts, removed by `close`). */
  dir: string;
  backendKey: KeyObject;
  assertion(over?: Partial<AssertionOptions>): string;
  /** A client_credentials token of the backend client. */
  backendToken(scope: string): Promise<string>;
  /** The authorization code flow through the login page (and the picker for a practitioner). */
  codeFlow(opts: { scope: string; user: string; password?: string; pick?: string }): Promise<TokenBody>;
  /** Stops the server and starts a new instance over the same data directory and environment. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface SecurityServerOptions {
  /** Extra environment (limits...). */
  env?: Record<string, string>;
  /** Keep the state in DATA_DIR (a SQLite file) instead of `:memory:`. */
  persistent?: boolean;
  logger?: Logger;
}

export async function startSecurityServer(opts: SecurityServerOptions = {}): Promise<SecurityServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smart-security-'));
  const backendKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const clients = {
    clients: [
      { client_id: 'app', redirect_uris: [SEC_REDIRECT], scope: 'openid fhirUser launch launch/patient offline_access patient/*.rs user/*.rs', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] },
      {
        client_id: 'backend',
        scope: 'system/*.rs system/Patient.cruds system/Encounter.cruds',
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        jwks: { keys: [{ ...createPublicKey(backendKey).export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS384' }] },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'clients.json'), JSON.stringify(clients));
  const env: Record<string, string> = {
    ...(opts.persistent ? { DATA_DIR: dir } : { SQLITE_PATH: ':memory:' }),
    PORT: '0',
    BASE_URL: SEC_BASE,
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'smart',
    REQUIRED_PROFILES: '',
    PATIENT_ID_POLICY: 'server',
    AUTH_CLIENTS_FILE: path.join(dir, 'clients.json'),
    // No synthetic population unless a suite asks (docs/seed.md).
    SEED_ON_EMPTY: '0',
    ...opts.env,
  };
  const start = (): Promise<RunningServer> => startServer(loadConfig(env), opts.logger ?? silentLogger());
  let running = await start();

  const assertion = (over: Partial<AssertionOptions> = {}): string => clientAssertion({ clientId: 'backend', aud: SEC_TOKEN_URL, key: backendKey, kid: 'rsa-1', ...over });
  const server: SecurityServer = {
    get running() {
      return running;
    },
    dir,
    backendKey,
    assertion,
    async backendToken(scope) {
      const res = await request(running.server).post('/auth/token').type('form').send({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: assertion() });
      assert.equal(res.status, 200, res.text);
      return (res.body as TokenBody).access_token;
    },
    async codeFlow(o) {
      const { verifier, challenge } = pkce();
      const a = request.agent(running.server);
      const q = new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: SEC_REDIRECT, scope: o.scope, state: 's', aud: SEC_BASE, code_challenge: challenge, code_challenge_method: 'S256' });
      const page = await a.get(`/auth/authorize?${q.toString()}`);
      assert.equal(page.status, 200, page.text);
      let res = await a.post('/auth/login').type('form').send({ tx: hiddenField(page.text, 'tx'), csrf: hiddenField(page.text, 'csrf'), username: o.user, password: o.password ?? o.user, action: 'login' });
      if (res.status === 200) res = await a.post('/auth/pick').type('form').send({ tx: hiddenField(res.text, 'tx'), csrf: hiddenField(res.text, 'csrf'), patient: o.pick ?? '' });
      assert.equal(res.status, 303, res.text);
      const code = new URL(String(res.headers['location'])).searchParams.get('code') ?? '';
      const token = await request(running.server).post('/auth/token').type('form').send({ grant_type: 'authorization_code', client_id: 'app', redirect_uri: SEC_REDIRECT, code, code_verifier: verifier });
      assert.equal(token.status, 200, token.text);
      return token.body as TokenBody;
    },
    async restart() {
      await running.close();
      running = await start();
    },
    async close() {
      await running.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export { JWT_BEARER };
