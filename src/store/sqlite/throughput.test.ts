/**
 * The cost of durable commits (FHIR R4 §3.1.0 http.html "transaction"): prints creates per second of
 * a file store with synchronous=FULL, one commit per create vs one transaction for all. Figures only;
 * nothing here asserts a time.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import type { StoreSession } from '../store';
import { openSqliteStore } from './sqlite-store';
import { diagnostic } from '../../../test/helpers/diagnostics';

const patient = (id: string): Patient => ({ resourceType: 'Patient', id, name: [{ family: 'Smith', given: ['Jo'] }], gender: 'female', birthDate: '1980-01-01' });
const index = (id: string): IndexEntry[] => [
  { kind: 'token', param: 'identifier', system: 'urn:nhs', code: id },
  { kind: 'token', param: 'gender', system: 'http://hl7.org/fhir/administrative-gender', code: 'female' },
  { kind: 'string', param: 'family', norm: 'smith', exact: 'Smith' },
  { kind: 'date', param: 'birthdate', low: Date.parse('1980-01-01T00:00:00Z'), high: Date.parse('1980-01-02T00:00:00Z') - 1 },
];
const create = (s: StoreSession, id: string) => s.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: index(id) });

describe('SQLite store throughput (figures printed, not asserted)', () => {
  it('creates/second: autocommit (fsync per create) vs one transaction', async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-throughput-'));
    const store = openSqliteStore(path.join(dir, 'fhir.sqlite'));
    try {
      const auto = 300;
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < auto; i++) await create(store, `a${i}`);
      const autoMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const batch = 5000;
      t0 = process.hrtime.bigint();
      await store.withTransaction(async (tx) => {
        for (let i = 0; i < batch; i++) await create(tx, `b${i}`);
      });
      const txMs = Number(process.hrtime.bigint() - t0) / 1e6;
      t0 = process.hrtime.bigint();
      const searches = 200;
      for (let i = 0; i < searches; i++) {
        const page = await store.search({ resourceTypes: ['Patient'], where: { op: 'token', param: 'identifier', system: 'urn:nhs', code: `b${i * 7}` }, sort: [], count: 10, offset: 0, total: 'none' });
        assert.equal(page.entries.length, 1);
      }
      const searchMs = Number(process.hrtime.bigint() - t0) / 1e6;
      diagnostic(
        `      sqlite file, synchronous=FULL: ${Math.round((auto / autoMs) * 1000)} creates/s autocommit (${auto} in ${autoMs.toFixed(0)} ms); ` +
          `${Math.round((batch / txMs) * 1000)} creates/s in one transaction (${batch} in ${txMs.toFixed(0)} ms); ` +
          `${Math.round((searches / searchMs) * 1000)} identifier searches/s over ${auto + batch} patients`,
      );
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
