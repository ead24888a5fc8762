/**
 * Runs the store contract suite against the SQLite store (FHIR R4 §3.1.0 http.html, §3.1.1
 * search.html), in memory and on a temporary file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeStoreContract } from '../contract/store-contract';
import type { StoreSession } from '../store';
import { openSqliteStore } from './sqlite-store';

describeStoreContract('sqlite :memory:', async () => openSqliteStore(':memory:'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-store-contract-'));
let n = 0;
describeStoreContract('sqlite file', async () => openSqliteStore(path.join(tmp, `store-${++n}`, 'fhir.sqlite')));
describeStoreContract('sqlite file, background checkpoints', async () => openSqliteStore(path.join(tmp, `store-${++n}`, 'fhir.sqlite'), { checkpoint: 'background' }));
describeStoreContract('sqlite file, writes on the writer thread', async () => openSqliteStore(path.join(tmp, `store-${++n}`, 'fhir.sqlite'), { writes: 'worker', appendWriter: 'worker' }));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('SqliteStore misuse is reported, not deadlocked', () => {
  for (const where of [':memory:', 'file'] as const) {
    it(`${where}: calling the store itself inside withTransaction throws; reads there do not hang`, async () => {
      const store = openSqliteStore(where === 'file' ? path.join(tmp, `misuse-${++n}`, 'fhir.sqlite') : ':memory:');
      try {
        await store.withTransaction(async (tx) => {
          await tx.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' } });
          await assert.rejects(store.write({ kind: 'create', resourceType: 'Patient', id: 'b', resource: { resourceType: 'Patient', id: 'b' } }), /inside withTransaction/);
          await assert.rejects(store.withTransaction(async () => 1), /inside withTransaction/);
          // The outer store's read inside a transaction completes (committed state or the transaction's own view).
          await store.read('Patient', 'a');
        });
        assert.equal(await store.read('Patient', 'b'), undefined);
        assert.equal((await store.read('Patient', 'a'))?.versionId, 1);
      } finally {
        await store.close();
      }
    });
  }

  it('a transaction session used after its callback ended throws', async () => {
    const store = openSqliteStore(':memory:');
    try {
      let leaked: StoreSession | undefined;
      await store.withTransaction(async (tx) => {
        leaked = tx;
      });
      await assert.rejects(leaked!.read('Patient', 'a'), /ended/);
    } finally {
      await store.close();
    }
  });

  it('a closed store refuses work, and close waits for a running transaction', async () => {
    const store = openSqliteStore(':memory:');
    let committed = false;
    const tx = store.withTransaction(async (t) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await t.write({ kind: 'create', resourceType: 'Patient', id: 'a', resource: { resourceType: 'Patient', id: 'a' } });
      committed = true;
    });
    await store.close();
    await tx;
    assert.equal(committed, true);
    await assert.rejects(store.read('Patient', 'a'), /closed/);
  });
});
