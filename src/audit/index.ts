/**
 * The audit trail of the server (IHE Basic Audit Log Patterns 1.1; FHIR R4 auditevent.html, ADR 32):
 * every request on the FHIR API and the NHS façades produces one AuditEvent (audit-event.ts), recorded
 * at the HTTP edge when the response is finished and written in batches (audit-log.ts). AUDIT=off
 * records nothing; AuditEvent stays read-only through the API either way (interceptor.ts).
 *
 * - `registerAudit(services)` (buildServices): the interceptor, and the writer when AUDIT=on.
 * - `auditMiddleware(services)` (createApp, beside the access log): the per-request record.
 * - `closeAudit(services)` (shutdown, before the store closes): writes what is buffered.
 */
import type { NextFunction, Request, Response } from 'express';
import type { FhirServices } from '../fhir/context';
import { classifyRequest } from '../http/observability';
import { AuditLog, type AuditLogOptions } from './audit-log';
import { buildAuditEvent, type AuditSource } from './audit-event';
import { auditInterceptor } from './interceptor';
import { InFlight, type AuditRecord } from './record';

interface Audit {
  log: AuditLog;
  inFlight: InFlight;
  source: AuditSource;
}

const audits = new WeakMap<FhirServices, Audit>();
const AUDITED_APIS = new Set(['fhir', 'pds', 'eps', 'scr']);

export function registerAudit(services: FhirServices, opts: AuditLogOptions = {}): void {
  const { config } = services;
  let inFlight: InFlight | undefined;
  if (config.audit) {
    inFlight = new InFlight();
    audits.set(services, { log: new AuditLog(services, opts), inFlight, source: { baseUrl: config.baseUrl, issuer: config.authIssuer } });
  }
  services.interceptors = [...(services.interceptors ?? []), auditInterceptor(inFlight)];
}

/** The audit writer of the services (undefined when AUDIT=off). */
export function auditLogOf(services: FhirServices): AuditLog | undefined {
  return audits.get(services)?.log;
}

/** Writes every buffered AuditEvent; later events are written at once. */
export async function closeAudit(services: FhirServices): Promise<void> {
  await audits.get(services)?.log.close();
}

const noop = (_req: Request, _res: Response, next: NextFunction): void => next();

/** One AuditRecord per audited request, turned into an AuditEvent once the response is finished. */
export function auditMiddleware(services: FhirServices): (req: Request, res: Response, next: NextFunction) => void {
  const audit = audits.get(services);
  if (!audit) return noop;
  const { config } = services;
  return (req, res, next) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const c = classifyRequest(req.method, path, config.basePath);
    if (!AUDITED_APIS.has(c.api)) {
      next();
      return;
    }
    const rec: AuditRecord = {
      requestId: String(res.locals['requestId']),
      method: req.method,
      path,
      query: q >= 0 ? url.slice(q + 1) : '',
      api: c.api,
      pathInteraction: c.interaction,
      pathType: c.type,
      ...(req.ip !== undefined ? { clientAddress: req.ip } : {}),
    };
    audit.inFlight.add(rec);
    let closed = false;
    const done = (): void => {
      audit.inFlight.remove(rec);
      rec.status = res.statusCode;
      rec.recorded = new Date();
      // Built on a later turn: the response is not held up by the event.
      setImmediate(() => {
        try {
          audit.log.add(buildAuditEvent(rec, audit.source));
        } catch (err) {
          services.log.error({ err, requestId: rec.requestId }, 'audit: the AuditEvent could not be built');
        }
      });
    };
    res.once('finish', done);
    res.once('close', () => {
      closed = true;
      if (!res.writableFinished) {
        res.removeListener('finish', done);
        done();
      }
    });
    // Backpressure (audit-log.ts): while the writer is behind, the request waits for it first; a
    // client that leaves while waiting is recorded (above) and not served.
    if (!audit.log.backlogged) {
      next();
      return;
    }
    void audit.log.admission().then(() => {
      if (!closed) next();
    });
  };
}
