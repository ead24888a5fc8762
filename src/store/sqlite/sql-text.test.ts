/**
 * Prefix and substring matching in SQL without splicing user text (FHIR R4 §3.1.1 search.html
 * "string", "uri" :below): property tests against JavaScript's own string functions, run in SQLite.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { contains, frag, join, prefixUpperBound, startsWith, type Frag } from './sql-text';

const tricky = fc.string({ unit: fc.constantFrom('a', 'b', 'z', '%', '_', '\\', "'", 'é', '\u00ff', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}', ' '), maxLength: 6 });
const anyText = fc.oneof(tricky, fc.string({ unit: 'grapheme', maxLength: 8 }));

describe('SQL text matching helpers', () => {
  let db: Database.Database;
  before(() => {
    db = new Database(':memory:');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
  });
  after(() => db.close());

  const select = (where: { sql: string; params: unknown[] }, rows: string[]): string[] => {
    db.exec('DELETE FROM t');
    const ins = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (const r of rows) ins.run(r);
    return (db.prepare(`SELECT v FROM t WHERE ${where.sql.replaceAll('col', 'v')} ORDER BY v`).all(...where.params) as Array<{ v: string }>).map((r) => r.v);
  };
  const sorted = (xs: string[]): string[] => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('startsWith selects exactly the values with the prefix (index range, no LIKE)', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 12 }), anyText, (rows, prefix) => {
        const got = select(startsWith('col', prefix), rows);
        assert.deepEqual(got, sorted(rows.filter((r) => r.startsWith(prefix))));
      }),
      { numRuns: 300 },
    );
  });

  it('contains is an exact, case-sensitive substring test: %, _ and \\ are literal', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(tricky, fc.string({ unit: fc.constantFrom('A', 'a', 'É', 'é', '%') })), { maxLength: 12 }), fc.oneof(tricky, fc.string({ unit: fc.constantFrom('A', 'a', '%'), maxLength: 2 })), (rows, text) => {
        const got = select(contains('col', text), rows);
        assert.deepEqual(got, sorted(rows.filter((r) => r.includes(text))));
      }),
      { numRuns: 300 },
    );
  });

  it('the prefix upper bound is greater than every extension and skips the surrogate block', () => {
    assert.equal(prefixUpperBound(''), undefined);
    assert.equal(prefixUpperBound('\u{10ffff}'), undefined);
    assert.equal(prefixUpperBound('ab'), 'ac');
    assert.equal(prefixUpperBound('a\u{10ffff}'), 'b');
    assert.equal(prefixUpperBound('\ud7ff'), '\ue000');
  });

  it('the prefix upper bound of any string is the code-point definition, also for a million characters (no stack overflow)', () => {
    const reference = (p: string): string | undefined => {
      const cps = Array.from(p, (c) => c.codePointAt(0)!);
      while (cps.length > 0) {
        const last = cps.pop()!;
        if (last < 0x10ffff) return cps.map((c) => String.fromCodePoint(c)).join('') + String.fromCodePoint(last + 1 === 0xd800 ? 0xe000 : last + 1);
      }
      return undefined;
    };
    const units = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '\ud800', '\udc00', '\u{10ffff}', '\ud7ff', 'é') }));
    fc.assert(fc.property(units, (p) => assert.equal(prefixUpperBound(p), reference(p))), { numRuns: 500 });
    const long = 'x'.repeat(1_000_000);
    assert.equal(prefixUpperBound(long), `${'x'.repeat(999_999)}y`);
  });

  it('join of any number of operands means AND/OR of them, binds their values in order, and stays within SQLite\'s expression depth', () => {
    // Each operand `? = 1` binds its own truth value, so a wrong order of the bound values shows.
    const evaluate = (f: Frag): number => (db.prepare(`SELECT (${f.sql}) AS v`).get(...f.params) as { v: number }).v;
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 0, maxLength: 3000 }), fc.constantFrom('AND' as const, 'OR' as const), (bits, op) => {
        const f = join(op, bits.map((b) => frag('? = 1', b ? 1 : 0)));
        const expected = op === 'AND' ? bits.every(Boolean) : bits.some(Boolean);
        assert.equal(evaluate(f), expected ? 1 : 0);
        assert.deepEqual(f.params, bits.map((b) => (b ? 1 : 0)));
      }),
      { numRuns: 60 },
    );
    // 5000 operands nested in AND over OR: flat, SQLite refuses the tree (depth over 1000).
    const nested = join('AND', [frag('1'), join('OR', Array.from({ length: 5000 }, (_, n) => frag('? = 4999', n)))]);
    assert.equal(evaluate(nested), 1);
  });
});
