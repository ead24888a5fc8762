/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3 and
 * §3.2.1; RFC 7523 §2.2 and §3 JWT client assertions; RFC 7521 §4.2; SMART App Launch 2.0.0
 * client-confidential-asymmetric.html "Authenticating to the Token endpoint" and backend-services.html).
 *
 * A `private_key_jwt` client sends `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
 * and `client_assertion`: a JWT signed RS384, ES384 (as SMART requires) or RS256 with a key of the
 * client's registered JWKS (inline or `jwks_uri`, fetched and cached through jwks-rsa), with
 * `iss` = `sub` = client id, `aud` = the token endpoint URL, an `exp` at most five minutes ahead, an
 * `iat` (when present) no later than now plus the clock tolerance, and a `jti` not seen before (kept
 * until the assertion expires, across restarts: a replay is refused). An assertion that is not a
 * compact JWS with JSON header and claims is `invalid_client` before any key is looked up
 * (src/auth/jws.ts). A public client (`none`) only names itself with `client_id`.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { decodeJws } from '../jws';
import { checkIssuedAt } from '../verify';
import type { ClientRegistry, RegisteredClient } from './clients';
import { OAuthError } from './oauth-error';
import type { AuthState } from './state';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384', 'RS256'] as const;
/** Longest lifetime of a client assertion (SMART backend services: exp no more than five minutes ahead). */
export const MAX_ASSERTION_SECONDS = 300;
const CLOCK_TOLERANCE = 30;

export interface ClientAuthDeps {
  clients: ClientRegistry;
  state: AuthState;
  /** The token endpoint URL: the required `aud` of assertions. */
  tokenEndpoint: string;
}

/** Keys of registered clients, with jwks-rsa clients for `jwks_uri` (cached, rate-limited). */
export class ClientKeys {
  private readonly remote = new Map<string, jwksRsa.JwksClient>();

  async keyFor(client: RegisteredClient, kid: string | undefined, alg: string): Promise<KeyObject[]> {
    if (client.jwks) {
      const kty = alg.startsWith('ES') ? 'EC' : 'RSA';
      const candidates = client.jwks.keys.filter((k: JsonWebKey & { kid?: string }) => (kid === undefined || k.kid === kid) && k.kty === kty);
      return candidates.flatMap((k) => {
        try {
          return [createPublicKey({ key: k, format: 'jwk' })];
        } catch {
          return []; // a registered key node cannot read matches nothing
        }
      });
    }
    if (client.jwks_uri) {
      let remote = this.remote.get(client.client_id);
      if (!remote) {
        remote = jwksRsa({ jwksUri: client.jwks_uri, cache: true, cacheMaxAge: 10 * 60_000, rateLimit: true, jwksRequestsPerMinute: 10, timeout: 5000 });
        this.remote.set(client.client_id, remote);
      }
      try {
        const key = await remote.getSigningKey(kid);
        return [createPublicKey(key.getPublicKey())];
      } catch {
        return [];
      }
    }
    return [];
  }
}

/**
 * The authenticated client of a request. Throws invalid_client (401) for an unknown client, a missing
 * or bad assertion, a replayed `jti`, or a confidential client that did not authenticate.
 */
export async function authenticateClient(params: URLSearchParams, deps: ClientAuthDeps, keys: ClientKeys): Promise<RegisteredClient> {
  const assertionType = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  const clientIdParam = params.get('client_id') ?? undefined;
  if (assertionType === null && assertion === null) {
    if (clientIdParam === undefined) throw new OAuthError('invalid_client', 'client authentication is required: client_id (public client) or client_assertion (private_key_jwt)');
    const client = deps.clients.get(clientIdParam);
    if (!client) throw new OAuthError('invalid_client', 'unknown client_id');
    if (client.token_endpoint_auth_method !== 'none') throw new OAuthError('invalid_client', 'this client must authenticate with a private_key_jwt client_assertion');
    return client;
  }
  if (assertionType !== JWT_BEARER_ASSERTION) throw new OAuthError('invalid_client', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
  if (assertion === null || assertion === '') throw new OAuthError('invalid_client', 'client_assertion is missing');
  const decoded = decodeJws(assertion);
  if (!decoded) throw new OAuthError('invalid_client', 'client_assertion is not a JWT (a compact JWS with a JSON header and JSON claims)');
  const alg = decoded.header.alg;
  if (!(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) throw new OAuthError('invalid_client', `client_assertion algorithm ${JSON.stringify(alg)} is not accepted (accepted: ${ASSERTION_ALGORITHMS.join(', ')})`);
  const iss = decoded.payload['iss'];
  if (typeof iss !== 'string') throw new OAuthError('invalid_client', 'client_assertion has no iss');
  if (clientIdParam !== undefined && clientIdParam !== iss) throw new OAuthError('invalid_client', 'client_id does not match the client_assertion issuer');
  const client = deps.clients.get(iss);
  if (!client || client.token_endpoint_auth_method !== 'private_key_jwt') throw new OAuthError('invalid_client', 'the client_assertion issuer is not a registered private_key_jwt client');

  const candidates = await keys.keyFor(client, decoded.header.kid, alg);
  if (candidates.length === 0) throw new OAuthError('invalid_client', `no registered key of the client matches the client_assertion (kid ${JSON.stringify(decoded.header.kid ?? null)})`);
  const nowSec = Math.floor(deps.state.now() / 1000);
  let payload: jwt.JwtPayload | undefined;
  let failure = 'the client_assertion signature does not verify';
  for (const key of candidates) {
    try {
      const p = jwt.verify(assertion, key, {
        algorithms: [alg as jwt.Algorithm],
        audience: deps.tokenEndpoint,
        issuer: client.client_id,
        subject: client.client_id,
        clockTolerance: CLOCK_TOLERANCE,
        clockTimestamp: nowSec,
      });
      if (typeof p !== 'string') payload = p;
      break;
    } catch (e) {
      failure = e instanceof jwt.TokenExpiredError ? 'the client_assertion has expired' : `the client_assertion is invalid: ${(e as Error).message}`;
    }
  }
  if (!payload) throw new OAuthError('invalid_client', failure);
  if (typeof payload.exp !== 'number') throw new OAuthError('invalid_client', 'the client_assertion has no exp');
  if (payload.exp > nowSec + MAX_ASSERTION_SECONDS + CLOCK_TOLERANCE) throw new OAuthError('invalid_client', `the client_assertion exp is more than ${MAX_ASSERTION_SECONDS} seconds ahead`);
  const iatProblem = checkIssuedAt(payload.iat, nowSec, CLOCK_TOLERANCE);
  if (iatProblem !== undefined) throw new OAuthError('invalid_client', `the client_assertion ${iatProblem}`);
  if (typeof payload.jti !== 'string' || payload.jti === '') throw new OAuthError('invalid_client', 'the client_assertion has no jti');
  if (!deps.state.rememberAssertion(client.client_id, payload.jti, payload.exp)) throw new OAuthError('invalid_client', 'the client_assertion jti was used before (replay)');
  return client;
}
