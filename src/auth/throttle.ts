/**
 * Throttling of clients, users and failed authentication, shared by the resource server and the
 * built-in authorization server (OAuth 2.0 Security BCP, RFC 9700 §4.6 and RFC 6749 §10.10: the
 * authorization server must prevent brute force on credentials, codes and refresh tokens; RFC 7662 §4
 * and RFC 6750 §5.2 (token scanning, denial of service); RFC 6585 §4 `429 Too Many Requests` with
 * `Retry-After`; NIST SP 800-63B §5.2.2 rate limiting of failed authentication, with increasing
 * waits rather than a permanent lock).
 *
 * Three kinds of limit, each a `rate-limiter-flexible` memory limiter (fixed windows, per process):
 * - request quotas: points per minute per client (`client:<client_id>`) and per user (`user:<sub>`);
 *   separate quotas for the FHIR API and for the authorization server's JSON endpoints;
 * - failed authentication: failures within a minute per source address (`address:<ip>`, IPv6 by
 *   /64) and, with a higher limit, per registered client (`client:<client_id>`, whatever the address:
 *   a distributed attack on one client); the failure that reaches the limit blocks the key for the block
 *   duration and every authentication attempt under it is refused, valid credentials included (else
 *   the attacker could still tell a right guess from a wrong one);
 * - login lockout: consecutive failed sign-ins per user name (the library's "consecutive failures by
 *   username" brute-force pattern, counted for every user name whether or not the user exists, so the
 *   lockout reveals nothing); from the `lockoutThreshold`-th failure on the name is locked for
 *   `lockoutSeconds`, doubled with every further failure, at most `lockoutMaxSeconds`; a successful
 *   sign-in resets the count.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface ThrottleSettings {
  /** FHIR API requests per minute per client and per user; 0: unlimited. */
  fhirRequestsPerMinute: number;
  /** Authorization server requests per minute per client; 0: unlimited. */
  authRequestsPerMinute: number;
  /** Failed authentications within a minute from one source address that block it. */
  failuresPerMinute: number;
  /** Failed authentications within a minute of one registered client (all addresses together) that block it. */
  clientFailuresPerMinute: number;
  /** How long a source address or client stays blocked once over its failure limit. */
  failureBlockSeconds: number;
  /** Consecutive failed sign-ins of one user name before the login is locked. */
  lockoutThreshold: number;
  /** The first lockout; each further failure doubles it. */
  lockoutSeconds: number;
  /** The longest lockout. */
  lockoutMaxSeconds: number;
}

/** A refusal: which limit, and when to try again. */
export interface Throttled {
  /** What was limited, for the response text and the log (never a secret). */
  limit: 'client requests' | 'user requests' | 'failed authentication from this address' | 'failed authentication of this client' | 'failed sign-ins of this user name';
  /** Whole seconds until the key may be used again (the `Retry-After` value), at least 1. */
  retryAfterSeconds: number;
}

/** How long failed sign-ins of a user name are remembered after the first one. */
const CONSECUTIVE_WINDOW_SECONDS = 24 * 3600;

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Keys built from caller input are bounded: a long user name or client id is hashed (short ones are kept, cheaply). */
const digest = (s: string): string => (s.length <= 64 ? `=${s}` : `#${createHash('sha256').update(s).digest('base64url')}`);

function quota(points: number, prefix: string): RateLimiterMemory | undefined {
  return points > 0 ? new RateLimiterMemory({ keyPrefix: prefix, points, duration: 60 }) : undefined;
}

/** Consumes one point; the refusal when over the limit (rate-limiter-flexible rejects with a RateLimiterRes). */
async function take(limiter: RateLimiterMemory, key: string): Promise<RateLimiterRes | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (e) {
    if (e instanceof RateLimiterRes) return e;
    throw e;
  }
}

/**
 * The throttling key of a client address: an IPv4 address as it is (IPv4-mapped IPv6 included), an
 * IPv6 address by its /64 prefix (one host usually holds a whole /64, RFC 6177; counting single
 * addresses would let it rotate through them).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address) || !isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class AuthThrottle {
  private readonly fhir: RateLimiterMemory | undefined;
  private readonly auth: RateLimiterMemory | undefined;
  private readonly addressFailures: RateLimiterMemory;
  private readonly clientFailures: RateLimiterMemory;
  private readonly consecutive: RateLimiterMemory;
  private readonly lockouts: RateLimiterMemory;

  constructor(readonly settings: Readonly<ThrottleSettings>) {
    this.fhir = quota(settings.fhirRequestsPerMinute, 'fhir');
    this.auth = quota(settings.authRequestsPerMinute, 'auth');
    // The limiter blocks when more than `points` are consumed: the N-th failure starts the block.
    this.addressFailures = new RateLimiterMemory({ keyPrefix: 'address-failure', points: settings.failuresPerMinute - 1, duration: 60, blockDuration: settings.failureBlockSeconds });
    this.clientFailures = new RateLimiterMemory({ keyPrefix: 'client-failure', points: settings.clientFailuresPerMinute - 1, duration: 60, blockDuration: settings.failureBlockSeconds });
    this.consecutive = new RateLimiterMemory({ keyPrefix: 'login-failure', points: Number.MAX_SAFE_INTEGER, duration: CONSECUTIVE_WINDOW_SECONDS });
    this.lockouts = new RateLimiterMemory({ keyPrefix: 'login-lockout', points: 1, duration: 1 });
  }

  /** Counts one FHIR API request of a verified client and user; the refusal when either is over its quota. */
  async fhirRequest(who: { client?: string | undefined; user?: string | undefined }): Promise<Throttled | undefined> {
    if (!this.fhir) return undefined;
    if (who.client !== undefined) {
      const r = await take(this.fhir, `client:${digest(who.client)}`);
      if (r) return { limit: 'client requests', retryAfterSeconds: seconds(r.msBeforeNext) };
    }
    if (who.user !== undefined) {
      const r = await take(this.fhir, `user:${digest(who.user)}`);
      if (r) return { limit: 'user requests', retryAfterSeconds: seconds(r.msBeforeNext) };
    }
    return undefined;
  }

  /** Counts one request of a (registered) client at the authorization server. */
  async authRequest(client: string): Promise<Throttled | undefined> {
    if (!this.auth) return undefined;
    const r = await take(this.auth, `client:${digest(client)}`);
    return r ? { limit: 'client requests', retryAfterSeconds: seconds(r.msBeforeNext) } : undefined;
  }

  /** Whether authentication from this address, or of this client, is blocked after too many failures. */
  async authenticationBlocked(from: { address?: string | undefined; client?: string | undefined }): Promise<Throttled | undefined> {
    const checks: Array<[RateLimiterMemory, string | undefined, Throttled['limit']]> = [
      [this.addressFailures, from.address, 'failed authentication from this address'],
      [this.clientFailures, from.client !== undefined ? digest(from.client) : undefined, 'failed authentication of this client'],
    ];
    let worst: Throttled | undefined;
    for (const [limiter, key, limit] of checks) {
      if (key === undefined) continue;
      const r = await limiter.get(key);
      if (r && r.consumedPoints > limiter.points && r.msBeforeNext > 0) {
        const t: Throttled = { limit, retryAfterSeconds: seconds(r.msBeforeNext) };
        if (!worst || t.retryAfterSeconds > worst.retryAfterSeconds) worst = t;
      }
    }
    return worst;
  }

  /** Records a failed authentication; true when this failure started a block. */
  async authenticationFailed(from: { address?: string | undefined; client?: string | undefined }): Promise<boolean> {
    let blocked = false;
    if (from.address !== undefined && (await take(this.addressFailures, from.address))) blocked = true;
    if (from.client !== undefined && (await take(this.clientFailures, digest(from.client)))) blocked = true;
    return blocked;
  }

  /** Whether sign-in with this user name is locked (checked before the password is). */
  async loginLocked(username: string): Promise<Throttled | undefined> {
    const r = await this.lockouts.get(digest(username));
    return r && r.consumedPoints > 1 && r.msBeforeNext > 0 ? { limit: 'failed sign-ins of this user name', retryAfterSeconds: seconds(r.msBeforeNext) } : undefined;
  }

  /** Records a failed sign-in; the lockout it starts, if any. */
  async loginFailed(username: string): Promise<Throttled | undefined> {
    const key = digest(username);
    const { consumedPoints } = await this.consecutive.penalty(key);
    const { lockoutThreshold, lockoutSeconds, lockoutMaxSeconds } = this.settings;
    if (consumedPoints < lockoutThreshold) return undefined;
    const doublings = Math.min(consumedPoints - lockoutThreshold, 30);
    const lockFor = Math.min(lockoutMaxSeconds, lockoutSeconds * 2 ** doublings);
    await this.lockouts.block(key, lockFor);
    return { limit: 'failed sign-ins of this user name', retryAfterSeconds: lockFor };
  }

  /** A successful sign-in: the count of consecutive failures starts again. */
  async loginSucceeded(username: string): Promise<void> {
    const key = digest(username);
    await this.consecutive.delete(key);
    await this.lockouts.delete(key);
  }
}

/** The settings of the server configuration (src/config/config.ts). */
export function throttleSettingsOf(config: {
  rateLimitFhirPerMinute: number;
  rateLimitAuthPerMinute: number;
  authFailuresPerMinute: number;
  authClientFailuresPerMinute: number;
  authFailureBlockSeconds: number;
  loginLockoutThreshold: number;
  loginLockoutSeconds: number;
  loginLockoutMaxSeconds: number;
}): ThrottleSettings {
  return {
    fhirRequestsPerMinute: config.rateLimitFhirPerMinute,
    authRequestsPerMinute: config.rateLimitAuthPerMinute,
    failuresPerMinute: config.authFailuresPerMinute,
    clientFailuresPerMinute: config.authClientFailuresPerMinute,
    failureBlockSeconds: config.authFailureBlockSeconds,
    lockoutThreshold: config.loginLockoutThreshold,
    lockoutSeconds: config.loginLockoutSeconds,
    lockoutMaxSeconds: config.loginLockoutMaxSeconds,
  };
}
