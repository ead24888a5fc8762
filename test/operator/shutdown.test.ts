/**
 * Graceful shutdown (issue 16, "Observability and operation"): closing the server stops accepting
 * connections, lets the request in flight finish and answer, and only then closes the store, so
 * nothing acknowledged is lost; an idle keep-alive client does not hold the shutdown up.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer } from '../../src/main';

function post(port: number, body: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/fhir', method: 'POST', agent, headers: { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Operator: graceful shutdown', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shutdown-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a transaction in flight when the server closes is answered and stored; then no new connection is accepted', async () => {
    const env = { DATA_DIR: dir, PORT: '0', AUTH_MODE: 'off', LOG_LEVEL: 'silent', REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' };
    const running = await startServer(loadConfig(env), silentLogger());
    const port = (running.server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true });
    const idle = await post(port, JSON.stringify({ resourceType: 'Bundle', type: 'batch', entry: [] }), agent); // leaves an idle keep-alive connection
    assert.equal(idle.status, 200, idle.body);
    const entries = Array.from({ length: 1500 }, (_, i) => ({ resource: { resourceType: 'Basic', code: { text: `item ${i}` } }, request: { method: 'POST', url: 'Basic' } }));
    const inFlight = post(port, JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }), new http.Agent({ keepAlive: false }));
    await new Promise((r) => setTimeout(r, 100));
    let answeredFirst = false;
    void inFlight.then(() => (answeredFirst = true));
    const closed = running.close();
    assert.equal(answeredFirst, false, 'the transaction is still in flight when the shutdown starts');
    // Had the store closed under the transaction, its answer would be an error, not a 200.
    const answer = await inFlight;
    await new Promise((r) => setImmediate(r));
    assert.equal(answer.status, 200, answer.body.slice(0, 300));
    await closed;
    await assert.rejects(post(port, '{}', new http.Agent({ keepAlive: false })), /ECONNREFUSED|ECONNRESET/);
    agent.destroy();

    const again = await startServer(loadConfig(env), silentLogger());
    try {
      const page = await again.services.store.search({ resourceTypes: ['Basic'], sort: [], count: 0, offset: 0, total: 'accurate' });
      assert.equal(page.total, 1500);
    } finally {
      await again.close();
    }
  });
});
