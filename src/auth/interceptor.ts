/**
 * SMART on FHIR resource server enforcement (SMART App Launch 2.0.0: app-launch.html "Access
 * token", scopes-and-launch-context.html; RFC 6750 §3 the WWW-Authenticate response header; FHIR R4
 * security.html and http.html). Runs as the first interceptor around every interaction
 * (src/fhir/interaction.ts), Bundle entries included.
 *
 * - `capabilities` (`/metadata`) is public. Everything else needs `Authorization: Bearer <JWT>`: a
 *   missing token is 401 with `WWW-Authenticate: Bearer realm="..."` (no error code, RFC 6750 §3.1), an
 *   invalid one 401 with `error="invalid_token"` and a description.
 * - The verified token becomes `ctx.access` (principal = claims, scopes, restrict). Entries of a
 *   batch/transaction run with the Bundle's `ctx.access`: they are authorised from it, never
 *   re-authenticated.
 * - Each interaction needs a permission on its type (src/auth/permissions.ts); none granted: 403
 *   OperationOutcome naming the scope that would do, plus `WWW-Authenticate: ... error="insufficient_scope"`.
 * - Restricted grants (patient/ scopes, v2 query restrictions): searches and `_include`/`_revinclude`
 *   are restricted inside the compiled query (`ctx.access.restrict`, permission `s`); reads, vreads and
 *   instance history are allowed only when the stored resource is inside the restriction (a store
 *   search `_id=X AND restriction`; vread: the version's own index entries); type/system history is
 *   403 (it cannot be restricted in the store); writes need the resource as written, and the stored
 *   one for update/patch/delete, inside the restriction (a patch is checked again after it is
 *   applied, inside a transaction that the refusal rolls back); conditional writes are 403 (their
 *   target is chosen by criteria the restriction does not cover); type/system operations need an
 *   unrestricted grant. A resource outside the restriction is refused with 403, not hidden as 404.
 */
import type { Resource } from 'fhir/r4';
import { and } from '../search/ir';
import { matchesExpr } from '../search/match';
import { atomic, type AccessControl, type AccessRestriction, type FhirServices, type InteractionContext } from '../fhir/context';
import type { Interaction, Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { SearchExpr } from '../search/ir';
import { SmartGrantSet } from './access';
import { requiredPermission } from './permissions';
import { parseScopes, requiredScopeText, type Permission, type ScopeContext } from './scopes';
import { TokenError, type AccessTokenClaims, type TokenVerifier } from './verify';

export interface SmartInterceptorOptions {
  verifier: TokenVerifier;
  /** The protection space named in WWW-Authenticate (the FHIR base URL). */
  realm: string;
}

/** The verified caller of a request (what `ctx.access` was built from). */
export interface SmartCaller {
  claims: AccessTokenClaims;
  grants: SmartGrantSet;
}

const callers = new WeakMap<AccessControl, SmartCaller>();
const accessOf = new WeakMap<AccessTokenClaims, AccessControl>();

/** The SMART caller behind an access control set by this interceptor (e.g. for the NHS layer). */
export function smartCallerOf(access: AccessControl | undefined): SmartCaller | undefined {
  return access ? callers.get(access) : undefined;
}

const quote = (s: string): string => s.replace(/["\\]/g, "'").replace(/[\r\n]+/g, ' ');

export function smartInterceptor(opts: SmartInterceptorOptions): Interceptor {
  const challenge = (extra: string): Record<string, string> => ({ 'WWW-Authenticate': `Bearer realm="${quote(opts.realm)}"${extra}` });

  const authenticate = async (req: FhirRequest, services: FhirServices): Promise<AccessControl> => {
    const header = req.headers['authorization'];
    if (header === undefined || header.trim() === '') {
      throw new FhirError('unauthorized', { code: 'login', diagnostics: 'An access token is required: send Authorization: Bearer <token> (SMART on FHIR)' }, { headers: challenge('') });
    }
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    const invalid = (why: string): FhirError =>
      new FhirError('unauthorized', { code: 'login', diagnostics: `Invalid access token: ${why}` }, { headers: challenge(`, error="invalid_token", error_description="${quote(why)}"`) });
    if (!m) throw invalid('the Authorization header is not of the form "Bearer <token>"');
    let claims: AccessTokenClaims;
    try {
      claims = await opts.verifier.verify(m[1]!);
    } catch (e) {
      if (e instanceof TokenError) throw invalid(e.message);
      throw e;
    }
    const known = accessOf.get(claims);
    if (known) return known;
    const set = new SmartGrantSet(parseScopes(claims.scope), claims.patient, services.search);
    const access: AccessControl = {
      principal: Object.freeze({ ...claims }),
      scopes: Object.freeze(claims.scope.split(/\s+/).filter((s) => s !== '')),
      restrict: (type) => set.restriction(type, 's') ?? 'none',
    };
    callers.set(access, { claims, grants: set });
    // The verifier answers a token it verified before with the same (frozen) claims object: its
    // access control, scopes parsed once, is reused for the token's later requests.
    accessOf.set(claims, access);
    return access;
  };

  return async (req, interaction, ctx, next) => {
    if (interaction.kind === 'capabilities') return next();
    let c = ctx;
    let caller = smartCallerOf(ctx.access);
    if (!caller) {
      const access = await authenticate(req, ctx.services);
      caller = callers.get(access)!;
      c = { ...ctx, access };
    }
    return authorise(req, interaction, c, caller, (r, nc) => next(r, nc ?? c), challenge);
  };
}

type Next = (req?: FhirRequest, ctx?: InteractionContext) => Promise<FhirResult>;

async function authorise(req: FhirRequest, i: Interaction, ctx: InteractionContext, caller: SmartCaller, next: Next, challenge: (extra: string) => Record<string, string>): Promise<FhirResult> {
  const grants = caller.grants;
  const need = requiredPermission(i, ctx.services);
  if (need === 'authenticated' || need === 'public') return next(req, ctx);
  const { resourceType, permission } = need;
  const restriction = resourceType === 'system-search' ? (grants.hasAny('s') ? 'all' : undefined) : grants.restriction(resourceType, permission);
  const what = describe(i);
  if (restriction === undefined) {
    const type = resourceType === 'system-search' ? '*' : resourceType;
    const scopes = requiredScopeText(contextsFor(caller), type, permission);
    throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `Insufficient scope: ${what} requires ${scopes}` }, { headers: challenge(`, error="insufficient_scope", scope="${requiredScopeV2(contextsFor(caller), type, permission)}"`) });
  }
  if (restriction === 'all' || resourceType === 'system-search') return next(req, ctx);
  const refuse = (why: string): never => {
    throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `${what} is refused: ${why}` });
  };
  const outside = `the resource is outside what the token's scopes grant${caller.claims.patient ? ` (the compartment of Patient/${caller.claims.patient}${hasQuery(caller) ? ' and the scopes\' query restrictions' : ''})` : ''}`;
  const type = resourceType;

  switch (i.kind) {
    case 'search':
      // Restricted inside the compiled query through ctx.access.restrict.
      return next(req, ctx);
    case 'read':
      if (!(await storedInside(ctx, type, i.id!, restriction))) refuse(outside);
      return next(req, ctx);
    case 'vread': {
      const v = /^\d+$/.test(i.versionId ?? '') ? await ctx.session.vread(type, i.id!, Number(i.versionId)) : undefined;
      if (v?.json && !resourceInside(ctx, JSON.parse(v.json) as Resource, i.id!, restriction)) refuse(outside);
      if (v && !v.json && !(await storedInside(ctx, type, i.id!, restriction))) refuse(outside);
      return next(req, ctx);
    }
    case 'history':
      if (i.level !== 'instance') refuse('type and system history cannot be restricted to the scopes\' compartment or query; use search, or an unrestricted user/ or system/ scope');
      if (!(await storedInside(ctx, type, i.id!, restriction))) refuse(outside);
      return next(req, ctx);
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      return write(req, i, ctx, restriction, next, refuse, outside);
    case 'operation':
      if (i.level !== 'instance') refuse('operations at the type or system level need an unrestricted scope (user/ or system/ without a query restriction)');
      if (!(await storedInside(ctx, type, i.id!, restriction))) refuse(outside);
      return next(req, ctx);
    default:
      return refuse('not supported with restricted scopes');
  }
}

async function write(req: FhirRequest, i: Interaction, ctx: InteractionContext, restriction: AccessRestriction, next: Next, refuse: (why: string) => never, outside: string): Promise<FhirResult> {
  const type = i.resourceType!;
  if (i.conditional || (i.kind !== 'create' && i.level !== 'instance')) {
    refuse('conditional writes are not allowed with restricted scopes (their target is chosen by criteria the restriction does not cover); write by id');
  }
  const body = req.body as Resource | undefined;
  const bodyIsResource = (i.kind === 'create' || i.kind === 'update') && body !== null && typeof body === 'object' && body.resourceType === type;
  if (bodyIsResource && !resourceInside(ctx, body, i.kind === 'update' ? i.id! : '', restriction)) refuse(`the resource as written would be ${outside.replace(/^the resource is /, '')}`);
  if (i.kind === 'create') return next(req, ctx);
  const id = i.id!;
  const current = await ctx.session.read(type, id);
  if (current && !current.deleted && !(await storedInside(ctx, type, id, restriction))) refuse(`the stored ${outside.replace(/^the /, '')}`);
  if (i.kind !== 'patch') return next(req, ctx);
  // The patched result is known only once applied: apply it in a transaction and check it there.
  return atomic(ctx, async (session) => {
    const inner: InteractionContext = { ...ctx, session, inTransaction: true };
    const result = await next(req, inner);
    if (!(await storedInside(inner, type, id, restriction))) refuse(`the patched ${outside.replace(/^the /, '')}`);
    return result;
  });
}

/** Whether the stored current version of `type/id` is inside the restriction (true when absent: the handler answers 404). */
async function storedInside(ctx: InteractionContext, type: string, id: string, restriction: AccessRestriction): Promise<boolean> {
  if (restriction === 'all') return true;
  if (restriction === 'none') return false;
  const current = await ctx.session.read(type, id);
  if (!current || current.deleted) return true;
  let query = { resourceTypes: [type], where: and({ op: 'id', ids: [id] }, restriction), sort: [], count: 1, offset: 0, total: 'none' as const };
  if (ctx.services.search.rewrite) query = { ...query, ...(await ctx.services.search.rewrite(query, ctx.session)) } as typeof query;
  const page = await ctx.session.search(query);
  return page.entries.length > 0;
}

/** Whether a resource (as written, or a stored version) is inside the restriction, from its own index entries. */
function resourceInside(ctx: InteractionContext, resource: Resource, id: string, restriction: AccessRestriction): boolean {
  if (restriction === 'all') return true;
  if (restriction === 'none') return false;
  const r = { ...resource, id: id === '' ? undefined : id } as Resource;
  try {
    const index = ctx.services.indexer.extract(r);
    return matchesExpr(restriction as SearchExpr, { resourceType: resource.resourceType, id, lastUpdated: new Date().toISOString(), index });
  } catch {
    return false;
  }
}

function describe(i: Interaction): string {
  const target = i.id ? `${i.resourceType}/${i.id}` : (i.resourceType ?? 'the system');
  const name = i.kind === 'operation' ? `operation $${i.operation}` : i.kind === 'history' ? `${i.level} history` : i.kind;
  return `${name} of ${target}`;
}

function contextsFor(caller: SmartCaller): ScopeContext[] {
  if (caller.claims.patient !== undefined) return ['patient', 'user', 'system'];
  return ['user', 'system'];
}

function requiredScopeV2(contexts: readonly ScopeContext[], type: string, p: Permission): string {
  return contexts.map((c) => `${c}/${type}.${p}`).join(' ');
}

function hasQuery(caller: SmartCaller): boolean {
  return caller.grants.grants.some((g) => g.query !== undefined);
}
