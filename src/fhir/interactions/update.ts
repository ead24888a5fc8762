/**
 * update, update-as-create and conditional update (FHIR R4 §3.1.0.4 http.html#update, §3.1.0.4.3
 * #cond-update). The body's id must equal the URL's (400 otherwise); If-Match locks the version
 * (412 on mismatch); a client-chosen id creates the resource when it does not exist yet (201).
 */
import { newId } from '../new-id';
import type { Resource } from 'fhir/r4';
import { atomic, type InteractionContext } from '../context';
import { findMatches, urlCriteria } from '../conditional';
import { ifMatchVersion } from '../headers';
import { FhirError } from '../outcome';
import { writeResult } from '../respond';
import { writeResource } from '../write';
import { requireResourceBody } from './create';
import { ID_PATTERN, type FhirRequest, type FhirResult } from '../types';
import type { StoreSession } from '../../store/store';


export function assertValidId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new FhirError('invalid', { code: 'value', diagnostics: `${JSON.stringify(id)} is not a valid resource id (1-64 of A-Z a-z 0-9 - .)`, expression: ['id'] });
  }
}

export async function update(req: FhirRequest, ctx: InteractionContext, resourceType: string, id: string): Promise<FhirResult> {
  assertValidId(id);
  const resource = requireResourceBody(req, resourceType);
  if (resource.id === undefined) {
    throw new FhirError('invalid', { code: 'required', diagnostics: `The body of an update must carry id ${JSON.stringify(id)}`, expression: [`${resourceType}.id`] });
  }
  if (resource.id !== id) {
    throw new FhirError('invalid', { code: 'invalid', diagnostics: `The body's id ${JSON.stringify(resource.id)} does not match the URL's id ${JSON.stringify(id)}`, expression: [`${resourceType}.id`] });
  }
  // One store write: it creates or updates atomically, honouring the If-Match version when given.
  return updateExisting(req, ctx, ctx.session, resourceType, id, resource, ifMatchVersion(req));
}

async function updateExisting(
  req: FhirRequest,
  ctx: InteractionContext,
  session: StoreSession,
  resourceType: string,
  id: string,
  resource: Resource,
  expectedVersion: number | undefined,
): Promise<FhirResult> {
  const { version, created } = await writeResource(ctx, session, {
    kind: 'update',
    resourceType,
    id,
    resource,
    method: 'PUT',
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
  });
  return writeResult(req, ctx.services.config.baseUrl, version, created ? 201 : 200, created ? `Created ${resourceType}/${id}` : `Updated ${resourceType}/${id} to version ${version.versionId}`);
}

export async function conditionalUpdate(req: FhirRequest, ctx: InteractionContext, resourceType: string, criteria: Array<[string, string]>): Promise<FhirResult> {
  const resource = requireResourceBody(req, resourceType);
  const expected = ifMatchVersion(req);
  return atomic(ctx, async (session) => {
    const found = await findMatches(ctx, session, resourceType, criteria, 2, urlCriteria(req.bundleEntry));
    if (found.length > 1) {
      throw new FhirError('precondition', { code: 'multiple-matches', diagnostics: `Conditional update criteria match more than one ${resourceType}` });
    }
    const match = found[0];
    if (match) {
      if (resource.id !== undefined && resource.id !== match.id) {
        throw new FhirError('invalid', { diagnostics: `The body's id ${JSON.stringify(resource.id)} differs from the matching resource ${resourceType}/${match.id}`, expression: [`${resourceType}.id`] });
      }
      return updateExisting(req, ctx, session, resourceType, match.id, resource, expected ?? match.versionId);
    }
    if (resource.id !== undefined) {
      assertValidId(resource.id);
      return updateExisting(req, ctx, session, resourceType, resource.id, resource, expected);
    }
    return updateExisting(req, ctx, session, resourceType, newId(), resource, 0);
  });
}
