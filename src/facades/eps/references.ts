/**
 * Resolution of a message Bundle's `urn:uuid:` references for storage (FHIR R4 bundle.html
 * "Resolving references in Bundles"): a MedicationRequest is stored without the message's Patient,
 * PractitionerRole and Organization entries, so a reference to one of them becomes a logical
 * reference (its first identifier and display, FHIR R4 references.html#logical), and a reference to
 * an entry without an identifier keeps only its display. A reference to no entry of the message
 * (the staged homecare dispense notifications reference practitioners they do not carry) keeps
 * the `urn:uuid:` as its identifier (system `urn:ietf:rfc:3986`), so it is never an empty Reference.
 */
import type { Bundle, Reference, Resource } from 'fhir/r4';
import { resolveInBundle } from '../../spine/eps/prescription-order';

function displayOf(r: Resource | undefined): string | undefined {
  const x = r as { name?: unknown } | undefined;
  if (typeof x?.name === 'string') return x.name;
  const n = Array.isArray(x?.name) ? (x.name[0] as { text?: string; family?: string; given?: string[] } | undefined) : undefined;
  if (n) return n.text ?? [n.given?.join(' '), n.family].filter(Boolean).join(' ');
  return undefined;
}

function logical(bundle: Bundle, ref: Reference): Reference {
  const target = resolveInBundle(bundle, ref.reference)?.resource as (Resource & { identifier?: Reference['identifier'] | Array<NonNullable<Reference['identifier']>> }) | undefined;
  const identifier = Array.isArray(target?.identifier) ? target.identifier[0] : target?.identifier;
  const display = ref.display ?? displayOf(target);
  const out: Reference = {};
  if (identifier) out.identifier = { ...(identifier.system ? { system: identifier.system } : {}), ...(identifier.value ? { value: identifier.value } : {}) };
  if (display) out.display = display;
  if (!out.identifier && !out.display) out.identifier = { system: 'urn:ietf:rfc:3986', value: ref.reference! };
  return out;
}

/** A copy of `resource` with every `urn:uuid:` reference made logical. */
export function withLogicalReferences<T extends Resource>(bundle: Bundle, resource: T): T {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    if (typeof o['reference'] === 'string' && o['reference'].startsWith('urn:uuid:')) return logical(bundle, o as Reference);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = walk(x);
    return out;
  };
  return walk(resource) as T;
}
