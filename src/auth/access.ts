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
 */
import type { AccessRestriction, SearchParser } from '../fhir/context';
import { and, or, type SearchExpr } from '../search/ir';
import { compartmentRestriction } from '../search/compartments';
import { grants, type Permission, type ScopeGrant } from './scopes';

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
      const r = this.grantRestriction(g, resourceType);
      if (r === 'all') return 'all';
      if (r !== 'none') parts.push(r);
    }
    return parts.length === 0 ? 'none' : or(...parts);
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
    if (g.query) {
      // A query restriction on `*` cannot be checked for a whole system: it grants nothing there.
      if (resourceType === '*') return 'none';
      let where: SearchExpr | undefined;
      try {
        where = this.search.parse([resourceType], g.query.map(([k, v]) => [k, v]), { strict: true }).query.where;
      } catch {
        // Fail closed: a restriction the server cannot apply grants nothing.
        return 'none';
      }
      if (!where) return 'none';
      parts.push(where);
    }
    return parts.length === 0 ? 'all' : and(...parts);
  }
}
