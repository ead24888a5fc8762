/**
 * Access token verification for the resource server (SMART App Launch 2.0.0, app-launch.html
 * "Access token" and backend-services.html; RFC 7519 JWT, RFC 8725 JWT best current practices;
 * RFC 6750 bearer tokens).
 *
 * A token is accepted only when it is a JWS signed with RS256 or ES384 (never `none`, never HMAC:
 * an HS256 token "signed" with the public key is refused because HMAC is not in the allowed list and
 * the key is an asymmetric KeyObject), by a key of the configured issuer (the built-in authorization
 * server's key source, looked up by `kid`; or an external issuer's JWKS through jwks-rsa, cached,
 * rate-limited and refetched when an unknown `kid` appears), with the configured `iss` and `aud`,
 * an `exp` (required), `nbf` and `iat` checked with a small clock tolerance (RFC 7519 §4.1.6: a token
 * issued later than now plus the tolerance is refused). Anything that is not a compact JWS with JSON
 * header and claims is refused with a `TokenError` before any key is looked up (src/auth/jws.ts):
 * `verify` rejects only with `TokenError` for bad input.
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { decodeJws } from './jws';

/** Finds the built-in server's public key for a `kid` (src/auth/server/keys.ts `SigningKeys.publicKey`). */
export type KeyLookup = (kid: string) => KeyObject | undefined;

export const ALLOWED_ALGORITHMS = ['RS256', 'ES384'] as const;

/** The claims of a verified access token that the resource server uses. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub?: string;
  client_id?: string;
  scope: string;
  iat?: number;
  exp: number;
  jti?: string;
  /** Patient in context (a Patient id). */
  patient?: string;
  /** The user, as a relative or absolute reference (`Practitioner/123`). */
  fhirUser?: string;
  encounter?: string;
  [claim: string]: unknown;
}

/** Why a token was refused (the text goes to `error_description`; never includes the token). */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** Keys of the built-in issuer; used when `jwksUrl` is absent. */
  keys?: KeyLookup;
  /** JWKS URL of an external issuer. */
  jwksUrl?: string;
  /** Seconds of clock skew tolerated for exp/nbf/iat (default 30). */
  clockToleranceSec?: number;
  /** The current time (tests). */
  now?: () => Date;
  /** Whether the issuer revoked the token with this `jti` (the built-in server's revocation list). */
  isRevoked?: (jti: string) => boolean;
  /**
   * Most verified tokens remembered (default 10 000): a token seen before is answered from memory until
   * its `exp` (still checked against revocation on every use), so the signature is verified once per
   * token rather than once per request. 0 disables the cache.
   */
  verifiedCacheSize?: number;
  /** JWKS cache lifetime in ms (default 10 minutes). */
  jwksCacheMaxAgeMs?: number;
  /** Most JWKS fetches a minute (default 10): an attacker sending random `kid`s cannot flood the issuer. */
  jwksRequestsPerMinute?: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<AccessTokenClaims>;
}

export function createVerifier(opts: VerifierOptions): TokenVerifier {
  const tolerance = opts.clockToleranceSec ?? 30;
  const jwks = opts.jwksUrl
    ? jwksRsa({
        jwksUri: opts.jwksUrl,
        cache: true,
        cacheMaxAge: opts.jwksCacheMaxAgeMs ?? 10 * 60_000,
        rateLimit: true,
        jwksRequestsPerMinute: opts.jwksRequestsPerMinute ?? 10,
        timeout: 5000,
      })
    : undefined;

  const keyFor = async (kid: string | undefined): Promise<KeyObject> => {
    if (jwks) {
      let key: jwksRsa.SigningKey;
      try {
        key = await jwks.getSigningKey(kid);
      } catch (e) {
        throw new TokenError(`no signing key of the issuer matches the token (kid ${JSON.stringify(kid ?? null)}): ${(e as Error).message}`);
      }
      return createPublicKey(key.getPublicKey());
    }
    if (kid === undefined) throw new TokenError('the token header has no kid');
    const key = opts.keys?.(kid);
    if (!key) throw new TokenError(`no signing key of the issuer has kid ${JSON.stringify(kid)}`);
    return key;
  };

  const cacheSize = opts.verifiedCacheSize ?? 10_000;
  /** Verified tokens (the exact compact JWS) and their claims, oldest first (Map insertion order). */
  const verified = new Map<string, AccessTokenClaims>();
  const remembered = (token: string): AccessTokenClaims | undefined => {
    const claims = verified.get(token);
    if (!claims) return undefined;
    const nowSec = (opts.now?.() ?? new Date()).getTime() / 1000;
    if (claims.exp + tolerance <= nowSec) {
      verified.delete(token);
      return undefined; // verified again below, which reports the expiry
    }
    if (opts.isRevoked && typeof claims.jti === 'string' && opts.isRevoked(claims.jti)) throw new TokenError('the access token has been revoked');
    return claims;
  };
  const remember = (token: string, claims: AccessTokenClaims): void => {
    if (cacheSize <= 0) return;
    if (verified.size >= cacheSize) verified.delete(verified.keys().next().value as string);
    verified.set(token, claims);
  };

  return {
    async verify(token: string): Promise<AccessTokenClaims> {
      const known = remembered(token);
      if (known) return known;
      const decoded = decodeJws(token);
      if (!decoded) throw new TokenError('the access token is not a compact JWS with a JSON header and JSON claims');
      const alg = decoded.header.alg;
      if (!(ALLOWED_ALGORITHMS as readonly string[]).includes(alg)) throw new TokenError(`the token algorithm ${JSON.stringify(alg)} is not accepted (accepted: ${ALLOWED_ALGORITHMS.join(', ')})`);
      const key = await keyFor(decoded.header.kid);
      const nowSec = Math.floor((opts.now?.() ?? new Date()).getTime() / 1000);
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: [...ALLOWED_ALGORITHMS],
          issuer: opts.issuer,
          audience: opts.audience,
          clockTolerance: tolerance,
          clockTimestamp: nowSec,
        });
      } catch (e) {
        throw new TokenError(describe(e));
      }
      if (typeof payload === 'string') throw new TokenError('the access token payload is not a JSON object');
      if (typeof payload.exp !== 'number') throw new TokenError('the access token has no exp claim');
      const iatProblem = checkIssuedAt(payload.iat, nowSec, tolerance);
      if (iatProblem !== undefined) throw new TokenError(`the access token ${iatProblem}`);
      if (opts.isRevoked && typeof payload.jti === 'string' && opts.isRevoked(payload.jti)) throw new TokenError('the access token has been revoked');
      const scope = payload['scope'];
      if (scope !== undefined && typeof scope !== 'string') throw new TokenError('the scope claim is not a space-separated string');
      for (const c of ['patient', 'fhirUser', 'encounter', 'client_id'] as const) {
        const v = payload[c];
        if (v !== undefined && typeof v !== 'string') throw new TokenError(`the ${c} claim is not a string`);
      }
      const claims = Object.freeze({ ...payload, iss: String(payload.iss), aud: payload.aud ?? opts.audience, exp: payload.exp, scope: scope ?? '' }) as AccessTokenClaims;
      remember(token, claims);
      return claims;
    },
  };
}

/**
 * Why an `iat` claim is refused, or undefined when it is acceptable (RFC 7519 §4.1.6; absent is
 * acceptable): it must be a number no later than now plus the clock tolerance.
 */
export function checkIssuedAt(iat: unknown, nowSec: number, toleranceSec: number): string | undefined {
  if (iat === undefined) return undefined;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'has an iat claim that is not a number';
  if (iat > nowSec + toleranceSec) return `was issued in the future (iat ${isoTime(iat)}, more than ${toleranceSec} s ahead of the server clock)`;
  return undefined;
}

/** A NumericDate as ISO 8601 (the number itself when it is outside what a Date can hold). */
function isoTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

function describe(e: unknown): string {
  if (e instanceof jwt.TokenExpiredError) return `the access token expired at ${isoTime(e.expiredAt.getTime() / 1000)}`;
  if (e instanceof jwt.NotBeforeError) return `the access token is not valid before ${isoTime(e.date.getTime() / 1000)}`;
  if (e instanceof jwt.JsonWebTokenError) return `the access token is invalid: ${e.message}`;
  return 'the access token could not be verified';
}
