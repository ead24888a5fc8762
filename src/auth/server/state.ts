/**
 * State of the built-in authorization server (RFC 6749 §4.1.2 authorization codes, §10.4 refresh
 * token rotation per OAuth 2.0 Security BCP (RFC 9700 §4.14.2); RFC 7009 revocation; RFC 7523 §3
 * `jti` replay cache).
 *
 * Short-lived state is kept in memory with an expiry, for this single-process server: pending
 * authorization requests (between the authorize page and the redirect), codes, EHR launch contexts,
 * refresh tokens (stored by SHA-256 hash, grouped in families). A restart forgets it (users log in
 * again). Revoked access token `jti`s and seen client assertion `jti`s are kept until they expire in
 * `DurableAuthState` (src/auth/server/durable-state.ts: `DATA_DIR/auth-state.sqlite`), so a restart
 * neither revives a revoked token nor lets an assertion be replayed. A multi-instance deployment
 * uses an external issuer (AUTH_ISSUER + AUTH_JWKS_URL).
 */
import { createHash, randomBytes } from 'node:crypto';
import { DurableAuthState } from './durable-state';

/** A random, URL-safe, unguessable value (256 bits). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

/** A map whose entries disappear at their expiry (milliseconds since the epoch). */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  constructor(private readonly now: () => number) {}

  set(key: string, value: V, expires: number): void {
    this.sweep();
    this.entries.set(key, { value, expires });
  }
  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  /** Removes and returns the entry (single use). */
  take(key: string): V | undefined {
    const v = this.get(key);
    this.entries.delete(key);
    return v;
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
  values(): V[] {
    this.sweep();
    return [...this.entries.values()].map((e) => e.value);
  }
  get size(): number {
    this.sweep();
    return this.entries.size;
  }
  private lastSweep = 0;
  /** Drops expired entries, at most once a second. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }
}

/** What a user authorised, carried from the authorize page to the code and on to tokens. */
export interface Grant {
  clientId: string;
  /** Granted scopes (space-separated). */
  scope: string;
  /** The user (`sub`): a local user name, or the client id for client_credentials. */
  sub: string;
  fhirUser?: string;
  patient?: string;
  encounter?: string;
  /** OpenID Connect nonce from the authorization request. */
  nonce?: string;
}

export interface AuthorizationCode {
  grant: Grant;
  redirectUri: string;
  codeChallenge: string;
  /** Set when the code has been exchanged: what it issued, revoked if the code is presented again. */
  used?: { jti: string; exp: number; family?: string };
}

export interface RefreshToken {
  grant: Grant;
  family: string;
  /** Set once used: presenting it again is a reuse that revokes the family. */
  used: boolean;
  expires: number;
}

export interface LaunchContext {
  patient?: string;
  encounter?: string;
  /** Who created it (`sub` of the token used). */
  createdBy: string;
}

export class AuthState {
  readonly codes: ExpiringMap<AuthorizationCode>;
  readonly launches: ExpiringMap<LaunchContext>;
  /** Refresh tokens by SHA-256 of the token. */
  private readonly refresh: ExpiringMap<RefreshToken>;
  /** Revoked families (until the longest refresh lifetime passes). */
  private readonly revokedFamilies: ExpiringMap<true>;
  /** Access token jtis issued per family, so a revoked family revokes its access tokens too. */
  private readonly familyJtis: ExpiringMap<Array<{ jti: string; exp: number }>>;
  /** Revoked access token jtis (until the token would have expired anyway) and client assertion jtis seen (per client, until the assertion expires). */
  private readonly durable: DurableAuthState;

  /** `durable`: where revocations and assertion jtis are kept (default: a memory database). */
  constructor(
    readonly now: () => number,
    durable?: DurableAuthState,
  ) {
    this.codes = new ExpiringMap(now);
    this.launches = new ExpiringMap(now);
    this.refresh = new ExpiringMap(now);
    this.revokedFamilies = new ExpiringMap(now);
    this.familyJtis = new ExpiringMap(now);
    this.durable = durable ?? DurableAuthState.open(undefined, now);
  }

  /** Stores a new refresh token of `family` and returns it. */
  issueRefresh(grant: Grant, family: string, expires: number): string {
    const token = randomToken();
    this.refresh.set(sha256(token), { grant, family, used: false, expires }, expires);
    return token;
  }

  /**
   * Uses a refresh token once. `reuse` when it was used before (the family is then revoked, with its
   * access tokens); undefined when unknown, expired or revoked.
   */
  useRefresh(token: string): RefreshToken | 'reuse' | undefined {
    const entry = this.refresh.get(sha256(token));
    if (!entry || this.revokedFamilies.has(entry.family)) return undefined;
    if (entry.used) {
      this.revokeFamily(entry.family, entry.expires);
      return 'reuse';
    }
    entry.used = true;
    return entry;
  }

  /**
   * The client a refresh token was issued to, used or not (so that presenting a used one without
   * `client_id` still revokes its family); undefined when unknown, expired or revoked.
   */
  refreshClientOf(token: string): string | undefined {
    const entry = this.refresh.get(sha256(token));
    return entry && !this.revokedFamilies.has(entry.family) ? entry.grant.clientId : undefined;
  }

  /** The refresh token's record without using it (introspection, revocation). */
  peekRefresh(token: string): RefreshToken | undefined {
    const entry = this.refresh.get(sha256(token));
    return entry && !this.revokedFamilies.has(entry.family) && !entry.used ? entry : undefined;
  }

  revokeFamily(family: string, until: number): void {
    this.revokedFamilies.set(family, true, Math.max(until, this.now() + 1000));
    for (const t of this.familyJtis.get(family) ?? []) this.revokeJti(t.jti, t.exp);
  }

  /** Records an access token issued from a refresh family. */
  recordAccessToken(family: string, jti: string, exp: number, familyExpires: number): void {
    const list = this.familyJtis.get(family) ?? [];
    list.push({ jti, exp });
    this.familyJtis.set(family, list, Math.max(familyExpires, exp));
  }

  /** Revokes an access token by jti until `exp` (seconds since the epoch). */
  revokeJti(jti: string, exp: number): void {
    this.durable.revoke(jti, exp * 1000 + 60_000);
  }

  isRevoked(jti: string): boolean {
    return this.durable.isRevoked(jti);
  }

  /** Records a client assertion jti; false when it was seen before (a replay). */
  rememberAssertion(clientId: string, jti: string, expSeconds: number): boolean {
    return this.durable.rememberAssertion(clientId, jti, expSeconds * 1000 + 60_000);
  }

  /** Closes the durable store (server shutdown). */
  close(): void {
    this.durable.close();
  }
}
