/**
 * The two Bulk Data 2.0 URLs that are not FHIR interactions (export.html "Bulk Data Delete Request",
 * "Bulk Data Output File Request"): `DELETE [base]/$export-poll-status?_jobId=` cancels a job, and
 * `GET [base]/$export-file?_jobId=&_file=` downloads one NDJSON file as `application/fhir+ndjson`,
 * streamed from disk. Both are authorised by the engine (the same token checks as every request, and
 * the job's owner, operations.ts) through `$export-poll-status` with `_action=cancel` / `_action=file`
 * before anything is deleted or sent.
 */
import { newId } from '../fhir/new-id';
import fs from 'node:fs';
import express, { type Request, type Response } from 'express';
import { topLevelContext, type FhirServices } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import { route } from '../fhir/router';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { exportJobs } from './operations';

function headersOf(req: Request): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function queryOf(req: Request): Array<[string, string]> {
  const i = req.originalUrl.indexOf('?');
  return i < 0 ? [] : [...new URLSearchParams(req.originalUrl.slice(i + 1))];
}

function sendResult(res: Response, result: FhirResult): void {
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  res.status(result.status).setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.end(result.json ?? JSON.stringify(result.resource ?? {}));
}

async function authorise(services: FhirServices, req: Request, action: 'cancel' | 'file'): Promise<FhirResult> {
  const query = queryOf(req).filter(([k]) => k === '_jobId' || k === '_file');
  const fr: FhirRequest = {
    method: action === 'cancel' ? 'POST' : 'GET',
    path: '$export-poll-status',
    query: [...query, ['_action', action]],
    headers: headersOf(req),
    requestId: String(req.get('x-request-id') ?? newId()),
  };
  try {
    return await route(fr, topLevelContext(services));
  } catch (err) {
    const fe = err instanceof FhirError ? err : new FhirError('fault', 'The export request could not be processed');
    return { status: fe.status, resource: fe.toOperationOutcome(), ...(fe.headers ? { headers: fe.headers } : {}) };
  }
}

export function bulkDataRouter(services: FhirServices): express.Router {
  const router = express.Router();
  const base = services.config.basePath;
  router.delete(`${base}/$export-poll-status`, (req, res) => {
    void authorise(services, req, 'cancel').then((r) => sendResult(res, r));
  });
  router.get(`${base}/$export-file`, (req, res) => {
    void authorise(services, req, 'file').then((r) => {
      if (r.status !== 200) return sendResult(res, r);
      const q = new Map(queryOf(req));
      const jobs = exportJobs(services);
      const job = jobs.get(q.get('_jobId') ?? '');
      const file = job ? jobs.filePath(job, q.get('_file') ?? '') : undefined;
      if (!file) return sendResult(res, { status: 404, resource: new FhirError('not-found', 'No such export file').toOperationOutcome() });
      res.status(200).setHeader('Content-Type', 'application/fhir+ndjson');
      res.setHeader('Cache-Control', 'no-store');
      fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
    });
  });
  return router;
}
