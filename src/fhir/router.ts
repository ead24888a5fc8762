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
import type { Interaction } from './interaction';

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

type Handler = (req: FhirRequest, ctx: InteractionContext) => Promise<FhirResult>;

interface Dispatch {
  interaction: Interaction;
  run: Handler;
}

/**
 * Routes a request: resolves its interaction, runs the interceptors of the services around it, then
 * the handler. Bundle entries come through here too.
 */
export async function route(req: FhirRequest, ctx: InteractionContext): Promise<FhirResult> {
  // A caller's own layer (InteractionContext.layer) runs innermost, and is not passed on to nested calls.
  const { layer, ...outer } = ctx;
  const interceptors = layer ? [...(ctx.services.interceptors ?? []), layer] : (ctx.services.interceptors ?? []);
  if (layer) ctx = outer;
  // Resolved once per request object: an interceptor that passes a changed request has it resolved again.
  let resolved: { req: FhirRequest; d: Dispatch } | undefined;
  const step = async (i: number, r: FhirRequest, c: InteractionContext): Promise<FhirResult> => {
    if (resolved?.req !== r) resolved = { req: r, d: dispatch(r) };
    const d = resolved.d;
    const ic = interceptors[i];
    if (!ic) return d.run(r, c);
    return ic(r, d.interaction, c, (nr, nc) => step(i + 1, nr ?? r, nc ?? c));
  };
  return step(0, req, ctx);
}

/** Describes the interaction a request asks for (throws 404/405 for what no interaction serves). */
export function describeInteraction(req: FhirRequest): Interaction {
  return dispatch(req).interaction;
}

function dispatch(req: FhirRequest): Dispatch {
  const segs = req.path === '' ? [] : req.path.split('/').map(decode);
  const m = req.method;
  const isGet = m === 'GET' || m === 'HEAD';
  const at = (interaction: Interaction, run: Handler): Dispatch => ({ interaction, run });

  // [base]
  if (segs.length === 0) {
    if (m === 'POST') {
      const bundleType = (req.body as { type?: unknown } | undefined)?.type;
      return at({ kind: bundleType === 'transaction' ? 'transaction' : 'batch', level: 'system' }, batchOrTransaction);
    }
    if (isGet) return at({ kind: 'search', level: 'system' }, (r, c) => search(r, c, undefined));
    return notAllowed(['GET', 'HEAD', 'POST'], 'the base URL', m);
  }
  const [first, second, third, fourth, fifth] = segs as [string, string?, string?, string?, string?];
  // An operation on a version (R4 Resource-meta: "can be performed on a historical version"): [type]/[id]/_history/[vid]/$op.
  if (segs.length === 5 && third === '_history' && fifth!.startsWith('$') && isResourceType(first)) {
    const code = fifth!.slice(1);
    const [id, vid] = [second!, fourth!];
    return at({ kind: 'operation', level: 'instance', resourceType: first, id, versionId: vid, operation: code }, (r, c) => invokeOperation(r, c, code, 'instance', first, id, vid));
  }
  if (segs.length > 4) throw new FhirError('not-found', { code: 'not-found', diagnostics: `No FHIR endpoint at /${req.path}` });

  if (first === 'metadata' && segs.length === 1) {
    if (!isGet) return notAllowed(GET, '/metadata', m);
    return at({ kind: 'capabilities', level: 'system' }, async (_r, c) => ({ status: 200, resource: capabilityStatement(c.services, new Date().toISOString()) }));
  }
  // System search by POST (http.html#search: POST [base]/_search with a form body).
  if (first === '_search' && segs.length === 1) {
    if (m !== 'POST') return notAllowed(['POST'], '/_search', m);
    return at({ kind: 'search', level: 'system' }, (r, c) => search(r, c, undefined));
  }
  if (first === '_history' && segs.length === 1) {
    if (!isGet) return notAllowed(GET, '/_history', m);
    return at({ kind: 'history', level: 'system' }, (r, c) => history(r, c));
  }
  if (first.startsWith('$')) {
    if (segs.length !== 1) throw new FhirError('not-found', { diagnostics: `No FHIR endpoint at /${req.path}` });
    const code = first.slice(1);
    return at({ kind: 'operation', level: 'system', operation: code }, (r, c) => invokeOperation(r, c, code, 'system'));
  }

  assertType(first);
  const type = first;
  if (second === undefined) {
    const conditional = req.query.some(([k]) => k !== '_format' && k !== '_pretty');
    switch (m) {
      case 'GET':
      case 'HEAD':
        return at({ kind: 'search', level: 'type', resourceType: type }, (r, c) => search(r, c, type));
      case 'POST':
        return at({ kind: 'create', level: 'type', resourceType: type, conditional: req.headers['if-none-exist'] !== undefined }, (r, c) => create(r, c, type, r.assignedId));
      case 'PUT':
        return at({ kind: 'update', level: 'type', resourceType: type, conditional }, (r, c) => conditionalUpdate(r, c, type, criteriaOf(r)));
      case 'DELETE':
        return at({ kind: 'delete', level: 'type', resourceType: type, conditional }, (r, c) => conditionalDelete(r, c, type, criteriaOf(r)));
      case 'PATCH':
        return at({ kind: 'patch', level: 'type', resourceType: type, conditional }, (r, c) => conditionalPatch(r, c, type, criteriaOf(r)));
    }
  }
  if (second === '_search' && segs.length === 2) {
    if (m !== 'POST') return notAllowed(['POST'], `${type}/_search`, m);
    return at({ kind: 'search', level: 'type', resourceType: type }, (r, c) => search(r, c, type));
  }
  if (second === '_history' && segs.length === 2) {
    if (!isGet) return notAllowed(GET, `${type}/_history`, m);
    return at({ kind: 'history', level: 'type', resourceType: type }, (r, c) => history(r, c, type));
  }
  if (second!.startsWith('$')) {
    if (segs.length !== 2) throw new FhirError('not-found', { diagnostics: `No FHIR endpoint at /${req.path}` });
    const code = second!.slice(1);
    return at({ kind: 'operation', level: 'type', resourceType: type, operation: code }, (r, c) => invokeOperation(r, c, code, 'type', type));
  }
  const id = second!;
  if (third === undefined) {
    const instance = { level: 'instance' as const, resourceType: type, id };
    switch (m) {
      case 'GET':
      case 'HEAD':
        return at({ kind: 'read', ...instance }, (r, c) => read(r, c, type, id));
      case 'PUT':
        return at({ kind: 'update', ...instance }, (r, c) => update(r, c, type, id));
      case 'PATCH':
        return at({ kind: 'patch', ...instance }, (r, c) => patch(r, c, type, id));
      case 'DELETE':
        return at({ kind: 'delete', ...instance }, (r, c) => deleteResource(r, c, type, id));
      default:
        return notAllowed(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'], `${type}/${id}`, m);
    }
  }
  if (third === '_history') {
    if (!isGet) return notAllowed(GET, `${type}/${id}/_history`, m);
    if (fourth === undefined) return at({ kind: 'history', level: 'instance', resourceType: type, id }, (r, c) => history(r, c, type, id));
    return at({ kind: 'vread', level: 'instance', resourceType: type, id, versionId: fourth }, (r, c) => vread(r, c, type, id, fourth));
  }
  if (third.startsWith('$') && fourth === undefined) {
    const code = third.slice(1);
    return at({ kind: 'operation', level: 'instance', resourceType: type, id, operation: code }, (r, c) => invokeOperation(r, c, code, 'instance', type, id));
  }
  // Compartment search (search.html#compartments): [Compartment]/[id]/[type] or /*, and POST .../_search.
  if (isCompartmentType(type) && (third === '*' || isResourceType(third)) && (fourth === undefined || fourth === '_search')) {
    const memberType = third === '*' ? undefined : third;
    assertValidId(id);
    if (fourth === undefined && !isGet) return notAllowed(GET, `${type}/${id}/${third}`, m);
    if (fourth === '_search' && m !== 'POST') return notAllowed(['POST'], `${type}/${id}/${third}/_search`, m);
    return at({ kind: 'search', level: memberType ? 'type' : 'system', ...(memberType ? { resourceType: memberType } : {}), compartment: { type, id } }, (r, c) => search(r, c, memberType, { type, id }));
  }
  throw new FhirError('not-found', { code: 'not-found', diagnostics: `No FHIR endpoint at /${req.path}` });
}

function criteriaOf(req: FhirRequest): Array<[string, string]> {
  return req.query.filter(([k]) => k !== '_format' && k !== '_pretty');
}

async function invokeOperation(req: FhirRequest, ctx: InteractionContext, code: string, level: 'system' | 'type' | 'instance', resourceType?: string, id?: string, versionId?: string): Promise<FhirResult> {
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') notAllowed(['GET', 'POST'], `$${code}`, req.method);
  const op = ctx.services.operations.resolve(code, level, resourceType, req.method);
  if (versionId !== undefined && !op.onVersions) throw new FhirError('not-found', { code: 'not-supported', diagnostics: `Operation $${code} cannot be invoked on a version of a resource` });
  const { parameters, bodyResource } = operationParameters(req);
  const target = { ...(resourceType ? { resourceType } : {}), ...(id ? { id } : {}), ...(versionId !== undefined ? { versionId } : {}) };
  return op.handler(req, { level, ...target, parameters, ...(bodyResource !== undefined ? { bodyResource } : {}) }, ctx);
}
