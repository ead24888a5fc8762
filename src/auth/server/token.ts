/**
 * The token endpoint `POST /auth/token` (RFC 6749 §3.2, §4.1.3 authorization code, §6 refresh;
 * RFC 7636 §4.6 PKCE verification; SMART App Launch 2.0.0 app-launch.html "Obtain access token"
 * and "Refresh access token"; backend-services.html client_credentials with private_key_jwt).
 *
 * - authorization_code: the code is single-use (a second use is refused and revokes what the first
 *   one issued), bound to its client, redirect_uri and PKCE S256 challenge.
 * - refresh_token: rotation: each use returns a new refresh token and invalidates the old one;
 *   presenting a used one again revokes the whole family (its refresh and access tokens). `scope`
 *   may narrow the grant; anything outside it is invalid_scope. A public client may leave out
 *   `client_id` (RFC 6749 §6): the refresh token names its client.
 * - client_credentials: private_key_jwt clients only, system/ scopes only, no refresh token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseScope } from '../scopes';
import { authenticateClient, type ClientAuthDeps, type ClientKeys } from './client-auth';
import type { GrantType, RegisteredClient } from './clients';
import type { SigningKeys } from './keys';
import { OAuthError } from './oauth-error';
import { scopeTokens, uncovered } from './scope-policy';
import type { Grant } from './state';
import { tokenResponse, type TokenResponse, type TokenSettings } from './tokens';

export interface TokenEndpointDeps extends ClientAuthDeps {
  keys: SigningKeys;
  clientKeys: ClientKeys;
  settings: TokenSettings;
}

const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function required(params: URLSearchParams, name: string): string {
  const v = params.get(name);
  if (v === null || v === '') throw new OAuthError('invalid_request', `${name} is required`);
  return v;
}

function assertGrantType(client: RegisteredClient, grant: GrantType): void {
  if (!client.grant_types.includes(grant)) throw new OAuthError('unauthorized_client', `the client is not registered for the ${grant} grant`);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function authorizationCode(params: URLSearchParams, deps: TokenEndpointDeps): Promise<TokenResponse> {
  const client = await authenticateClient(params, deps, deps.clientKeys);
  assertGrantType(client, 'authorization_code');
  const code = required(params, 'code');
  const entry = deps.state.codes.get(code);
  if (!entry) throw new OAuthError('invalid_grant', 'the authorization code is unknown, expired or already used');
  if (entry.used) {
    // RFC 6749 §4.1.2: a code used twice revokes the tokens issued with it.
    deps.state.revokeJti(entry.used.jti, entry.used.exp);
    if (entry.used.family) deps.state.revokeFamily(entry.used.family, deps.state.now() + 1000 * deps.settings.refreshTokenSeconds);
    throw new OAuthError('invalid_grant', 'the authorization code was already used; the tokens issued with it are revoked');
  }
  if (entry.grant.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
  if (params.get('redirect_uri') !== entry.redirectUri) throw new OAuthError('invalid_grant', 'redirect_uri does not match the one of the authorization request');
  const verifier = params.get('code_verifier');
  if (verifier === null) throw new OAuthError('invalid_grant', 'code_verifier is required (PKCE)');
  if (!VERIFIER_RE.test(verifier) || !safeEqual(s256(verifier), entry.codeChallenge)) throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
  const issued = tokenResponse(deps.keys, deps.settings, deps.state, entry.grant, { withIdToken: true });
  entry.used = { jti: issued.jti, exp: issued.exp, ...(issued.family !== undefined ? { family: issued.family } : {}) };
  return issued.body;
}

/**
 * The client of a refresh request. A public client may send no `client_id` (RFC 6749 §3.2.1: it MAY
 * use it; §6: only a confidential client MUST authenticate): the refresh token then names its client,
 * which must be public (`none`). fhirclient refreshes so by default. Anything that names or
 * authenticates a client is checked as at the other grants.
 */
async function refreshRequestClient(params: URLSearchParams, deps: TokenEndpointDeps): Promise<RegisteredClient> {
  if (params.has('client_id') || params.has('client_assertion') || params.has('client_assertion_type')) return authenticateClient(params, deps, deps.clientKeys);
  const owner = deps.state.refreshClientOf(required(params, 'refresh_token'));
  const client = owner === undefined ? undefined : deps.clients.get(owner);
  if (!client) throw new OAuthError('invalid_grant', 'the refresh token is unknown, expired or revoked');
  if (client.token_endpoint_auth_method !== 'none') throw new OAuthError('invalid_client', 'this client must authenticate with a private_key_jwt client_assertion');
  return client;
}

async function refreshToken(params: URLSearchParams, deps: TokenEndpointDeps): Promise<TokenResponse> {
  const client = await refreshRequestClient(params, deps);
  assertGrantType(client, 'refresh_token');
  const token = required(params, 'refresh_token');
  const scope = params.get('scope');
  // Checked before the token is used: a refused request does not consume it.
  const peek = deps.state.peekRefresh(token);
  if (peek) {
    if (peek.grant.clientId !== client.client_id) throw new OAuthError('invalid_grant', 'the refresh token was issued to another client');
    const beyond = scope === null ? [] : uncovered(scopeTokens(scope), scopeTokens(peek.grant.scope));
    if (beyond.length > 0) throw new OAuthError('invalid_scope', `scopes beyond the original grant: ${beyond.join(' ')}`);
  }
  const entry = deps.state.useRefresh(token);
  if (entry === 'reuse') throw new OAuthError('invalid_grant', 'the refresh token was already used; every token of its grant is revoked');
  if (!entry) throw new OAuthError('invalid_grant', 'the refresh token is unknown, expired or revoked');
  const grant: Grant = scope === null ? entry.grant : { ...entry.grant, scope: scopeTokens(scope).join(' ') };
  return tokenResponse(deps.keys, deps.settings, deps.state, grant, { family: entry.family, familyExpires: entry.expires, withIdToken: true }).body;
}

async function clientCredentials(params: URLSearchParams, deps: TokenEndpointDeps): Promise<TokenResponse> {
  const client = await authenticateClient(params, deps, deps.clientKeys);
  if (client.token_endpoint_auth_method !== 'private_key_jwt') throw new OAuthError('unauthorized_client', 'client_credentials needs a private_key_jwt client');
  assertGrantType(client, 'client_credentials');
  const requested = scopeTokens(required(params, 'scope'));
  const notSystem = requested.filter((s) => parseScope(s)?.context !== 'system');
  if (notSystem.length > 0) throw new OAuthError('invalid_scope', `only system/ scopes can be granted to a backend client: ${notSystem.join(' ')}`);
  const beyond = uncovered(requested, scopeTokens(client.scope));
  if (beyond.length > 0) throw new OAuthError('invalid_scope', `scopes the client is not registered for: ${beyond.join(' ')}`);
  return tokenResponse(deps.keys, deps.settings, deps.state, { clientId: client.client_id, sub: client.client_id, scope: requested.join(' ') }, { withIdToken: false }).body;
}

/** Answers a token request (form parameters) or throws an OAuthError. */
export async function handleTokenRequest(params: URLSearchParams, deps: TokenEndpointDeps): Promise<TokenResponse> {
  const grantType = required(params, 'grant_type');
  switch (grantType) {
    case 'authorization_code':
      return authorizationCode(params, deps);
    case 'refresh_token':
      return refreshToken(params, deps);
    case 'client_credentials':
      return clientCredentials(params, deps);
    default:
      throw new OAuthError('unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported (authorization_code, refresh_token, client_credentials)`);
  }
}
