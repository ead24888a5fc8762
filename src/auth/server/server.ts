/**
 * The built-in authorization server as an Express Router (SMART App Launch 2.0.0 app-launch.html,
 * backend-services.html, token-introspection.html; RFC 6749, RFC 7636, RFC 7009, RFC 7662, RFC 7523;
 * OpenID Connect Discovery 1.0 §4).
 *
 * Served below the issuer's path (`<origin of BASE_URL>/auth`): `GET authorize`, the login
 * (`POST login`) and patient picker (`GET picker`, `POST pick`) pages, `POST launch` (EHR launch
 * context), `POST token`, `POST introspect`, `POST revoke`, `GET jwks` and
 * `GET .well-known/openid-configuration`. The JSON endpoints send CORS headers (browser apps call
 * them); the HTML pages forbid framing and caching. Only this module touches Express objects.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../../config/config';
import type { FhirServices } from '../../fhir/context';
import { decodeJws } from '../jws';
import { addressKey, AuthThrottle, throttleSettingsOf, type Throttled } from '../throttle';
import { checkAuthorizeRequest, errorRedirect, grantOf, issueCode, needsPatientPicker, PENDING_SECONDS, type PendingAuthorization } from './authorize';
import { ClientKeys, authenticateClient } from './client-auth';
import { DEV_CALLBACK_PATH, DEV_CLIENT_ID, describeDevClient, devCallbackUri, loadClientRegistry, type ClientRegistry } from './clients';
import { DurableAuthState } from './durable-state';
import { activeBearer, introspect, revoke, type IntrospectionDeps } from './introspection';
import { assertLaunchCaller, assertLaunchTarget } from './launch';
import { loadSigningKeys, type SigningKeys } from './keys';
import { OAuthError } from './oauth-error';
import { devCallbackPage, errorPage, loginPage, patientPickerPage, type PatientChoice } from './pages';
import { AuthState, ExpiringMap, randomToken, sha256 } from './state';
import { handleTokenRequest, type TokenEndpointDeps } from './token';
import type { TokenSettings } from './tokens';
import { loadUserRegistry, type UserRegistry } from './users';
import { timingSafeEqual } from 'node:crypto';

export interface AuthorizationServerOptions {
  services: FhirServices;
  /** Signing keys (default: loaded from the data directory, see authDataDir). */
  keys?: SigningKeys;
  /** Limits shared with the resource server (default: a new one from the configuration). */
  throttle?: AuthThrottle;
}

export interface AuthorizationServer {
  router: express.Router;
  issuer: string;
  keys: SigningKeys;
  clients: ClientRegistry;
  /** Whether an access token `jti` was revoked (the resource server's verifier must refuse it). */
  isRevoked(jti: string): boolean;
  /** Start-up instructions for the development client. */
  describeDevClient(): string;
  /** Closes the durable state (revocations, used assertions). */
  close(): void;
}

const COOKIE = 'smart_auth';
const COOKIE_RE = /^[A-Za-z0-9_-]{43}$/;
const LAUNCH_SECONDS = 300;
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;
const PICKER_PAGE_SIZE = 20;

/** What a JSON endpoint knows of its caller, for throttling. */
interface EndpointCall {
  address: string | undefined;
  /** The registered client the request names (set by `admit`). */
  client?: string | undefined;
}

/** Where keys and users are kept: DATA_DIR, or nowhere (memory) when the database is `:memory:`. */
export function authDataDir(config: Pick<Config, 'sqlitePath' | 'dataDir'>): string | undefined {
  return config.sqlitePath === ':memory:' ? undefined : config.dataDir;
}

function queryOf(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : req.originalUrl.slice(q + 1));
}

function formOf(req: Request): URLSearchParams {
  const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new OAuthError('invalid_request', 'the request body must be application/x-www-form-urlencoded');
  const params = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
  for (const [name] of params) if (params.getAll(name).length > 1) throw new OAuthError('invalid_request', `parameter ${name} is given more than once`);
  return params;
}

function cookieOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
      const v = part.slice(eq + 1).trim();
      return COOKIE_RE.test(v) ? v : undefined;
    }
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function sendHtml(res: Response, status: number, html: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.status(status).type('text/html; charset=utf-8').send(html);
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.status(status).type('application/json').send(JSON.stringify(body));
}

function sendOAuthError(res: Response, e: OAuthError): void {
  if (e.status === 401 || e.error === 'insufficient_scope') res.setHeader('WWW-Authenticate', `Bearer error="${e.error}"`);
  if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
  sendJson(res, e.status, e.toJSON());
}

/** The 429 of the authorization server's JSON endpoints (RFC 8628 §3.5 `slow_down`, RFC 6585 §4). */
function slowDown(t: Throttled): OAuthError {
  return new OAuthError('slow_down', `too many requests (${t.limit}); retry after ${t.retryAfterSeconds} s`, 429, t.retryAfterSeconds);
}

function throttledPage(res: Response, t: Throttled, html: string): void {
  res.setHeader('Retry-After', String(t.retryAfterSeconds));
  sendHtml(res, 429, html);
}

/** "about 2 minutes", for the pages. */
function duration(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `about ${minutes} minutes` : `about ${Math.round(minutes / 60)} hours`;
}

function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate, Retry-After');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
    return;
  }
  next();
}

function patientChoice(json: string | undefined, id: string): PatientChoice {
  const p = (json ? JSON.parse(json) : {}) as { name?: Array<{ text?: string; given?: string[]; family?: string }>; birthDate?: string };
  const n = p.name?.[0];
  const name = n?.text ?? [...(n?.given ?? []), n?.family ?? ''].join(' ').trim();
  return { id, name: name === '' ? `Patient/${id}` : name, ...(p.birthDate !== undefined ? { birthDate: p.birthDate } : {}) };
}

export function createAuthorizationServer(opts: AuthorizationServerOptions): AuthorizationServer {
  const { services } = opts;
  const { config, log, store } = services;
  const dataDir = authDataDir(config);
  const issuer = config.authIssuer;
  const issuerUrl = new URL(issuer);
  const basePath = issuerUrl.pathname.replace(/\/+$/, '');
  const secureCookie = issuerUrl.protocol === 'https:';
  const keys = opts.keys ?? loadSigningKeys(dataDir);
  const clients = loadClientRegistry(config.authClientsFile, issuer);
  // Hashing the development users' passwords costs tens of milliseconds: done at the first login.
  let users: UserRegistry | undefined;
  const userRegistry = (): UserRegistry => (users ??= loadUserRegistry(dataDir));
  const now = (): number => (services.now?.() ?? new Date()).getTime();
  const state = new AuthState(now, DurableAuthState.open(dataDir, now));
  const throttle = opts.throttle ?? new AuthThrottle(throttleSettingsOf(config));
  const pending = new ExpiringMap<PendingAuthorization>(state.now);
  const settings: TokenSettings = {
    issuer,
    audience: config.authAudience,
    baseUrl: config.baseUrl,
    accessTokenSeconds: config.authAccessTokenSeconds,
    refreshTokenSeconds: config.authRefreshTokenSeconds,
    onlineRefreshTokenSeconds: Math.min(config.authRefreshTokenSeconds, 8 * 3600),
  };
  const tokenEndpoint = `${issuer}/token`;
  const clientKeys = new ClientKeys();
  const tokenDeps: TokenEndpointDeps = { clients, state, tokenEndpoint, keys, clientKeys, settings };
  const introspectionDeps: IntrospectionDeps = { keys, state, issuer, audience: config.authAudience };

  const addressOf = (req: Request): string | undefined => (req.ip !== undefined ? addressKey(req.ip) : undefined);

  /** Counts a failed authentication against the address (and client) and logs it as one line. */
  const failed = async (endpoint: string, address: string | undefined, client: string | undefined, reason: string): Promise<void> => {
    const startedBlock = await throttle.authenticationFailed({ address, client });
    log.warn({ endpoint, address, ...(client !== undefined ? { client } : {}), reason, ...(startedBlock ? { blockedSeconds: throttle.settings.failureBlockSeconds } : {}) }, 'authorization server: authentication failed');
  };

  /** The client a token-endpoint style request names (client_id, or the iss of its assertion), unverified. */
  const claimedClient = (params: URLSearchParams): string | undefined => {
    const id = params.get('client_id');
    if (id !== null) return id;
    // A public client's refresh without client_id: the refresh token names the client.
    if (params.get('grant_type') === 'refresh_token' && params.get('client_assertion') === null) return state.refreshClientOf(params.get('refresh_token') ?? '');
    const iss = decodeJws(params.get('client_assertion'))?.payload['iss'];
    return typeof iss === 'string' ? iss : undefined;
  };

  const inner = express.Router();
  const body = express.text({ type: () => true, limit: '64kb' });

  /** The pending authorization of a form post or picker request, checked against the browser cookie (and the CSRF token for posts). */
  const pendingOf = (req: Request, params: URLSearchParams, checkCsrf: boolean): PendingAuthorization | string => {
    const p = pending.get(params.get('tx') ?? '');
    if (!p) return 'This sign-in has expired or is unknown. Start again from the application.';
    const cookie = cookieOf(req);
    if (cookie === undefined || !safeEqual(sha256(cookie), p.cookieHash)) return 'This sign-in was started in another browser session.';
    if (checkCsrf && !safeEqual(params.get('csrf') ?? '', p.csrf)) return 'The form is stale or forged (CSRF token mismatch). Start again from the application.';
    return p;
  };

  const redirect = (res: Response, location: string, status = 303): void => {
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(status, location);
  };

  const finish = (res: Response, p: PendingAuthorization, picked: string | undefined): void => {
    if (!p.user) return sendHtml(res, 400, errorPage('Sign-in failed', 'Not signed in.'));
    pending.delete(p.tx);
    redirect(res, issueCode(p, grantOf(p, p.user, picked), state));
  };

  const renderPicker = async (res: Response, p: PendingAuthorization, query: string, error?: string): Promise<void> => {
    let patients: PatientChoice[] = [];
    let problem = error;
    try {
      const params: Array<[string, string]> = [['_count', String(PICKER_PAGE_SIZE)]];
      if (query.trim() !== '') params.push(['name', query.trim()]);
      const parsed = services.search.parse(['Patient'], params, { strict: true });
      const page = await store.search(parsed.query);
      patients = page.entries.map((e) => patientChoice(e.json, e.id));
    } catch (e) {
      problem = `The search failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    sendHtml(res, 200, patientPickerPage({ basePath, tx: p.tx, csrf: p.csrf, user: p.user?.fhirUser ?? '', query, patients, ...(problem !== undefined ? { error: problem } : {}) }));
  };

  // The development client's redirect target: the code and its exchange command, on this server.
  inner.get(DEV_CALLBACK_PATH, (req: Request, res: Response) => {
    const q = queryOf(req);
    const one = (name: string): string | undefined => q.get(name) ?? undefined;
    const error = one('error');
    const code = one('code');
    const st = one('state');
    const description = one('error_description');
    sendHtml(
      res,
      error !== undefined || code === undefined ? 400 : 200,
      devCallbackPage({
        tokenEndpoint,
        redirectUri: devCallbackUri(issuer),
        clientId: DEV_CLIENT_ID,
        ...(code !== undefined ? { code } : {}),
        ...(st !== undefined ? { state: st } : {}),
        ...(error !== undefined ? { error } : {}),
        ...(description !== undefined ? { errorDescription: description } : {}),
      }),
    );
  });

  inner.get('/authorize', (req: Request, res: Response) => {
    const outcome = checkAuthorizeRequest(queryOf(req), { clients, state, audience: config.authAudience });
    if (outcome.kind === 'page') return sendHtml(res, outcome.status, errorPage('Authorization request refused', outcome.message));
    if (outcome.kind === 'redirect') return redirect(res, outcome.location, 302);
    const existing = cookieOf(req);
    const cookie = existing ?? randomToken();
    const p: PendingAuthorization = { ...outcome.pending, cookieHash: sha256(cookie) };
    pending.set(p.tx, p, state.now() + PENDING_SECONDS * 1000);
    if (existing === undefined) {
      res.cookie(COOKIE, cookie, { httpOnly: true, sameSite: 'lax', secure: secureCookie, path: basePath || '/' });
    }
    sendHtml(res, 200, loginPage({ basePath, tx: p.tx, csrf: p.csrf, clientName: p.client.client_name ?? p.client.client_id, scopes: p.scopes }));
  });

  inner.post('/login', body, async (req: Request, res: Response) => {
    let params: URLSearchParams;
    try {
      params = formOf(req);
    } catch (e) {
      return sendHtml(res, 400, errorPage('Sign-in failed', (e as Error).message));
    }
    const p = pendingOf(req, params, true);
    if (typeof p === 'string') return sendHtml(res, 403, errorPage('Sign-in refused', p));
    if (params.get('action') === 'deny') {
      pending.delete(p.tx);
      const out = errorRedirect(p.redirectUri, p.state, 'access_denied', 'the user denied the request');
      return redirect(res, out.kind === 'redirect' ? out.location : p.redirectUri);
    }
    const username = params.get('username') ?? '';
    const page = (error: string): string => loginPage({ basePath, tx: p.tx, csrf: p.csrf, clientName: p.client.client_name ?? p.client.client_id, scopes: p.scopes, username, error });
    const address = addressOf(req);
    // Refused before the password is looked at: the same answer whatever the password, whether or not the user exists.
    const blocked = await throttle.authenticationBlocked({ address });
    if (blocked) return throttledPage(res, blocked, page(`Too many failed sign-in attempts from your network address. Try again in ${duration(blocked.retryAfterSeconds)}.`));
    const locked = await throttle.loginLocked(username);
    if (locked) {
      await failed('login', address, undefined, 'the user name is locked after failed sign-ins');
      return throttledPage(res, locked, page(`Signing in with this user name is paused after too many failed attempts. Try again in ${duration(locked.retryAfterSeconds)}.`));
    }
    const user = await userRegistry().authenticate(username, params.get('password') ?? '');
    if (!user) {
      await failed('login', address, undefined, 'wrong user name or password');
      const lockout = await throttle.loginFailed(username);
      if (lockout) return throttledPage(res, lockout, page(`Wrong user name or password. After too many failed attempts, signing in with this user name is paused for ${duration(lockout.retryAfterSeconds)}.`));
      return sendHtml(res, 401, page('Wrong user name or password.'));
    }
    await throttle.loginSucceeded(username);
    p.user = user;
    if (needsPatientPicker(p, user)) return renderPicker(res, p, '');
    finish(res, p, undefined);
  });

  inner.get('/picker', async (req: Request, res: Response) => {
    const params = queryOf(req);
    const p = pendingOf(req, params, false);
    if (typeof p === 'string') return sendHtml(res, 403, errorPage('Patient selection refused', p));
    if (!p.user) return sendHtml(res, 403, errorPage('Patient selection refused', 'Sign in first.'));
    await renderPicker(res, p, params.get('name') ?? '');
  });

  inner.post('/pick', body, async (req: Request, res: Response) => {
    let params: URLSearchParams;
    try {
      params = formOf(req);
    } catch (e) {
      return sendHtml(res, 400, errorPage('Patient selection failed', (e as Error).message));
    }
    const p = pendingOf(req, params, true);
    if (typeof p === 'string') return sendHtml(res, 403, errorPage('Patient selection refused', p));
    if (!p.user || !needsPatientPicker(p, p.user)) return sendHtml(res, 403, errorPage('Patient selection refused', 'Sign in first.'));
    const id = params.get('patient') ?? '';
    const found = ID_RE.test(id) ? await store.read('Patient', id) : undefined;
    if (!found || found.deleted) return renderPicker(res, p, '', 'That patient does not exist.');
    finish(res, p, id);
  });

  /**
   * A JSON endpoint (token, introspection, revocation, launch): refused with 429 `slow_down` while the
   * source address or the named client is blocked after failed authentications, or the client is over
   * its request quota; a failed authentication (invalid_client, invalid_grant, invalid_token) counts
   * against both and is logged as one line; anything unexpected is a logged 500 `server_error`.
   */
  const jsonEndpoint =
    (name: string, run: (req: Request, call: EndpointCall) => Promise<{ status: number; body: unknown }>) =>
    async (req: Request, res: Response): Promise<void> => {
      const call: EndpointCall = { address: addressOf(req) };
      try {
        const out = await run(req, call);
        sendJson(res, out.status, out.body);
      } catch (e) {
        if (!(e instanceof OAuthError)) {
          log.error({ err: e, endpoint: name }, 'authorization server failure');
          return sendJson(res, 500, { error: 'server_error', error_description: 'internal error' });
        }
        if (e.authenticationFailure) await failed(name, call.address, call.client, `${e.error}: ${e.description}`);
        sendOAuthError(res, e);
      }
    };

  /** Names the client of a request (a registered client only: unknown ids are not counted) and applies its limits. */
  const admit = async (call: EndpointCall, client: string | undefined): Promise<void> => {
    call.client = client !== undefined && clients.get(client) ? client : undefined;
    const blocked = await throttle.authenticationBlocked({ address: call.address, client: call.client });
    if (blocked) throw slowDown(blocked);
    if (call.client !== undefined) {
      const over = await throttle.authRequest(call.client);
      if (over) throw slowDown(over);
    }
  };

  inner.post(
    '/launch',
    body,
    jsonEndpoint('launch', async (req, call) => {
      await admit(call, undefined);
      const caller = activeBearer(req.get('authorization'), introspectionDeps);
      if (!caller) throw new OAuthError('invalid_token', 'creating a launch context needs an active access token of this server');
      await admit(call, caller.client_id);
      assertLaunchCaller(caller);
      let input: Record<string, unknown>;
      try {
        const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
        const text = typeof req.body === 'string' ? req.body : '';
        const parsed: unknown = type === 'application/json' ? JSON.parse(text || '{}') : Object.fromEntries(formOf(req));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        input = parsed as Record<string, unknown>;
      } catch {
        throw new OAuthError('invalid_request', 'the body must be a JSON object or a form with patient and/or encounter');
      }
      const patient = input['patient'] !== undefined ? await assertLaunchTarget(services, caller, 'Patient', input['patient']) : undefined;
      const encounter = input['encounter'] !== undefined ? await assertLaunchTarget(services, caller, 'Encounter', input['encounter']) : undefined;
      const launch = randomToken();
      state.launches.set(launch, { createdBy: caller.sub, ...(patient !== undefined ? { patient } : {}), ...(encounter !== undefined ? { encounter } : {}) }, state.now() + LAUNCH_SECONDS * 1000);
      return { status: 201, body: { launch, expires_in: LAUNCH_SECONDS, iss: config.baseUrl } };
    }),
  );

  inner.use(['/token', '/introspect', '/revoke', '/jwks', '/.well-known/openid-configuration'], cors);

  inner.post(
    '/token',
    body,
    jsonEndpoint('token', async (req, call) => {
      const params = formOf(req);
      await admit(call, claimedClient(params));
      return { status: 200, body: await handleTokenRequest(params, tokenDeps) };
    }),
  );

  inner.post(
    '/introspect',
    body,
    jsonEndpoint('introspect', async (req, call) => {
      const params = formOf(req);
      await admit(call, claimedClient(params));
      const bearer = activeBearer(req.get('authorization'), introspectionDeps);
      if (bearer) {
        await admit(call, bearer.client_id);
      } else {
        if (params.get('client_assertion') === null) throw new OAuthError('invalid_client', 'introspection needs a private_key_jwt client assertion or an active bearer access token');
        await authenticateClient(params, tokenDeps, clientKeys);
      }
      const token = params.get('token');
      if (token === null || token === '') throw new OAuthError('invalid_request', 'token is required');
      return { status: 200, body: introspect(token, introspectionDeps) };
    }),
  );

  inner.post(
    '/revoke',
    body,
    jsonEndpoint('revoke', async (req, call) => {
      const params = formOf(req);
      await admit(call, claimedClient(params));
      const client = await authenticateClient(params, tokenDeps, clientKeys);
      const token = params.get('token');
      if (token === null || token === '') throw new OAuthError('invalid_request', 'token is required');
      revoke(token, client, introspectionDeps);
      return { status: 200, body: {} };
    }),
  );

  inner.get('/jwks', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.status(200).type('application/json').send(JSON.stringify(keys.jwks()));
  });

  inner.get('/.well-known/openid-configuration', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.status(200).json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: tokenEndpoint,
      jwks_uri: `${issuer}/jwks`,
      introspection_endpoint: `${issuer}/introspect`,
      revocation_endpoint: `${issuer}/revoke`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'RS256'],
      scopes_supported: ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'online_access'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce', 'fhirUser'],
    });
  });

  inner.use((req: Request, res: Response) => sendJson(res, 404, { error: 'not_found', error_description: `no authorization server endpoint at ${req.method} ${req.originalUrl.split('?')[0] ?? ''}` }));

  // Errors of body parsing (too large, bad encoding).
  inner.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) log.error({ err }, 'authorization server failure');
    sendJson(res, status, { error: status >= 500 ? 'server_error' : 'invalid_request', error_description: status >= 500 ? 'internal error' : (err as Error).message });
  });

  const router = express.Router();
  router.use(basePath || '/', inner);
  return {
    router,
    issuer,
    keys,
    clients,
    isRevoked: (jti) => state.isRevoked(jti),
    close: () => state.close(),
    describeDevClient: () => (clients.get(DEV_CLIENT_ID) ? describeDevClient(issuer, config.authAudience) : `No development client (${DEV_CLIENT_ID}) in ${clients.source}.`),
  };
}
