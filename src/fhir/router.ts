/**
 * The FHIR RESTful API's URL space (FHIR R4 §3.1.0 http.html, "Summary" table): maps a method and a
 * path below the base to an interaction or an operation. Transport-neutral: HTTP requests and
 * Bundle entries both come through here.
 */
import { isResourceType } from '../definitions/resource-types';
import { isCompartmentType } from '../search/compartments';
import { operationParameters } from '../operations/registry';
import type { InteractionContext } from './context';
import { capabilityStatement } from './capabilities';
import { FhirError } from './outcome';
import { create } from './interactions/create';
import { conditionalDelete, deleteResource } from './interactions/delete';
import { history } from './interactions/history';
import { conditionalPatch, patch } from './interactions/patch';
import { read, vread } from './interactions/read';
import { search } from './interactions/search';
import { assertValidId, conditionalUpdate, update } from './interactions/update';
import { batchOrTransaction } from './interactions/bundle';
import type { FhirRequest, FhirResult, HttpMethod } from './types';

function notAllowed(allowed: HttpMethod[], what: string, method: string): never {
  throw new FhirError('not-allowed', { code: 'not-supported', diagnostics: `${method} is not allowed on ${what}; allowed: ${allowed.join(', ')}` }, { headers: { Allow: allowed.join(', ') } });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FhirError('invalid', { diagnostics: `Malformed percent-encoding in URL segment ${JSON.stringify(segment)}` });
  }
}

function assertType(type: string): void {
  if (!isResourceType(type)) {
    throw new FhirError('not-found', { code: 'not-supported', diagnostics: `${JSON.stringify(type)} is not a FHIR R4 resource type supported by this server` });
  }
}

const GET: HttpMethod[] = ['GET', 'HEAD'];

export async function route(req: FhirRequest, ctx: InteractionContext): Promise<FhirResult> {
  const segs = req.path === '' ? [] : req.path.split('/').map(decode);
  const m = req.method;
  const isGet = m === 'GET' || m === 'HEAD';
  const criteria = (): Array<[string, string]> => req.query.filter(([k]) => k !== '_format' && k !== '_pretty');

  // [base]
  if (segs.length === 0) {
    if (m === 'POST') return batchOrTransaction(req, ctx);
    if (isGet) return search(req, ctx, undefined);
    return notAllowed(['GET', 'HEAD', 'POST'], 'the base URL', m);
  }
  const [first, second, third, fourth] = segs as [string, string?, string?, string?];
  if (segs.length > 4) throw new FhirError('not-found', { code: 'not-found', diagnostics: `No FHIR endpoint at /${req.path}` });

  if (first === 'metadata' && segs.length === 1) {
    if (!isGet) return notAllowed(GET, '/metadata', m);
    return { status: 200, resource: capabilityStatement(ctx.services, new Date().toISOString()) };
  }
  if (first === '_history' && segs.length === 1) {
    if (!isGet) return notAllowed(GET, '/_history', m);
    return history(req, ctx);
  }
  if (first.startsWith('$')) {
    if (segs.length !== 1) throw new FhirError('not-found', { diagnostics: `No FHIR endpoint at /${req.path}` });
    return invokeOperation(req, ctx, first.slice(1), 'system');
  }

  assertType(first);
  const type = first;
  if (second === undefined) {
    switch (m) {
      case 'GET':
      case 'HEAD':
        return search(req, ctx, type);
      case 'POST':
        return create(req, ctx, type);
      case 'PUT':
        return conditionalUpdate(req, ctx, type, criteria());
      case 'DELETE':
        return conditionalDelete(req, ctx, type, criteria());
      case 'PATCH':
        return conditionalPatch(req, ctx, type, criteria());
    }
  }
  if (second === '_search' && segs.length === 2) {
    if (m !== 'POST') return notAllowed(['POST'], `${type}/_search`, m);
    return search(req, ctx, type);
  }
  if (second === '_history' && segs.length === 2) {
    if (!isGet) return notAllowed(GET, `${type}/_history`, m);
    return history(req, ctx, type);
  }
  if (second!.startsWith('$')) {
    if (segs.length !== 2) throw new FhirError('not-found', { diagnostics: `No FHIR endpoint at /${req.path}` });
    return invokeOperation(req, ctx, second!.slice(1), 'type', type);
  }
  const id = second!;
  if (third === undefined) {
    switch (m) {
      case 'GET':
      case 'HEAD':
        return read(req, ctx, type, id);
      case 'PUT':
        return update(req, ctx, type, id);
      case 'PATCH':
        return patch(req, ctx, type, id);
      case 'DELETE':
        return deleteResource(req, ctx, type, id);
      default:
        return notAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'], `${type}/${id}`, m);
    }
  }
  if (third === '_history') {
    if (!isGet) return notAllowed(GET, `${type}/${id}/_history`, m);
    if (fourth === undefined) return history(req, ctx, type, id);
    return vread(req, ctx, type, id, fourth);
  }
  if (third.startsWith('$') && fourth === undefined) {
    return invokeOperation(req, ctx, third.slice(1), 'instance', type, id);
  }
  // Compartment search (search.html#compartments): [Compartment]/[id]/[type] or /*, and POST .../_search.
  if (isCompartmentType(type) && (third === '*' || isResourceType(third)) && (fourth === undefined || fourth === '_search')) {
    const memberType = third === '*' ? undefined : third;
    assertValidId(id);
    if (fourth === undefined && !isGet) return notAllowed(GET, `${type}/${id}/${third}`, m);
    if (fourth === '_search' && m !== 'POST') return notAllowed(['POST'], `${type}/${id}/${third}/_search`, m);
    return search(req, ctx, memberType, { type, id });
  }
  throw new FhirError('not-found', { code: 'not-found', diagnostics: `No FHIR endpoint at /${req.path}` });
}

async function invokeOperation(req: FhirRequest, ctx: InteractionContext, code: string, level: 'system' | 'type' | 'instance', resourceType?: string, id?: string): Promise<FhirResult> {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') notAllowed(['GET', 'POST'], `$${code}`, req.method);
  const op = ctx.services.operations.resolve(code, level, resourceType, req.method);
  const { parameters, bodyResource } = operationParameters(req);
  return op.handler(req, { level, ...(resourceType ? { resourceType } : {}), ...(id ? { id } : {}), parameters, ...(bodyResource !== undefined ? { bodyResource } : {}) }, ctx);
}
