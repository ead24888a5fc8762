/**
 * Starting the server as a user does (`node dist/src/main.js`, what `npm start` runs): an address
 * already in use is a clear sentence and a non-zero exit, not a stack trace; a single instance on the
 * embedded store does not warn about CURSOR_SECRET, a MongoDB deployment without one does (issue 16,
 * "The first ten minutes").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { listenErrorMessage } from '../../src/main';
import { MAIN_JS } from '../chaos/support/server-process';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs main.js with the environment until it exits or `untilLine` appears on stdout (then SIGTERM). */
function runMain(env: Record<string, string>, untilLine?: RegExp, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS], { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.js did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (untilLine?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Operator: starting the server', function () {
  this.timeout(120_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('a port already in use: one clear sentence on stderr naming the address and what to do, exit 1, no stack trace', async function () {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await runMain({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, AUTH_MODE: 'off', LOG_LEVEL: 'warn' });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`));
      assert.match(run.stderr, /PORT=8081 npm start/);
      assert.doesNotMatch(run.stderr + run.stdout, /TypeError|\n\s+at /);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('one instance on the embedded store without CURSOR_SECRET: no CURSOR_SECRET warning', async function () {
    const run = await runMain({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, AUTH_MODE: 'off', LOG_LEVEL: 'info' }, /FHIR R4 server listening/);
    assert.match(run.stdout, /FHIR R4 server listening/);
    assert.doesNotMatch(run.stdout + run.stderr, /CURSOR_SECRET/);
  });

  it('`npm start` stopped with SIGTERM stops the server too (the script execs node, so npm\'s signal reaches it)', async function () {
    const root = path.resolve(__dirname, '..', '..', '..');
    const child = spawn('npm', ['start', '--silent'], { cwd: root, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, AUTH_MODE: 'off', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen in time:\n${out}`)), 90_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /"listening":"(http:\/\/[^"]+)"/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const metadata = `${url}/metadata`;
    assert.equal((await fetch(metadata)).status, 200);
    child.kill('SIGTERM');
    await exited;
    // The server process is gone with npm: its port refuses connections (within a few seconds of shutdown).
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = await fetch(metadata).then(
        () => false,
        () => true,
      );
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(refused, `the server still answers ${metadata} after npm start was stopped`);
  });

  it('listenErrorMessage: EADDRINUSE, EACCES and EADDRNOTAVAIL have sentences; other errors none', function () {
    const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    const at = { host: '0.0.0.0', port: 80 };
    assert.match(listenErrorMessage(err('EADDRINUSE'), at) ?? '', /0\.0\.0\.0:80: the port is already in use/);
    assert.match(listenErrorMessage(err('EACCES'), at) ?? '', /permission denied/);
    assert.match(listenErrorMessage(err('EADDRNOTAVAIL'), at) ?? '', /not on this machine/);
    assert.equal(listenErrorMessage(err('ENOENT'), at), undefined);
    assert.equal(listenErrorMessage(new TypeError('x'), at), undefined);
  });
});
