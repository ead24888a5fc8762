/**
 * `npm run import -- --url <base>` (issue 16): the same inputs loaded over HTTP into a running server
 * (a test app listening on an ephemeral port), in parallel, with `--token` sent as a bearer token;
 * inputs read from an http(s) URL; the command line's usage errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { importCli } from '../../src/import/cli';
import { countOf, ndjson, observation, reportLines, tempDir, write } from './helpers';

const TOKEN = 'import-test-token';

/** Answers 401 unless the request carries the bearer token (what --token must send). */
function requireToken(): express.Router {
  const r = express.Router();
  r.use('/fhir', (req, res, next) => {
    if (req.headers.authorization === `Bearer ${TOKEN}`) return next();
    res.status(401).json({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'a bearer token is required' }] });
  });
  return r;
}

function listen(handler: http.RequestListener | express.Express): Promise<{ server: http.Server; url: string }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

describe('import: over HTTP', function () {
  this.timeout(60_000);
  let t: TestApp;
  let server: http.Server;
  let base: string;
  let dir: string;
  before(async () => {
    t = testApp(GENERIC_ENGINE, { routers: [requireToken()] });
    const l = await listen(t.app);
    server = l.server;
    base = `${l.url}/fhir`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await t.close();
  });
  beforeEach(() => {
    dir = tempDir();
  });

  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await importCli([...args, '--report-dir', path.join(dir, 'report')], { env: {}, out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
    return { code, out, err };
  };

  it('loads NDJSON and Bundles in parallel, reporting the server\'s rejections with their reasons', async () => {
    write(dir, 'in/obs.ndjson', ndjson([...Array.from({ length: 250 }, (_, i) => observation(i, `h-${i}`)), { resourceType: 'Observation', id: 'h-bad', code: { text: 'no status' } }]));
    write(dir, 'in/tx.json', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', id: 'h-pat' }, request: { method: 'PUT', url: 'Patient/h-pat' } }] });
    const r = await cli([path.join(dir, 'in'), '--url', base, '--token', TOKEN, '--concurrency', '3']);
    assert.equal(r.code, 2, [...r.out, ...r.err].join('\n'));
    assert.match(r.out[0]!, /^done: 251 resources loaded, 1 rejected into http:\/\/127\.0\.0\.1:\d+\/fhir/);
    assert.equal(await countOf(t.app, 'Observation', TOKEN), 250);
    const lines = reportLines(path.join(dir, 'report'));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.entry, 251);
    assert.match(lines[0]!.diagnostics.join(' '), /status/);
    // Nothing in the hint: the rejection is not a required profile's.
    assert.equal([...r.out, ...r.err].filter((l) => l.includes('--base-validation') || l.includes('REQUIRED_PROFILES')).length, 0);
  });

  it('without the token the server\'s 401 is each Bundle\'s rejection', async () => {
    write(dir, 'one.ndjson', ndjson([observation(1, 'no-token')]));
    const r = await cli([path.join(dir, 'one.ndjson'), '--url', base]);
    assert.equal(r.code, 2);
    const lines = reportLines(path.join(dir, 'report'));
    assert.deepEqual([lines[0]!.status, lines[0]!.diagnostics], [401, ['a bearer token is required']]);
  });

  it('reads an input from an http URL (NDJSON by its media type)', async () => {
    const body = ndjson([observation(1, 'u-1'), observation(2, 'u-2')]);
    const files = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.setHeader('content-type', 'application/fhir+ndjson');
      res.end(body);
    });
    try {
      const r = await cli([`${files.url}/export/Observation`, '--url', base, '--token', TOKEN]);
      assert.equal(r.code, 0, [...r.out, ...r.err].join('\n'));
      assert.match(r.out[0]!, /^done: 2 resources loaded, 0 rejected/);
    } finally {
      await new Promise((r) => files.server.close(r));
    }
  });

  it('usage errors exit 1 with a reason', async () => {
    assert.equal((await cli([])).code, 1);
    const c = await cli(['x', '--concurrency', '0']);
    assert.deepEqual([c.code, /--concurrency/.test(c.err.join(' '))], [1, true]);
    const b = await cli(['x', '--url', base, '--base-validation']);
    assert.deepEqual([b.code, /in-process import only/.test(b.err.join(' '))], [1, true]);
    const u = await cli(['--bogus']);
    assert.equal(u.code, 1);
    assert.equal((await cli(['--help'])).code, 0);
    assert.equal(fs.existsSync(path.join(dir, 'report', 'import-state.json')), false);
  });
});
