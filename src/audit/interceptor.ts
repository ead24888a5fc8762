/**
 * The audit interceptor (IHE BALP; FHIR R4 auditevent.html, security.html):
 * - AuditEvent is never written through the API: create, update, patch and delete of AuditEvent,
 *   Bundle entries included, answer 405 with an OperationOutcome (the audit trail is written by
 *   src/audit/audit-log.ts only).
 * - (Reading AuditEvent needs a scope naming AuditEvent: `*` grants do not cover it, see
 *   NAMED_SCOPE_ONLY in src/auth/scopes.ts; the SMART interceptor enforces it as for any type.)
 * - For the top-level interaction of an audited request: records the interaction, the verified caller
 *   and the result in the request's AuditRecord (found by request id).
 */
import { FhirError } from '../fhir/outcome';
import type { InteractionContext } from '../fhir/context';
import type { Interaction, Interceptor } from '../fhir/interaction';
import type { InFlight } from './record';

const AUDIT_TYPE = 'AuditEvent';

/** Whether the interaction would change a stored AuditEvent: a write, or an operation that affects state (`$meta-add` ...). */
function writesAudit(i: Interaction, ctx: InteractionContext): boolean {
  if (i.resourceType !== AUDIT_TYPE) return false;
  if (i.kind === 'create' || i.kind === 'update' || i.kind === 'patch' || i.kind === 'delete') return true;
  if (i.kind !== 'operation') return false;
  try {
    return ctx.services.operations.resolve(i.operation ?? '', i.level, i.resourceType, 'POST').definition.affectsState === true;
  } catch {
    return false; // unknown operations: the registry answers 404/405 itself
  }
}

export function auditInterceptor(inFlight: InFlight | undefined): Interceptor {
  return async (req, interaction, ctx, next) => {
    if (writesAudit(interaction, ctx)) {
      throw new FhirError(
        'not-allowed',
        { code: 'not-supported', diagnostics: `AuditEvent resources are recorded by the server and cannot be written through the API (${interaction.kind} refused)` },
        { headers: { Allow: 'GET, HEAD' } },
      );
    }
    const rec = inFlight?.pending(req.requestId);
    if (!rec) return next();
    rec.interaction = interaction;
    if (ctx.access?.principal !== undefined) rec.principal = ctx.access.principal;
    const result = await next();
    rec.result = result;
    return result;
  };
}
