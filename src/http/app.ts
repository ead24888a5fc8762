/**
 * The HTTP adapter (FHIR R4 §3.1.0 http.html): the only module that touches Express request and
 * response objects. It turns an HTTP request into a `FhirRequest` (path, ordered query, headers,
 * parsed body), runs the router, and writes the `FhirResult`: status, headers, the stored JSON bytes
 * as they are unless `_pretty`, `_summary` or `_elements` ask for a transformation. A JSON body is
 * checked against the content limits (MAX_BUNDLE_ENTRIES, MAX_ARRAY_LENGTH, MAX_RESOURCE_ELEMENTS:
 * 413 `too-costly`, src/fhir/limits.ts) right after parsing, before any other work. Every error
 * becomes an OperationOutcome; unknown faults answer a generic 500 that names the logged request id.
 * FHIR XML (R4 xml.html; src/formats/xml, ADR 19) is converted at this edge only: an XML body is read
 * into FHIR JSON (the same limits, while reading and after), and a result or error asked for as XML
 * is written from its JSON; the engine behind sees JSON only.
 *
 * Also served here: CORS for browser apps (SMART App Launch 2.0.0 conformance.html and app-launch.html:
 * `Access-Control-Allow-Origin: *` on every FHIR response — access is by bearer token, never by
 * cookie — and OPTIONS preflights answered with `Authorization` allowed), the SMART discovery document
 * `[base]/.well-known/smart-configuration` (public), and the routers of other layers (the built-in
 * authorization server), mounted before the FHIR base handler.
 */
import { newId } from '../fhir/new-id';
import express, { type NextFunction, type Request, type Response } from 'express';
import { FhirError, internalFault } from '../fhir/outcome';
import { topLevelContext, type FhirServices } from '../fhir/context';
import { route } from '../fhir/router';
import { parseElements, parseSummary, subsetResource } from '../fhir/subsetting';
import type { FhirRequest, FhirResult, HttpMethod } from '../fhir/types';
import { assertDepth, requestBodyKind, responseMediaType } from './negotiation';
import { checkRequestContent, type ContentLimits } from '../fhir/limits';
import { smartConfiguration } from '../auth/well-known';
import { parseJsonText } from '../fhir/json-text';
import { assertFormBodyAllowed } from './media-rules';
import { isXmlMediaType, readFhirXmlCooperatively, writeFhirXml } from '../formats/xml';
import { createObservability, maskedPath, queryParameterNames } from './observability';
import { auditMiddleware } from '../audit';
import { HTML_CSP, homeHtml, resourceHtml, type HomeType } from './html-view';

const METHODS = new Set<HttpMethod>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const REQUEST_ID_RE = /^[A-Za-z0-9\-_.:]{1,200}$/;
const MAX_JSON_DEPTH = 100;

export interface AppOptions {
  /** Routers mounted before the FHIR base handler (e.g. the built-in authorization server at /auth). */
  routers?: express.Router[];
}

const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, X-Request-ID, X-Correlation-ID';
const CORS_EXPOSE_HEADERS = 'Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, Retry-After, X-Request-ID, X-Correlation-ID';

/** CORS on every response below the FHIR base; preflights answered at once. */
function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.get('access-control-request-headers') ?? CORS_ALLOW_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Vary', 'Access-Control-Request-Headers');
    res.status(204).end();
    return;
  }
  next();
}

export function createApp(services: FhirServices, options: AppOptions = {}): express.Express {
  const { config, log } = services;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  // req.ip: the peer address, or the client's address as the trusted reverse proxies give it.
  if (config.trustProxy > 0) app.set('trust proxy', config.trustProxy);

  const rawBody = express.raw({ type: () => true, limit: config.maxBodyBytes });

  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID_RE.test(given) ? given : newId();
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-ID', requestId);
    // Every response, the authorization server's, 404s and errors included: no MIME sniffing.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const corr = req.get('x-correlation-id');
    if (corr && REQUEST_ID_RE.test(corr)) res.setHeader('X-Correlation-ID', corr);
    next();
  });
  // Metrics and the access log line of every request; /healthz, /readyz, /metrics at the root.
  const observability = createObservability(services);
  app.use(observability.middleware);
  app.use(auditMiddleware(services));
  observability.mount(app);

  for (const router of options.routers ?? []) app.use(router);

  const base = config.basePath || '';
  app.use(base || '/', cors);
  if (config.authMode === 'smart') {
    app.get(`${base}/.well-known/smart-configuration`, (_req: Request, res: Response) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.status(200).json(smartConfiguration(config));
    });
  }

  app.use(config.basePath || '/', rawBody, (req: Request, res: Response) => {
    void handle(services, req, res);
  });

  // Outside the FHIR base.
  app.use((req: Request, res: Response) => {
    const fe = new FhirError('not-found', `No FHIR endpoint at ${req.path}; the FHIR base is ${config.baseUrl}`);
    send(res, 'application/fhir+json', fe.status, fe.toOperationOutcome(), false);
  });

  // Errors raised by body parsing (too large, aborted, bad encoding) and anything else.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = String(res.locals['requestId'] ?? newId());
    if (!res.headersSent) res.setHeader('Cache-Control', 'no-store');
    const fe = bodyParserError(err) ?? internalFault(requestId);
    if (fe.category === 'fault') log.error({ err, requestId, method: req.method, ...loggedUrl(req) }, 'unhandled error');
    send(res, errorMediaType(req), fe.status, fe.toOperationOutcome(), false, fe.headers);
  });
  return app;
}

/** The request's URL as logs may carry it: NHS Numbers masked, query values left out. */
function loggedUrl(req: Request): { path: string; params: string[] } {
  return { path: maskedPath(req.originalUrl.split('?')[0] ?? '/'), params: queryParameterNames(req.originalUrl) };
}

function bodyParserError(err: unknown): FhirError | undefined {
  const e = err as { type?: string; status?: number; limit?: number } | undefined;
  switch (e?.type) {
    case 'entity.too.large':
      return new FhirError('too-large', { code: 'too-costly', diagnostics: `The request body is larger than the limit of ${e.limit} bytes (MAX_BODY_BYTES)` });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new FhirError('unsupported-media', { diagnostics: 'The request body encoding is not supported; send UTF-8 JSON' });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new FhirError('invalid', { diagnostics: 'The request body could not be read completely' });
  }
  // A body that does not decompress as its Content-Encoding says (zlib and brotli errors carry no `type`).
  const z = err as { code?: unknown } | undefined;
  if (typeof z?.code === 'string' && /^(Z_|ERR__ERROR|ERR_BROTLI)/.test(z.code)) {
    return new FhirError('invalid', { code: 'structure', diagnostics: 'The request body is not valid for its Content-Encoding (gzip, deflate or br)' });
  }
  // Any other client error the body reader flags (status 4xx, safe to expose): that status, a generic text.
  if (e && (e as { expose?: unknown }).expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new FhirError('invalid', { diagnostics: 'The request body could not be read' }, { status: e.status });
  }
  return undefined;
}

async function handle(services: FhirServices, req: Request, res: Response): Promise<void> {
  const requestId = String(res.locals['requestId']);
  let mediaType: string | undefined;
  let pretty = false;
  // Responses below the FHIR base carry patient data, or may: never stored by a cache. Only the
  // CapabilityStatement is public (the discovery document is answered before this handler).
  const capabilities = (req.method === 'GET' || req.method === 'HEAD') && req.path.replace(/^\/+|\/+$/g, '') === 'metadata';
  if (!capabilities) res.setHeader('Cache-Control', 'no-store');
  // The answer's format (JSON or XML) follows Accept: a cache must key on it (RFC 9110 §12.5.5).
  res.setHeader('Vary', 'Accept');
  try {
    const fhirReq = await toFhirRequest(req, requestId, services.config.limits);
    pretty = fhirReq.query.some(([k, v]) => k === '_pretty' && v === 'true');
    const format = fhirReq.query.find(([k]) => k === '_format')?.[1];
    mediaType = responseMediaType(req.get('accept'), format);
    if (mediaType === 'text/html' && fhirReq.method === 'GET' && fhirReq.path === '') {
      await sendHome(services, res, fhirReq);
      return;
    }
    const result = await route(fhirReq, topLevelContext(services));
    writeResult(res, fhirReq, result, mediaType, pretty, services.config.baseUrl);
  } catch (err) {
    // An error before negotiation (a bad body) still answers in the format asked for, when it can.
    if (mediaType === undefined) mediaType = errorMediaType(req);
    if (err instanceof FhirError) {
      send(res, mediaType, err.status, err.toOperationOutcome(), pretty, err.headers, services.config.baseUrl);
    } else {
      services.log.error({ err, requestId, method: req.method, ...loggedUrl(req) }, 'internal error');
      const fe = internalFault(requestId);
      send(res, mediaType, fe.status, fe.toOperationOutcome(), pretty, {}, services.config.baseUrl);
    }
  }
}

/**
 * The HTML base page: the CapabilityStatement's resource types with the number of each the caller may
 * see (a `_summary=count` search per type, run with the caller's own headers and access), and its
 * system operations.
 */
async function sendHome(services: FhirServices, res: Response, fhirReq: FhirRequest): Promise<void> {
  const ask = (path: string, query: Array<[string, string]>): FhirRequest => ({ ...fhirReq, path, query, requestId: `${fhirReq.requestId}` });
  const cs = (await route(ask('metadata', []), topLevelContext(services))).resource as
    | { software?: { name?: string }; rest?: Array<{ resource?: Array<{ type: string; interaction?: Array<{ code: string }>; operation?: Array<{ name: string }> }>; operation?: Array<{ name: string }> }> }
    | undefined;
  const rest = cs?.rest?.[0];
  const types: HomeType[] = [];
  for (const r of rest?.resource ?? []) {
    let count: number | undefined;
    if (r.interaction?.some((i) => i.code === 'search-type')) {
      try {
        const counted = await route(ask(r.type, [['_summary', 'count']]), topLevelContext(services));
        const bundle = (counted.resource ?? (counted.json !== undefined ? JSON.parse(counted.json) : undefined)) as { total?: number } | undefined;
        count = bundle?.total;
      } catch {
        count = undefined; // not allowed for this caller, or not searchable: shown as "–"
      }
    }
    types.push({ type: r.type, count, interactions: (r.interaction ?? []).map((i) => i.code), operations: (r.operation ?? []).map((o) => o.name) });
  }
  res.setHeader('Content-Security-Policy', HTML_CSP);
  res.status(200).setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(homeHtml(services.config.baseUrl, cs?.software?.name ?? 'FHIR server', types, (rest?.operation ?? []).map((o) => o.name)));
}

async function toFhirRequest(req: Request, requestId: string, limits: ContentLimits): Promise<FhirRequest> {
  const method = req.method.toUpperCase() as HttpMethod;
  if (!METHODS.has(method)) {
    throw new FhirError('not-allowed', { diagnostics: `HTTP method ${req.method} is not supported` }, { headers: { Allow: [...METHODS].join(', ') } });
  }
  const qIndex = req.originalUrl.indexOf('?');
  const query: Array<[string, string]> = qIndex >= 0 ? [...new URLSearchParams(req.originalUrl.slice(qIndex + 1))] : [];
  const path = req.path.replace(/^\/+/, '').replace(/\/+$/, '');
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  const fhirReq: FhirRequest = { method, path, query, headers, requestId, ...(req.ip !== undefined ? { clientAddress: req.ip } : {}) };

  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  if (raw && raw.length > 0 && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
    const { kind, mediaType } = requestBodyKind(req.get('content-type'), method);
    fhirReq.contentType = mediaType;
    const text = raw.toString('utf8');
    if (kind === 'form') {
      assertFormBodyAllowed(path);
      fhirReq.query = [...query, ...new URLSearchParams(text)];
    } else if (kind === 'xml') {
      // FHIR XML to FHIR JSON (src/formats/xml): limits checked while reading, then as for JSON.
      const body = (await readFhirXmlCooperatively(text, { limits, maxDepth: MAX_JSON_DEPTH })).value;
      checkRequestContent(body, limits);
      fhirReq.body = body;
    } else {
      // Invalid JSON and a property repeated inside one object: 400 (json.html; src/fhir/json-text.ts).
      const body = parseJsonText(text);
      assertDepth(body, MAX_JSON_DEPTH);
      // Content limits before anything costly sees the body (413 too-costly; src/fhir/limits.ts).
      checkRequestContent(body, limits);
      fhirReq.body = body;
    }
  }
  return fhirReq;
}

function writeResult(res: Response, req: FhirRequest, result: FhirResult, mediaType: string, pretty: boolean, base = ''): void {
  const setHeaders = (): void => {
    for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  };
  if (result.status === 204 || result.status === 304 || (result.json === undefined && result.resource === undefined)) {
    setHeaders();
    res.status(result.status).end();
    return;
  }
  // Reads, and searches by POST (`_search` with a form body, whose parameters are in `req.query`).
  const subsets = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /(^|\/)_search$/.test(req.path));
  const summary = subsets ? parseSummary(req.query.find(([k]) => k === '_summary')?.[1]) : undefined;
  const elements = subsets ? parseElements(req.query.filter(([k]) => k === '_elements').map(([, v]) => v)) : undefined;
  let body: string;
  const subset = (summary && summary !== 'false' && summary !== 'count') || elements;
  if (mediaType === 'text/html') {
    const value = (result.resource ?? JSON.parse(result.json!)) as Record<string, unknown>;
    body = resourceHtml(subset ? subsetAll(value, summary, elements) : value, base, result.status);
    res.setHeader('Content-Security-Policy', HTML_CSP);
  } else if (isXmlMediaType(mediaType)) {
    const value = (result.resource ?? JSON.parse(result.json!)) as Record<string, unknown>;
    body = writeFhirXml(subset ? subsetAll(value, summary, elements) : value, { pretty });
  } else if (subset) {
    const value = (result.resource ?? JSON.parse(result.json!)) as Record<string, unknown>;
    body = stringify(subsetAll(value, summary, elements), pretty);
  } else if (result.json !== undefined) {
    body = pretty ? JSON.stringify(JSON.parse(result.json), null, 2) : result.json;
  } else {
    body = stringify(result.resource, pretty);
  }
  // After the body is made: a body that cannot be written (XML, 406) answers without this result's headers.
  setHeaders();
  res.status(result.status);
  res.setHeader('Content-Type', `${mediaType}; charset=utf-8`);
  if (req.method === 'HEAD') {
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end();
  } else {
    res.end(body);
  }
}

function subsetAll(value: Record<string, unknown>, summary: ReturnType<typeof parseSummary>, elements: string[] | undefined): Record<string, unknown> {
  if (value['resourceType'] === 'Bundle' && (value['type'] === 'searchset' || value['type'] === 'history') && Array.isArray(value['entry'])) {
    return {
      ...value,
      entry: (value['entry'] as Array<Record<string, unknown>>).map((e) =>
        e['resource'] && (e['search'] as { mode?: string } | undefined)?.mode !== 'outcome' ? { ...e, resource: subsetResource(e['resource'] as Record<string, unknown>, summary, elements) } : e,
      ),
    };
  }
  return subsetResource(value, summary, elements);
}

function stringify(v: unknown, pretty: boolean): string {
  return pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
}

function send(res: Response, mediaType: string, status: number, body: unknown, pretty: boolean, headers: Record<string, string> = {}, base = ''): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).setHeader('Content-Type', `${mediaType}; charset=utf-8`);
  if (mediaType === 'text/html') {
    res.setHeader('Content-Security-Policy', HTML_CSP);
    res.end(resourceHtml(body, base, status));
    return;
  }
  res.end(isXmlMediaType(mediaType) ? writeFhirXml(body, { pretty, replaceInvalidChars: true }) : stringify(body, pretty));
}

/** The media type an error answers in: the one asked for (Accept, `_format`) when supported, else JSON. */
function errorMediaType(req: Request): string {
  const q = req.originalUrl.indexOf('?');
  const format = q >= 0 ? (new URLSearchParams(req.originalUrl.slice(q + 1)).get('_format') ?? undefined) : undefined;
  try {
    return responseMediaType(req.get('accept'), format);
  } catch {
    return 'application/fhir+json';
  }
}
