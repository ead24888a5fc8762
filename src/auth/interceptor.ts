/**
 * SMART on FHIR resource server enforcement (SMART App Launch 2.0.0: app-launch.html "Access
 * token", scopes-and-launch-context.html; RFC 6750 §3 the WWW-Authenticate response header; FHIR R4
 * security.html and http.html). Runs as the first interceptor around every interaction
 * (src/fhir/interaction.ts), Bundle entries included.
 *
 * - `capabilities` (`/metadata`) is public, and so is the server's own in-process work
 *   (`InteractionContext.internal`, never set by an HTTP request; ADR 38). Everything else needs `Authorization: Bearer <JWT>`: a
 *   missing token is 401 with `WWW-Authenticate: Bearer realm="..."` (no error code, RFC 6750 §3.1), an
 *   invalid one 401 with `error="invalid_token"` and a description.
 * - The verified token becomes `ctx.access` (principal = claims, scopes, restrict). Entries of a
 *   batch/transaction run with the Bundle's `ctx.access`: they are authorised from it, never
 *   re-authenticated.
 * - Each interaction needs a permission on its type (src/auth/permissions.ts); none granted: 403
 *   OperationOutcome naming the scope that would do, plus `WWW-Authenticate: ... error="insufficient_scope"`.
 * - Restricted grants (patient/ scopes, v2 query restrictions): searches, chains, `_has` and
 *   `_include`/`_revinclude` are restricted inside the compiled query (`ctx.access.restrict`, permission
 *   `s`; src/fhir/access.ts); every store session of the request is seen through the caller's view
 *   (store-view.ts), so a resource outside the restriction answers exactly as one that does not exist
 *   (404, or the NHS layer's own not-found error) on read, vread, history, update, patch, delete and
 *   instance operations; the resource as written must be one the caller may write (for patient/
 *   scopes: about the token's patient, see access.ts), checked before the handler and again on the
 *   stored result; type/system history, conditional writes and type/system operations are 403 (their
 *   targets are chosen by criteria the restriction does not cover), except operations registered as
 *   applying the caller's restriction themselves (`$everything`, `$meta`; ADR 20).
 */
import { createHash } from 'node:crypto';
import type { Resource } from 'fhir/r4';
import type { AccessControl, FhirServices, InteractionContext } from '../fhir/context';
import type { Interaction, Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { StoreSession } from '../store/store';
import { SmartGrantSet } from './access';
import { callerView } from './store-view';
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
      key: callerKey(claims),
    };
    callers.set(access, { claims, grants: set });
    // The verifier answers a token it verified before with the same (frozen) claims object: its
    // access control, scopes parsed once, is reused for the token's later requests.
    accessOf.set(claims, access);
    return access;
  };

  return async (req, interaction, ctx, next) => {
    if (interaction.kind === 'capabilities' || ctx.internal) return next();
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

/**
 * The context an interaction of a restricted caller runs in: every store session seen through the
 * caller's view for the interaction's permission (store-view.ts). Unrestricted callers get the context as it is.
 */
function withView(ctx: InteractionContext, caller: SmartCaller, permission: Permission): InteractionContext {
  if (!caller.grants.restricted) return ctx;
  const opts = { grants: caller.grants, permission, services: ctx.services };
  const view = (session: StoreSession): StoreSession => callerView(session, opts);
  return { ...ctx, view, session: view(ctx.session) };
}

async function authorise(req: FhirRequest, i: Interaction, ctx: InteractionContext, caller: SmartCaller, next: Next, challenge: (extra: string) => Record<string, string>): Promise<FhirResult> {
  const grants = caller.grants;
  const need = requiredPermission(i, ctx.services);
  if (need === 'public') return next(req, ctx);
  // Batch and transaction: each entry is authorised on its own (its view replaces this one).
  if (need === 'authenticated') return next(req, withView(ctx, caller, 's'));
  const { resourceType, permission } = need;
  const restriction = resourceType === 'system-search' ? (grants.hasAny('s') ? 'all' : undefined) : grants.restriction(resourceType, permission);
  const what = describe(i);
  if (restriction === undefined) {
    const type = resourceType === 'system-search' ? '*' : resourceType;
    const scopes = requiredScopeText(contextsFor(caller), type, permission);
    throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `Insufficient scope: ${what} requires ${scopes}` }, { headers: challenge(`, error="insufficient_scope", scope="${requiredScopeV2(contextsFor(caller), type, permission)}"`) });
  }
  const c = withView(ctx, caller, permission);
  if (restriction === 'all' || resourceType === 'system-search') return next(req, c);
  const refuse = (why: string): never => {
    throw new FhirError('forbidden', { code: 'forbidden', diagnostics: `${what} is refused: ${why}` });
  };
  // Scopes that name the type but can never cover one of its resources (a patient/ scope for a type
  // outside the Patient compartment, or without a patient in context; a query restriction that cannot
  // be applied): refused whatever the id, so the answer says nothing about what exists. A search
  // answers an empty result.
  if (restriction === 'none' && i.kind !== 'search') {
    refuse(`the token's scopes cannot cover any ${resourceType} resource${caller.claims.patient === undefined && grants.grants.some((g) => g.context === 'patient') ? ' (a patient/ scope needs a patient in context)' : ''}; it needs ${requiredScopeText(['user', 'system'], resourceType, permission)}`);
  }

  switch (i.kind) {
    case 'search':
    case 'read':
    case 'vread':
      // Restricted inside the compiled query (ctx.access.restrict) and by the store view: what the
      // caller may not see answers as if it did not exist.
      return next(req, c);
    case 'history':
      if (i.level !== 'instance') refuse('type and system history cannot be restricted to the scopes\' compartment or query; use search, or an unrestricted user/ or system/ scope');
      return next(req, c);
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
      if (i.conditional || (i.kind !== 'create' && i.level !== 'instance')) {
        refuse('conditional writes are not allowed with restricted scopes (their target is chosen by criteria the restriction does not cover); write by id');
      }
      assertBodyWritable(req, i, c, grants, permission, refuse);
      // The view checks the target (update, patch, delete) and the result as stored (patches too).
      return next(req, c);
    case 'operation':
      // At the type or system level only an operation that restricts what it reads itself (its
      // registration says so, ADR 20) may run; the others choose their targets by criteria the
      // restriction does not cover.
      if (i.level !== 'instance' && !ctx.services.operations.appliesRestriction(i.operation ?? '', i.level, i.resourceType)) {
        refuse('operations at the type or system level need an unrestricted scope (user/ or system/ without a query restriction)');
      }
      // The operation reads and writes its instance through the view: one outside answers as absent.
      return next(req, c);
    default:
      return refuse('not supported with restricted scopes');
  }
}

/**
 * The resource as written (create, update) must be one the caller may write (SmartGrantSet.writeProblem),
 * checked before any handler or layer acts on it (e.g. the NHS layer's duplicate trace of a new Patient).
 */
function assertBodyWritable(req: FhirRequest, i: Interaction, ctx: InteractionContext, grants: SmartGrantSet, permission: Permission, refuse: (why: string) => never): void {
  if (i.kind !== 'create' && i.kind !== 'update') return;
  const body = req.body as Resource | undefined;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body.resourceType !== i.resourceType) return; // the handler answers 400
  let index;
  try {
    index = ctx.services.indexer.extract({ ...body, id: i.kind === 'update' ? i.id : undefined } as Resource);
  } catch {
    return; // the write path reports it
  }
  const problem = grants.writeProblem(body, i.kind === 'update' ? i.id : undefined, index, permission);
  if (problem !== undefined) refuse(`the resource as written: ${problem}`);
}

/** What the caller may see depends on its patient and scopes (and who it is): paging cursors are bound to these. */
function callerKey(claims: AccessTokenClaims): string {
  return createHash('sha256').update(JSON.stringify([claims.sub ?? '', claims.client_id ?? '', claims.patient ?? '', claims.scope])).digest('base64url').slice(0, 22);
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
