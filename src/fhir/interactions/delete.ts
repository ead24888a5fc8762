/**
 * delete and conditional delete (FHIR R4 §3.1.0.7 http.html#delete, §3.1.0.7.1 conditional delete).
 * Deleting writes a tombstone version (history keeps it; a later read answers 410). Deleting an
 * absent or already deleted resource succeeds with 204. Conditional delete removes every match up to
 * MAX_CONDITIONAL_DELETE, atomically; more matches answer 412 and delete nothing.
 */
import { afterWrite, atomic, type InteractionContext } from '../context';
import { findMatches, urlCriteria } from '../conditional';
import { ifMatchVersion, versionHeaders } from '../headers';
import { FhirError, outcome } from '../outcome';
import { assertValidId } from './update';
import type { FhirRequest, FhirResult } from '../types';

export async function deleteResource(req: FhirRequest, ctx: InteractionContext, resourceType: string, id: string): Promise<FhirResult> {
  assertValidId(id);
  const expected = ifMatchVersion(req);
  const result = await ctx.session.write({ kind: 'delete', resourceType, id, method: 'DELETE', ...(expected !== undefined ? { expectedVersion: expected } : {}) });
  if (!result) return { status: 204 };
  afterWrite(ctx.services, { kind: 'delete', resourceType, id });
  return { status: 204, headers: versionHeaders(result.version) };
}

export async function conditionalDelete(req: FhirRequest, ctx: InteractionContext, resourceType: string, criteria: Array<[string, string]>): Promise<FhirResult> {
  const cap = ctx.services.config.maxConditionalDelete;
  return atomic(ctx, async (session) => {
    const found = await findMatches(ctx, session, resourceType, criteria, cap + 1, urlCriteria(req.bundleEntry));
    if (found.length > cap) {
      throw new FhirError('precondition', { code: 'too-costly', diagnostics: `Conditional delete criteria match more than ${cap} ${resourceType} resources (MAX_CONDITIONAL_DELETE); nothing was deleted` });
    }
    for (const v of found) {
      await session.write({ kind: 'delete', resourceType, id: v.id, method: 'DELETE', expectedVersion: v.versionId });
      afterWrite(ctx.services, { kind: 'delete', resourceType, id: v.id });
    }
    if (found.length === 0) return { status: 204 };
    return { status: 200, resource: outcome('information', 'informational', `Deleted ${found.length} ${resourceType} resource(s): ${found.map((v) => v.id).join(', ')}`) };
  });
}
