/**
 * PDS FHIR API access modes (personal-demographics.yaml "Access modes") from the caller's SMART
 * grants (SMART App Launch 2.0.0 scopes-and-launch-context.html):
 *
 * | PDS access mode              | SMART caller                                   | what the façade allows |
 * | ---------------------------- | ---------------------------------------------- | ---------------------- |
 * | healthcare worker (user-restricted, CIS2) | `user/` scopes on Patient (or AUTH_MODE=off) | everything |
 * | patient access (NHS login P9) | `patient/` scopes with a patient in context   | the patient's own record: read, update, related people, coverage; no search, no create |
 * | restricted access (application-restricted) | `system/` scopes only               | search with exactly one match (`_max-results=1`), read, related people; no update (INVALID_METHOD), no create |
 *
 * SMART's own scope checks and patient compartment still apply underneath (the engine's access
 * control): the mode only adds PDS's refusals.
 */
import type { InteractionContext } from '../../fhir/context';
import { parseScopes } from '../../auth/scopes';

export type PdsAccessMode = 'healthcare-worker' | 'patient' | 'application';

export function pdsAccessMode(ctx: InteractionContext): PdsAccessMode {
  const access = ctx.access;
  if (!access) return 'healthcare-worker';
  const grants = parseScopes((access.scopes ?? []).join(' ')).filter((g) => g.resourceType === 'Patient' || g.resourceType === '*');
  if (grants.some((g) => g.context === 'user')) return 'healthcare-worker';
  if (grants.some((g) => g.context === 'patient')) return 'patient';
  if (grants.some((g) => g.context === 'system')) return 'application';
  return 'healthcare-worker';
}
