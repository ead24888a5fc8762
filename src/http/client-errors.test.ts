/**
 * Requests refused by Node's HTTP parser get a FHIR OperationOutcome (src/http/client-errors.ts):
 * oversized headers 431, a malformed request line or header 400, each with a JSON body and the
 * connection closed. Found by the chaos suite (test/chaos): Node's default answer had no body.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { answerClientErrors, clientErrorAnswer } from './client-errors';

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('utf8')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => reject(new Error('no answer')));
  });
}

function outcomeOf(answer: string): { status: number; body: { resourceType: string; issue: Array<{ severity: string; code: string }> } } {
  const [head, body] = [answer.slice(0, answer.indexOf('\r\n\r\n')), answer.slice(answer.indexOf('\r\n\r\n') + 4)];
  assert.match(head, /content-type: application\/fhir\+json/i);
  assert.match(head, /connection: close/i);
  assert.match(head, /x-content-type-options: nosniff/i);
  assert.match(head, /cache-control: no-store/i);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) };
}

describe('HTTP: requests the HTTP parser refuses answer an OperationOutcome', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    answerClientErrors(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('oversized headers: 431 with an OperationOutcome', async () => {
    const { status, body } = outcomeOf(await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(70_000)}\r\n\r\n`));
    assert.equal(status, 431);
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0]?.code, 'too-costly');
  });

  it('a malformed request line or header: 400 with an OperationOutcome', async () => {
    for (const bytes of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']) {
      const { status, body } = outcomeOf(await rawExchange(port, bytes));
      assert.equal(status, 400, JSON.stringify(bytes));
      assert.equal(body.issue[0]?.severity, 'error');
    }
  });

  it('the answer to a HEAD request with oversized headers has no body', async () => {
    const answer = await rawExchange(port, `HEAD / HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(70_000)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
    assert.ok(answer.endsWith('\r\n\r\n'), JSON.stringify(answer.slice(-80)));
  });

  it('a well-formed request is untouched; a reset connection gets no answer', async () => {
    assert.match(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok$/);
    assert.equal(clientErrorAnswer('ECONNRESET'), undefined);
  });
});
