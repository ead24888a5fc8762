/**
 * The façade kit (ADR 25): what every NHS API façade (PDS, and later EPS and SCR) shares. A façade is
 * an Express router at its API's real path (e.g. `/personal-demographics/FHIR/R4`) that owns that
 * API's wire format and runs each request through the FHIR engine's `route()` (FHIR R4 http.html),
 * with the caller's `Authorization` header, so that SMART access control, the store view of
 * restricted callers, validation, the NHS layer and X-Request-ID idempotency apply exactly as on
 * `/fhir`. Nothing here knows an API: the API's module supplies its handlers and its error shape.
 *
 * - `engineRequest` builds the engine request of a façade request (its headers, client address and
 *   request id; the path, query and body the façade chooses), and `callEngine` runs it, optionally
 *   with a per-request innermost `layer` (InteractionContext.layer) in which the façade sees the
 *   verified caller and runs its API's rules inside the engine's pipeline.
 * - `facadeRouter` mounts the handlers below the base path with CORS, a bounded body reader (the
 *   server's MAX_BODY_BYTES and content limits) and one error path: every thrown FhirError is
 *   answered by the façade's `renderError`; anything else is logged and answered as a fault, never a
 *   stack trace.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Resource } from 'fhir/r4';
import { topLevelContext, type FhirServices } from '../fhir/context';
import type { Interceptor } from '../fhir/interaction';
import { parseJsonText } from '../fhir/json-text';
import { checkRequestContent } from '../fhir/limits';
import { FhirError, internalFault } from '../fhir/outcome';
import { route } from '../fhir/router';
import type { FhirRequest, FhirResult, HttpMethod } from '../fhir/types';
import { maskedPath, queryParameterNames } from '../http/observability';

/** A façade request as its handlers see it. */
export interface FacadeRequest {
  method: HttpMethod;
  /** Path below the façade base, without leading or trailing slash, e.g. `Patient/9000000009`. */
  path: string;
  query: Array<[string, string]>;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as sent (undefined when there is none). */
  rawBody?: string;
  /** The body's media type without parameters. */
  contentType?: string;
  clientAddress?: string;
  /** The request id the engine sees (the caller's X-Request-ID when it passed the façade's checks). */
  requestId: string;
}

/** What a façade handler answers. */
export interface FacadeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FacadeHandler = (req: FacadeRequest) => Promise<FacadeResponse>;

export interface FacadeRoute {
  method: HttpMethod;
  /** Path pattern below the base: literal segments and `:name` placeholders, e.g. `Patient/:id`. */
  path: string;
  handler: (req: FacadeRequest, params: Record<string, string>) => Promise<FacadeResponse>;
}

export interface FacadeDefinition {
  /** The mount path, e.g. `/personal-demographics/FHIR/R4`. */
  basePath: string;
  routes: FacadeRoute[];
  /** Runs before any handler (required headers): throws a FhirError to refuse. */
  checkRequest?: (req: FacadeRequest) => void;
  /** The API's error shape for an error raised while answering `req`. */
  renderError: (err: FhirError, req: FacadeRequest | undefined) => FacadeResponse;
  /** Response headers set on every answer (e.g. mirrored correlation ids). */
  responseHeaders?: (headers: Readonly<Record<string, string | undefined>>) => Record<string, string>;
  /** The request id the engine should see (e.g. the caller's X-Request-ID), default: the server's. */
  requestId?: (headers: Readonly<Record<string, string | undefined>>, fallback: string) => string;
  /** Media type of JSON answers (default `application/fhir+json`). */
  mediaType?: string;
}

/** The engine request of a façade request: its headers (Authorization, If-Match ...), address and id. */
export function engineRequest(from: FacadeRequest, spec: { method: HttpMethod; path: string; query?: Array<[string, string]>; body?: unknown; contentType?: string; headers?: Record<string, string | undefined> }): FhirRequest {
  const headers: Record<string, string | undefined> = { ...from.headers, ...(spec.headers ?? {}) };
  // The engine negotiates its own body formats: the façade has already read the body.
  delete headers['content-type'];
  delete headers['content-length'];
  delete headers['accept'];
  return {
    method: spec.method,
    path: spec.path,
    query: spec.query ?? [],
    headers,
    requestId: from.requestId,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(spec.contentType !== undefined ? { contentType: spec.contentType } : {}),
    ...(from.clientAddress !== undefined ? { clientAddress: from.clientAddress } : {}),
  };
}

/** Runs an engine request (with an optional innermost layer). */
export function callEngine(services: FhirServices, req: FhirRequest, layer?: Interceptor): Promise<FhirResult> {
  const ctx = topLevelContext(services);
  return route(req, layer ? { ...ctx, layer } : ctx);
}

/** The resource of an engine result (parsed from its stored JSON when needed). */
export function resultResource<T extends Resource = Resource>(result: FhirResult): T | undefined {
  if (result.resource) return result.resource as T;
  if (result.json !== undefined) return JSON.parse(result.json) as T;
  return undefined;
}

/** The origin (scheme, host, port) of the server's public base URL. */
export function publicOrigin(services: FhirServices): string {
  return new URL(services.config.baseUrl).origin;
}

const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Accept, If-Match, X-Request-ID, X-Correlation-ID, NHSD-Session-URID, NHSD-End-User-Organisation-ODS';
const CORS_EXPOSE_HEADERS = 'Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, Retry-After, X-Request-ID, X-Correlation-ID';

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/');
  const s = path === '' ? [] : path.split('/');
  if (p.length !== s.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    let value: string;
    try {
      value = decodeURIComponent(s[i]!);
    } catch {
      return undefined;
    }
    if (seg.startsWith(':')) params[seg.slice(1)] = value;
    else if (seg !== value) return undefined;
  }
  return params;
}

function headersOf(req: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return headers;
}

function send(res: Response, mediaType: string, answer: FacadeResponse): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(answer.headers ?? {})) res.setHeader(k, v);
  res.status(answer.status);
  if (answer.body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', `${mediaType}; charset=utf-8`);
  res.end(JSON.stringify(answer.body));
}

/** HTTP's own headers of an error (Allow, WWW-Authenticate, Retry-After) kept on the façade's answer. */
function withProtocolHeaders(answer: FacadeResponse, err: FhirError): FacadeResponse {
  const headers: Record<string, string> = { ...(answer.headers ?? {}) };
  for (const k of ['Allow', 'WWW-Authenticate', 'Retry-After']) if (err.headers[k] !== undefined && headers[k] === undefined) headers[k] = err.headers[k]!;
  return { ...answer, headers };
}

/** The Express router serving a façade. */
export function facadeRouter(services: FhirServices, def: FacadeDefinition): express.Router {
  const router = express.Router();
  const mediaType = def.mediaType ?? 'application/fhir+json';
  const rawBody = express.raw({ type: () => true, limit: services.config.maxBodyBytes });
  const base = def.basePath.replace(/\/+$/, '');

  router.use(base, (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
    res.setHeader('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(def.responseHeaders?.(headersOf(req)) ?? {})) res.setHeader(k, v);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PATCH, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', req.get('access-control-request-headers') ?? CORS_ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  });

  router.use(base, rawBody, (req: Request, res: Response) => {
    void (async () => {
      let freq: FacadeRequest | undefined;
      try {
        const headers = headersOf(req);
        const fallback = String(res.locals['requestId'] ?? '');
        const qIndex = req.originalUrl.indexOf('?');
        const raw = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body.toString('utf8') : undefined;
        const contentType = req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
        freq = {
          method: req.method.toUpperCase() as HttpMethod,
          path: req.path.replace(/^\/+/, '').replace(/\/+$/, ''),
          query: qIndex >= 0 ? [...new URLSearchParams(req.originalUrl.slice(qIndex + 1))] : [],
          headers,
          requestId: def.requestId ? def.requestId(headers, fallback) : fallback,
          ...(raw !== undefined ? { rawBody: raw } : {}),
          ...(contentType ? { contentType } : {}),
          ...(req.ip !== undefined ? { clientAddress: req.ip } : {}),
        };
        const found = def.routes.map((r) => ({ r, params: matchPath(r.path, freq!.path) })).filter((m) => m.params !== undefined);
        if (found.length === 0) throw new FhirError('not-found', { code: 'not-supported', diagnostics: `No endpoint at ${def.basePath}/${freq.path}` });
        const m = found.find((x) => x.r.method === freq!.method || (freq!.method === 'HEAD' && x.r.method === 'GET'));
        if (!m) {
          const allowed = [...new Set(found.map((x) => x.r.method))].join(', ');
          throw new FhirError('not-allowed', { code: 'not-supported', diagnostics: `${freq.method} is not supported on ${def.basePath}/${freq.path}; allowed: ${allowed}` }, { headers: { Allow: allowed } });
        }
        def.checkRequest?.(freq);
        const answer = await m.r.handler(freq, m.params!);
        send(res, mediaType, freq.method === 'HEAD' ? { ...answer, body: undefined } : answer);
      } catch (err) {
        let fe: FhirError;
        if (err instanceof FhirError) fe = err;
        else {
          services.log.error({ err, requestId: res.locals['requestId'], method: req.method, path: maskedPath(req.originalUrl.split('?')[0] ?? '/'), params: queryParameterNames(req.originalUrl) }, 'internal error (façade)');
          fe = internalFault(String(res.locals['requestId'] ?? ''));
        }
        send(res, mediaType, withProtocolHeaders(def.renderError(fe, freq), fe));
      }
    })();
  });

  // Errors of the body reader (too large, aborted): the façade's error shape.
  router.use(base, (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; limit?: number } | undefined;
    const fe =
      e?.type === 'entity.too.large'
        ? new FhirError('too-large', { code: 'too-costly', diagnostics: `The request body is larger than the limit of ${e.limit} bytes` })
        : new FhirError('invalid', { diagnostics: 'The request body could not be read' });
    send(res, mediaType, def.renderError(fe, undefined));
  });
  return router;
}

/** Parses a JSON request body with the engine's rules (400 for invalid JSON, 413 over the content limits). */
export function parseJsonBody(services: FhirServices, raw: string | undefined, what = 'The request body'): unknown {
  if (raw === undefined || raw.trim() === '') return undefined;
  const body = parseJsonText(raw, what);
  checkRequestContent(body, services.config.limits);
  return body;
}
