/**
 * Client registry of the built-in authorization server (RFC 7591 client metadata names; SMART App
 * Launch 2.0.0 app-launch.html "Register App with EHR", client-confidential-asymmetric.html and
 * backend-services.html "Registering a SMART Backend Service").
 *
 * Clients are read from a JSON file (`AUTH_CLIENTS_FILE`, default `DATA_DIR/clients.json`):
 * `{"clients": [{client_id, client_name?, redirect_uris, scope, token_endpoint_auth_method,
 * grant_types, jwks? | jwks_uri?}]}`. When the file does not exist it is created holding a public
 * development client (PKCE, redirect to `http://localhost:3000/callback`), which `describeDevClient`
 * explains at start-up. The development client also accepts the server's own callback page
 * (`<issuer>/dev-callback`, `devCallbackUri`), added in memory because it depends on the issuer. Without a data directory (`SQLITE_PATH=:memory:`) and without an explicit
 * file, the registry lives in memory with the development client only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';

export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';
export type ClientAuthMethod = 'none' | 'private_key_jwt';

export interface RegisteredClient {
  client_id: string;
  client_name?: string;
  /** Compared exactly (no prefix, no normalisation). */
  redirect_uris: string[];
  /** The scopes the client may be granted (space-separated; wildcards cover narrower scopes). */
  scope: string;
  token_endpoint_auth_method: ClientAuthMethod;
  grant_types: GrantType[];
  /** Public keys of a `private_key_jwt` client. */
  jwks?: { keys: JsonWebKey[] };
  /** Or where to fetch them. */
  jwks_uri?: string;
}

export const DEV_CLIENT_ID = 'dev-public-client';
export const DEV_REDIRECT_URI = 'http://localhost:3000/callback';
export const DEV_CLIENT_SCOPE =
  'openid fhirUser launch launch/patient offline_access online_access patient/*.cruds patient/*.read patient/*.write patient/*.* user/*.cruds user/*.read user/*.write user/*.*';

/** The authorization server's own page for the development client's redirect (shows the code). */
export const DEV_CALLBACK_PATH = '/dev-callback';

export function devCallbackUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}${DEV_CALLBACK_PATH}`;
}

export function devClient(): RegisteredClient {
  return {
    client_id: DEV_CLIENT_ID,
    client_name: 'Development public client (PKCE)',
    redirect_uris: [DEV_REDIRECT_URI],
    scope: DEV_CLIENT_SCOPE,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
  };
}

const GRANTS: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials'];
const CLIENT_ID_RE = /^[\x21-\x7e]{1,200}$/;

/** Checks one client entry; every problem is named with the client's position. */
export function parseClient(raw: unknown, where: string): RegisteredClient {
  const problems: string[] = [];
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const clientId = o['client_id'];
  if (typeof clientId !== 'string' || !CLIENT_ID_RE.test(clientId)) problems.push('client_id must be a non-empty string of visible ASCII characters');
  const redirects = o['redirect_uris'] ?? [];
  if (!Array.isArray(redirects) || redirects.some((u) => typeof u !== 'string' || !isAbsoluteUrl(u))) problems.push('redirect_uris must be a list of absolute URLs without fragment');
  const scope = o['scope'];
  if (typeof scope !== 'string') problems.push('scope must be a space-separated string');
  const method = o['token_endpoint_auth_method'] ?? 'none';
  if (method !== 'none' && method !== 'private_key_jwt') problems.push('token_endpoint_auth_method must be "none" or "private_key_jwt"');
  const grants = o['grant_types'] ?? ['authorization_code', 'refresh_token'];
  if (!Array.isArray(grants) || grants.some((g) => !(GRANTS as readonly unknown[]).includes(g))) problems.push(`grant_types must list some of ${GRANTS.join(', ')}`);
  const jwks = o['jwks'];
  const jwksUri = o['jwks_uri'];
  if (jwks !== undefined && (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys))) problems.push('jwks must be {"keys": [...]}');
  if (jwksUri !== undefined && (typeof jwksUri !== 'string' || !isAbsoluteUrl(jwksUri))) problems.push('jwks_uri must be an absolute URL');
  if (method === 'private_key_jwt' && jwks === undefined && jwksUri === undefined) problems.push('a private_key_jwt client needs jwks or jwks_uri');
  if (method === 'none' && Array.isArray(grants) && grants.includes('client_credentials')) problems.push('client_credentials needs token_endpoint_auth_method private_key_jwt');
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  return {
    client_id: clientId as string,
    ...(typeof o['client_name'] === 'string' ? { client_name: o['client_name'] } : {}),
    redirect_uris: redirects as string[],
    scope: scope as string,
    token_endpoint_auth_method: method as ClientAuthMethod,
    grant_types: grants as GrantType[],
    ...(jwks !== undefined ? { jwks: jwks as { keys: JsonWebKey[] } } : {}),
    ...(jwksUri !== undefined ? { jwks_uri: jwksUri as string } : {}),
  };
}

function isAbsoluteUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.hash === '' && !s.includes('#');
  } catch {
    return false;
  }
}

export interface ClientRegistry {
  get(clientId: string): RegisteredClient | undefined;
  all(): RegisteredClient[];
  /** Where the registry is kept (a file path or `memory`). */
  readonly source: string;
  /** Whether the development client was created by this start (first start). */
  readonly createdDevClient: boolean;
}

export function clientRegistryOf(clients: readonly RegisteredClient[], source: string, createdDevClient: boolean): ClientRegistry {
  const byId = new Map<string, RegisteredClient>();
  for (const c of clients) {
    if (byId.has(c.client_id)) throw new Error(`${source}: client_id ${JSON.stringify(c.client_id)} is registered twice`);
    byId.set(c.client_id, c);
  }
  return { get: (id) => byId.get(id), all: () => [...byId.values()], source, createdDevClient };
}

/**
 * Loads the registry from `file` (created with the development client when absent), or keeps it in
 * memory with the development client when `file` is undefined.
 */
export function loadClientRegistry(file: string | undefined, issuer?: string): ClientRegistry {
  // The development client (when registered) may also redirect to this server's own callback page.
  const withCallback = (c: RegisteredClient): RegisteredClient =>
    issuer !== undefined && c.client_id === DEV_CLIENT_ID && !c.redirect_uris.includes(devCallbackUri(issuer)) ? { ...c, redirect_uris: [...c.redirect_uris, devCallbackUri(issuer)] } : c;
  if (file === undefined) return clientRegistryOf([withCallback(devClient())], 'memory', true);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ clients: [devClient()] }, null, 2)}\n`, { mode: 0o600 });
    return clientRegistryOf([withCallback(devClient())], file, true);
  }
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  const list = (raw as { clients?: unknown }).clients;
  if (!Array.isArray(list)) throw new Error(`${file}: expected {"clients": [...]}`);
  return clientRegistryOf(
    list.map((c, i) => withCallback(parseClient(c, `${file} client ${i}`))),
    file,
    false,
  );
}

/** A PKCE pair (RFC 7636 S256) for the start-up instructions: a fresh verifier and its challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Start-up instructions for the development client: a working authorize URL (its PKCE challenge
 * computed from the verifier printed beside it), the server's own callback page as redirect, and the
 * exchange command.
 */
export function describeDevClient(issuer: string, audience: string, pkce: { verifier: string; challenge: string } = pkcePair()): string {
  const redirect = devCallbackUri(issuer);
  const authorize = new URL(`${issuer}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: DEV_CLIENT_ID,
    redirect_uri: redirect,
    scope: 'openid fhirUser launch/patient patient/*.rs offline_access',
    state: randomBytes(8).toString('hex'),
    aud: audience,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return [
    `Development client: client_id=${DEV_CLIENT_ID} (public, PKCE S256), redirect_uri=${redirect} (or ${DEV_REDIRECT_URI})`,
    `  1. export VERIFIER=${pkce.verifier}`,
    `  2. open ${authorize.toString()}`,
    `     log in as dev-practitioner / dev-practitioner (or dev-patient / dev-patient) and pick a patient;`,
    `     the browser lands on ${redirect}, which shows the code and this exchange command:`,
    `  3. curl -X POST ${issuer}/token -d grant_type=authorization_code -d client_id=${DEV_CLIENT_ID} -d redirect_uri=${redirect} -d code=<code> -d code_verifier=$VERIFIER`,
    `  4. call the FHIR API with the header "Authorization: Bearer <access_token>"`,
  ].join('\n');
}
