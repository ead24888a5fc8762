/**
 * What a SMART access token lets its bearer do (SMART App Launch 2.0.0 scopes-and-launch-context.html,
 * "Scopes for requesting FHIR resources" and "Finer-grained resource constraints using search
 * parameters"; FHIR R4 compartmentdefinition-patient.html for patient-level scopes).
 *
 * A `SmartGrantSet` answers, for a resource type and a permission (c r u d s), `undefined` when no
 * scope grants it, or the restriction the caller is held to: `'all'`; `'none'`; or IR criteria —
 * patient/ scopes become the Patient compartment of the token's `patient` claim (types that are never
 * members of that compartment get nothing from a patient/ scope), v2 query restrictions become search
 * criteria parsed strictly for the type, and the grants that apply are ORed together. user/ and
 * system/ scopes without a query restriction are unrestricted for their types (the server has no
 * user-to-data model; see docs/smart.md).
 *
 * Writes are held to more than visibility (`writeProblem`): a patient/ grant lets its patient write a
 * resource only when the resource is about that patient — its patient-identifying elements (the
 * Patient compartment parameters `subject` / `patient` of its type, where it has them) reference the
 * token's patient, and no Patient compartment parameter references another patient (else the write
 * would put data into another patient's record, which that patient then sees). A patient/ grant never
 * creates a Patient, and updates only the token's own Patient. A stored resource labelled
 * `PATIENT_READ_ONLY_LABEL` in `meta.security` (what the EPS façades write: prescriptions are the
 * prescriber's and the dispenser's) is outside every patient/ grant's update and delete restriction:
 * its patient reads it, never changes it (ADR 39).
 */
import type { Resource } from 'fhir/r4';
import type { AccessRestriction, SearchParser } from '../fhir/context';
import { and, or, type SearchExpr } from '../search/ir';
import { compartmentDefinitions, compartmentRestriction, isAddedMember } from '../search/compartments';
import type { IndexEntry, ReferenceEntry } from '../search/index-entry';
import { matchesExpr } from '../search/match';
import { grants, type Permission, type ScopeGrant } from './scopes';

/** The security label of resources a patient-context token may read but never update or delete (ADR 39). */
export const PATIENT_READ_ONLY_LABEL = Object.freeze({ system: 'urn:fhir-server:access', code: 'patient-read-only', display: 'Read-only to patient-context access' });

/** The Patient compartment parameters that identify whose record a resource is part of (issue 11). */
const PATIENT_IDENTIFYING = new Set(['subject', 'patient']);

export class SmartGrantSet {
  private readonly cache = new Map<string, AccessRestriction | undefined>();

  constructor(
    readonly grants: readonly ScopeGrant[],
    /** The Patient id of the launch context (`patient` claim), if any. */
    readonly patient: string | undefined,
    private readonly search: Pick<SearchParser, 'parse'>,
  ) {}

  /** Whether any scope grants the permission on some type (`*` included). */
  hasAny(permission: Permission): boolean {
    return this.grants.some((g) => g.permissions.includes(permission));
  }

  /** Whether any grant names the type (or `*`) at all, whatever the permission. */
  mentions(resourceType: string): boolean {
    return this.grants.some((g) => g.resourceType === '*' || g.resourceType === resourceType);
  }

  /** See the module comment. `resourceType` `*` asks for a grant on every type (system-level interactions). */
  restriction(resourceType: string, permission: Permission): AccessRestriction | undefined {
    const key = `${resourceType}\u0000${permission}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const value = this.compute(resourceType, permission);
    this.cache.set(key, value);
    return value;
  }

  private compute(resourceType: string, permission: Permission): AccessRestriction | undefined {
    const matching = this.grants.filter((g) => grants(g, resourceType, permission));
    if (matching.length === 0) return undefined;
    const parts: SearchExpr[] = [];
    for (const g of matching) {
      // Compartment members the server adds (ADR 39) are readable, never written, with patient/ scopes.
      if (g.context === 'patient' && permission !== 'r' && permission !== 's' && isAddedMember('Patient', resourceType)) continue;
      let r = this.grantRestriction(g, resourceType);
      if (g.context === 'patient' && (permission === 'u' || permission === 'd') && r !== 'none') {
        const readOnly: SearchExpr = { op: 'token', param: '_security', system: PATIENT_READ_ONLY_LABEL.system, code: PATIENT_READ_ONLY_LABEL.code };
        r = r === 'all' ? { op: 'not', arg: readOnly } : and(r, { op: 'not', arg: readOnly });
      }
      if (r === 'all') return 'all';
      if (r !== 'none') parts.push(r);
    }
    return parts.length === 0 ? 'none' : or(...parts);
  }

  /**
   * Why the caller may not write `resource` (as it would be stored: `id` is its id, undefined for a
   * create) with `permission` (c or u): undefined when some grant allows it, else the reason. See the
   * module comment; `index` are the resource's own search index entries.
   */
  writeProblem(resource: Resource, id: string | undefined, index: readonly IndexEntry[], permission: Permission): string | undefined {
    const type = resource.resourceType;
    let problem: string | undefined;
    for (const g of this.grants) {
      if (!grants(g, type, permission)) continue;
      const why = g.context === 'patient' ? this.patientWriteProblem(type, id, index) : undefined;
      const query = why === undefined ? this.grantQuery(g, type) : 'all';
      const target = { resourceType: type, id: id ?? '', lastUpdated: new Date().toISOString(), index: index as IndexEntry[] };
      let inside = query === 'all';
      if (query !== 'all' && query !== 'none') {
        try {
          inside = matchesExpr(query, target);
        } catch {
          inside = false; // fail closed: a restriction the matcher cannot evaluate grants nothing
        }
      }
      if (why === undefined && inside) return undefined;
      problem ??= why ?? `the resource as written does not match the query restriction of the scope ${g.raw}`;
    }
    return problem ?? `no scope grants ${permission} on ${type}`;
  }

  /** Why a patient/ grant does not let the token's patient write this resource (undefined: it does). */
  private patientWriteProblem(type: string, id: string | undefined, index: readonly IndexEntry[]): string | undefined {
    const patient = this.patient;
    if (patient === undefined) return 'a patient/ scope grants nothing without a patient in context';
    const params = compartmentDefinitions().get('Patient')?.params.get(type);
    if (!params) return `${type} resources are never part of a patient's record (R4 Patient CompartmentDefinition)`;
    if (isAddedMember('Patient', type)) return `${type} resources are readable, not writable, with patient/ scopes (not in the R4 Patient CompartmentDefinition; ADR 39)`;
    if (type === 'Patient') {
      if (id === undefined) return 'a patient-context token cannot create Patient resources';
      if (id !== patient) return `a patient-context token can update only its own Patient (Patient/${patient})`;
    }
    const refs = index.filter((e): e is ReferenceEntry => e.kind === 'reference' && params.includes(e.param));
    const other = refs.find((e) => e.targetType === 'Patient' && e.targetId !== patient);
    if (other) return `${type} ${other.param} references Patient/${other.targetId ?? ''}: a patient-context token may write only what belongs to the record of its own patient (Patient/${patient})`;
    const own = (e: ReferenceEntry): boolean => e.targetType === 'Patient' && e.targetId === patient;
    const identifying = params.filter((p) => PATIENT_IDENTIFYING.has(p));
    if (identifying.length > 0) {
      if (!refs.some((e) => identifying.includes(e.param) && own(e))) return `the ${identifying.join(' or ')} of the ${type} must reference the token's patient (Patient/${patient})`;
    } else if (type !== 'Patient' && !refs.some(own)) {
      return `the ${type} must reference the token's patient (Patient/${patient}) through ${params.filter((p) => p !== '{def}').join(', ')}`;
    }
    return undefined;
  }

  private grantRestriction(g: ScopeGrant, resourceType: string): AccessRestriction {
    const parts: SearchExpr[] = [];
    if (g.context === 'patient') {
      // A patient/ scope without a patient in context, or for a type outside the compartment, grants nothing.
      if (this.patient === undefined || resourceType === '*') return 'none';
      const c = compartmentRestriction('Patient', this.patient, resourceType);
      if (!c) return 'none';
      parts.push(c);
    }
    const query = this.grantQuery(g, resourceType);
    if (query === 'none') return 'none';
    if (query !== 'all') parts.push(query);
    return parts.length === 0 ? 'all' : and(...parts);
  }

  /** The v2 query restriction of a grant for a type: `'all'` when it has none. */
  private grantQuery(g: ScopeGrant, resourceType: string): AccessRestriction {
    if (!g.query) return 'all';
    // A query restriction on `*` cannot be checked for a whole system: it grants nothing there.
    if (resourceType === '*') return 'none';
    let where: SearchExpr | undefined;
    try {
      where = this.search.parse([resourceType], g.query.map(([k, v]) => [k, v]), { strict: true }).query.where;
    } catch {
      // Fail closed: a restriction the server cannot apply grants nothing.
      return 'none';
    }
    return where ?? 'none';
  }

  /** Whether any grant is restricted (patient/ context or a query): unrestricted callers need no store view. */
  get restricted(): boolean {
    return this.grants.some((g) => g.context === 'patient' || g.query !== undefined);
  }
}
