/**
 * Idempotent writes keyed by X-Request-ID (PDS FHIR API request headers: "X-Request-ID ... a retried
 * request with the same id must not be applied twice"; FHIR R4 http.html "Transactional Integrity").
 *
 * For every write sent with an X-Request-ID header — create, update, patch, delete, batch,
 * transaction, and operations whose OperationDefinition says `affectsState` ($merge, ...) — the key
 * (caller, request id) is claimed in the store before the write runs. Only a **successful** response
 * (status < 400: status, headers, body) is kept, for IDEMPOTENCY_TTL_SECONDS, with the request's
 * fingerprint (method, path and query, If-Match, If-None-Exist, body digest). Any error — a 4xx the
 * client can correct (409, 412, 422 ...), an internal fault, a 503 — releases the claim: nothing was
 * applied, so the same X-Request-ID may carry the corrected request (e.g. a new If-Match after a 412),
 * which then runs (amendment of ADR 24, docs/decisions/0024-idempotency-same-request.md). A retry of a
 * success — the same id and the same fingerprint — gets it replayed (header `X-Idempotent-Replay:
 * true`) without the write being applied again; the same id with a different request after a success
 * is refused with 422 naming X-Request-ID (never replayed in its place, never silently run as a new
 * request). A duplicate arriving while the first is still in flight waits for it (up to
 * `IN_FLIGHT_WAIT_MS`) and gets the replay — or, when the first failed, runs itself — or a 409 with
 * `Retry-After` if the first is still running. Requests without the header are not deduplicated. A
 * store without claim support (`Store.claimRequest` absent) applies every request. Entries of a Bundle
 * are covered by the Bundle's own key.
 */
import { createHash } from 'node:crypto';
import type { FhirServices, InteractionContext } from '../fhir/context';
import type { Interaction, Interceptor } from '../fhir/interaction';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { RememberedResponse } from '../store/store';
import { spineError } from './errors';

/** How long a claim stays pending before another instance may take it over (the first presumed dead). */
export const PENDING_LEASE_MS = 60_000;
/** How long a duplicate waits for the first request in flight before answering 409. */
export const IN_FLIGHT_WAIT_MS = 2_000;
const POLL_MS = 25;

export const REPLAY_HEADER = 'X-Idempotent-Replay';

function changesState(req: FhirRequest, interaction: Interaction, services: FhirServices): boolean {
  switch (interaction.kind) {
    case 'create':
    case 'update':
    case 'patch':
    case 'delete':
    case 'batch':
    case 'transaction':
      return true;
    case 'operation':
      if (req.method !== 'POST' || interaction.operation === undefined) return false;
      try {
        return services.operations.resolve(interaction.operation, interaction.level, interaction.resourceType, 'POST').definition.affectsState === true;
      } catch {
        return false;
      }
    default:
      return false;
  }
}

function callerOf(ctx: InteractionContext): string {
  const p = ctx.access?.principal;
  if (!p) return '';
  const sub = p['sub'];
  const client = p['client_id'] ?? p['azp'];
  return `${typeof client === 'string' ? client : ''}/${typeof sub === 'string' ? sub : ''}`;
}

/** The idempotency key of a request: caller and request id (what the request was is its fingerprint). */
export function requestKey(ctx: InteractionContext, requestId: string): string {
  return JSON.stringify([callerOf(ctx), requestId]);
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * What makes a retry the same request: method, path and query, If-Match, If-None-Exist and a digest
 * of the body (as parsed: whitespace and key order as sent do not matter, content does).
 */
export function requestFingerprint(req: FhirRequest): string {
  const query = req.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const body = req.body === undefined ? '' : digest(JSON.stringify(req.body));
  return digest(JSON.stringify([req.method, req.path, query, req.headers['if-match'] ?? '', req.headers['if-none-exist'] ?? '', body]));
}

/**
 * Kept with the remembered response, among its headers (the store keeps headers as given), and
 * never replayed: the fingerprint of the request and what it was (for the answer to a mismatch).
 */
const FINGERPRINT = 'x-spine-request-fingerprint';
const REQUEST_LINE = 'x-spine-request-line';

function toRemembered(result: { status: number; headers?: Record<string, string>; body?: string }, req: FhirRequest, fingerprint: string): RememberedResponse {
  return { status: result.status, headers: { ...(result.headers ?? {}), [FINGERPRINT]: fingerprint, [REQUEST_LINE]: `${req.method} ${req.path}` }, ...(result.body !== undefined ? { body: result.body } : {}) };
}

function replay(r: RememberedResponse): FhirResult {
  const { [FINGERPRINT]: _f, [REQUEST_LINE]: _l, ...headers } = r.headers;
  return { status: r.status, headers: { ...headers, [REPLAY_HEADER]: 'true' }, ...(r.body !== undefined ? { json: r.body } : {}) };
}

/** The same X-Request-ID with a different request after a success: 422 (the first response stays the one replayed). */
function reused(requestId: string, r: RememberedResponse, req: FhirRequest): FhirError {
  const first = r.headers[REQUEST_LINE];
  return spineError(
    'unprocessable',
    'INVALID_VALUE',
    `X-Request-ID ${requestId} was already used for a different request${first ? ` (${first})` : ''}; a retry must repeat the same method, URL, If-Match and body. This ${req.method} ${req.path} was not applied: send it with a new X-Request-ID`,
    'X-Request-ID',
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const idempotencyInterceptor: Interceptor = async (req, interaction, ctx, next) => {
  const requestId = req.headers['x-request-id'];
  const store = ctx.services.store;
  if (requestId === undefined || requestId !== req.requestId || req.bundleEntry || ctx.inTransaction) return next();
  if (!store.claimRequest || !store.rememberResponse || !store.releaseRequest) return next();
  if (!changesState(req, interaction, ctx.services)) return next();
  const key = requestKey(ctx, requestId);
  const fingerprint = requestFingerprint(req);
  const now = (): number => (ctx.services.now?.() ?? new Date()).getTime();
  const ttlMs = ctx.services.config.idempotencyTtlSeconds * 1000;

  const waitUntil = now() + IN_FLIGHT_WAIT_MS;
  for (;;) {
    const held = await store.claimRequest(key, now() + PENDING_LEASE_MS, now());
    if (held === undefined) break; // claimed: run it
    if (held.state === 'done' && held.response) {
      if (held.response.headers[FINGERPRINT] !== fingerprint) throw reused(requestId, held.response, req);
      return replay(held.response);
    }
    if (now() >= waitUntil) {
      throw spineError('conflict', 'CONFLICT', `A request with X-Request-ID ${requestId} is still being processed; retry later with the same X-Request-ID to get its response`, undefined, { headers: { 'Retry-After': '1' } });
    }
    await sleep(POLL_MS);
  }

  let result: FhirResult;
  try {
    result = await next();
  } catch (e) {
    // An error applied nothing: the claim is released, so a corrected request may use the same id.
    await store.releaseRequest(key);
    throw e;
  }
  if (result.status >= 400) {
    await store.releaseRequest(key);
    return result;
  }
  const body = result.json ?? (result.resource ? JSON.stringify(result.resource) : undefined);
  await store.rememberResponse(key, toRemembered({ status: result.status, ...(result.headers ? { headers: result.headers } : {}), ...(body !== undefined ? { body } : {}) }, req, fingerprint), now() + ttlMs);
  return result;
};
