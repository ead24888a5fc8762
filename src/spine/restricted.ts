/**
 * Restricted (sensitive) patients (PDS FHIR API "Restricted patients"; FHIR R4 security-labels.html,
 * confidentiality code R of http://terminology.hl7.org/CodeSystem/v3-Confidentiality). A restricted
 * record's `address`, `telecom` and `generalPractitioner` are removed from what callers without the
 * sensitive permission receive. The permission is the scope named by SENSITIVE_SCOPE in the caller's
 * `ctx.access.scopes` (or a token claim of that name with value true); a request without access
 * control (AUTH_MODE=off) does not have it.
 */
import type { Coding, Patient } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** The security label marking a restricted record. */
export const RESTRICTED_LABEL: Readonly<Coding> = Object.freeze({ system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' });

/** The elements of a restricted record that callers without the permission never see. */
export const REDACTED_ELEMENTS = ['address', 'telecom', 'generalPractitioner'] as const;

export function isRestricted(patient: Patient): boolean {
  return (patient.meta?.security ?? []).some((c) => c.system === CONFIDENTIALITY_SYSTEM && c.code === 'R');
}

/** Whether the caller may see restricted records in full. */
export function maySeeRestricted(ctx: InteractionContext): boolean {
  const name = ctx.services.config.sensitiveScope;
  if (name === '' || !ctx.access) return false;
  if (ctx.access.scopes?.includes(name)) return true;
  const claim = ctx.access.principal?.[name];
  return claim === true || claim === 'true';
}

/** A copy of a restricted patient without address, telecom and generalPractitioner (others unchanged). */
export function redactPatient(patient: Patient): Patient {
  if (!isRestricted(patient)) return patient;
  const copy: Patient = { ...patient };
  for (const k of REDACTED_ELEMENTS) delete copy[k];
  return copy;
}
