/**
 * Request bodies with a Content-Encoding (RFC 9110 §8.4; FHIR R4 http.html "HTTP Status Codes"): a
 * gzip or deflate body is read decompressed; one that does not decompress as its Content-Encoding
 * says answers 400 with an OperationOutcome, not 500. Found by the chaos suite (test/chaos).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import request from 'supertest';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

describe('HTTP: request bodies with a Content-Encoding', () => {
  let t: TestApp;
  before(() => {
    t = testApp(GENERIC_ENGINE);
  });
  after(() => t.close());

  const basic = JSON.stringify({ resourceType: 'Basic', code: { text: 'zipped' } });

  it('a gzip body is read decompressed', async () => {
    // supertest would serialise a Buffer as JSON under a JSON Content-Type: send the bytes over node:http.
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/fhir/Basic', headers: { 'Content-Type': FHIR_JSON, 'Content-Encoding': 'gzip' } }, (res) => {
          let out = '';
          res.on('data', (d: Buffer) => (out += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: out }));
        });
        req.on('error', reject);
        req.end(zlib.gzipSync(basic));
      });
      assert.equal(status, 201, text);
      assert.equal((JSON.parse(text) as { code: { text: string } }).code.text, 'zipped');
    } finally {
      server.close();
    }
  });

  for (const encoding of ['gzip', 'deflate', 'br']) {
    it(`a body that is not ${encoding}: 400 OperationOutcome`, async () => {
      const res = await request(t.app).post('/fhir/Basic').set('Content-Type', FHIR_JSON).set('Content-Encoding', encoding).send(basic);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.match(res.body.issue[0].diagnostics, /Content-Encoding/);
    });
  }

  it('an unknown Content-Encoding: 415 OperationOutcome', async () => {
    const res = await request(t.app).post('/fhir/Basic').set('Content-Type', FHIR_JSON).set('Content-Encoding', 'chaos').send(basic);
    assert.equal(res.status, 415, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
  });
});
