/**
 * SMART on FHIR scopes (SMART App Launch 2.0.0, scopes-and-launch-context.html: "SMART's scopes
 * are used to grant access to resources"; v1 syntax `context/Type.read|write|*`, v2 syntax
 * `context/Type.cruds` with an optional FHIR search query, e.g. `patient/Observation.rs?category=laboratory`).
 *
 * `parseScope` turns one scope token into a `ScopeGrant` (or undefined for anything that is not a
 * resource scope: `openid`, `fhirUser`, `launch/patient`, `offline_access`, unknown text). It never
 * throws. v1 `read` means `rs`, v1 `write` means `cud`, v1 `*` means `cruds` (the v2 spec's
 * equivalences). `formatScope` writes a grant back in v2 syntax (permissions in the canonical
 * `cruds` order), which `parseScope` reads back to the same grant.
 */

/** The five SMART v2 permissions: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

/** Whose data a scope grants: the patient in context, what the user may see, or a backend system. */
export type ScopeContext = 'patient' | 'user' | 'system';

export interface ScopeGrant {
  context: ScopeContext;
  /** A resource type name, or `*` for every type. */
  resourceType: string;
  /** Granted permissions, in `cruds` order, never empty. */
  permissions: readonly Permission[];
  /** v2 query restriction (`?category=laboratory`), as ordered name/value pairs; absent for none. */
  query?: ReadonlyArray<readonly [string, string]>;
  /** Whether the scope was written in SMART v1 syntax (`.read`, `.write`, `.*`). */
  v1: boolean;
  /** The scope token as given. */
  raw: string;
}

const TYPE_RE = /^(\*|[A-Z][A-Za-z]{0,63})$/;
const V2_RE = /^c?r?u?d?s?$/;

/** Parses one scope token; undefined for a token that is not a SMART resource scope. */
export function parseScope(raw: string): ScopeGrant | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048 || /\s/.test(raw)) return undefined;
  const slash = raw.indexOf('/');
  if (slash < 0) return undefined;
  const context = raw.slice(0, slash);
  if (context !== 'patient' && context !== 'user' && context !== 'system') return undefined;
  const rest = raw.slice(slash + 1);
  const q = rest.indexOf('?');
  const head = q < 0 ? rest : rest.slice(0, q);
  const dot = head.lastIndexOf('.');
  if (dot < 0) return undefined;
  const resourceType = head.slice(0, dot);
  const access = head.slice(dot + 1);
  if (!TYPE_RE.test(resourceType)) return undefined;
  let permissions: Permission[];
  let v1 = false;
  if (access === 'read') {
    permissions = ['r', 's'];
    v1 = true;
  } else if (access === 'write') {
    permissions = ['c', 'u', 'd'];
    v1 = true;
  } else if (access === '*') {
    permissions = [...PERMISSIONS];
    v1 = true;
  } else if (access.length > 0 && V2_RE.test(access)) {
    permissions = PERMISSIONS.filter((p) => access.includes(p));
  } else {
    return undefined;
  }
  let query: Array<[string, string]> | undefined;
  if (q >= 0) {
    // Query restrictions are a v2 feature.
    if (v1) return undefined;
    const text = rest.slice(q + 1);
    if (text === '') return undefined;
    try {
      query = [...new URLSearchParams(text)];
    } catch {
      return undefined;
    }
    if (query.length === 0 || query.some(([k]) => k === '')) return undefined;
  }
  return { context, resourceType, permissions, ...(query ? { query } : {}), v1, raw };
}

/** Parses a space-separated scope string; the resource scopes only, in order, duplicates kept. */
export function parseScopes(scope: string | undefined): ScopeGrant[] {
  if (typeof scope !== 'string') return [];
  const out: ScopeGrant[] = [];
  for (const token of scope.split(/\s+/)) {
    const g = parseScope(token);
    if (g) out.push(g);
  }
  return out;
}

/** Writes a grant in v2 syntax (`patient/Observation.rs?category=laboratory`). */
export function formatScope(g: Pick<ScopeGrant, 'context' | 'resourceType' | 'permissions' | 'query'>): string {
  const perms = PERMISSIONS.filter((p) => g.permissions.includes(p)).join('');
  const query = g.query && g.query.length > 0 ? `?${new URLSearchParams(g.query.map(([k, v]): [string, string] => [k, v])).toString()}` : '';
  return `${g.context}/${g.resourceType}.${perms}${query}`;
}

/** Types a `*` grant does not cover: only a scope naming them grants them (the audit trail, docs/audit.md). */
export const NAMED_SCOPE_ONLY: ReadonlySet<string> = new Set(['AuditEvent']);

/** Whether the grant applies to a resource type and permission. */
export function grants(g: ScopeGrant, resourceType: string, permission: Permission): boolean {
  return (g.resourceType === resourceType || (g.resourceType === '*' && !NAMED_SCOPE_ONLY.has(resourceType))) && g.permissions.includes(permission);
}

/** The scope a caller would need (named in 403 answers), e.g. `patient/Observation.r` (v2) and its v1 twin. */
export function requiredScopeText(contexts: readonly ScopeContext[], resourceType: string, permission: Permission): string {
  const v1 = permission === 'r' || permission === 's' ? 'read' : 'write';
  return contexts.map((c) => `${c}/${resourceType}.${permission} (v1: ${c}/${resourceType}.${v1})`).join(' or ');
}
