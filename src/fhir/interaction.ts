/**
 * Interactions and interceptors (FHIR R4 §3.1.0 http.html, "Summary" table of interactions;
 * §2.1.0.4 operations.html). `describeInteraction` names what a request asks for — the interaction,
 * its level, resource type, id and operation — before any handler runs, and interceptors registered
 * in `FhirServices.interceptors` run around every interaction, in registration order, with that
 * description. This is how layers above the generic engine act on requests without the engine
 * importing them: access control (SMART scopes) refuses or restricts, the NHS layer adds Spine rules.
 *
 * Entries of batch and transaction Bundles are routed one by one and go through the interceptors
 * again, with the Bundle's context (and so its access restriction).
 */
import type { FhirRequest, FhirResult } from './types';
import type { InteractionContext } from './context';

/** The interactions of FHIR R4 §3.1.0, plus `operation` for `$op` invocations. */
export type InteractionKind =
  | 'capabilities'
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history'
  | 'create'
  | 'search'
  | 'batch'
  | 'transaction'
  | 'operation';

export interface Interaction {
  kind: InteractionKind;
  level: 'system' | 'type' | 'instance';
  resourceType?: string;
  id?: string;
  versionId?: string;
  /** Conditional update, patch or delete (criteria in the query) and conditional create (If-None-Exist). */
  conditional?: boolean;
  /** Compartment search: `[base]/{type}/{id}/{memberType or *}`. */
  compartment?: { type: string; id: string };
  /** The operation code without `$`. */
  operation?: string;
}

/**
 * Runs around an interaction. Call `next()` to continue (optionally with a changed request or
 * context: the route is resolved again for a changed request), or answer without calling it, or
 * throw a FhirError to refuse.
 */
export type Interceptor = (
  req: FhirRequest,
  interaction: Interaction,
  ctx: InteractionContext,
  next: (req?: FhirRequest, ctx?: InteractionContext) => Promise<FhirResult>,
) => Promise<FhirResult>;

/** Whether an interaction can change stored resources (operations: decided by their definition). */
export function isWrite(i: Interaction): boolean {
  return i.kind === 'create' || i.kind === 'update' || i.kind === 'patch' || i.kind === 'delete';
}
