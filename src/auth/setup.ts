/**
 * Wiring of SMART on FHIR access control into the FHIR services (SMART App Launch 2.0.0; FHIR R4
 * security.html; RFC 6585 §4): AUTH_MODE=smart puts, first in `FhirServices.interceptors`, the
 * failed-authentication guard, the token-verifying, scope-enforcing interceptor and the per-client /
 * per-user request quota (src/auth/rate-limit.ts); AUTH_MODE=off installs nothing and logs a loud
 * warning.
 */
import type { FhirServices } from '../fhir/context';
import { smartInterceptor } from './interceptor';
import { authenticationGuard, requestQuota } from './rate-limit';
import { AuthThrottle, throttleSettingsOf } from './throttle';
import { createVerifier, type KeyLookup, type TokenVerifier } from './verify';

export interface SmartAuthOptions {
  /** Public keys of the built-in authorization server by `kid` (used unless AUTH_JWKS_URL is set). */
  keys?: KeyLookup;
  /** Seconds of clock skew tolerated (default 30). */
  clockToleranceSec?: number;
  /** The built-in authorization server's revocation list (RFC 7009): revoked access tokens are refused. */
  isRevoked?: (jti: string) => boolean;
  /** The limits shared with the built-in authorization server (default: a new one from the configuration). */
  throttle?: AuthThrottle;
}

/** Installs the SMART interceptor (AUTH_MODE=smart) and returns its verifier; undefined when AUTH_MODE=off. */
export function enableSmartAuth(services: FhirServices, opts: SmartAuthOptions = {}): TokenVerifier | undefined {
  const { config, log } = services;
  if (config.authMode === 'off') {
    log.warn(
      '*** AUTH_MODE=off: SMART on FHIR access control is DISABLED. Every client can read and write every resource without a token. Never expose this server to a network. ***',
    );
    return undefined;
  }
  if (!config.authJwksUrl && !opts.keys) {
    log.warn('AUTH_MODE=smart without AUTH_JWKS_URL and without the built-in authorization server keys: no access token can be verified');
  }
  const verifier = createVerifier({
    issuer: config.authIssuer,
    audience: config.authAudience,
    ...(config.authJwksUrl ? { jwksUrl: config.authJwksUrl } : opts.keys ? { keys: opts.keys } : {}),
    ...(opts.clockToleranceSec !== undefined ? { clockToleranceSec: opts.clockToleranceSec } : {}),
    ...(opts.isRevoked ? { isRevoked: opts.isRevoked } : {}),
    now: () => services.now?.() ?? new Date(),
  });
  const throttle = opts.throttle ?? new AuthThrottle(throttleSettingsOf(config));
  services.interceptors = [authenticationGuard(throttle), smartInterceptor({ verifier, realm: config.baseUrl }), requestQuota(throttle), ...(services.interceptors ?? [])];
  log.info({ issuer: config.authIssuer, audience: config.authAudience, jwks: config.authJwksUrl ?? 'built-in' }, 'SMART on FHIR access control enabled');
  return verifier;
}
