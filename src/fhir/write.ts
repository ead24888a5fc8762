/**
 * The common write path of create, update and patch (FHIR R4 §3.1.0 http.html "create"/"update"):
 * the content limits (src/fhir/limits.ts: a resource over MAX_ARRAY_LENGTH or MAX_RESOURCE_ELEMENTS
 * is a 413 before anything costly looks at it; this also catches what a PATCH or a Bundle's
 * reference rewriting produced), conditional references resolved (src/fhir/references.ts: one
 * match, else 422), validation (the pipeline of src/validation/pipeline.ts), index extraction
 * (complete or the write fails: never half-indexed), then one store write with the
 * optimistic lock. Between the stages the event loop gets a turn when the work so far used up a
 * slice (src/cooperative.ts), and extraction yields between search parameters, so one large
 * resource does not freeze the other requests.
 * Every write of every interaction (including Bundle entries) goes through here; the services' write
 * hooks run after each successful write (deletes call them from interactions/delete.ts).
 */
import type { Resource } from 'fhir/r4';
import { pause } from '../cooperative';
import { afterWrite, type InteractionContext } from './context';
import { checkResourceContent } from './limits';
import { resolveConditionalReferences } from './references';
import type { StoreSession, StoredVersion, WriteResult } from '../store/store';

export interface WriteRequest {
  kind: 'create' | 'update';
  resourceType: string;
  id: string;
  resource: Resource;
  expectedVersion?: number;
  method: StoredVersion['method'];
}

export async function writeResource(ctx: InteractionContext, session: StoreSession, w: WriteRequest): Promise<WriteResult> {
  const { validator, indexer } = ctx.services;
  // The server owns id, versionId and lastUpdated: the client's values are replaced.
  const given = { ...w.resource, id: w.id } as Resource;
  checkResourceContent(given, ctx.services.config.limits);
  // Conditional references are resolved (exactly one match) or refused (422): never stored verbatim.
  const resource = await resolveConditionalReferences(ctx, session, given);
  await validator.assertValid(resource, { expectedType: w.resourceType, expectedId: w.id });
  await pause();
  const index = indexer.extractCooperatively ? await indexer.extractCooperatively(resource) : indexer.extract(resource);
  await pause();
  const result = await session.write({
    kind: w.kind,
    resourceType: w.resourceType,
    id: w.id,
    resource,
    index,
    method: w.method,
    ...(w.expectedVersion !== undefined ? { expectedVersion: w.expectedVersion } : {}),
  });
  if (!result) throw new Error(`store returned no result for a ${w.kind} of ${w.resourceType}/${w.id}`);
  afterWrite(ctx.services, { kind: w.kind, resourceType: w.resourceType, id: w.id, resource });
  return result;
}
