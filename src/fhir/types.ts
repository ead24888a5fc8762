/**
 * Transport-neutral request and result of the FHIR RESTful API (FHIR R4 §3.1 http.html).
 *
 * Handlers take a `FhirRequest` and return a `FhirResult`; only `src/http/` touches Express. A handler
 * never writes a response itself, so a double send is impossible and tests can call handlers directly.
 */
import type { Resource } from 'fhir/r4';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: HttpMethod;
  /** Path below the FHIR base, without leading slash and without query, e.g. `Patient/123/_history/2`. */
  path: string;
  /** Query parameters in order of appearance (repeats kept). */
  query: Array<[string, string]>;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Parsed body (a resource, a Parameters resource or a JSON Patch array). */
  body?: unknown;
  /** The body's media type without parameters, e.g. `application/fhir+json`. */
  contentType?: string;
  /** The request id (X-Request-ID echoed or generated). */
  requestId: string;
  /** Create only: the id to give the new resource (a transaction's pre-assigned id) instead of a new one. */
  assignedId?: string;
  /**
   * Patch only, for in-process callers (an NHS API façade, ADR 25): computes the patched resource from
   * the current version instead of applying `body` (which still identifies the request, e.g. for
   * X-Request-ID replay). Runs inside the patch's atomic step, so the result is written with the
   * version it was computed from as the optimistic lock; errors it throws answer the request.
   */
  patchWith?: (current: Resource) => Resource | Promise<Resource>;
  /** Nesting context: set when the request is an entry of a batch/transaction Bundle. */
  bundleEntry?: { index: number; transaction: boolean };
  /** The client's network address (the TCP peer, or the X-Forwarded-For hop TRUST_PROXY allows); for throttling. */
  clientAddress?: string;
}

export interface FhirResult {
  status: number;
  /** A resource to serialise; or */
  resource?: Resource;
  /** Pre-serialised resource JSON (the stored bytes), sent as is when no transformation is asked for. */
  json?: string;
  headers?: Record<string, string>;
  /**
   * `meta.lastUpdated` of the stored version the result is about, with its milliseconds (the
   * `Last-Modified` header has whole seconds): a Bundle entry's `response.lastModified`.
   */
  lastUpdated?: string;
}

/** The syntax of a resource id (FHIR R4 datatypes.html#id). */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
