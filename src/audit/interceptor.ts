/**
 * The audit interceptor (IHE BALP; FHIR R4 auditevent.html, security.html):
 * - AuditEvent is never written through the API: create, update, patch and delete of AuditEvent,
 *   Bundle entries included, answer 405 with an OperationOutcome (the audit trail is written by
 *   src/audit/audit-log.ts only).
 * - Reading AuditEvent needs a scope that names AuditEvent itself (`system/AuditEvent.rs`,
 *   `user/AuditEvent.rs`, `patient/AuditEvent.rs`; SMART v1 `.read` too): `*` grants never include it,
 *   so a `*.read` client neither reads nor searches, includes or `_type`-searches AuditEvents (403, or
 *   no AuditEvent in results). A patient/ scope sees AuditEvents of its own Patient compartment only
 *   (AuditEvent `patient`: the entity of role Patient), as the SMART interceptor restricts any type.
 * - For the top-level interaction of an audited request: records the interaction, the verified caller
 *   and the result in the request's AuditRecord (found by request id).
 */
import { FhirError } from '../fhir/outcome';
import type { AccessControl, InteractionContext } from '../fhir/context';
import type { Interaction, Interceptor } from '../fhir/interaction';
import type { InFlight } from './record';

const AUDIT_TYPE = 'AuditEvent';
const AUDIT_SCOPE = /^(?:patient|user|system)\/AuditEvent\.([a-z*]+)(?:\?.*)?$/;

/** Whether the scopes grant reading or searching AuditEvent by name. */
export function grantsAuditRead(scopes: readonly string[]): boolean {
  return scopes.some((s) => {
    const m = AUDIT_SCOPE.exec(s);
    if (!m) return false;
    const p = m[1]!;
    return p === '*' || p === 'read' || (/^c?r?u?d?s?$/.test(p) && (p.includes('r') || p.includes('s')));
  });
}

function touchesAudit(i: Interaction): boolean {
  return i.resourceType === AUDIT_TYPE && i.kind !== 'operation';
}

function isApiWrite(i: Interaction): boolean {
  return i.kind === 'create' || i.kind === 'update' || i.kind === 'patch' || i.kind === 'delete';
}

/** The access control with AuditEvent restricted to nothing (the caller has no AuditEvent scope). */
function withoutAudit(access: AccessControl): AccessControl {
  const restrict = access.restrict;
  return { ...access, restrict: (type) => (type === AUDIT_TYPE ? 'none' : restrict ? restrict(type) : 'all') };
}

export function auditInterceptor(inFlight: InFlight | undefined): Interceptor {
  return async (req, interaction, ctx, next) => {
    if (touchesAudit(interaction) && isApiWrite(interaction)) {
      throw new FhirError(
        'not-allowed',
        { code: 'not-supported', diagnostics: `AuditEvent resources are recorded by the server and cannot be written through the API (${interaction.kind} refused)` },
        { headers: { Allow: 'GET, HEAD' } },
      );
    }
    let c: InteractionContext = ctx;
    const access = ctx.access;
    if (access?.scopes !== undefined && !grantsAuditRead(access.scopes)) {
      if (touchesAudit(interaction) || interaction.compartment?.type === AUDIT_TYPE) {
        throw new FhirError('forbidden', { code: 'forbidden', diagnostics: 'Reading AuditEvent needs a scope naming AuditEvent (system/AuditEvent.rs, user/AuditEvent.rs or patient/AuditEvent.rs); wildcard scopes do not include it' });
      }
      c = { ...ctx, access: withoutAudit(access) };
    }
    const rec = inFlight?.pending(req.requestId);
    if (!rec) return next(req, c);
    rec.interaction = interaction;
    if (access?.principal !== undefined) rec.principal = access.principal;
    const result = await next(req, c);
    rec.result = result;
    return result;
  };
}
