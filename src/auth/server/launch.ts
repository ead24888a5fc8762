/**
 * EHR launch contexts, `POST /auth/launch` (SMART App Launch 2.0.0 app-launch.html "Launch App: EHR
 * Launch" and scopes-and-launch-context.html "launch": the EHR creates an opaque `launch` value bound
 * to the patient and encounter in context; RFC 6750 §3.1 `invalid_token` / `insufficient_scope`).
 *
 * Who may create one: an EHR user or a backend system, i.e. an active access token of this server
 * without patient context (no `patient` claim) that carries a `system/` scope, or a `user/` scope and
 * `fhirUser`. A patient-context token (a `patient` claim, or nothing but `patient/` scopes) is refused
 * with 403 `insufficient_scope`: a patient app could otherwise mint a launch for another patient.
 *
 * What it may name: a Patient and/or an Encounter the token may read (`r` on the type, and inside the
 * scope's query restriction, checked against the store as the FHIR API does). An id that does not
 * exist and an id the token may not read get the same answer, so the endpoint reveals nothing about
 * which ids exist.
 */
import type { FhirServices } from '../../fhir/context';
import { and } from '../../search/ir';
import { SmartGrantSet } from '../access';
import { parseScope, parseScopes } from '../scopes';
import type { AccessClaims } from './introspection';
import { OAuthError } from './oauth-error';

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** Refuses (OAuthError) a caller that may not create launch contexts. */
export function assertLaunchCaller(caller: AccessClaims): void {
  const scopes = caller.scope.split(' ').map((s) => parseScope(s)?.context);
  if (caller.patient !== undefined || !(scopes.includes('system') || (scopes.includes('user') && caller.fhirUser !== undefined))) {
    throw new OAuthError('insufficient_scope', 'creating a launch context needs a token of an EHR user (a user/ scope and fhirUser) or of a backend system (a system/ scope), without patient context');
  }
}

/**
 * Checks a `patient` or `encounter` value of the request: a resource id of `type` that exists and
 * that the caller's scopes let it read. Unknown and unreadable ids get the same OAuthError.
 */
export async function assertLaunchTarget(services: FhirServices, caller: AccessClaims, type: 'Patient' | 'Encounter', value: unknown): Promise<string> {
  const name = type.toLowerCase();
  if (typeof value !== 'string' || !ID_RE.test(value)) throw new OAuthError('invalid_request', `${name} must be a ${type} id`);
  const refused = new OAuthError('invalid_request', `${name} is not the id of a ${type} this token may read`);
  // No patient context (assertLaunchCaller): patient/ grants give nothing here.
  const restriction = new SmartGrantSet(parseScopes(caller.scope), undefined, services.search).restriction(type, 'r');
  if (restriction === undefined || restriction === 'none') throw refused;
  const current = await services.store.read(type, value);
  if (!current || current.deleted) throw refused;
  if (restriction === 'all') return value;
  let query = { resourceTypes: [type], where: and({ op: 'id', ids: [value] }, restriction), sort: [], count: 1, offset: 0, total: 'none' as const };
  if (services.search.rewrite) query = { ...query, ...(await services.search.rewrite(query, services.store)) } as typeof query;
  const page = await services.store.search(query);
  if (page.entries.length === 0) throw refused;
  return value;
}
