/**
 * A Bulk Data 2.0 client for the tests, written from the IG's text (export.html): kick-off with
 * `Accept: application/fhir+json` and `Prefer: respond-async`, poll the Content-Location until 200
 * (honouring 202 + X-Progress), then download every output file with the same token and parse the
 * NDJSON (one resource a line).
 */
import assert from 'node:assert/strict';
import type express from 'express';
import request from 'supertest';
import type { Resource } from 'fhir/r4';
import { TEST_BASE } from '../helpers/test-app';

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: unknown[];
}

/** The path supertest requests for an absolute URL of the test server. */
export function local(url: string): string {
  const origin = new URL(TEST_BASE).origin;
  assert.ok(url.startsWith(origin), `${url} is an absolute URL of the server`);
  return url.slice(origin.length);
}

const auth = (r: request.Test, token: string | undefined): request.Test => (token ? r.set('Authorization', `Bearer ${token}`) : r);

/** Kick-off: answers the status URL (absolute). */
export async function kickOff(app: express.Express, path: string, token?: string): Promise<string> {
  const res = await auth(request(app).get(path).set('Accept', 'application/fhir+json').set('Prefer', 'respond-async'), token);
  assert.equal(res.status, 202, res.text);
  const loc = res.headers['content-location'] as string | undefined;
  assert.ok(loc && /^https?:\/\//.test(loc), 'Content-Location is an absolute status URL');
  return loc;
}

/** Polls the status URL until the manifest; counts the 202 answers it saw. */
export async function poll(app: express.Express, statusUrl: string, token?: string): Promise<{ manifest: Manifest; inProgress: number }> {
  let inProgress = 0;
  for (let i = 0; i < 2000; i++) {
    const res = await auth(request(app).get(local(statusUrl)), token);
    if (res.status === 202) {
      inProgress++;
      assert.ok(res.headers['x-progress'], 'X-Progress on 202');
      assert.ok(res.headers['retry-after'], 'Retry-After on 202');
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /application\/(fhir\+)?json/);
    assert.ok(res.headers['expires'], 'Expires on the manifest');
    return { manifest: res.body as Manifest, inProgress };
  }
  throw new Error('export did not finish');
}

/** Downloads one output file and parses its NDJSON. */
export async function download(app: express.Express, url: string, token?: string): Promise<Resource[]> {
  const res = await auth(request(app).get(local(url)).set('Accept', 'application/fhir+ndjson'), token).buffer(true).parse((r, cb) => {
    let data = '';
    r.setEncoding('utf8');
    r.on('data', (c: string) => (data += c));
    r.on('end', () => cb(null, data));
  });
  assert.equal(res.status, 200, String(res.body));
  assert.match(String(res.headers['content-type']), /^application\/fhir\+ndjson/);
  const text = res.body as string;
  assert.ok(text.endsWith('\n'));
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Resource);
}

/** Kick-off, poll, download every file: the resources by type. */
export async function exportAll(app: express.Express, path: string, token?: string): Promise<{ manifest: Manifest; byType: Map<string, Resource[]> }> {
  const { manifest } = await poll(app, await kickOff(app, path, token), token);
  const byType = new Map<string, Resource[]>();
  for (const o of manifest.output) {
    const rs = await download(app, o.url, token);
    assert.equal(rs.length, o.count, `count of ${o.type}`);
    for (const r of rs) assert.equal(r.resourceType, o.type);
    byType.set(o.type, [...(byType.get(o.type) ?? []), ...rs]);
  }
  return { manifest, byType };
}

export const ids = (byType: Map<string, Resource[]>, type: string): string[] => (byType.get(type) ?? []).map((r) => r.id!).sort();
