/**
 * create and conditional create (FHIR R4 §3.1.0.6 http.html#create, §3.1.0.8 #ccreate).
 * The server assigns the id; `If-None-Exist` makes the create conditional and runs atomically, so
 * two concurrent conditional creates for the same criteria create one resource.
 */
import { newId } from '../new-id';
import type { Resource } from 'fhir/r4';
import { atomic, type InteractionContext } from '../context';
import { findMatches, parseCriteria } from '../conditional';
import { FhirError } from '../outcome';
import { writeResult } from '../respond';
import { writeResource } from '../write';
import type { FhirRequest, FhirResult } from '../types';

export function requireResourceBody(req: FhirRequest, resourceType: string): Resource {
  const body = req.body;
  if (body === undefined || body === null) {
    throw new FhirError('invalid', { code: 'required', diagnostics: `A ${resourceType} resource is required in the request body` });
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new FhirError('invalid', { code: 'structure', diagnostics: 'The request body must be a JSON object (a FHIR resource)' });
  }
  const rt = (body as { resourceType?: unknown }).resourceType;
  if (rt !== resourceType) {
    throw new FhirError('invalid', {
      code: 'invalid',
      diagnostics: rt === undefined ? `The body has no resourceType; expected ${resourceType}` : `The body's resourceType ${JSON.stringify(rt)} does not match the URL's ${resourceType}`,
      expression: ['resourceType'],
    });
  }
  return body as Resource;
}

export async function create(req: FhirRequest, ctx: InteractionContext, resourceType: string, assignedId?: string): Promise<FhirResult> {
  const resource = requireResourceBody(req, resourceType);
  const id = assignedId ?? newId();
  const ifNoneExist = req.headers['if-none-exist'];
  const base = ctx.services.config.baseUrl;
  if (ifNoneExist === undefined) {
    const { version } = await writeResource(ctx, ctx.session, { kind: 'create', resourceType, id, resource, expectedVersion: 0, method: 'POST' });
    return writeResult(req, base, version, 201, `Created ${resourceType}/${id}`);
  }
  const criteria = parseCriteria(ifNoneExist, resourceType);
  return atomic(ctx, async (session) => {
    // A store whose transactions run in parallel (MongoDB, several instances) makes two creates with
    // the same criteria conflict here, so the later one retries and finds the earlier one's resource.
    if (session.claim) await session.claim(`${resourceType}?${criteria.map((pair) => JSON.stringify(pair)).sort().join('&')}`);
    const source = req.bundleEntry
      ? { label: `The ifNoneExist criteria of Bundle.entry[${req.bundleEntry.index}]`, expression: `Bundle.entry[${req.bundleEntry.index}].request.ifNoneExist` }
      : { label: 'The If-None-Exist criteria', expression: 'If-None-Exist' };
    const found = await findMatches(ctx, session, resourceType, criteria, 2, source);
    if (found.length > 1) {
      throw new FhirError('precondition', { code: 'duplicate', diagnostics: `If-None-Exist criteria ${JSON.stringify(ifNoneExist)} match more than one ${resourceType}` });
    }
    if (found.length === 1) {
      const existing = found[0]!;
      return writeResult(req, base, existing, 200, `${resourceType}/${existing.id} already matches If-None-Exist; nothing was created`);
    }
    const { version } = await writeResource(ctx, session, { kind: 'create', resourceType, id, resource, expectedVersion: 0, method: 'POST' });
    return writeResult(req, base, version, 201, `Created ${resourceType}/${id}`);
  });
}
