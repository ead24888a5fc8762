/**
 * The services an interaction handler works with (FHIR R4 §3.1.0 http.html), wired once in
 * src/main.ts. Handlers depend on these narrow interfaces, never on concrete modules, so tests can
 * call them directly and the NHS layer can extend behaviour without the core importing it.
 */
import type { Resource } from 'fhir/r4';
import type { Config } from '../config/config';
import type { Logger } from '../logging';
import type { IndexEntry, ReferenceEntry } from '../search/index-entry';
import type { ParsedSearch } from '../search/parse';
import type { Store, StoreSession } from '../store/store';
import type { SearchExpr, SearchQuery } from '../search/ir';
import type { Interceptor } from './interaction';
import type { OperationRegistry } from '../operations/registry';
import type { ValidationIssue } from '../validation/schema-issues';
import type { SearchParameterRegistry } from '../search/parameters';

/** What a resource is validated for (FHIR R4 validation.html; resource-operation-validate.html `mode`). */
export interface ValidationRequest {
  /** The resource type of the endpoint: another resourceType is an envelope error (400). */
  expectedType?: string;
  /** The id in the URL of an update: the body must carry the same id. */
  expectedId?: string;
  /** Extra profiles to validate against (the `profile` parameter of `$validate`); unknown ones are errors. */
  profiles?: readonly string[];
  /** Whether the configured required profile of the type applies (default true, as on every write). */
  requiredProfile?: boolean;
}

/** Every issue of a validation, and whether the failure is of the envelope (400) rather than the content (422). */
export interface ValidationReport {
  issues: ValidationIssue[];
  envelope: boolean;
}

/**
 * Validation of a resource about to be written: JSON shape, base StructureDefinition rules, claimed
 * and required profiles (src/validation/pipeline.ts). `assertValid` throws one FhirError (400 for
 * envelope problems, 422 with every issue otherwise); warnings and information never fail a write.
 */
export interface ResourceValidator {
  assertValid(resource: unknown, ctx: ValidationRequest): Promise<void>;
  /** Every issue (errors, warnings, information) without throwing: `$validate`. Absent: only assertValid is available. */
  validate?(resource: unknown, ctx: ValidationRequest): Promise<ValidationReport>;
  /** The profiles the server knows for a resource type, other than the R4 base (CapabilityStatement `supportedProfile`). */
  supportedProfiles?(resourceType: string): string[];
}

/**
 * Produces the search index entries of a resource on write: every entry of every applicable search
 * parameter, or a FhirError (a resource is never stored half-indexed: 413 when it is too large to
 * index, 422 when a parameter's expression cannot be evaluated on it).
 */
export interface Indexer {
  extract(resource: Resource): IndexEntry[];
  /** The same entries, computed giving the event loop a turn between parameters (src/cooperative.ts). Absent: `extract`. */
  extractCooperatively?(resource: Resource): Promise<IndexEntry[]>;
  /** Only the reference entries (what `_include` follows), without evaluating the other parameters. */
  references(resource: Resource): ReferenceEntry[];
}

/** Parses search query parameters into the IR (throws FhirError 400 on bad syntax). */
export interface SearchParser {
  parse(
    resourceTypes: string[],
    params: Array<[string, string]>,
    opts: { strict: boolean },
  ): ParsedSearch;
  /** The search parameter codes supported for a type (for the CapabilityStatement). */
  parametersFor(resourceType: string): Array<{ name: string; type: string; definition?: string; documentation?: string; /** Reference targets (empty: any). */ target?: string[] }>;
  /**
   * The asynchronous rewrite a parsed query goes through before a store sees it (terminology
   * modifiers `:in`/`:not-in`/`:above`/`:below`, `_list`). Absent: the query is used as parsed.
   */
  rewrite?(query: SearchQuery, session: StoreSession): Promise<SearchQuery>;
}

/**
 * Called after every successful create, update, patch and delete (inside the transaction when there
 * is one), in registration order. Used to keep derived state in step with stored resources, e.g.
 * registering SearchParameter resources in the search registry. A hook that throws fails the write.
 */
export interface WriteEvent {
  kind: 'create' | 'update' | 'delete';
  resourceType: string;
  id: string;
  /** The resource as written (create/update). */
  resource?: Resource;
}
export type WriteHook = (event: WriteEvent) => void;

export interface FhirServices {
  config: Readonly<Config>;
  store: Store;
  validator: ResourceValidator;
  indexer: Indexer;
  search: SearchParser;
  operations: OperationRegistry;
  log: Logger;
  /** See WriteHook. */
  writeHooks?: WriteHook[];
  /** Clock, replaceable in tests. */
  now?: () => Date;
  /** Run around every interaction, in order (src/fhir/interaction.ts). */
  interceptors?: Interceptor[];
  /** The server's SearchParameter registry (layers such as src/spine register their own parameters in it). */
  searchParameters?: SearchParameterRegistry;
  /**
   * The id a resource created by a transaction Bundle entry must get, and the resource as it is then
   * to be created, chosen before references to its fullUrl are rewritten: e.g. the NHS layer gives a
   * Patient its NHS Number, or allocates one after a trace found no existing record (and refuses the
   * entry, throwing a FhirError, when it found one). Called inside the transaction (`ctx.session`),
   * after the entry's `ifNoneExist` found nothing (`conditional` tells whether it had one).
   * Undefined: a new server id. (Single creates are routed by interceptors with `FhirRequest.assignedId`.)
   */
  assignId?: (ctx: InteractionContext, resourceType: string, resource: Resource, opts: { conditional: boolean }) => Promise<AssignedId | undefined>;
}

/** See `FhirServices.assignId`. */
export interface AssignedId {
  id: string;
  /** The resource to create when the layer completed it (e.g. with an allocated identifier); absent: as given. */
  resource?: Resource;
}

/**
 * What a resource type's search results are restricted to: `'all'` (no restriction), `'none'` (the
 * caller may see no resource of the type), or criteria every result must also match. The search
 * interaction and `_include`/`_revinclude` AND these criteria into the compiled query, so restricted
 * resources are never read, counted or paged over.
 */
export type AccessRestriction = 'all' | 'none' | SearchExpr;

/** Who is calling and what they may see, set by an access-control interceptor (e.g. SMART scopes). */
export interface AccessControl {
  /** The authenticated caller (claims of the verified token); opaque to the engine. */
  principal?: Readonly<Record<string, unknown>>;
  /** The scopes granted to the caller, as given (for layers that check permissions, e.g. sensitive records). */
  scopes?: readonly string[];
  /** See AccessRestriction. Absent: unrestricted. */
  restrict?(resourceType: string): AccessRestriction;
  /**
   * Identifies what the caller may see (e.g. a digest of the token's patient and scopes). Paging
   * cursors are bound to it: a cursor minted for one caller is refused for another, so a carried total
   * or keyset position never crosses from one caller's view of the data to another's.
   */
  key?: string;
}

/** Per-request context: the services plus the store session to use (a transaction's, inside a transaction Bundle). */
export interface InteractionContext {
  services: FhirServices;
  session: StoreSession;
  /** True inside a transaction Bundle: `atomic` then reuses the open transaction. */
  inTransaction: boolean;
  /** Access control of the request, when an interceptor set one. */
  access?: AccessControl;
  /**
   * The store as the caller may see it, set by the access-control interceptor together with `access`:
   * wraps every store session the request uses (the top-level one in `session`, and each transaction
   * opened by `atomic` or a transaction Bundle). Absent: sessions are used as they are.
   */
  view?: (session: StoreSession) => StoreSession;
  /**
   * A per-request interceptor set by an in-process caller of `route()` (an NHS API façade, ADR 25): run
   * innermost, after the services' interceptors (access control, idempotency, the NHS layer), for the
   * top-level request only (never inherited by Bundle entries or nested calls).
   */
  layer?: Interceptor;
  /**
   * The server's own request, made in-process on nobody's behalf (e.g. the EPS expiry sweep, ADR 38):
   * the access-control interceptors let it through. Only `internalContext` sets it; no HTTP request
   * can. Inherited by Bundle entries.
   */
  internal?: true;
}

/** The restriction of a type for the context (`'all'` when no access control is set). */
export function restrictionOf(ctx: InteractionContext, resourceType: string): AccessRestriction {
  return ctx.access?.restrict ? ctx.access.restrict(resourceType) : 'all';
}

/** Runs `fn` atomically: in the open transaction when there is one, else in a new one (seen through `ctx.view`). */
export async function atomic<T>(ctx: InteractionContext, fn: (session: StoreSession) => Promise<T>): Promise<T> {
  if (ctx.inTransaction) return fn(ctx.session);
  return ctx.services.store.withTransaction((tx) => fn(viewOf(ctx, tx)));
}

/** A store session (a new transaction's, or the store itself) as the caller of `ctx` may see it. */
export function viewOf(ctx: InteractionContext, session: StoreSession): StoreSession {
  return ctx.view ? ctx.view(session) : session;
}

export function topLevelContext(services: FhirServices): InteractionContext {
  return { services, session: services.store, inTransaction: false };
}

/** The top-level context of the server's own requests (see `InteractionContext.internal`). */
export function internalContext(services: FhirServices): InteractionContext {
  return { ...topLevelContext(services), internal: true };
}

/** Runs the write hooks (see WriteHook). */
export function afterWrite(services: FhirServices, event: WriteEvent): void {
  for (const hook of services.writeHooks ?? []) hook(event);
}
