/**
 * The background WAL checkpointer (checkpointer.ts, checkpoint-worker.ts; SQLite wal.html §3): the
 * worker copies committed frames into the database file, the write connection's own automatic
 * checkpoint is raised to the safety bound and restored when the worker is gone, and what was
 * committed is all there after reopening.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Patient } from 'fhir/r4';
import { extractIndex } from '../../search/extract';
import { BackgroundCheckpointer, INLINE_AUTOCHECKPOINT_PAGES, WAL_SAFETY_PAGES } from './checkpointer';
import { openConnections } from './connection';
import { openSqliteStore } from './sqlite-store';

const patient = (i: number): Patient => ({
  resourceType: 'Patient',
  id: `p${i}`,
  name: [{ family: `Family${i}`, given: [`Given${i}`, `Middle${i}`] }],
  address: [{ line: [`${i} High Street`], city: `Town${i % 97}`, postalCode: `LS${i % 30} ${i % 9}AB` }],
  text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">Patient number ${i} of the checkpoint test, ${'with some narrative '.repeat(20)}</div>` },
});

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('SQLite background WAL checkpoints', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-checkpoint-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the worker checkpoints after commits; everything committed is in the database after reopening', async function () {
    this.timeout(30000);
    const file = path.join(dir, 'fhir.sqlite');
    const store = openSqliteStore(file, { checkpoint: 'background' });
    try {
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 400; i++) {
        const r = patient(i);
        writes.push(store.write({ kind: 'create', resourceType: 'Patient', id: r.id!, resource: r, index: extractIndex(r) }));
      }
      await Promise.all(writes);
      await until('a background checkpoint', async () => ((await store.checkpointStats())?.frames ?? 0) > 0);
      const stats = (await store.checkpointStats())!;
      assert.ok(stats.checkpoints >= 1, `${stats.checkpoints} checkpoints`);
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal((raw.prepare("SELECT COUNT(*) AS n FROM resource WHERE type = 'Patient' AND deleted = 0").get() as { n: number }).n, 400);
    } finally {
      raw.close();
    }
    const again = openSqliteStore(file, { checkpoint: 'background' });
    try {
      const found = await again.search({ resourceTypes: ['Patient'], where: { op: 'string', param: 'family', value: 'Family399', mode: 'exact' }, sort: [], count: 10, offset: 0, total: 'none' });
      assert.deepEqual(found.entries.map((e) => e.id), ['p399']);
    } finally {
      await again.close();
    }
  });

  it('commits within one interval share one checkpoint: none of them checkpoints by itself', async function () {
    this.timeout(20000);
    const conns = openConnections(path.join(dir, 'fhir.sqlite'));
    // An interval far longer than the test: the first commit's checkpoint runs at once, the next one
    // only after the interval, so every later commit is left to it.
    const checkpointer = new BackgroundCheckpointer(conns.write.name, conns.write, 600_000);
    try {
      conns.write.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
      const insert = conns.write.prepare('INSERT INTO t (v) VALUES (?)');
      insert.run('first');
      checkpointer.committed();
      await until('the first checkpoint', async () => (await checkpointer.stats()).checkpoints === 1);
      const copied = (await checkpointer.stats()).frames;
      for (let i = 0; i < 20; i++) {
        insert.run(`row ${i}`); // each commit rewrites the table's one leaf page
        checkpointer.committed();
      }
      // A stats request is answered after the commit messages sent before it.
      const after = await checkpointer.stats();
      assert.deepEqual({ checkpoints: after.checkpoints, frames: after.frames }, { checkpoints: 1, frames: copied });
    } finally {
      await checkpointer.close();
      conns.read.close();
      conns.write.close();
    }
  });

  it('raises the write connection\'s own checkpoint to the safety bound, and restores it when the worker is gone', async function () {
    this.timeout(20000);
    const conns = openConnections(path.join(dir, 'fhir.sqlite'));
    try {
      assert.equal(conns.write.pragma('wal_autocheckpoint', { simple: true }), INLINE_AUTOCHECKPOINT_PAGES);
      const checkpointer = new BackgroundCheckpointer(conns.write.name, conns.write);
      assert.equal(conns.write.pragma('wal_autocheckpoint', { simple: true }), WAL_SAFETY_PAGES);
      // The worker dies (as if it crashed): the write connection checkpoints by itself again.
      await checkpointer['worker'].terminate();
      await until('the fallback', async () => conns.write.pragma('wal_autocheckpoint', { simple: true }) === INLINE_AUTOCHECKPOINT_PAGES);
      assert.match(checkpointer.lastError ?? '', /exited/);
      assert.deepEqual(await checkpointer.stats(), { checkpoints: 0, frames: 0, partial: 0 });
      await checkpointer.close();
    } finally {
      conns.read.close();
      conns.write.close();
    }
  });

  it('close() waits for the worker: a process with nothing else to do still finishes what follows close()', function (done) {
    this.timeout(20000);
    // The worker is unref'd; an earlier close() let the process exit while it waited for it.
    const script = `const { openSqliteStore } = require(${JSON.stringify(path.join(__dirname, 'sqlite-store.js'))});
      (async () => {
        const store = openSqliteStore(${JSON.stringify(path.join(dir, 'child.sqlite'))}, { checkpoint: 'background' });
        await store.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' } });
        await store.close();
        process.stdout.write('closed');
      })();`;
    execFile(process.execPath, ['-e', script], (err, stdout) => {
      try {
        assert.equal(err, null);
        assert.equal(stdout, 'closed');
        done();
      } catch (e) {
        done(e);
      }
    });
  });

  it('an in-memory store has no checkpointer', async () => {
    const store = openSqliteStore(':memory:', { checkpoint: 'background' });
    try {
      assert.equal(store.checkpointStats(), undefined);
    } finally {
      await store.close();
    }
  });
});
