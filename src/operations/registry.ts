/**
 * Operation registry (FHIR R4 §2.1.0.4 operations.html and the OperationDefinition resource).
 *
 * An operation is registered with its OperationDefinition; the registry derives where it may be
 * invoked (system, type, instance; GET only when it does not affect state), turns a GET query or a
 * POST `Parameters` body into one `Parameters` input, and feeds the CapabilityStatement. Spine
 * operations register through the same API: core code never imports them.
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
  /** The input: a Parameters resource built from the query (GET) or the body (POST). */
  parameters: Parameters;
  /** The raw body when it was a resource other than Parameters (e.g. `$validate` with a resource). */
  bodyResource?: unknown;
}

export type OperationHandler = (req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext) => Promise<FhirResult>;

interface Registered {
  definition: OperationDefinition;
  handler: OperationHandler;
}

export class OperationRegistry {
  private readonly byCode = new Map<string, Registered[]>();

  register(definition: OperationDefinition, handler: OperationHandler): void {
    const list = this.byCode.get(definition.code) ?? [];
    list.push({ definition, handler });
    this.byCode.set(definition.code, list);
  }

  all(): OperationDefinition[] {
    return [...this.byCode.values()].flat().map((r) => r.definition);
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
      throw new FhirError('not-found', { code: 'not-supported', diagnostics: `Operation $${code} cannot be invoked ${where}` });
    }
    if ((method === 'GET' || method === 'HEAD') && found.definition.affectsState) {
      throw new FhirError('not-allowed', { diagnostics: `Operation $${code} changes state and must be invoked with POST` }, { headers: { Allow: 'POST' } });
    }
    return found;
  }
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
