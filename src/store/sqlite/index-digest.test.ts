/**
 * Index rows rewritten per parameter on update (index-rows.ts planIndexRows, schema V5): after any
 * sequence of writes of a resource, its rows in every index table are exactly those a fresh write of
 * the last entries produces (differential, property-based), and rows written before V5 (no digest)
 * are rewritten whole.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Resource } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import { openConnections } from './connection';
import { planIndexRows } from './index-rows';
import { SqliteStore } from './sqlite-store';

const TABLES = ['ix_token', 'ix_string', 'ix_date', 'ix_number', 'ix_quantity', 'ix_reference', 'ix_uri'];

/** Every index row of a resource, as comparable text (component rows by their composite's param, not its cid). */
function rowsOf(store: SqliteStore, type: string, id: string): string[] {
  const db = (store as unknown as { conns: { write: import('better-sqlite3').Database } }).conns.write;
  const rid = (db.prepare('SELECT rid FROM resource WHERE type = ? AND id = ?').get(type, id) as { rid: number }).rid;
  const out: string[] = [];
  for (const t of TABLES) {
    for (const r of db.prepare(`SELECT * FROM ${t} WHERE rid = ?`).all(rid) as Array<Record<string, unknown>>) {
      const { rowid: _r, id: _i, cid, ...rest } = r;
      const owner = cid === null || cid === undefined ? null : (db.prepare('SELECT param FROM ix_composite WHERE cid = ?').get(cid) as { param: string }).param;
      out.push(`${t} ${JSON.stringify(rest)} ${String(owner)}`);
    }
  }
  for (const r of db.prepare('SELECT param FROM ix_composite WHERE rid = ?').all(rid) as Array<{ param: string }>) out.push(`ix_composite ${r.param}`);
  for (const t of ['ix_text', 'ix_content']) {
    const n = (db.prepare(`SELECT COUNT(*) AS n FROM ${t} WHERE ${t} MATCH ?`).get('"alpha" OR "beta" OR "gamma"') as { n: number }).n;
    out.push(`${t} ${n}`);
  }
  return out.sort();
}

const param = fc.constantFrom('name', 'family', 'identifier', 'birthdate', 'general-practitioner', 'url', 'value');
const entry: fc.Arbitrary<IndexEntry> = fc.oneof(
  fc.record({ kind: fc.constant('token' as const), param, system: fc.constantFrom('s1', null), code: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ kind: fc.constant('string' as const), param, norm: fc.constantFrom('smith', 'jones'), exact: fc.constantFrom('Smith', 'Jones') }),
  fc.record({ kind: fc.constant('date' as const), param, low: fc.constantFrom(0, 1000), high: fc.constantFrom(2000, 3000) }),
  fc.record({ kind: fc.constant('reference' as const), param, targetType: fc.constant('Organization'), targetId: fc.constantFrom('o1', 'o2'), url: fc.constant(null) }),
  fc.record({ kind: fc.constant('text' as const), param: fc.constantFrom('_text' as const, '_content' as const), text: fc.constantFrom('alpha', 'beta gamma') }),
  fc.record({
    kind: fc.constant('composite' as const),
    param: fc.constantFrom('code-value'),
    components: fc.tuple(
      fc.record({ kind: fc.constant('token' as const), param: fc.constant('code'), system: fc.constant('s1'), code: fc.constantFrom('a', 'b') }),
      fc.record({ kind: fc.constant('number' as const), param: fc.constant('value'), value: fc.constantFrom(1, 2), low: fc.constant(0), high: fc.constant(3) }),
    ).map((t) => [...t] as IndexEntry[]),
  }),
) as fc.Arbitrary<IndexEntry>;

const resource = (id: string): Resource => ({ resourceType: 'Basic', id } as Resource);

describe('SQLite index rows per parameter on update (schema V5)', () => {
  it('any sequence of updates leaves exactly the rows of a fresh write of the last entries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(entry, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), async (versions) => {
        const a = new SqliteStore(openConnections(':memory:'));
        const b = new SqliteStore(openConnections(':memory:'));
        try {
          for (const index of versions) await a.write({ kind: 'update', resourceType: 'Basic', id: 'x', resource: resource('x'), index });
          await b.write({ kind: 'update', resourceType: 'Basic', id: 'x', resource: resource('x'), index: versions[versions.length - 1]! });
          assert.deepEqual(rowsOf(a, 'Basic', 'x'), rowsOf(b, 'Basic', 'x'));
        } finally {
          await a.close();
          await b.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('plans: unchanged parameters are left alone, a changed composite or a missing digest rewrites everything', () => {
    const name: IndexEntry = { kind: 'string', param: 'name', norm: 'smith', exact: 'Smith' };
    const id1: IndexEntry = { kind: 'token', param: 'identifier', system: 's', code: '1' };
    const id2: IndexEntry = { kind: 'token', param: 'identifier', system: 's', code: '2' };
    const first = planIndexRows([name, id1], undefined, false);
    assert.equal(first.full, false);
    assert.equal(first.insert.length, 2);
    const second = planIndexRows([name, id2], first.digest, true);
    assert.deepEqual(second.remove, [{ table: 'ix_token', param: 'identifier' }]);
    assert.deepEqual(second.insert, [id2]);
    const same = planIndexRows([name, id2], second.digest, true);
    assert.deepEqual([same.full, same.remove, same.insert], [false, [], []]);
    assert.equal(planIndexRows([name], null, true).full, true, 'rows written before V5');
    const composite: IndexEntry = { kind: 'composite', param: 'code-value', components: [id1] };
    assert.equal(planIndexRows([name, composite], second.digest, true).full, true);
  });
});

describe('index digests keep their stored form', () => {
  it('each parameter is `table:` and the first 16 base64 characters of the sha1 of its entries as JSON', () => {
    const entries: IndexEntry[] = [
      { kind: 'token', param: 'identifier', system: 's1', code: 'a' },
      { kind: 'token', param: 'identifier', system: null, code: 'b' },
      { kind: 'string', param: 'name', norm: 'smith', exact: 'Smith' },
    ];
    const sha = (v: unknown): string => createHash('sha1').update(JSON.stringify(v)).digest('base64').slice(0, 16);
    const expected = { identifier: `ix_token:${sha(entries.slice(0, 2))}`, name: `ix_string:${sha(entries.slice(2))}` };
    assert.equal(planIndexRows(entries, undefined, false).digest, JSON.stringify(expected));
    // A literal too: digests written by earlier versions must compare equal to new ones.
    assert.equal(planIndexRows([entries[2]!], undefined, false).digest, '{"name":"ix_string:ySIg+VT/WcHN06dy"}');
  });
});
