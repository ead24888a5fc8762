/**
 * Rate limiting of the FHIR API (RFC 6585 §4 `429 Too Many Requests` and `Retry-After`; FHIR R4
 * valueset-issue-type `throttled`; RFC 6750 §3.1 `invalid_token`; OAuth 2.0 Security BCP, RFC 9700
 * §4.6 brute force; SMART App Launch 2.0.0 app-launch.html: the resource server validates every
 * access token).
 *
 * Two interceptors around the SMART interceptor (src/auth/interceptor.ts), installed by
 * src/auth/setup.ts, acting on top-level requests only (Bundle entries were counted with their Bundle):
 * - `authenticationGuard`, before it: a source address blocked after too many failed
 *   authentications is refused (429, even with a valid token: the attacker must not be able to tell
 *   a right guess); a request whose bearer token is refused (401 `invalid_token`) counts as a failure
 *   of its address, and is logged as one warning line (reason, address; never the token, never a
 *   stack).
 * - `requestQuota`, after it: each request of a verified token counts against its client (`client_id`)
 *   and its user (`sub`); over the quota: 429.
 *
 * `/metadata` is public and never counted. The limits and their windows are src/auth/throttle.ts.
 */
import type { Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import { smartCallerOf } from './interceptor';
import type { AuthThrottle, Throttled } from './throttle';
import { addressKey } from './throttle';

/** The 429 of the FHIR API: an OperationOutcome `throttled` with `Retry-After`. */
export function throttledError(t: Throttled): FhirError {
  return new FhirError('busy', { code: 'throttled', diagnostics: `Too many requests (${t.limit}); retry after ${t.retryAfterSeconds} s` }, { status: 429, headers: { 'Retry-After': String(t.retryAfterSeconds) } });
}

export function authenticationGuard(throttle: AuthThrottle): Interceptor {
  return async (req, interaction, ctx, next) => {
    if (req.bundleEntry || interaction.kind === 'capabilities' || ctx.internal) return next();
    const address = req.clientAddress !== undefined ? addressKey(req.clientAddress) : undefined;
    const blocked = await throttle.authenticationBlocked({ address });
    if (blocked) throw throttledError(blocked);
    try {
      return await next();
    } catch (e) {
      const presented = (req.headers['authorization'] ?? '').trim() !== '';
      if (e instanceof FhirError && e.category === 'unauthorized' && presented) {
        const startedBlock = await throttle.authenticationFailed({ address });
        ctx.services.log.warn({ requestId: req.requestId, address: req.clientAddress, reason: e.issues[0]?.diagnostics, ...(startedBlock ? { blockedSeconds: throttle.settings.failureBlockSeconds } : {}) }, 'FHIR API: access token refused');
      }
      throw e;
    }
  };
}

export function requestQuota(throttle: AuthThrottle): Interceptor {
  return async (req, _interaction, ctx, next) => {
    if (req.bundleEntry || ctx.internal) return next();
    const caller = smartCallerOf(ctx.access);
    if (caller) {
      const claims = caller.claims;
      const client = typeof claims.client_id === 'string' ? claims.client_id : typeof claims['azp'] === 'string' ? claims['azp'] : undefined;
      const t = await throttle.fhirRequest({ client, user: claims.sub });
      if (t) throw throttledError(t);
    }
    return next();
  };
}
