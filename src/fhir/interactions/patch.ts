/**
 * patch and conditional patch (FHIR R4 §3.1.0.5 http.html#patch): JSON Patch or FHIRPath Patch
 * applied to the current version, then validated and written with the version it was applied to as
 * the optimistic lock, all in one atomic step (If-Match, when given, must name that version).
 */
import type { Resource } from 'fhir/r4';
import { atomic, type InteractionContext } from '../context';
import { findMatches, urlCriteria } from '../conditional';
import { ifMatchVersion } from '../headers';
import { FhirError } from '../outcome';
import { applyPatch } from '../patch';
import { parseStored, writeResult } from '../respond';
import { writeResource } from '../write';
import { assertLive } from './read';
import { assertValidId } from './update';
import type { FhirRequest, FhirResult } from '../types';
import type { StoreSession, StoredVersion } from '../../store/store';

export async function patch(req: FhirRequest, ctx: InteractionContext, resourceType: string, id: string): Promise<FhirResult> {
  assertValidId(id);
  return atomic(ctx, async (session) => {
    const current = await session.read(resourceType, id);
    assertLive(current, resourceType, id);
    return patchVersion(req, ctx, session, current);
  });
}

export async function conditionalPatch(req: FhirRequest, ctx: InteractionContext, resourceType: string, criteria: Array<[string, string]>): Promise<FhirResult> {
  return atomic(ctx, async (session) => {
    const found = await findMatches(ctx, session, resourceType, criteria, 2, urlCriteria(req.bundleEntry));
    if (found.length === 0) throw new FhirError('not-found', { diagnostics: `Conditional patch criteria match no ${resourceType}` });
    if (found.length > 1) throw new FhirError('precondition', { code: 'multiple-matches', diagnostics: `Conditional patch criteria match more than one ${resourceType}` });
    return patchVersion(req, ctx, session, found[0]!);
  });
}

async function patchVersion(req: FhirRequest, ctx: InteractionContext, session: StoreSession, current: StoredVersion): Promise<FhirResult> {
  const expected = ifMatchVersion(req);
  if (expected !== undefined && expected !== current.versionId) {
    throw new FhirError('precondition', { code: 'conflict', diagnostics: `If-Match version ${expected} is not the current version ${current.versionId} of ${current.resourceType}/${current.id}` });
  }
  const patched: Resource = req.patchWith
    ? await req.patchWith(parseStored(current))
    : applyPatch(parseStored(current), req.body, req.contentType ?? '', ctx.services.config.limits.maxResourceElements);
  if (patched.resourceType !== current.resourceType) {
    throw new FhirError('unprocessable', { code: 'invalid', diagnostics: 'A patch may not change the resourceType', expression: ['resourceType'] });
  }
  if (patched.id !== current.id) {
    throw new FhirError('unprocessable', { code: 'invalid', diagnostics: 'A patch may not change the id', expression: [`${current.resourceType}.id`] });
  }
  const { version } = await writeResource(ctx, session, {
    kind: 'update',
    resourceType: current.resourceType,
    id: current.id,
    resource: patched,
    expectedVersion: current.versionId,
    method: 'PATCH',
  });
  return writeResult(req, ctx.services.config.baseUrl, version, 200, `Patched ${current.resourceType}/${current.id} to version ${version.versionId}`);
}
