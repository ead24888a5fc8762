/**
 * The SQLite search compiler uses the index tables (FHIR R4 §3.1.1 search.html): EXPLAIN QUERY PLAN of
 * typical searches shows index lookups, never a full SCAN of resources or index tables.
 */
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import type { SearchQuery } from '../../search/ir';
import { openConnections } from './connection';
import { compileSearch } from './search';

describe('SQLite search query plans', () => {
  let db: Database.Database;
  before(() => {
    db = openConnections(':memory:').write;
  });
  after(() => db.close());

  const plan = (q: SearchQuery): string[] => {
    const c = compileSearch(q);
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${c.pageSql}`).all(...c.pageParams) as Array<{ detail: string }>;
    const count = db.prepare(`EXPLAIN QUERY PLAN ${c.countSql}`).all(...c.countParams) as Array<{ detail: string }>;
    return [...rows, ...count].map((r) => r.detail);
  };
  const pagePlan = (q: SearchQuery): string[] => {
    const c = compileSearch(q);
    return (db.prepare(`EXPLAIN QUERY PLAN ${c.pageSql}`).all(...c.pageParams) as Array<{ detail: string }>).map((r) => r.detail);
  };
  const countPlan = (q: SearchQuery): string[] => {
    const c = compileSearch(q);
    return (db.prepare(`EXPLAIN QUERY PLAN ${c.countSql}`).all(...c.countParams) as Array<{ detail: string }>).map((r) => r.detail);
  };
  const search = (resourceTypes: string[], where: SearchQuery['where']): SearchQuery => ({ resourceTypes, ...(where ? { where } : {}), sort: [], count: 20, offset: 0, total: 'accurate' });

  const assertIndexed = (details: string[], expectIndexes: RegExp[]): void => {
    const text = details.join('\n');
    // An FTS5 MATCH shows as a SCAN of the virtual table through its full-text index (`INDEX n:M...`).
    for (const d of details) if (!/^SCAN ix_(text|content) VIRTUAL TABLE INDEX \d+:M/.test(d)) assert.doesNotMatch(d, /^SCAN /, `full scan in plan:\n${text}`);
    assert.match(text, /SEARCH r USING INTEGER PRIMARY KEY \(rowid=\?\)/, `resources are reached through the index subquery:\n${text}`);
    for (const re of expectIndexes) assert.match(text, re, `plan uses ${re}:\n${text}`);
  };

  it('identifier token lookup uses the token index', () => {
    assertIndexed(plan(search(['Patient'], { op: 'token', param: 'identifier', system: 'https://fhir.nhs.uk/Id/nhs-number', code: '9000000009' })), [
      /SEARCH i\d+ USING INDEX ix_token_code \(type=\? AND param=\? AND code=\? AND system=\?\)/,
    ]);
  });

  it('family + birthdate: the string index drives, the date is a point lookup per candidate', () => {
    const q = search(['Patient'], {
      op: 'and',
      args: [
        { op: 'date', param: 'birthdate', prefix: 'eq', low: Date.parse('1980-01-01T00:00:00Z'), high: Date.parse('1981-01-01T00:00:00Z') - 1 },
        { op: 'string', param: 'family', value: 'smi', mode: 'start' },
      ],
    });
    const details = plan(q);
    // Both from covering indexes (schema V3): no read of an ix_string or ix_date table row.
    assertIndexed(details, [/USING COVERING INDEX ix_string_norm \(type=\? AND param=\? AND norm>\? AND norm<\?\)/, /SEARCH i\d+ (EXISTS )?USING COVERING INDEX ix_date_rid \(rid=\? AND param=\?/]);
    // The date range (about half of all patients) is never materialised as a list.
    assert.doesNotMatch(details.join('\n'), /ix_date_(low|high)/);
  });

  it('subject + code: the reference drives, the code is a point lookup per candidate', () => {
    const q = search(['Observation'], {
      op: 'and',
      args: [
        { op: 'token', param: 'code', system: 'http://loinc.org', code: '1234-5' },
        { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: 'p1' },
      ],
    });
    const details = plan(q);
    assertIndexed(details, [/USING (COVERING )?INDEX ix_reference_\w+ \(.*target_id=\?/, /SEARCH i\d+ (EXISTS )?USING COVERING INDEX ix_token_rid \(rid=\? AND param=\? AND code=\?/]);
    assert.doesNotMatch(details.join('\n'), /ix_token_code/, 'the (large) set of resources with the code is never materialised');
  });

  it('_has beside a selective parameter is probed from the referring side', () => {
    const q = search(['Patient'], {
      op: 'and',
      args: [
        { op: 'has', targetType: 'MedicationRequest', param: 'patient', where: { op: 'token', param: 'code', system: 'http://rxnorm', code: '1' } },
        { op: 'string', param: 'family', value: 'smith', mode: 'start' },
      ],
    });
    const details = plan(q);
    assertIndexed(details, [/USING COVERING INDEX ix_string_norm/, /SEARCH x\d+ USING COVERING INDEX ix_reference_reverse \(.*target_id=\?/, /SEARCH i\d+ (EXISTS )?USING COVERING INDEX ix_token_rid \(rid=\? AND param=\? AND code=\?/]);
    assert.doesNotMatch(details.join('\n'), /ix_token_code/);
  });

  it('the total of a query that needs only rids is counted on the driving index, without the resource table', () => {
    const q = search(['Patient'], {
      op: 'and',
      args: [
        { op: 'string', param: 'family', value: 'smith', mode: 'start' },
        { op: 'date', param: 'birthdate', prefix: 'ge', low: Date.parse('1980-01-01T00:00:00Z'), high: Date.parse('1980-01-01T00:00:00Z') },
      ],
    });
    const c = compileSearch(q);
    assert.match(c.countSql, /^SELECT COUNT\(DISTINCT i\d+\.rid\) AS n FROM ix_string /);
    const text = countPlan(q).join('\n');
    assert.match(text, /SEARCH i\d+ USING COVERING INDEX ix_string_norm \(type=\? AND param=\? AND norm>\? AND norm<\?\)/, text);
    assert.match(text, /SEARCH i\d+ (EXISTS )?USING COVERING INDEX ix_date_rid/, text);
    assert.doesNotMatch(text, /SEARCH r |^SCAN /m, text);
  });

  it('the total of a _has query reads only covering indexes besides the candidate resource rows', () => {
    const q = search(['Patient'], {
      op: 'and',
      args: [
        { op: 'string', param: 'family', value: 'smith', mode: 'start' },
        { op: 'has', targetType: 'MedicationRequest', param: 'patient', where: { op: 'token', param: 'code', system: 'http://rxnorm', code: '1' } },
      ],
    });
    const text = countPlan(q).join('\n');
    // _has needs the candidate's type and id, so the resource row is read; every index lookup is covering.
    assert.match(text, /SEARCH r USING INTEGER PRIMARY KEY/, text);
    for (const d of text.split('\n').filter((l) => /^SEARCH (i|x)\d+/.test(l))) assert.match(d, /COVERING INDEX/, text);
  });

  it('_id beside other parameters is looked up through the (type, id) index', () => {
    const q = search(['Patient'], { op: 'and', args: [{ op: 'string', param: 'family', value: 'smith', mode: 'start' }, { op: 'id', ids: ['a', 'b'] }] });
    const details = plan(q);
    // (Which of the two id indexes serves depends on statistics this empty database has not got.)
    assert.match(details.join('\n'), /SEARCH r USING (COVERING )?INDEX (sqlite_autoindex_resource_1|resource_live_id) \(type=\? AND (deleted=\? AND )?id=\?\)/, details.join('\n'));
    assert.doesNotMatch(details.join('\n'), /ix_string_norm/);
  });

  it('a negation or a second parameter never materialises its matches', () => {
    const q = search(['Observation'], {
      op: 'and',
      args: [
        { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: 'p1' },
        { op: 'not', arg: { op: 'token', param: 'status', code: 'final' } },
        { op: 'composite', param: 'code-value-quantity', components: [{ op: 'token', param: 'code', code: 'x' }, { op: 'quantity', param: 'value-quantity', prefix: 'gt', low: 1, high: 1 }] },
        { op: 'chain', param: 'encounter', targetTypes: ['Encounter'], where: { op: 'token', param: 'status', code: 'finished' } },
      ],
    });
    const details = plan(q);
    assertIndexed(details, [/ix_reference_/, /ix_token_rid \(rid=\? AND param=\?/, /ix_composite_rid \(rid=\? AND param=\?\)/]);
    const page = pagePlan(q);
    assert.equal(page.filter((d) => /^LIST SUBQUERY/.test(d)).length, 1, `one driving list in the page:\n${page.join('\n')}`);
    // The count needs only rids (every other conjunct probes index rows): it reads the driving index alone.
    assert.doesNotMatch(countPlan(q).join('\n'), /LIST SUBQUERY|SEARCH r /, countPlan(q).join('\n'));
  });

  for (const prefix of ['ge', 'lt', 'eq', 'sa', 'eb'] as const) {
    it(`a date range (${prefix}) uses a date index`, () => {
      const q = search(['Encounter'], { op: 'date', param: 'date', prefix, low: Date.parse('2020-01-01T00:00:00Z'), high: Date.parse('2020-02-01T00:00:00Z') - 1 });
      assertIndexed(plan(q), [/USING INDEX ix_date_(low|high) \(type=\? AND param=\? AND (low|high)[<>]=?\?/]);
    });
  }

  it('chain and _has reach their target rows through indexes', () => {
    const chain = search(['Observation'], { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: { op: 'token', param: 'identifier', code: '9000000009' } });
    assertIndexed(plan(chain), [/ix_reference_/, /ix_token_code/]);
    const has = search(['Patient'], { op: 'has', targetType: 'Observation', param: 'subject', where: { op: 'token', param: 'code', code: '1234-5' } });
    assertIndexed(plan(has), [/SEARCH h\d+ USING (COVERING )?INDEX sqlite_autoindex_resource_1 \(type=\? AND id=\?\)/, /ix_reference_/, /ix_token_code/]);
  });

  it('_text and _content are FTS5 MATCH lookups', () => {
    for (const scope of ['narrative', 'content'] as const) {
      const table = scope === 'narrative' ? 'ix_text' : 'ix_content';
      assertIndexed(plan(search(['Patient'], { op: 'text', scope, query: 'heart attack' })), [new RegExp(`SCAN ${table} VIRTUAL TABLE INDEX \\d+:M`)]);
    }
  });

  it('a token anyOf list (expanded :in / :below) uses the token index', () => {
    const anyOf = [
      { system: 'http://loinc.org', code: '1234-5' },
      { system: 'http://loinc.org', code: '9999-9' },
      { system: null, code: 'x' },
    ];
    assertIndexed(plan(search(['Observation'], { op: 'token', param: 'code', anyOf })), [/SEARCH i\d+ USING INDEX ix_token_code \(type=\? AND param=\? AND code=\?/]);
  });

  for (const [param, index, after] of [
    ['_lastUpdated', 'resource_live_updated', 1_700_000_000_000],
    ['_id', 'resource_live_id', 'abc'],
  ] as const) {
    for (const descending of [false, true]) {
      it(`a keyset page sorted by ${descending ? '-' : ''}${param} is one index range scan in sort order`, () => {
        const q: SearchQuery = { ...search(['Patient'], undefined), sort: [{ param, kind: 'special', descending }], after: [after, 42] };
        const details = pagePlan(q);
        const text = details.join('\n');
        assert.match(text, new RegExp(`SEARCH r USING INDEX ${index} \\(type=\\? AND deleted=\\? AND ${param === '_id' ? 'id' : 'last_updated'}[<>]\\?\\)`), text);
        assert.doesNotMatch(text, /TEMP B-TREE/, `no sort step:\n${text}`);
        assert.doesNotMatch(text, /^SCAN /m, text);
      });
    }
  }

  it('a keyset page of the default order continues from the rid in the type index', () => {
    const text = pagePlan({ ...search(['Patient'], undefined), after: [42] }).join('\n');
    assert.match(text, /SEARCH r USING (COVERING )?INDEX resource_type_live \(type=\? AND deleted=\? AND rowid>\?\)/, text);
    assert.doesNotMatch(text, /TEMP B-TREE/, text);
  });
});
