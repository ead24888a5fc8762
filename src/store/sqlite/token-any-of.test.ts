/**
 * The token `anyOf` condition (FHIR R4 search.html#token, expanded `:in`/`:below`; the NHS trace's
 * blocking keys): property test in SQLite against the meaning "(system, code) equals one pair, a
 * null system only a row without system", and the shape of the SQL for a cross product.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { anyOfCondition, groupPairs, type TokenPair } from './token-any-of';

const system = fc.constantFrom<string | null>(null, 'http://a', 'http://b', 'http://c', '');
const code = fc.constantFrom('x', 'y', 'z', 'X', "o'k", '', '?');
const pair = fc.record({ system, code });

describe('token anyOf condition', () => {
  let db: Database.Database;
  before(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE ix (n INTEGER PRIMARY KEY, system TEXT, code TEXT NOT NULL)');
  });
  after(() => db.close());

  it('selects exactly the rows whose (system, code) is one of the pairs', () => {
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 12 }), fc.array(pair, { maxLength: 20 }), (pairs, rows) => {
        db.exec('DELETE FROM ix');
        const ins = db.prepare('INSERT INTO ix (n, system, code) VALUES (?, ?, ?)');
        rows.forEach((r, n) => ins.run(n, r.system, r.code));
        const where = anyOfCondition('i', pairs);
        const got = (db.prepare(`SELECT n FROM ix i WHERE ${where.sql} ORDER BY n`).all(...where.params) as Array<{ n: number }>).map((r) => r.n);
        const want = rows.flatMap((r, n) => (pairs.some((p) => p.system === r.system && p.code === r.code) ? [n] : []));
        assert.deepEqual(got, want);
      }),
      { numRuns: 400 },
    );
  });

  it('a cross product of systems and codes is one IN list each, not an OR of pairs', () => {
    const codes = Array.from({ length: 32 }, (_, k) => `K${k}`);
    const pairs: TokenPair[] = codes.flatMap((c) => [{ system: 'current', code: c }, { system: 'history', code: c }]);
    const where = anyOfCondition('i1', pairs);
    assert.equal(where.sql, `(i1.code IN (${codes.map(() => '?').join(', ')})) AND (i1.system IN (?, ?))`);
    assert.equal(where.params.length, 34);
  });

  it('groups systems with the same codes, keeps a null system apart from the named ones', () => {
    const groups = groupPairs([
      { system: 'a', code: '2' },
      { system: 'b', code: '1' },
      { system: 'a', code: '1' },
      { system: 'b', code: '2' },
      { system: null, code: '1' },
    ]);
    assert.deepEqual(groups, [
      { systems: ['a', 'b'], codes: ['1', '2'] },
      { systems: [null], codes: ['1'] },
    ]);
    const where = anyOfCondition('i', [{ system: null, code: 'c' }]);
    assert.equal(where.sql, '(i.code = ?) AND (i.system IS NULL)');
  });

  it('no pair matches nothing', () => {
    assert.equal(anyOfCondition('i', []).sql, '0');
  });
});
