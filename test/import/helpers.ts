/**
 * Shared fixtures of the import suites (issue 16, `npm run import`): temporary directories, NDJSON
 * and Bundle files written there, and counts of stored resources read back through the FHIR API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type express from 'express';
import request from 'supertest';

export function tempDir(prefix = 'import-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function write(dir: string, name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

export function ndjson(resources: unknown[]): string {
  return resources.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A valid R4 Observation (status and code are required). */
export function observation(n: number, id?: string): Record<string, unknown> {
  return { resourceType: 'Observation', ...(id ? { id } : {}), status: 'final', code: { text: `test ${n}` }, valueQuantity: { value: n } };
}

/** Stored resources of a type (`_summary=count`) on the app's `/fhir` base. */
export async function countOf(app: express.Express, type: string, token?: string): Promise<number> {
  const req = request(app).get(`/fhir/${type}?_summary=count`).set('accept', 'application/fhir+json');
  const res = await (token ? req.set('authorization', `Bearer ${token}`) : req);
  if (res.status !== 200) throw new Error(`count of ${type}: ${res.status} ${res.text}`);
  return (res.body as { total: number }).total;
}

export function reportLines(dir: string): Array<{ file: string; entry?: number; status: number; diagnostics: string[] }> {
  const text = fs.readFileSync(path.join(dir, 'import-report.ndjson'), 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { file: string; entry?: number; status: number; diagnostics: string[] });
}
