/**
 * SMART on FHIR credentials for chaos servers (SMART App Launch 2.0.0 backend-services.html,
 * app-launch.html "Access token"): a backend client registered in the server's client file, a real
 * `system/` token from the built-in authorization server's token endpoint (client_credentials with a
 * private_key_jwt assertion, RFC 7523), and a patient-context token signed with the server's own
 * signing key (read from DATA_DIR/auth-keys.json, where the built-in server keeps it), as a
 * standalone patient launch would issue.
 */
import { createPublicKey, generateKeyPairSync, randomUUID, createPrivateKey, type KeyObject, type JsonWebKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { clientAssertion, JWT_BEARER } from '../../helpers/smart-flow';
import { send } from './http-client';
import { CHAOS_BASE_URL } from './server-process';

export const CHAOS_ISSUER = 'http://localhost:8080/auth';
export const BACKEND_CLIENT = 'chaos-backend';

export interface BackendClient {
  key: KeyObject;
  kid: string;
  clientsFile: string;
}

/** Writes a client file with one private_key_jwt backend client allowed every system scope. */
export function writeBackendClient(dir: string): BackendClient {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'chaos-rsa-1';
  const clientsFile = path.join(dir, 'clients.json');
  const clients = {
    clients: [
      {
        client_id: BACKEND_CLIENT,
        scope: 'system/*.cruds system/*.*',
        token_endpoint_auth_method: 'private_key_jwt',
        grant_types: ['client_credentials'],
        jwks: { keys: [{ ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'RS384' }] },
      },
    ],
  };
  fs.writeFileSync(clientsFile, JSON.stringify(clients));
  return { key: privateKey, kid, clientsFile };
}

/** A system token from the running server's token endpoint. */
export async function backendToken(origin: string, client: BackendClient, scope = 'system/*.cruds'): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: JWT_BEARER, client_assertion: clientAssertion({ clientId: BACKEND_CLIENT, aud: `${CHAOS_ISSUER}/token`, key: client.key, kid: client.kid }) });
  const res = await send(origin, { method: 'POST', target: '/auth/token', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.text}`);
  return (JSON.parse(res.text) as { access_token: string }).access_token;
}

/** A patient-context access token signed with the server's signing key (DATA_DIR/auth-keys.json). */
export function patientToken(dataDir: string, patient: string, scope = 'launch/patient patient/*.cruds'): string {
  const stored = JSON.parse(fs.readFileSync(path.join(dataDir, 'auth-keys.json'), 'utf8')) as { keys: Array<{ kid: string; jwk: JsonWebKey }> };
  const first = stored.keys[0];
  if (!first) throw new Error('auth-keys.json holds no key');
  const key = createPrivateKey({ key: first.jwk, format: 'jwk' });
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iss: CHAOS_ISSUER, aud: CHAOS_BASE_URL, sub: 'chaos-user', client_id: 'chaos-app', scope, patient, iat: now, exp: now + 3600, jti: randomUUID() }, key, { algorithm: 'RS256', keyid: first.kid });
}
