/**
 * The audit trail writer (audit-log.ts; IHE BALP AuditEvents, ADR 32): on the SQLite store a batch is
 * written through the store's batch path for server-recorded creates (SqliteStore.appendCreates), on
 * any other store through `withTransaction`; either way every event is stored, indexed and searchable.
 */
import assert from 'node:assert/strict';
import type { AuditEvent } from 'fhir/r4';
import { loadConfig } from '../config/config';
import { silentLogger } from '../logging';
import { buildServices, initServices } from '../main';
import type { FhirServices } from '../fhir/context';
import type { Store } from '../store/store';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/sqlite-store';
import { AuditLog } from './audit-log';

const event = (i: number): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  action: 'R',
  recorded: '2026-12-07T02:00:00.000Z',
  outcome: '0',
  agent: [{ requestor: false }],
  source: { observer: { display: 'FHIR server' } },
  entity: [{ what: { reference: `Patient/p${i % 2}` }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } }],
});

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
});
