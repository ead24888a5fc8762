/**
 * The services an interaction handler works with (FHIR R4 §3.1.0 http.html), wired once in
 * src/main.ts. Handlers depend on these narrow interfaces, never on concrete modules, so tests can
 * call them directly and the NHS layer can extend behaviour without the core importing it.
 */
import type { Resource } from 'fhir/r4';
import type { Config } from '../config/config';
import type { Logger } from '../logging';
import type { IndexEntry } from '../search/index-entry';
import type { ParsedSearch } from '../search/parse';
import type { Store, StoreSession } from '../store/store';
import type { SearchQuery } from '../search/ir';
import type { OperationRegistry } from '../operations/registry';

/** Base validation of a resource about to be written (throws FhirError 400/422). */
export interface ResourceValidator {
  assertValid(resource: unknown, ctx: { expectedType?: string; expectedId?: string }): void;
}

/** Produces the search index entries of a resource on write. */
export interface Indexer {
  extract(resource: Resource): IndexEntry[];
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
}

/** Per-request context: the services plus the store session to use (a transaction's, inside a transaction Bundle). */
export interface InteractionContext {
  services: FhirServices;
  session: StoreSession;
  /** True inside a transaction Bundle: `atomic` then reuses the open transaction. */
  inTransaction: boolean;
}

/** Runs `fn` atomically: in the open transaction when there is one, else in a new one. */
export async function atomic<T>(ctx: InteractionContext, fn: (session: StoreSession) => Promise<T>): Promise<T> {
  if (ctx.inTransaction) return fn(ctx.session);
  return ctx.services.store.withTransaction(fn);
}

export function topLevelContext(services: FhirServices): InteractionContext {
  return { services, session: services.store, inTransaction: false };
}

/** Runs the write hooks (see WriteHook). */
export function afterWrite(services: FhirServices, event: WriteEvent): void {
  for (const hook of services.writeHooks ?? []) hook(event);
}
