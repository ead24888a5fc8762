/**
 * Durability of acknowledged writes across `kill -9` of the server process (FHIR R4 http.html: a
 * 201/200 means the write is stored). The real server runs as a child process on a temp SQLite file;
 * every create it acknowledged must be readable after a SIGKILL and a restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(__dirname, '..', 'src', 'main.js');

function startChild(dataDir: string, port: number): Promise<{ child: ChildProcess; base: string; exited: Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    const base = `http://127.0.0.1:${port}/fhir`;
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BASE_URL: base, DATA_DIR: dataDir, LOG_LEVEL: 'info', AUTH_MODE: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => child.once('exit', r));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve({ child, base, exited });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
}

describe('Durability: acknowledged writes survive kill -9 of the server', function () {
  this.timeout(90_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-durability-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('every acknowledged create is readable after SIGKILL and restart', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const first = await startChild(dataDir, port);
    const acknowledged: string[] = [];
    let stop = false;
    // Concurrent writers; the kill lands while requests are in flight.
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(`${first.base}/Patient`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/fhir+json' },
            body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Durable${w}`, given: [String(i)] }] }),
          });
          if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id);
        } catch {
          return; // connection refused/reset after the kill
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (acknowledged.length >= 150) {
          clearInterval(check);
          r();
        }
      }, 5);
    });
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await first.exited;
    const snapshot = [...acknowledged];

    const second = await startChild(dataDir, port + 1);
    try {
      const missing: string[] = [];
      for (const id of snapshot) {
        const res = await fetch(`${second.base}/Patient/${id}`);
        if (res.status !== 200) missing.push(`${id}: ${res.status}`);
      }
      console.log(`      ${snapshot.length} acknowledged creates before SIGKILL; ${snapshot.length - missing.length} readable after restart`);
      assert.deepEqual(missing, []);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
