/**
 * Operation registry (FHIR R4 §2.1.0.4 operations.html and the OperationDefinition resource).
 *
 * An operation is registered with its OperationDefinition; the registry derives where it may be
 * invoked (system, type, instance; GET only when it does not affect state), turns a GET query or a
 * POST `Parameters` body into one `Parameters` input, and feeds the CapabilityStatement. Spine
 * operations register through the same API: core code never imports them.
 *
 * A registration may declare that the operation applies the caller's access restriction itself
 * (`appliesRestriction`, ADR 20): every search it runs is restricted with `restrictQuery` and every
 * read goes through the caller's store view. Only such operations run at the type and system level
 * for a restricted caller (a patient-context token); the others are refused there (ADR 15).
 */
import type { OperationDefinition, Parameters, ParametersParameter } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { InteractionContext } from '../fhir/context';

export type OperationLevel = 'system' | 'type' | 'instance';

export interface OperationInvocation {
  level: OperationLevel;
  resourceType?: string;
  id?: string;
  /** `[type]/[id]/_history/[vid]/$op`: the version the operation is invoked on (RegistrationOptions.onVersions). */
  versionId?: string;
  /** The input: a Parameters resource built from the query (GET) or the body (POST). */
  parameters: Parameters;
  /** The raw body when it was a resource other than Parameters (e.g. `$validate` with a resource). */
  bodyResource?: unknown;
}

export type OperationHandler = (req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext) => Promise<FhirResult>;

export interface RegistrationOptions {
  /**
   * The handler restricts everything it reads to what the caller may see (every search through
   * `restrictQuery` with the caller's restrictions, every read through `ctx.session`), so it may run
   * at the type and system level for a restricted caller (ADR 20). Default false.
   */
  appliesRestriction?: boolean;
  /** The operation may also be invoked on a version, `[type]/[id]/_history/[vid]/$op` (R4: the meta operations). */
  onVersions?: boolean;
}

export interface Registered {
  definition: OperationDefinition;
  handler: OperationHandler;
  appliesRestriction: boolean;
  onVersions: boolean;
}

export class OperationRegistry {
  private readonly byCode = new Map<string, Registered[]>();

  register(definition: OperationDefinition, handler: OperationHandler, options: RegistrationOptions = {}): void {
    if (this.all().some((d) => d.id !== undefined && d.id === definition.id)) throw new Error(`An OperationDefinition with id ${definition.id} is already registered`);
    const list = this.byCode.get(definition.code) ?? [];
    list.push({ definition, handler, appliesRestriction: options.appliesRestriction === true, onVersions: options.onVersions === true });
    this.byCode.set(definition.code, list);
  }

  all(): OperationDefinition[] {
    return [...this.byCode.values()].flat().map((r) => r.definition);
  }

  /**
   * Whether the operation invoked with this code at this level applies the caller's restriction
   * itself (RegistrationOptions.appliesRestriction); false for an operation that cannot be invoked there.
   */
  appliesRestriction(code: string, level: OperationLevel, resourceType: string | undefined): boolean {
    try {
      return this.resolve(code, level, resourceType, 'POST').appliesRestriction;
    } catch {
      return false;
    }
  }

  /** Finds the operation for a code at a level; throws 404/405 with a clear text otherwise. */
  resolve(code: string, level: OperationLevel, resourceType: string | undefined, method: string): Registered {
    const list = this.byCode.get(code);
    if (!list) throw new FhirError('not-found', { code: 'not-supported', diagnostics: `Operation $${code} is not supported by this server` });
    const fits = list.filter((r) => {
      const d = r.definition;
      if (level === 'system' && !d.system) return false;
      if (level === 'type' && !d.type) return false;
      if (level === 'instance' && !d.instance) return false;
      if (level !== 'system' && d.resource && d.resource.length > 0 && !d.resource.includes(resourceType ?? '') && !d.resource.includes('Resource')) return false;
      return true;
    });
    const found = fits[0];
    if (!found) {
      const where = level === 'system' ? 'at the system level' : level === 'type' ? `on type ${resourceType}` : `on an instance of ${resourceType}`;
      const defined = list.map((r) => describeLevels(r.definition)).join('; ');
      throw new FhirError('not-found', { code: 'not-supported', diagnostics: `Operation $${code} cannot be invoked ${where} (it is defined ${defined})` });
    }
    if ((method === 'GET' || method === 'HEAD') && found.definition.affectsState) {
      throw new FhirError('not-allowed', { diagnostics: `Operation $${code} changes state and must be invoked with POST` }, { headers: { Allow: 'POST' } });
    }
    return found;
  }
}

/** Where a definition may be invoked, for messages: `at the type level of CodeSystem`. */
function describeLevels(d: OperationDefinition): string {
  const levels = [d.system ? 'system' : undefined, d.type ? 'type' : undefined, d.instance ? 'instance' : undefined].filter((x) => x !== undefined);
  const on = d.resource && d.resource.length > 0 && !d.resource.includes('Resource') ? ` of ${d.resource.join(', ')}` : '';
  return `at the ${levels.join(' and ')} level${levels.length > 1 ? 's' : ''}${on}`;
}

/** Builds the operation's Parameters input from a GET query or a POST body. */
export function operationParameters(req: FhirRequest): { parameters: Parameters; bodyResource?: unknown } {
  const fromQuery: ParametersParameter[] = req.query
    .filter(([k]) => !k.startsWith('_format') && k !== '_pretty')
    .map(([name, value]) => ({ name, valueString: value }));
  if (req.method === 'GET' || req.method === 'HEAD' || req.body === undefined) {
    return { parameters: { resourceType: 'Parameters', ...(fromQuery.length ? { parameter: fromQuery } : {}) } };
  }
  const body = req.body as { resourceType?: unknown };
  if (body && typeof body === 'object' && body.resourceType === 'Parameters') {
    const p = body as Parameters;
    return { parameters: { ...p, parameter: [...(p.parameter ?? []), ...fromQuery] } };
  }
  return { parameters: { resourceType: 'Parameters', ...(fromQuery.length ? { parameter: fromQuery } : {}) }, bodyResource: req.body };
}
