/**
 * Issuing tokens (SMART App Launch 2.0.0 app-launch.html "Obtain access token" and the token
 * response; OpenID Connect Core 1.0 §2 ID Token; RFC 9068 JWT access token claims).
 *
 * Access tokens are RS256 JWTs with `iss`, `aud` (the FHIR base URL), `sub`, `client_id`, `scope`,
 * `iat`, `exp`, `jti` and, when there is one, `patient`, `fhirUser`, `encounter`. The id token
 * (scopes `openid fhirUser`) carries `iss`, `sub`, `aud` = client id, `fhirUser` (absolute URL),
 * `nonce` when one was sent. Refresh tokens are opaque (src/auth/server/state.ts).
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SigningKeys } from './keys';
import type { AuthState, Grant } from './state';
import { scopeTokens } from './scope-policy';

export interface TokenSettings {
  issuer: string;
  audience: string;
  /** FHIR base URL (fhirUser in the id token is absolute). */
  baseUrl: string;
  accessTokenSeconds: number;
  /** Lifetime of offline_access refresh tokens. */
  refreshTokenSeconds: number;
  /** Lifetime of online_access refresh tokens. */
  onlineRefreshTokenSeconds: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  patient?: string;
  encounter?: string;
  need_patient_banner?: boolean;
}

function signJwt(keys: SigningKeys, payload: Record<string, unknown>): string {
  // `iat` is in every payload (jsonwebtoken keeps a given iat).
  return jwt.sign(payload, keys.privateKey, { algorithm: 'RS256', keyid: keys.kid });
}

/** An access token for the grant. */
export function accessToken(keys: SigningKeys, s: TokenSettings, grant: Grant, nowSec: number): { token: string; jti: string; exp: number } {
  const jti = randomUUID();
  const exp = nowSec + s.accessTokenSeconds;
  const token = signJwt(keys, {
    iss: s.issuer,
    aud: s.audience,
    sub: grant.sub,
    client_id: grant.clientId,
    scope: grant.scope,
    iat: nowSec,
    exp,
    jti,
    ...(grant.patient !== undefined ? { patient: grant.patient } : {}),
    ...(grant.fhirUser !== undefined ? { fhirUser: grant.fhirUser } : {}),
    ...(grant.encounter !== undefined ? { encounter: grant.encounter } : {}),
  });
  return { token, jti, exp };
}

/** The OpenID Connect id token, when `openid` and `fhirUser` were granted to a user. */
export function idToken(keys: SigningKeys, s: TokenSettings, grant: Grant, nowSec: number): string | undefined {
  const scopes = scopeTokens(grant.scope);
  if (!scopes.includes('openid') || grant.fhirUser === undefined) return undefined;
  return signJwt(keys, {
    iss: s.issuer,
    sub: grant.sub,
    aud: grant.clientId,
    iat: nowSec,
    exp: nowSec + s.accessTokenSeconds,
    ...(scopes.includes('fhirUser') ? { fhirUser: `${s.baseUrl}/${grant.fhirUser}` } : {}),
    ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
  });
}

/**
 * The token response for a grant: access token, id token when asked for, and a refresh token of
 * `family` (a new family when undefined) when offline_access or online_access was granted.
 */
export interface IssuedTokens {
  body: TokenResponse;
  /** The access token's jti and exp (seconds). */
  jti: string;
  exp: number;
  /** The refresh token family, when a refresh token was issued. */
  family?: string;
}

export function tokenResponse(keys: SigningKeys, s: TokenSettings, state: AuthState, grant: Grant, opts: { family?: string; familyExpires?: number; withIdToken: boolean }): IssuedTokens {
  const nowSec = Math.floor(state.now() / 1000);
  const access = accessToken(keys, s, grant, nowSec);
  const scopes = scopeTokens(grant.scope);
  const body: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: s.accessTokenSeconds, scope: grant.scope };
  const offline = scopes.includes('offline_access');
  let family: string | undefined;
  if (offline || scopes.includes('online_access')) {
    family = opts.family ?? randomUUID();
    // A rotated token keeps the family's original expiry: rotation never extends a session.
    const expires = opts.familyExpires ?? state.now() + 1000 * (offline ? s.refreshTokenSeconds : s.onlineRefreshTokenSeconds);
    body.refresh_token = state.issueRefresh(grant, family, expires);
    state.recordAccessToken(family, access.jti, access.exp, expires);
  }
  if (opts.withIdToken) {
    const id = idToken(keys, s, grant, nowSec);
    if (id !== undefined) body.id_token = id;
  }
  if (grant.patient !== undefined) {
    body.patient = grant.patient;
    body.need_patient_banner = true;
  }
  if (grant.encounter !== undefined) body.encounter = grant.encounter;
  return { body, jti: access.jti, exp: access.exp, ...(family !== undefined ? { family } : {}) };
}
