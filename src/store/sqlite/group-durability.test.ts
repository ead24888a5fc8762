/**
 * Durability of group commits (FHIR R4 §3.1.0 http.html: what the server acknowledged is kept): a
 * child process with concurrent writers (creates, transactions, version-aware updates, sharing group
 * commits) is killed with SIGKILL mid-stream; every write it printed after acknowledgement is found
 * after reopening, every transaction is whole, and the database passes an integrity check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite-store';
import { CHECKPOINT_MODES, type CheckpointMode } from './checkpointer';
import type { WriterMode } from './writer-thread';
import { diagnostic } from '../../../test/helpers/diagnostics';

const WRITERS = 8;
const KILL_AFTER = 1500;

describe('SQLite group commit durability', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-group-durability-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Both checkpoint modes with the store's own group commits, and the server's defaults (background
  // checkpoints, writes batched on the writer thread, ADR 0045).
  const cases: Array<{ mode: CheckpointMode; writes: WriterMode }> = [...CHECKPOINT_MODES.map((mode) => ({ mode, writes: 'inline' as const })), { mode: 'background', writes: 'worker' }];
  for (const { mode, writes } of cases) it(`keeps every acknowledged write of ${WRITERS} concurrent writers when killed with SIGKILL (${mode} checkpoints, ${writes} writes)`, async function () {
    this.timeout(60000);
    const file = path.join(dir, `${mode}-${writes}`, 'fhir.sqlite');
    const child = spawn(process.execPath, [path.join(__dirname, 'group-durability-child.js'), file, String(WRITERS), mode, writes], { stdio: ['ignore', 'pipe', 'pipe'] });
    const created: string[] = [];
    const updated = new Map<string, number>();
    let largest = 0;
    let buffer = '';
    let stderr = '';
    let acks = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? ''; // a partial last line was not completely printed: not counted
        for (const line of lines) {
          if (line === 'ready') continue;
          if (line.startsWith('largest ')) {
            largest = Number(line.slice('largest '.length));
            continue;
          }
          acks++;
          const at = line.indexOf('@');
          if (at < 0) created.push(line);
          else updated.set(line.slice(0, at), Math.max(updated.get(line.slice(0, at)) ?? 0, Number(line.slice(at + 1))));
        }
        if (acks >= KILL_AFTER && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => (acks >= KILL_AFTER ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
    });
    assert.equal(await exited, 'SIGKILL');
    assert.ok(largest > 1, `writes shared group commits (largest group ${largest})`);

    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      raw.close();
    }
    const store = openSqliteStore(file);
    try {
      const missing: string[] = [];
      for (const id of created) {
        const v = await store.read('Patient', id);
        if (!v || v.deleted || !v.json || JSON.parse(v.json).id !== id) missing.push(id);
      }
      assert.deepEqual(missing, [], `${missing.length} of ${created.length} acknowledged creates lost`);
      for (const [id, version] of updated) {
        const v = await store.read('Patient', id);
        assert.ok(v && v.versionId >= version, `${id}: version ${v?.versionId} stored, ${version} acknowledged`);
      }
      const last = created[created.length - 1]!;
      const found = await store.search({ resourceTypes: ['Patient'], where: { op: 'token', param: 'identifier', system: 'urn:durability', code: last }, sort: [], count: 10, offset: 0, total: 'none' });
      assert.deepEqual(found.entries.map((e) => e.id), [last], 'index rows survive with their resource');
      const txIds = (await store.history({ resourceType: 'Patient', count: 1_000_000, offset: 0 })).entries.map((e) => e.id).filter((id) => id.startsWith('t'));
      const perTx = new Map<string, number>();
      for (const id of txIds) perTx.set(id.split('-')[0]!, (perTx.get(id.split('-')[0]!) ?? 0) + 1);
      for (const [tx, count] of perTx) assert.equal(count, 3, `transaction ${tx} stored ${count} of 3 writes`);
      const total = (await store.search({ resourceTypes: ['Patient'], sort: [], count: 0, offset: 0, total: 'accurate' })).total!;
      diagnostic(`      group durability (${mode} checkpoints, ${writes} writes): ${acks} acknowledged writes (${created.length} creates) before SIGKILL, largest group ${largest}, ${total} Patients stored, none lost`);
    } finally {
      await store.close();
    }
  });
});
