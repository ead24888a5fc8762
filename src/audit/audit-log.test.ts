/**
 * The audit trail writer (audit-log.ts; IHE BALP AuditEvents, ADR 32): on the SQLite store a batch is
 * written through the store's batch path for server-recorded creates (SqliteStore.appendCreates), on
 * any other store through `withTransaction`; either way every event is stored, indexed and searchable.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../config/config';
import { silentLogger } from '../logging';
import { buildServices, initServices } from '../main';
import type { FhirServices } from '../fhir/context';
import type { Store } from '../store/store';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store';
import { AuditLog } from './audit-log';
import { auditEvent as event, holdAppendCreates } from '../../test/helpers/audit-fixtures';

async function servicesOver(store: Store): Promise<FhirServices> {
  const services = buildServices(loadConfig({ SQLITE_PATH: ':memory:', LOG_LEVEL: 'silent', AUTH_MODE: 'off', SEED_ON_EMPTY: '0', AUDIT: 'off' }), silentLogger(), store);
  await initServices(services);
  return services;
}

async function patientHits(services: FhirServices, patient: string): Promise<number> {
  const q = services.search.parse(['AuditEvent'], [['patient', patient]], { strict: true });
  return (await services.store.search(q.query)).entries.length;
}

describe('AuditLog writes', () => {
  it('on the SQLite store, each batch is one appendCreates (not withTransaction), every event indexed', async () => {
    const store = openSqliteStore(':memory:');
    const calls: number[] = [];
    const append = store.appendCreates.bind(store);
    store.appendCreates = async (ops) => {
      calls.push(ops.length);
      return append(ops);
    };
    store.withTransaction = () => Promise.reject(new Error('withTransaction must not be used for the audit trail on SQLite'));
    const services = await servicesOver(store);
    try {
      const log = new AuditLog(services, { flushMs: 10_000, maxBatch: 4 });
      for (let i = 0; i < 10; i++) log.add(event(i));
      await log.flush();
      assert.equal(log.written, 10);
      assert.deepEqual(calls, [4, 4, 2]);
      assert.equal(await patientHits(services, 'Patient/p0'), 5);
      assert.equal(await patientHits(services, 'Patient/p1'), 5);
    } finally {
      await store.close();
    }
  });

  it('on a store without appendCreates (here a wrapper of SQLite), withTransaction as before', async () => {
    const inner: SqliteStore = openSqliteStore(':memory:');
    let transactions = 0;
    // A store without appendCreates (as a decorator may be): its own prototype, every other method delegated.
    const wrapper: Store = new Proxy(inner, {
      getPrototypeOf: () => Object.prototype,
      get(target, prop, receiver) {
        if (prop === 'appendCreates') return undefined;
        if (prop === 'withTransaction') {
          return (fn: Parameters<Store['withTransaction']>[0]) => {
            transactions++;
            return target.withTransaction(fn);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const services = await servicesOver(wrapper);
    try {
      const log = new AuditLog(services, { flushMs: 10_000, maxBatch: 100 });
      for (let i = 0; i < 6; i++) log.add(event(i));
      await log.flush();
      assert.equal(log.written, 6);
      assert.equal(transactions, 1);
      assert.equal(await patientHits(services, 'Patient/p1'), 3);
    } finally {
      await inner.close();
    }
  });

  it('indexes the next batch while one is being written, and keeps both in order when that write fails', async () => {
    const store = openSqliteStore(':memory:');
    const held = holdAppendCreates(store);
    const written: string[][] = [];
    const append = store.appendCreates.bind(store);
    let failNext = true;
    store.appendCreates = async (ops) => {
      if (failNext) {
        failNext = false;
        await append([]); // the held call: waits at the gate
        throw new Error('disk full (test)');
      }
      written.push(ops.map((op) => op.id));
      return append(ops);
    };
    const services = await servicesOver(store);
    const indexed: string[] = [];
    const extract = services.indexer.extract.bind(services.indexer);
    services.indexer.extractCooperatively = undefined;
    services.indexer.extract = (r) => {
      indexed.push(r.id!);
      return extract(r);
    };
    try {
      const log = new AuditLog(services, { flushMs: 60_000, maxBatch: 4 });
      const ids = Array.from({ length: 10 }, (_, i) => `e${i}`);
      for (const [i, id] of ids.entries()) log.add({ ...event(i), id });
      await held.reached;
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(indexed, ids.slice(0, 8), 'the second batch is indexed while the first is being written');
      held.release();
      // The flush in progress fails and keeps its events; this one, chained after it, writes them.
      await log.flush();
      assert.deepEqual(written, [ids.slice(0, 4), ids.slice(4, 8), ids.slice(8)], 'kept and written in order');
      assert.equal(log.written, 10);
      await log.close();
    } finally {
      await store.close();
    }
  });

  describe('backpressure when the writer falls behind', () => {
    it('admission waits while highWater events are buffered, until fewer than lowWater are', async () => {
      const store = openSqliteStore(':memory:');
      const held = holdAppendCreates(store);
      const services = await servicesOver(store);
      try {
        const log = new AuditLog(services, { flushMs: 10_000, maxBatch: 10, highWater: 50, lowWater: 20, maxAdmissionWaitMs: 60_000 });
        for (let i = 0; i < 49; i++) log.add(event(i));
        assert.equal(log.backlogged, false);
        await log.admission(); // under highWater: at once
        assert.equal(log.admissionWaits, 0);
        for (let i = 49; i < 70; i++) log.add(event(i));
        assert.ok(log.backlogged, `buffered ${log.buffered}`);
        let admitted = false;
        const waiting = log.admission().then(() => {
          admitted = true;
          return log.buffered;
        });
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(admitted, false, 'admitted while the writer is stuck');
        held.release();
        const bufferedAtAdmission = await waiting;
        assert.ok(bufferedAtAdmission < 20, `admitted with ${bufferedAtAdmission} buffered`);
        assert.equal(log.admissionWaits, 1);
        await log.flush();
        assert.equal(log.written, 70);
      } finally {
        await store.close();
      }
    });

    it('a store that refuses writes holds a request at most maxAdmissionWaitMs; the events are kept', async () => {
      const store = openSqliteStore(':memory:');
      store.appendCreates = () => Promise.reject(new Error('disk full'));
      const services = await servicesOver(store);
      try {
        const log = new AuditLog(services, { flushMs: 10_000, maxBatch: 10, highWater: 20, lowWater: 10, maxAdmissionWaitMs: 100 });
        for (let i = 0; i < 30; i++) log.add(event(i));
        const t0 = performance.now();
        await log.admission();
        const waited = performance.now() - t0;
        assert.ok(waited >= 90 && waited < 2_000, `waited ${waited.toFixed(0)} ms`);
        assert.equal(log.written, 0);
        assert.ok(log.buffered >= 20, `kept ${log.buffered}`);
        await log.close();
      } finally {
        await store.close();
      }
    });
  });
});

