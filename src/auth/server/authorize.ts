/**
 * The authorization endpoint's rules (RFC 6749 §4.1.1-§4.1.2.1 authorization code grant; RFC 7636
 * PKCE; SMART App Launch 2.0.0 app-launch.html "Obtain authorization code", "launch context
 * arrives with your access token" and scopes-and-launch-context.html `launch`, `launch/patient`).
 *
 * `GET /auth/authorize` is checked here: an unknown `client_id` or a `redirect_uri` that is not one
 * of the client's registered URIs exactly is shown on a page and never redirected; every other
 * problem is sent back to the redirect URI as `error`, `error_description` and `state`. Required:
 * `response_type=code`, `state`, `aud` = the FHIR base URL, `code_challenge` with
 * `code_challenge_method=S256` (`plain` and a missing challenge are refused), `scope` within the
 * client's registered scopes, and for an EHR launch (`launch` scope) a `launch` value created by
 * `POST /auth/launch`. What passes becomes a pending authorization (kept ten minutes) that the login
 * and patient picker pages complete; the code it yields is single-use and lives one minute.
 */
import { parseScope } from '../scopes';
import type { ClientRegistry, RegisteredClient } from './clients';
import { scopeTokens, uncovered } from './scope-policy';
import { randomToken, type AuthState, type Grant, type LaunchContext } from './state';
import type { LocalUser } from './users';

export const PENDING_SECONDS = 600;
export const CODE_SECONDS = 60;
const CHALLENGE_RE = /^[A-Za-z0-9_-]{43}$/;
const STATE_MAX = 2048;

/** An authorization request between the authorize page and the redirect. */
export interface PendingAuthorization {
  tx: string;
  client: RegisteredClient;
  redirectUri: string;
  state: string;
  scopes: string[];
  codeChallenge: string;
  nonce?: string;
  launch?: LaunchContext;
  /** Per-request token every form of this authorization must carry. */
  csrf: string;
  /** SHA-256 of the browser cookie bound to this authorization. */
  cookieHash: string;
  user?: LocalUser;
}

export type AuthorizeOutcome =
  /** Shown on a page, never redirected (bad client or redirect URI). */
  | { kind: 'page'; status: number; message: string }
  | { kind: 'redirect'; location: string }
  /** Valid: the login page follows (the server binds the browser cookie). */
  | { kind: 'login'; pending: Omit<PendingAuthorization, 'cookieHash'> };

export interface AuthorizeDeps {
  clients: ClientRegistry;
  state: AuthState;
  /** The FHIR base URL the `aud` parameter must name. */
  audience: string;
}

/** The redirect URI with parameters added to its query (RFC 6749 §4.1.2: retaining its own query). */
export function redirectTo(redirectUri: string, params: Record<string, string | undefined>): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.append(k, v);
  return u.toString();
}

export function errorRedirect(redirectUri: string, state: string | undefined, error: string, description: string): AuthorizeOutcome {
  return { kind: 'redirect', location: redirectTo(redirectUri, { error, error_description: description, state }) };
}

const trimSlash = (s: string): string => s.replace(/\/+$/, '');

/** Checks an authorization request (the query of `GET /auth/authorize`). */
export function checkAuthorizeRequest(query: URLSearchParams, deps: AuthorizeDeps): AuthorizeOutcome {
  const single = (name: string): string | undefined => {
    const all = query.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  const clientId = single('client_id');
  if (clientId === undefined) return { kind: 'page', status: 400, message: 'The request has no client_id (or more than one).' };
  const client = deps.clients.get(clientId);
  if (!client) return { kind: 'page', status: 400, message: 'Unknown client_id: this application is not registered.' };
  const redirectUri = single('redirect_uri');
  if (redirectUri === undefined || !client.redirect_uris.includes(redirectUri)) {
    return { kind: 'page', status: 400, message: 'The redirect_uri is missing or is not one the application registered (exact match required).' };
  }
  const state = single('state');
  const fail = (error: string, description: string): AuthorizeOutcome => errorRedirect(redirectUri, state, error, description);
  for (const [name] of query) if (query.getAll(name).length > 1) return fail('invalid_request', `parameter ${name} is given more than once`);
  if (single('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (!client.grant_types.includes('authorization_code')) return fail('unauthorized_client', 'the client is not registered for the authorization code grant');
  if (state === undefined || state === '' || state.length > STATE_MAX) return fail('invalid_request', 'state is required');
  const aud = single('aud');
  if (aud === undefined || trimSlash(aud) !== trimSlash(deps.audience)) return fail('invalid_request', `aud must be the FHIR base URL ${deps.audience}`);
  const challenge = single('code_challenge');
  const method = single('code_challenge_method');
  if (challenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE S256)');
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!CHALLENGE_RE.test(challenge)) return fail('invalid_request', 'code_challenge must be BASE64URL(SHA256(code_verifier)): 43 characters');
  const scopes = scopeTokens(single('scope'));
  if (scopes.length === 0) return fail('invalid_scope', 'scope is required');
  const beyond = uncovered(scopes, scopeTokens(client.scope));
  if (beyond.length > 0) return fail('invalid_scope', `scopes the client is not registered for: ${beyond.join(' ')}`);
  const systemScopes = scopes.filter((s) => parseScope(s)?.context === 'system');
  if (systemScopes.length > 0) return fail('invalid_scope', `system/ scopes are for backend services (client_credentials): ${systemScopes.join(' ')}`);
  const launchParam = single('launch');
  let launch: LaunchContext | undefined;
  if (scopes.includes('launch')) {
    if (launchParam === undefined) return fail('invalid_request', 'the launch scope (EHR launch) needs the launch parameter');
    launch = deps.state.launches.take(launchParam);
    if (!launch) return fail('invalid_request', 'the launch parameter is unknown or expired');
  } else if (launchParam !== undefined) {
    return fail('invalid_scope', 'a launch parameter needs the launch scope');
  }
  const nonce = single('nonce');
  const pending: Omit<PendingAuthorization, 'cookieHash'> = {
    tx: randomToken(),
    client,
    redirectUri,
    state,
    scopes,
    codeChallenge: challenge,
    ...(nonce !== undefined ? { nonce } : {}),
    ...(launch !== undefined ? { launch } : {}),
    csrf: randomToken(),
  };
  return { kind: 'login', pending };
}

/**
 * The grant of a pending authorization for the logged-in user: a Patient user always has their own
 * patient in context and is never granted `user/` scopes (they would reach beyond their own record);
 * an EHR launch brings its patient and encounter; otherwise `patient` is the one picked.
 */
export function grantOf(p: PendingAuthorization, user: LocalUser, picked: string | undefined): Grant {
  const ownPatient = user.fhirUser.startsWith('Patient/') ? user.fhirUser.slice('Patient/'.length) : undefined;
  const scopes = ownPatient !== undefined ? p.scopes.filter((s) => parseScope(s)?.context !== 'user') : p.scopes;
  const patient = ownPatient ?? p.launch?.patient ?? picked;
  const encounter = ownPatient === undefined ? p.launch?.encounter : undefined;
  return {
    clientId: p.client.client_id,
    scope: scopes.join(' '),
    sub: user.username,
    fhirUser: user.fhirUser,
    ...(patient !== undefined ? { patient } : {}),
    ...(encounter !== undefined ? { encounter } : {}),
    ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
  };
}

/** Whether the logged-in user still has to pick a patient (standalone `launch/patient` by a non-patient user). */
export function needsPatientPicker(p: PendingAuthorization, user: LocalUser): boolean {
  return p.scopes.includes('launch/patient') && !user.fhirUser.startsWith('Patient/') && p.launch?.patient === undefined;
}

/** Issues the single-use code and returns the redirect with `code` and `state`. */
export function issueCode(p: PendingAuthorization, grant: Grant, state: AuthState): string {
  const code = randomToken();
  state.codes.set(code, { grant, redirectUri: p.redirectUri, codeChallenge: p.codeChallenge }, state.now() + CODE_SECONDS * 1000);
  return redirectTo(p.redirectUri, { code, state: p.state });
}
