/**
 * What group commit buys (FHIR R4 §3.1.0 http.html "create"/"update" over a durable store): prints
 * creates/s and updates/s of a file store (synchronous=FULL) with 1 and 10 concurrent writers, with
 * the number of commits and the mean group size. Figures only; nothing here asserts a time.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Patient } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import { openSqliteStore, type SqliteStore } from './sqlite-store';
import { diagnostic } from '../../../test/helpers/diagnostics';

/** A Patient of about 2 KB with about 40 index entries, like the HTTP benchmark's. */
const patient = (id: string, phone: number): Patient => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: id }],
  name: [{ family: 'Smith', given: ['Jo', 'Ann'], prefix: ['Ms'] }],
  telecom: [{ system: 'phone', value: `0161 496 ${String(phone).padStart(4, '0')}` }],
  gender: 'female',
  birthDate: '1980-01-01',
  address: [{ line: ['1 Long Road', 'Flat 2'], city: 'Leeds', postalCode: 'LS1 4AP', country: 'GB' }],
  text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'Narrative '.repeat(120)}</div>` },
});
const index = (id: string): IndexEntry[] => [
  { kind: 'token', param: 'identifier', system: 'https://fhir.nhs.uk/Id/nhs-number', code: id },
  { kind: 'token', param: 'gender', system: 'http://hl7.org/fhir/administrative-gender', code: 'female' },
  { kind: 'date', param: 'birthdate', low: Date.parse('1980-01-01T00:00:00Z'), high: Date.parse('1980-01-02T00:00:00Z') - 1 },
  ...Array.from({ length: 22 }, (_, i): IndexEntry => ({ kind: 'string', param: `s${i % 8}`, norm: `value ${i} ${id}`, exact: `Value ${i} ${id}` })),
  ...Array.from({ length: 15 }, (_, i): IndexEntry => ({ kind: 'token', param: `t${i % 5}`, system: 'urn:x', code: `${i}-${id}` })),
];

async function run(store: SqliteStore, writers: number, perWriter: number, op: (w: number, i: number) => Promise<unknown>): Promise<string> {
  const before = store.groupStats;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    for (let i = 0; i < perWriter; i++) await op(w, i);
  }));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = store.groupStats;
  const groups = after.groups - before.groups;
  const n = writers * perWriter;
  assert.equal(after.units - before.units, n);
  return `${Math.round((n / ms) * 1000)}/s (${n} in ${ms.toFixed(0)} ms, ${groups} commits, mean group ${(n / groups).toFixed(1)})`;
}

describe('SQLite group commit throughput (figures printed, not asserted)', () => {
  it('creates and updates per second with 1 and 10 concurrent writers', async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-group-throughput-'));
    const store = openSqliteStore(path.join(dir, 'fhir.sqlite'));
    try {
      const lines: string[] = [];
      for (const writers of [1, 10]) {
        const per = writers === 1 ? 400 : 100;
        const id = (w: number, i: number) => `c${writers}-${w}-${i}`;
        const created = await run(store, writers, per, (w, i) => store.write({ kind: 'create', resourceType: 'Patient', id: id(w, i), resource: patient(id(w, i), i), index: index(id(w, i)) }));
        const updated = await run(store, writers, per, (w, i) =>
          store.write({ kind: 'update', resourceType: 'Patient', id: id(w, i), resource: patient(id(w, i), i + 1), index: index(id(w, i)), expectedVersion: 1 }),
        );
        lines.push(`${writers} writer(s): create ${created}; update ${updated}`);
      }
      diagnostic(`      sqlite file, synchronous=FULL, group commit:\n${lines.map((l) => `        ${l}`).join('\n')}`);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
