/**
 * The common write path of create, update and patch (FHIR R4 §3.1.0 http.html "create"/"update"):
 * validation (the pipeline of src/validation/pipeline.ts), index extraction, then one store write with the optimistic lock.
 * Every write of every interaction (including Bundle entries) goes through here; the services' write
 * hooks run after each successful write (deletes call them from interactions/delete.ts).
 */
import type { Resource } from 'fhir/r4';
import { afterWrite, type InteractionContext } from './context';
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
  const resource = { ...w.resource, id: w.id } as Resource;
  await validator.assertValid(resource, { expectedType: w.resourceType, expectedId: w.id });
  const index = indexer.extract(resource);
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
