/**
 * Durability of the SQLite store (FHIR R4 §3.1.0 http.html: what the server acknowledged is kept):
 * a child process writing to a file store is killed with SIGKILL mid-stream; every id it printed after
 * an acknowledged write is found after reopening, and the database passes an integrity check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from './sqlite-store';
import { diagnostic } from '../../../test/helpers/diagnostics';

describe('SQLite store durability', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-durability-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write when the writer is killed with SIGKILL', async function () {
    this.timeout(60000);
    const file = path.join(dir, 'nested', 'fhir.sqlite');
    const child = spawn(process.execPath, [path.join(__dirname, 'durability-child.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close' comes after the exit and after stdout has been read to its end.
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) if (line !== 'ready') acked.push(line);
        // Kill mid-stream, while writes are in flight.
        if (acked.length >= 300 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => (acked.length >= 300 ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
    });
    assert.equal(await exited, 'SIGKILL');
    // A trailing partial line was never completely printed, so it is not counted as acknowledged.

    const store = openSqliteStore(file);
    try {
      const missing: string[] = [];
      for (const id of acked) {
        const v = await store.read('Patient', id);
        if (!v || v.deleted || !v.json || JSON.parse(v.json).id !== id) missing.push(id);
      }
      assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged writes lost`);
      const last = acked[acked.length - 1]!;
      const found = await store.search({ resourceTypes: ['Patient'], where: { op: 'token', param: 'identifier', system: 'urn:durability', code: last }, sort: [], count: 10, offset: 0, total: 'none' });
      assert.deepEqual(found.entries.map((e) => e.id), [last], 'index rows survive with their resource');
      const total = (await store.search({ resourceTypes: ['Patient'], sort: [], count: 0, offset: 0, total: 'accurate' })).total!;
      assert.ok(total >= acked.length, `${total} stored >= ${acked.length} acknowledged`);
      // Transactions are all or nothing, even when killed mid-commit.
      const txIds = (await store.history({ resourceType: 'Patient', count: 100000, offset: 0 })).entries.map((e) => e.id).filter((id) => id.startsWith('t'));
      const perRound = new Map<string, number>();
      for (const id of txIds) perRound.set(id.split('-')[0]!, (perRound.get(id.split('-')[0]!) ?? 0) + 1);
      for (const [round, n] of perRound) assert.equal(n, 3, `transaction ${round} stored ${n} of 3 writes`);
      diagnostic(`      durability: ${acked.length} acknowledged before SIGKILL, ${total} stored, none lost`);
    } finally {
      await store.close();
    }
  });

  it('creates the directory of the database file and reopens it with its data', async () => {
    const file = path.join(dir, 'a', 'b', 'c.sqlite');
    const s1 = openSqliteStore(file);
    await s1.write({ kind: 'create', resourceType: 'Patient', id: 'x', resource: { resourceType: 'Patient', id: 'x' } });
    await s1.close();
    const s2 = openSqliteStore(file);
    try {
      assert.equal((await s2.read('Patient', 'x'))?.versionId, 1);
      const next = await s2.write({ kind: 'update', resourceType: 'Patient', id: 'x', resource: { resourceType: 'Patient', id: 'x' } });
      assert.equal(next?.version.versionId, 2);
    } finally {
      await s2.close();
    }
  });
});
