/**
 * `npm run token` (scripts/token.ts) gets a working access token from a running server's built-in
 * authorization server, the way a newcomer uses it: `TOKEN=$(npm run -s token)` (issue 16, "The
 * first ten minutes"; SMART App Launch 2.0.0 authorization code + PKCE).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer, type RunningServer } from '../../src/main';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';

const run = promisify(execFile);
const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'token.js');

describe('Operator: npm run token', function () {
  this.timeout(60_000);
  let running: RunningServer;
  let dir: string;
  let url: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-script-'));
    running = await startServer(loadConfig({ DATA_DIR: dir, PORT: '0', BASE_URL: 'http://localhost:8080/fhir', LOG_LEVEL: 'silent' }), silentLogger());
    url = `http://127.0.0.1:${(running.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await running?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const token = async (...args: string[]): Promise<string> => (await run(process.execPath, [SCRIPT, '--url', url, ...args])).stdout.trim();

  it('prints only an access token, which searches as dev-practitioner', async () => {
    const t = await token();
    assert.match(t, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const res = await request(running.server).get('/fhir/Patient?_count=1').set('Authorization', `Bearer ${t}`);
    assert.equal(res.status, 200, res.text);
  });

  it('--user dev-patient: a patient-context token for the seeded patient, and nobody else', async () => {
    const body = JSON.parse(await token('--user', 'dev-patient', '--json')) as { access_token: string; patient: string };
    assert.equal(body.patient, DEV_PATIENT_ID);
    const own = await request(running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}`).set('Authorization', `Bearer ${body.access_token}`);
    assert.equal(own.status, 200, own.text);
    const other = await request(running.server).get('/fhir/Practitioner/dev-practitioner').set('Authorization', `Bearer ${body.access_token}`);
    assert.notEqual(other.status, 200);
  });

  it('a practitioner asking for launch/patient goes through the picker', async () => {
    const body = JSON.parse(await token('--scope', 'openid fhirUser launch/patient patient/*.rs', '--patient', DEV_PATIENT_ID, '--json')) as { patient: string };
    assert.equal(body.patient, DEV_PATIENT_ID);
  });

  it('a wrong password or no server: exit 1 with one line on standard error, nothing on standard output', async () => {
    for (const args of [['--password', 'wrong'], ['--url', 'http://127.0.0.1:1']]) {
      const failed = await run(process.execPath, [SCRIPT, '--url', url, ...args]).then(
        () => assert.fail('expected exit 1'),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      assert.equal(failed.code, 1);
      assert.equal(failed.stdout, '');
      assert.match(failed.stderr, /^npm run token: .+\n$/);
    }
  });
});
