/**
 * Trace candidate retrieval is index-driven (PDS FHIR API "Search for a patient" at national scale):
 * EXPLAIN QUERY PLAN of every kind of trace query on the SQLite store shows index lookups on the
 * token / string index tables and rowid lookups of resources, never a SCAN.
 */
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { openConnections } from '../../src/store/sqlite/connection';
import { compileSearch } from '../../src/store/sqlite/search';
import { candidateExpression } from '../../src/spine/trace/candidates';
import type { TraceQuery } from '../../src/spine/trace/query';

const base: TraceQuery = { given: [], birthdate: [{ prefix: 'eq', date: '1980-02-03' }], deathDate: [], fuzzy: false, exact: false, history: false, maxResults: 50 };
const CASES: Array<[string, TraceQuery]> = [
  ['non-fuzzy exact date', { ...base, family: 'Smith', given: ['Jane'] }],
  ['non-fuzzy with history', { ...base, family: 'Smith', history: true }],
  ['non-fuzzy date range', { ...base, family: 'Smith', birthdate: [{ prefix: 'ge', date: '1980-01-01' }, { prefix: 'le', date: '1990-01-01' }] }],
  ['non-fuzzy wildcard family', { ...base, family: 'Smi*' }],
  ['fuzzy exact date with postcode', { ...base, family: 'Smith', given: ['Jane'], postcode: 'LS1 6AE', gender: 'female', fuzzy: true, history: true }],
  ['fuzzy date range', { ...base, family: 'Smith', given: ['Jane'], birthdate: [{ prefix: 'ge', date: '1980-01-01' }], fuzzy: true, history: true }],
  ['match with NHS Number', { ...base, family: 'Smith', given: ['Jane'], fuzzy: true, history: true, nhsNumber: '9000000009' }],
];

describe('Trace query plans (SQLite)', () => {
  let db: Database.Database;
  before(() => {
    db = openConnections(':memory:').write;
  });
  after(() => db.close());

  for (const [name, q] of CASES) {
    it(`${name}: index lookups only, no scan`, () => {
      const where = candidateExpression(q);
      assert.ok(where, 'a candidate expression');
      const c = compileSearch({ resourceTypes: ['Patient'], where, sort: [], count: 2000, offset: 0, total: 'none' });
      const details = (db.prepare(`EXPLAIN QUERY PLAN ${c.pageSql}`).all(...c.pageParams) as Array<{ detail: string }>).map((r) => r.detail);
      const text = details.join('\n');
      for (const d of details) assert.doesNotMatch(d, /^SCAN /, `full scan in plan:\n${text}`);
      assert.match(text, /SEARCH r USING INTEGER PRIMARY KEY \(rowid=\?\)/, text);
      assert.match(text, /USING (COVERING )?INDEX (ix_token_code|ix_string_norm) \(type=\? AND param=\? AND (code=\?|norm>\?)/, text);
    });
  }
});
