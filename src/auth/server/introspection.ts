/**
 * Token introspection and revocation (RFC 7662 §2 introspection; RFC 7009 §2 revocation; SMART App
 * Launch 2.0.0 token-introspection.html).
 *
 * Introspection answers `active` with `scope`, `client_id`, `sub`, `exp`, `iat`, `iss`, `aud`,
 * `patient`, `fhirUser`, `encounter` for an access token this server signed that has neither expired
 * nor been revoked, or a refresh token still usable; anything else is `{"active": false}`. Callers
 * must authenticate: a `private_key_jwt` client assertion, or `Authorization: Bearer` with an active
 * access token of this server (what a resource server or an app holding a token has).
 *
 * Revocation takes a refresh token (its whole family is revoked, with the access tokens issued from
 * it) or an access token (its `jti` is refused by the resource server until it would have expired,
 * through `isRevoked`). Tokens that are unknown or invalid are answered 200, as RFC 7009 requires.
 */
import jwt from 'jsonwebtoken';
import { decodeJws } from '../jws';
import { checkIssuedAt } from '../verify';
import type { RegisteredClient } from './clients';
import type { SigningKeys } from './keys';
import { OAuthError } from './oauth-error';
import type { AuthState } from './state';

/** Clock skew tolerated for the `iat` of the server's own tokens, as the resource server does (src/auth/verify.ts). */
const CLOCK_TOLERANCE_SECONDS = 30;

export interface AccessClaims {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  patient?: string;
  fhirUser?: string;
  encounter?: string;
}

/** The claims of an access token this server signed; undefined when the signature, issuer or audience do not verify. */
export function verifyOwnAccessToken(token: string, keys: SigningKeys, issuer: string, audience: string, nowSec: number, ignoreExpiration = false): AccessClaims | undefined {
  const decoded = decodeJws(token);
  if (!decoded || decoded.header.alg !== 'RS256' || decoded.header.kid === undefined) return undefined;
  const key = keys.publicKey(decoded.header.kid);
  if (!key) return undefined;
  try {
    const p = jwt.verify(token, key, { algorithms: ['RS256'], issuer, audience, clockTimestamp: nowSec, ignoreExpiration });
    if (typeof p === 'string' || typeof p.jti !== 'string' || typeof p.exp !== 'number' || typeof p['client_id'] !== 'string' || typeof p['scope'] !== 'string') return undefined;
    if (checkIssuedAt(p.iat, nowSec, CLOCK_TOLERANCE_SECONDS) !== undefined) return undefined;
    return p as unknown as AccessClaims;
  } catch {
    return undefined;
  }
}

export interface IntrospectionDeps {
  keys: SigningKeys;
  state: AuthState;
  issuer: string;
  audience: string;
}

/** The active access token of a request's `Authorization: Bearer` header, if any. */
export function activeBearer(authorization: string | undefined, deps: IntrospectionDeps): AccessClaims | undefined {
  const m = /^Bearer\s+([A-Za-z0-9\-_.]+)$/i.exec(authorization ?? '');
  if (!m?.[1]) return undefined;
  const claims = verifyOwnAccessToken(m[1], deps.keys, deps.issuer, deps.audience, Math.floor(deps.state.now() / 1000));
  return claims && !deps.state.isRevoked(claims.jti) ? claims : undefined;
}

export function introspect(token: string, deps: IntrospectionDeps): Record<string, unknown> {
  const nowSec = Math.floor(deps.state.now() / 1000);
  const claims = verifyOwnAccessToken(token, deps.keys, deps.issuer, deps.audience, nowSec);
  if (claims && !deps.state.isRevoked(claims.jti)) {
    const { iss, aud, sub, client_id, scope, iat, exp, patient, fhirUser, encounter } = claims;
    return {
      active: true,
      token_type: 'Bearer',
      iss,
      aud,
      sub,
      client_id,
      scope,
      iat,
      exp,
      ...(patient !== undefined ? { patient } : {}),
      ...(fhirUser !== undefined ? { fhirUser } : {}),
      ...(encounter !== undefined ? { encounter } : {}),
    };
  }
  const refresh = deps.state.peekRefresh(token);
  if (refresh) {
    const g = refresh.grant;
    return {
      active: true,
      token_type: 'refresh_token',
      client_id: g.clientId,
      sub: g.sub,
      scope: g.scope,
      exp: Math.floor(refresh.expires / 1000),
      ...(g.patient !== undefined ? { patient: g.patient } : {}),
      ...(g.fhirUser !== undefined ? { fhirUser: g.fhirUser } : {}),
    };
  }
  return { active: false };
}

/** Revokes `token` for `client` (RFC 7009 §2.1). A token of another client is refused. */
export function revoke(token: string, client: RegisteredClient, deps: IntrospectionDeps): void {
  const refresh = deps.state.peekRefresh(token);
  if (refresh) {
    if (refresh.grant.clientId !== client.client_id) throw new OAuthError('unauthorized_client', 'the token was issued to another client');
    deps.state.revokeFamily(refresh.family, refresh.expires);
    return;
  }
  const claims = verifyOwnAccessToken(token, deps.keys, deps.issuer, deps.audience, Math.floor(deps.state.now() / 1000), true);
  if (!claims) return;
  if (claims.client_id !== client.client_id) throw new OAuthError('unauthorized_client', 'the token was issued to another client');
  deps.state.revokeJti(claims.jti, claims.exp);
}
