/**
 * The SMART v2 permission each FHIR interaction needs (SMART App Launch 2.0.0
 * scopes-and-launch-context.html, "Scopes for requesting FHIR resources": c = create, r = read,
 * u = update, d = delete, s = search; FHIR R4 http.html interactions; operations.html).
 *
 * | interaction                          | permission on the type                        |
 * |--------------------------------------|-----------------------------------------------|
 * | read, vread, instance history        | r                                             |
 * | search (type, compartment), type history | s                                         |
 * | system search                        | s on some type (each type is then restricted) |
 * | system history                       | s on `*`                                      |
 * | create (conditional too)             | c                                             |
 * | update (update-as-create too), patch | u (update-as-create does not also need c)     |
 * | delete (conditional too)             | d                                             |
 * | operation, instance level            | r, or u when the definition `affectsState`    |
 * | operation, type / system level       | s, or c when it `affectsState` (system: `*`)  |
 * | `$everything`                        | s on the type it is invoked on (Patient)      |
 * | batch, transaction                   | a valid token (each entry is checked itself)  |
 * | capabilities                         | none (public)                                 |
 */
import type { FhirServices } from '../fhir/context';
import type { Interaction } from '../fhir/interaction';
import type { Permission } from './scopes';

export type RequiredPermission =
  | 'public'
  | 'authenticated'
  /** `resourceType` `*`: a grant on every type; `system-search`: any grant with `s`. */
  | { resourceType: string; permission: Permission };

export function requiredPermission(i: Interaction, services: Pick<FhirServices, 'operations'>): RequiredPermission {
  const type = i.resourceType ?? '*';
  switch (i.kind) {
    case 'capabilities':
      return 'public';
    case 'batch':
    case 'transaction':
      return 'authenticated';
    case 'read':
    case 'vread':
      return { resourceType: type, permission: 'r' };
    case 'history':
      return { resourceType: type, permission: i.level === 'instance' ? 'r' : 's' };
    case 'search':
      return i.resourceType ? { resourceType: type, permission: 's' } : { resourceType: 'system-search', permission: 's' };
    case 'create':
      return { resourceType: type, permission: 'c' };
    case 'update':
    case 'patch':
      return { resourceType: type, permission: 'u' };
    case 'delete':
      return { resourceType: type, permission: 'd' };
    case 'operation': {
      if (i.operation === 'everything') return { resourceType: type, permission: 's' };
      // Bulk Data `$export` and its status URL at the system level: any search grant; the job applies the per-type grants (ADR 31).
      if ((i.operation === 'export' && i.level === 'system') || i.operation === 'export-poll-status') return { resourceType: 'system-search', permission: 's' };
      // Unknown operations or levels: the registry answers 404/405 when the handler is looked up.
      let affectsState = true;
      try {
        affectsState = services.operations.resolve(i.operation ?? '', i.level, i.resourceType, 'POST').definition.affectsState === true;
      } catch {
        affectsState = true;
      }
      if (i.level === 'instance') return { resourceType: type, permission: affectsState ? 'u' : 'r' };
      return { resourceType: type, permission: affectsState ? 'c' : 's' };
    }
  }
}
