/**
 * Restricted (sensitive) patients (PDS FHIR API "Restricted patients"; FHIR R4 security-labels.html,
 * confidentiality code R of http://terminology.hl7.org/CodeSystem/v3-Confidentiality). A restricted
 * record's `address`, `telecom`, `contact` and `generalPractitioner` are removed from what callers
 * without the sensitive permission receive, and so are its pharmacy extensions (nominated pharmacy,
 * preferred dispenser, medical appliance supplier) and its place of birth: the PDS specification's
 * Patient schema ("When a patient tagged as `restricted` is retrieved, all addresses / all contact
 * points / all contacts / the General Practice are removed", "the pharmacy and birth place
 * extensions are removed"), as its Sensitive_Patient example shows. Other extensions (e.g. the death
 * notification status) stay. The permission is the scope named by SENSITIVE_SCOPE in the caller's
 * `ctx.access.scopes` (or a token claim of that name with value true); a request without access
 * control (AUTH_MODE=off) does not have it.
 */
import type { Coding, Patient } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** The security label marking a restricted record. */
export const RESTRICTED_LABEL: Readonly<Coding> = Object.freeze({ system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' });

/** The elements of a restricted record that callers without the permission never see. */
export const REDACTED_ELEMENTS = ['address', 'telecom', 'contact', 'generalPractitioner'] as const;

/** The `Patient.extension`s (by url) of a restricted record that callers without the permission never see. */
export const REDACTED_EXTENSIONS: readonly string[] = Object.freeze([
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NominatedPharmacy',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PreferredDispenserOrganization',
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicalApplianceSupplier',
  'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
]);

/**
 * Removes what a caller without the permission never sees from a restricted Patient, in place;
 * returns whether anything was removed. An `extension` array left empty is removed (FHIR: no empty arrays).
 */
export function stripRestricted(patient: Record<string, unknown>): boolean {
  let changed = false;
  for (const k of REDACTED_ELEMENTS) {
    if (k in patient) {
      delete patient[k];
      changed = true;
    }
  }
  const ext = patient['extension'];
  if (Array.isArray(ext)) {
    const kept = ext.filter((e: unknown) => !(typeof e === 'object' && e !== null && REDACTED_EXTENSIONS.includes(String((e as { url?: unknown }).url))));
    if (kept.length !== ext.length) {
      changed = true;
      if (kept.length === 0) delete patient['extension'];
      else patient['extension'] = kept;
    }
  }
  return changed;
}

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

/** A copy of a restricted patient without the redacted elements and extensions (others unchanged). */
export function redactPatient(patient: Patient): Patient {
  if (!isRestricted(patient)) return patient;
  const copy: Patient = { ...patient };
  stripRestricted(copy as unknown as Record<string, unknown>);
  return copy;
}
