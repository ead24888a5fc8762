/**
 * Operating the server: health, readiness, Prometheus metrics and the access log.
 *
 * - `GET /healthz`: the process is alive and serving (200, no store access), for a liveness probe.
 * - `GET /readyz`: the store answers a read (200), or 503 with the reason, for a readiness probe.
 * - `GET /metrics`: Prometheus text exposition format (prom-client): `http_requests_total` and
 *   `http_request_duration_seconds` by API, interaction, resource type and status class, the
 *   time of every store operation (`store_operation_duration_seconds`, src/http/instrument.ts) and
 *   of validation (`validation_duration_seconds`), the process and Node.js defaults (event-loop lag,
 *   heap, GC). Served at the server root beside the
 *   FHIR base; protect it at the proxy if it must not be public (it carries no patient data).
 * - One access log line per request (pino, level info): request id, method, the path with NHS
 *   Numbers and other 10-digit identifiers masked, the names (never the values) of the query
 *   parameters, API, interaction, type, status and latency. No names, dates or identifiers of patients.
 *
 * Interactions are named as in FHIR R4 http.html (read, vread, update, patch, delete, history,
 * create, search, capabilities, batch/transaction, operation); label values come from fixed sets
 * (known resource types only), so no request can grow the number of series.
 */
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import client from 'prom-client';
import { isResourceType } from '../definitions/resource-types';
import type { FhirServices } from '../fhir/context';
import { instrumentStore, instrumentValidator } from './instrument';

/** The API a path belongs to (its mount point), a fixed set. */
export type ApiName = 'fhir' | 'pds' | 'eps' | 'scr' | 'auth' | 'ops' | 'other';

export interface RequestClass {
  api: ApiName;
  interaction: string;
  type: string;
}

const API_PREFIXES: ReadonlyArray<[string, ApiName]> = [
  ['/personal-demographics/FHIR/R4', 'pds'],
  ['/electronic-prescriptions/FHIR/R4', 'eps'],
  ['/fhir-prescribing/FHIR/R4', 'eps'],
  ['/fhir-dispensing/FHIR/R4', 'eps'],
  ['/summary-care-record/FHIR/R4', 'scr'],
  ['/auth', 'auth'],
];

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function under(path: string, prefix: string): boolean {
  return prefix !== '' && (path === prefix || path.startsWith(`${prefix}/`));
}

/** Classifies a request by its path (without query) and method; never throws. */
export function classifyRequest(method: string, path: string, fhirBase: string): RequestClass {
  if (OPS_PATHS.has(path)) return { api: 'ops', interaction: path.slice(1), type: '-' };
  let api: ApiName = 'other';
  let rest = path;
  const base = fhirBase.replace(/\/+$/, '');
  if (base === '' || under(path, base)) {
    api = 'fhir';
    rest = base === '' ? path : path.slice(base.length);
  }
  for (const [prefix, name] of API_PREFIXES) {
    if (under(path, prefix)) {
      api = name;
      rest = path.slice(prefix.length);
      break;
    }
  }
  if (api === 'auth' || api === 'other') return { api, interaction: api === 'auth' ? 'auth' : 'unknown', type: '-' };
  const seg = rest.split('/').filter((s) => s !== '');
  const m = method.toUpperCase();
  const first = seg[0];
  if (first === undefined) return { api, interaction: m === 'POST' ? 'batch/transaction' : 'unknown', type: '-' };
  if (first === 'metadata') return { api, interaction: 'capabilities', type: '-' };
  if (first.startsWith('$')) return { api, interaction: 'operation', type: '-' };
  if (first === '_history') return { api, interaction: 'history', type: '-' };
  if (!isResourceType(first)) return { api, interaction: first.startsWith('_') ? first.slice(1) : 'unknown', type: '-' };
  const type = first;
  const second = seg[1];
  if (second === undefined) return { api, interaction: m === 'POST' ? 'create' : m === 'GET' || m === 'HEAD' ? 'search' : m === 'DELETE' ? 'delete' : m === 'PUT' ? 'update' : m === 'PATCH' ? 'patch' : 'unknown', type };
  if (second === '_search') return { api, interaction: 'search', type };
  if (second === '_history') return { api, interaction: 'history', type };
  if (second.startsWith('$')) return { api, interaction: 'operation', type };
  const third = seg[2];
  if (third === undefined) {
    const byMethod: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
    return { api, interaction: byMethod[m] ?? 'unknown', type };
  }
  if (third === '_history') return { api, interaction: seg[3] === undefined ? 'history' : 'vread', type };
  if (third.startsWith('$')) return { api, interaction: 'operation', type };
  return { api, interaction: 'search', type }; // a compartment search ([type]/[id]/[type]) or a façade sub-resource
}

/** The path as logged: every run of 10 digits (an NHS Number) masked. */
export function maskedPath(path: string): string {
  return path.replace(/\d{10}/g, '**********');
}

/** The names of the query parameters, in order, without their values. */
export function queryParameterNames(originalUrl: string): string[] {
  const q = originalUrl.indexOf('?');
  if (q < 0) return [];
  const names: string[] = [];
  for (const part of originalUrl.slice(q + 1).split('&')) {
    if (part === '') continue;
    const raw = part.split('=')[0] ?? '';
    let name: string;
    try {
      name = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      name = raw;
    }
    names.push(maskedPath(name).slice(0, 80));
  }
  return names;
}

export interface Observability {
  registry: client.Registry;
  /** Counts, times and logs every request (mount first). */
  middleware: (req: Request, res: Response, next: NextFunction) => void;
  /** Mounts `/healthz`, `/readyz` and `/metrics`. */
  mount(app: express.Express): void;
}

function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

export function createObservability(services: FhirServices): Observability {
  const { config, log } = services;
  const registry = new client.Registry();
  // The process and Node.js defaults (event-loop lag, heap, GC) start with the first scrape, so
  // servers that are never scraped (tests) run no monitors.
  let defaults = false;
  const labelNames = ['api', 'interaction', 'type', 'status'] as const;
  const requests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests answered, by API, FHIR interaction, resource type and status class', labelNames, registers: [registry] });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request to the end of its response, by API, FHIR interaction, resource type and status class',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const readiness = new client.Histogram({ name: 'store_readiness_check_seconds', help: 'Latency of the store read made by /readyz', buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry] });

  instrumentStore(
    services.store,
    new client.Histogram({ name: 'store_operation_duration_seconds', help: 'Time of store operations (read, vread, write, history, search; transaction: the whole transaction with its commit)', labelNames: ['operation'] as const, buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5], registers: [registry] }),
  );
  instrumentValidator(
    services.validator,
    new client.Histogram({ name: 'validation_duration_seconds', help: 'Time of the validation pipeline of a written resource, by outcome (valid, invalid)', labelNames: ['outcome'] as const, buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1], registers: [registry] }),
  );

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = req.originalUrl.split('?')[0] ?? '/';
      const c = classifyRequest(req.method, path, config.basePath);
      const labels = { api: c.api, interaction: c.interaction, type: c.type, status: statusClass(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, seconds);
      if (c.api === 'ops') return; // probes and scrapes: counted, not logged
      log.info(
        { requestId: res.locals['requestId'], method: req.method, path: maskedPath(path), params: queryParameterNames(req.originalUrl), api: c.api, interaction: c.interaction, type: c.type, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100 },
        'request',
      );
    });
    next();
  };

  const mount = (app: express.Express): void => {
    app.get('/healthz', (_req: Request, res: Response) => {
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).json({ status: 'pass' });
    });
    app.get('/readyz', (_req: Request, res: Response) => {
      res.setHeader('Cache-Control', 'no-store');
      const end = readiness.startTimer();
      services.store.read('Patient', 'readyz-probe').then(
        () => {
          end();
          res.status(200).json({ status: 'pass', store: services.store.name });
        },
        (err: unknown) => {
          end();
          log.warn({ err }, 'readiness check: the store did not answer');
          res.status(503).json({ status: 'fail', store: services.store.name, reason: 'the store did not answer a read' });
        },
      );
    });
    app.get('/metrics', (_req: Request, res: Response) => {
      if (!defaults) {
        defaults = true;
        client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
      }
      registry.metrics().then(
        (text) => {
          res.setHeader('Cache-Control', 'no-store');
          res.status(200).type(registry.contentType).send(text);
        },
        (err: unknown) => {
          log.error({ err }, 'metrics: collection failed');
          res.status(500).type('text/plain').send('metrics collection failed\n');
        },
      );
    });
  };
  return { registry, middleware, mount };
}
