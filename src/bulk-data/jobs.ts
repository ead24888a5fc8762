/**
 * Bulk export jobs (FHIR Bulk Data Access IG 2.0, export.html "Bulk Data Status Request", "Bulk Data
 * Delete Request"): one job per accepted kick-off, owned by the caller that started it, with its
 * NDJSON files in a directory of its own (under DATA_DIR/bulk-export, or os.tmpdir() for an in-memory
 * server). A finished job is kept BULK_EXPORT_EXPIRY_SECONDS, then it and its files are removed.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config';

export interface ExportFile {
  type: string;
  /** File name inside the job directory. */
  name: string;
  count: number;
}

export interface ExportJob {
  id: string;
  /** Who may poll, download and cancel (see ownerOf in operations.ts). */
  owner: string;
  /** The kick-off request URL, as the manifest's `request`. */
  request: string;
  transactionTime: string;
  dir: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  files: ExportFile[];
  /** OperationOutcome files (manifest `error`). */
  errors: ExportFile[];
  exported: number;
  /** Types finished / all types, for X-Progress. */
  typesDone: number;
  typesTotal: number;
  failure?: string;
  finishedAt?: number;
}

export class ExportJobs {
  private readonly jobs = new Map<string, ExportJob>();
  private readonly root: string;

  constructor(private readonly config: Readonly<Config>) {
    this.root = config.sqlitePath === ':memory:' ? path.join(os.tmpdir(), `fhir-bulk-export-${process.pid}`) : path.join(config.dataDir, 'bulk-export');
  }

  create(owner: string, request: string, transactionTime: string): ExportJob {
    this.sweep();
    const id = randomUUID();
    const dir = path.join(this.root, id);
    fs.mkdirSync(dir, { recursive: true });
    const job: ExportJob = { id, owner, request, transactionTime, dir, state: 'running', files: [], errors: [], exported: 0, typesDone: 0, typesTotal: 0 };
    this.jobs.set(id, job);
    return job;
  }

  get(id: string): ExportJob | undefined {
    this.sweep();
    return this.jobs.get(id);
  }

  /** Removes a job and its files (cancel, or expiry). */
  remove(job: ExportJob): void {
    if (job.state === 'running') job.state = 'cancelled';
    this.jobs.delete(job.id);
    fs.rmSync(job.dir, { recursive: true, force: true });
  }

  /** Removes finished jobs older than BULK_EXPORT_EXPIRY_SECONDS. */
  sweep(now = Date.now()): void {
    for (const job of this.jobs.values()) {
      if (job.finishedAt !== undefined && now - job.finishedAt > this.config.bulkExportExpirySeconds * 1000) this.remove(job);
    }
  }

  /** The path of a file of a job, or undefined when the name is not one of its files. */
  filePath(job: ExportJob, name: string): string | undefined {
    return [...job.files, ...job.errors].some((f) => f.name === name) ? path.join(job.dir, name) : undefined;
  }
}
