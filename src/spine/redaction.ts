/**
 * Redaction of restricted (sensitive) patients (PDS FHIR API "Restricted patients"; FHIR R4
 * security-labels.html). For callers without the sensitive permission (restricted.ts), every Patient
 * marked restricted in a response — a read, vread, history, search (including `_include`d and
 * `_revinclude`d Patients), `$trace`/`$match` results, operation output Bundles and Parameters — is
 * returned without the elements and extensions restricted.ts lists (address, telecom, contact,
 * generalPractitioner; the pharmacy and birth place extensions). Responses that cannot contain a
 * restricted record (no confidentiality label in their text) are passed through untouched.
 */
import type { Patient, Resource } from 'fhir/r4';
import type { Interceptor } from '../fhir/interaction';
import type { FhirResult } from '../fhir/types';
import { CONFIDENTIALITY_SYSTEM, isRestricted, maySeeRestricted, stripRestricted } from './restricted';

const MAX_DEPTH = 6;

/** Redacts restricted Patients inside a resource (Bundles, Parameters and contained resources), in place. Returns whether anything changed. */
export function redactIn(resource: Resource, depth = 0): boolean {
  if (depth > MAX_DEPTH || typeof resource !== 'object' || resource === null) return false;
  let changed = false;
  const r = resource as Resource & Record<string, unknown>;
  if (r.resourceType === 'Patient' && isRestricted(r as Patient) && stripRestricted(r)) changed = true;
  if (r.resourceType === 'Bundle') {
    for (const e of (r as { entry?: Array<{ resource?: Resource }> }).entry ?? []) if (e.resource && redactIn(e.resource, depth + 1)) changed = true;
  }
  if (r.resourceType === 'Parameters') {
    const walk = (params: Array<{ resource?: Resource; part?: unknown[] }> | undefined): void => {
      for (const p of params ?? []) {
        if (p.resource && redactIn(p.resource, depth + 1)) changed = true;
        walk(p.part as Array<{ resource?: Resource; part?: unknown[] }> | undefined);
      }
    };
    walk((r as { parameter?: Array<{ resource?: Resource; part?: unknown[] }> }).parameter);
  }
  for (const c of (r as { contained?: Resource[] }).contained ?? []) if (redactIn(c, depth + 1)) changed = true;
  return changed;
}

/** The result with restricted Patients redacted (a new result only when something was removed). */
export function redactResult(result: FhirResult): FhirResult {
  if (result.resource) {
    const text = JSON.stringify(result.resource);
    if (!text.includes(CONFIDENTIALITY_SYSTEM)) return result;
    const copy = JSON.parse(text) as Resource;
    return redactIn(copy) ? { ...result, resource: copy, json: undefined } : result;
  }
  if (result.json !== undefined && result.json.includes(CONFIDENTIALITY_SYSTEM)) {
    const parsed = JSON.parse(result.json) as Resource;
    if (!redactIn(parsed)) return result;
    const { json: _json, ...rest } = result;
    return { ...rest, resource: parsed };
  }
  return result;
}

export const redactionInterceptor: Interceptor = async (req, interaction, ctx, next) => {
  const result = await next();
  if (interaction.kind === 'capabilities' || maySeeRestricted(ctx)) return result;
  return redactResult(result);
};
