/**
 * Differential proof of the MongoDB search compiler (FHIR R4 §3.1.1 search.html): no MongoDB server
 * can run on the build machines, so the compiled pipelines are evaluated by mingo over the same
 * documents the store writes, and must give the same ids in the same order as the SQLite store and
 * the in-memory matcher (src/search/match.ts, the oracle of the IR's semantics):
 *
 * 1. Random data and random expressions (every predicate kind, and/or/not, chain, `_has`,
 *    composite, `_text`/`_content`, token anyOf, values full of regex metacharacters), type and
 *    system searches: same ids, same order, same total as SQLite; same set as the matcher.
 * 2. Random sorts (every sortable kind, `_id`, `_lastUpdated`, chained keys, mixed directions): the
 *    matcher's order (with `Type/id` as the tiebreak), SQLite's order (resources are written in
 *    `Type/id` order, so SQLite's rid tiebreak is the same), and keyset pages of any size give
 *    exactly that order.
 * 3. The search conformance rows over the official R4 examples (test/search/r4-examples-search):
 *    the real app over a store whose searches are answered by the MongoDB compiler (mingo) over
 *    documents kept in step with every write, while each search without a keyset position is also
 *    run on SQLite and must agree (ids, order, total, presence of a next page).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Resource } from 'fhir/r4';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';
import { buildServices } from '../../src/main';
import type { IndexEntry } from '../../src/search/index-entry';
import type { SearchExpr, SearchPosition, SearchQuery } from '../../src/search/ir';
import { compareSortValues, matchesExpr, sortValues, type MatchContext, type MatchTarget } from '../../src/search/match';
import { OBSERVATION_IDS, PATIENT_IDS, datasetArb, searchExprArb, sortKeyArb, throughCursor, type DifferentialDataset, type DifferentialType } from '../../src/search/testing/arbitraries';
import type { MongoDoc } from '../../src/store/mongo/search/filter';
import { INDEX_ARRAYS, toIndexDocs } from '../../src/store/mongo/search/index-docs';
import { mingoTarget } from '../../src/store/mongo/search/mingo-target';
import { runSearch } from '../../src/store/mongo/search/run';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { HistoryQuery, SearchPage, Store, StoreSession, StoredVersion, WriteOp, WriteResult } from '../../src/store/store';
import { existingExternalPath } from '../helpers/external-data';
import { FHIR_JSON, GENERIC_ENGINE, TEST_BASE } from '../helpers/test-app';
import { EXAMPLE_ROWS } from './r4-examples-search.test';
import { entriesWithMode, fetchBundle, localLink, rowTests } from './rows';
import { diagnostic } from '../helpers/diagnostics';

// ---------------------------------------------------------------------------------------------
// The `resources` documents of the shared document model, built from what a write returns.

function resourceDoc(v: StoredVersion, index: readonly IndexEntry[]): MongoDoc {
  const doc: MongoDoc = { _id: `${v.resourceType}/${v.id}`, t: v.resourceType, i: v.id, v: v.versionId, u: Date.parse(v.lastUpdated), lu: v.lastUpdated, d: v.deleted, m: v.method };
  if (v.json !== undefined) doc.j = v.json;
  return v.deleted ? doc : { ...toIndexDocs(index), ...doc };
}

// ---------------------------------------------------------------------------------------------
// 1 and 2: random data (the generators of src/search/testing/arbitraries.ts, also used by
// src/store/sqlite/matcher-differential.test.ts).

interface Loaded {
  sqlite: Store;
  docs: MongoDoc[];
  targets: Map<string, MatchTarget>;
  ctx: MatchContext;
  /** lastUpdated of the first write (epoch ms); later writes follow in order. */
  base: number;
}

/** Writes the data set to SQLite in `Type/id` order (Observation before Patient), and builds the documents. */
async function load(data: DifferentialDataset): Promise<Loaded> {
  const sqlite = openSqliteStore(':memory:');
  const docs = new Map<string, MongoDoc>();
  const targets = new Map<string, MatchTarget>();
  let base = NaN;
  for (const t of ['Observation', 'Patient'] as const) {
    const ids = t === 'Patient' ? PATIENT_IDS : OBSERVATION_IDS;
    for (const [n, index] of data[t].entries()) {
      const id = ids[n]!;
      const w = (await sqlite.write({ kind: 'create', resourceType: t, id, resource: { resourceType: t, id } as Resource, index }))!;
      if (Number.isNaN(base)) base = Date.parse(w.version.lastUpdated);
      docs.set(`${t}/${id}`, resourceDoc(w.version, index));
      if (data.deleted.includes(id)) {
        const d = (await sqlite.write({ kind: 'delete', resourceType: t, id }))!;
        docs.set(`${t}/${id}`, resourceDoc(d.version, []));
      } else targets.set(`${t}/${id}`, { resourceType: t, id, lastUpdated: w.version.lastUpdated, index });
    }
  }
  const ctx: MatchContext = {
    resolve: (ref) => (ref.targetType && ref.targetId ? targets.get(`${ref.targetType}/${ref.targetId}`) : undefined),
    referrers: (rt) => [...targets.values()].filter((x) => x.resourceType === rt),
  };
  return { sqlite, docs: [...docs.values()], targets, ctx, base };
}

/** Shifts `_lastUpdated` predicates (written relative to the first write) to absolute instants. */
function absolute(e: SearchExpr, base: number): SearchExpr {
  switch (e.op) {
    case 'and':
    case 'or':
      return { op: e.op, args: e.args.map((a) => absolute(a, base)) };
    case 'not':
      return { op: 'not', arg: absolute(e.arg, base) };
    case 'lastUpdated':
      return { ...e, low: e.low + base, high: e.high + base };
    case 'chain':
    case 'has':
      return { ...e, where: absolute(e.where, base) };
    default:
      return e;
  }
}

const ids = (p: SearchPage): string[] => p.entries.map((e) => `${e.resourceType}/${e.id}`);

const typesArb = (type: DifferentialType): fc.Arbitrary<string[]> => fc.constantFrom([type], [type], [type, type === 'Patient' ? 'Observation' : 'Patient'], []);

describe('MongoDB search compiler (mingo) agrees with SQLite and the in-memory matcher', () => {
  for (const type of ['Patient', 'Observation'] as const) {
    it(`${type}: random data and random expressions give the same ids, order and total`, async () => {
      await fc.assert(
        fc.asyncProperty(datasetArb(), searchExprArb(type, 2), typesArb(type), async (data, relWhere, types) => {
          const { sqlite, docs, targets, ctx, base } = await load(data);
          try {
            const where = absolute(relWhere, base);
            const q: SearchQuery = { resourceTypes: types, where, sort: [], count: 100, offset: 0, total: 'accurate' };
            const mongo = await runSearch(mingoTarget(() => docs), q);
            const sql = await sqlite.search(q);
            assert.deepEqual(ids(mongo), ids(sql), 'same ids in the same order as SQLite');
            assert.equal(mongo.total, sql.total);
            const inTypes = (t: string): boolean => types.length === 0 || types.includes(t);
            const expected = [...targets.values()].filter((x) => inTypes(x.resourceType) && matchesExpr(where, x, ctx)).map((x) => `${x.resourceType}/${x.id}`);
            assert.deepEqual(ids(mongo).sort(), expected.sort(), 'the matcher');
          } finally {
            await sqlite.close();
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  for (const type of ['Patient', 'Observation'] as const) {
    it(`${type}: random sorts give the matcher's and SQLite's order, and keyset pages of any size give exactly that order`, async () => {
      await fc.assert(
        fc.asyncProperty(
          datasetArb(),
          fc.option(searchExprArb(type, 1), { nil: undefined }),
          fc.array(sortKeyArb(type), { minLength: 0, maxLength: 3 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 0, max: 3 }),
          async (data, relWhere, sort, pageSize, offset) => {
            const { sqlite, docs, targets, ctx, base } = await load(data);
            try {
              const where = relWhere === undefined ? undefined : absolute(relWhere, base);
              const lastDesc = sort.length > 0 && sort[sort.length - 1]!.descending;
              const expected = [...targets.values()]
                .filter((x) => x.resourceType === type && (where === undefined || matchesExpr(where, x, ctx)))
                .map((x) => ({ key: `${type}/${x.id}`, values: sortValues(x, sort, ctx) }))
                .sort((a, b) => compareSortValues(a.values, b.values, sort) || (a.key < b.key ? -1 : 1) * (lastDesc ? -1 : 1))
                .map((x) => x.key);
              const q: SearchQuery = { resourceTypes: [type], ...(where ? { where } : {}), sort, count: 100, offset: 0, total: 'none' };
              const target = mingoTarget(() => docs);
              const mongo = await runSearch(target, q);
              assert.deepEqual(ids(mongo), expected, "the matcher's order");
              assert.deepEqual(ids(mongo), ids(await sqlite.search(q)), "SQLite's order");
              const byOffset = await runSearch(target, { ...q, count: pageSize, offset, total: 'accurate' });
              assert.deepEqual(ids(byOffset), expected.slice(offset, offset + pageSize), 'an offset page');
              assert.equal(byOffset.total, expected.length, 'total');
              const paged: string[] = [];
              let after: SearchPosition | undefined;
              for (let guard = 0; guard <= expected.length; guard++) {
                const page = await runSearch(target, { ...q, count: pageSize, ...(after ? { after } : {}) });
                paged.push(...ids(page));
                if (page.next === undefined) break;
                assert.equal(page.entries.length, pageSize, 'a position only after a full page');
                after = throughCursor(page.next); // positions travel in signed cursors (±Infinity included)
              }
              assert.deepEqual(paged, expected, 'keyset pages');
            } finally {
              await sqlite.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('count 0 answers the total only; a foreign position is refused', async () => {
    const { sqlite, docs } = await load({ Patient: [[], [], [], []], Observation: [[], [], [], []], deleted: ['p1'] });
    try {
      const target = mingoTarget(() => docs);
      const page = await runSearch(target, { resourceTypes: ['Patient'], sort: [], count: 0, offset: 0, total: 'none' });
      assert.deepEqual(page, { entries: [], total: 3 });
      await assert.rejects(runSearch(target, { resourceTypes: ['Patient'], sort: [], count: 1, offset: 0, total: 'none', after: [3] }), /paging position/);
    } finally {
      await sqlite.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3: the conformance rows over the R4 examples, answered by the MongoDB compiler.

/**
 * A store that is SQLite for everything but search: searches run the MongoDB pipelines (mingo) over
 * `resources` documents kept in step with every committed write, and (without a keyset position)
 * SQLite's answer to the same query is recorded next to it for comparison.
 */
class MongoSearchShadow implements Store {
  readonly name = 'mongo-search-shadow';
  readonly docs = new Map<string, MongoDoc>();
  readonly disagreements: string[] = [];
  searches = 0;

  constructor(private readonly inner: Store) {}

  read(type: string, id: string): Promise<StoredVersion | undefined> {
    return this.inner.read(type, id);
  }
  vread(type: string, id: string, v: number): Promise<StoredVersion | undefined> {
    return this.inner.vread(type, id, v);
  }
  history(q: HistoryQuery): ReturnType<Store['history']> {
    return this.inner.history(q);
  }
  write(op: WriteOp): Promise<WriteResult | undefined> {
    return this.writeIn(this.inner, op, this.docs);
  }
  search(q: SearchQuery): Promise<SearchPage> {
    return this.searchIn(this.inner, q, this.docs);
  }
  async withTransaction<T>(fn: (tx: StoreSession) => Promise<T>): Promise<T> {
    const pending = new Map<string, MongoDoc>();
    const result = await this.inner.withTransaction((tx) =>
      fn({
        read: (t, id) => tx.read(t, id),
        vread: (t, id, v) => tx.vread(t, id, v),
        history: (q) => tx.history(q),
        write: (op) => this.writeIn(tx, op, pending),
        search: (q) => this.searchIn(tx, q, new Map([...this.docs, ...pending])),
      }),
    );
    for (const [k, d] of pending) this.docs.set(k, d);
    return result;
  }
  async reindex(type: string, id: string, versionId: number, index: IndexEntry[]): Promise<boolean> {
    const done = (await this.inner.reindex?.(type, id, versionId, index)) ?? false;
    const doc = this.docs.get(`${type}/${id}`);
    if (done && doc) {
      for (const array of INDEX_ARRAYS) delete doc[array];
      Object.assign(doc, toIndexDocs(index));
    }
    return done;
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  private async writeIn(session: StoreSession, op: WriteOp, docs: Map<string, MongoDoc>): Promise<WriteResult | undefined> {
    const r = await session.write(op);
    if (r) docs.set(`${r.version.resourceType}/${r.version.id}`, resourceDoc(r.version, op.index ?? []));
    return r;
  }

  private async searchIn(session: StoreSession, q: SearchQuery, docs: Map<string, MongoDoc>): Promise<SearchPage> {
    this.searches++;
    const all = [...docs.values()];
    const mongo = await runSearch(mingoTarget(() => all), q);
    if (q.after === undefined) {
      const sql = await session.search(q);
      const problems: string[] = [];
      if (JSON.stringify(ids(mongo)) !== JSON.stringify(ids(sql))) problems.push(`ids ${JSON.stringify(ids(mongo))} vs SQLite ${JSON.stringify(ids(sql))}`);
      if (mongo.total !== sql.total) problems.push(`total ${String(mongo.total)} vs SQLite ${String(sql.total)}`);
      if ((mongo.next === undefined) !== (sql.next === undefined)) problems.push(`next page ${String(mongo.next !== undefined)} vs SQLite ${String(sql.next !== undefined)}`);
      if (problems.length > 0) this.disagreements.push(`${JSON.stringify({ ...q, where: q.where })}: ${problems.join('; ')}`);
    }
    return mongo;
  }
}

const EXAMPLES = existingExternalPath('hl7-r4-examples');
/** Invalid in R4 (see r4-examples-search.test.ts): not loaded. */
const INVALID = new Set(['Questionnaire-qs1.json']);

describe('Search conformance over the R4 examples, answered by the MongoDB compiler', function () {
  let shadow: MongoSearchShadow | undefined;
  let app: ReturnType<typeof createApp> | undefined;

  before(async function () {
    if (!EXAMPLES) return;
    this.timeout(600_000);
    const started = Date.now();
    const config = loadConfig({ SQLITE_PATH: ':memory:', BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', ...GENERIC_ENGINE });
    shadow = new MongoSearchShadow(openSqliteStore(':memory:'));
    const services = buildServices(config, silentLogger(), shadow);
    app = createApp(services);
    // Written in `Type/id` order, so SQLite's rid tiebreak is the MongoDB `_id` tiebreak.
    const resources = fs
      .readdirSync(EXAMPLES)
      .filter((f) => f.endsWith('.json') && f !== 'package.json' && !INVALID.has(f))
      .map((f) => JSON.parse(fs.readFileSync(path.join(EXAMPLES, f), 'utf8')) as Resource)
      .filter((r) => typeof r.resourceType === 'string' && typeof r.id === 'string')
      .sort((a, b) => (`${a.resourceType}/${a.id!}` < `${b.resourceType}/${b.id!}` ? -1 : 1));
    for (const resource of resources) {
      const res = await request(app)
        .put(`/fhir/${resource.resourceType}/${encodeURIComponent(resource.id!)}`)
        .set('Content-Type', FHIR_JSON)
        .set('Accept', FHIR_JSON)
        .send(JSON.stringify(resource));
      if (res.status === 422 || (res.status === 405 && resource.resourceType === 'AuditEvent')) {
        // Examples breaking a base R4 rule, and AuditEvents (read-only through the API), are still
        // search data (as in r4-examples-search.test.ts).
        await shadow.write({ kind: 'create', resourceType: resource.resourceType, id: resource.id!, resource, index: services.indexer.extract(resource) });
      } else assert.ok(res.status === 200 || res.status === 201, `PUT ${resource.resourceType}/${resource.id!} -> ${res.status}`);
    }
    diagnostic(`      loaded ${resources.length} R4 examples in ${((Date.now() - started) / 1000).toFixed(1)}s; ${EXAMPLE_ROWS.length} rows`);
  });
  after(async function () {
    await shadow?.close();
  });

  rowTests(EXAMPLE_ROWS, () => app, 'the R4 examples folder ../shared/external/hl7-r4-examples is absent');

  /** Queries checked only against SQLite (through the shadow) and across their own pages. */
  const DIFFERENTIAL_ONLY = [
    'Patient?_text=pieter',
    'Patient?_content=amsterdam',
    'Observation?_content=blood%20pressure&_sort=_id',
    'Condition?_security:missing=false',
    'Patient?_lastUpdated=gt2000-01-01&_count=7&_sort=-_lastUpdated',
    'Patient?_sort=family,-birthdate&_count=4',
    'Patient?_sort=-birthdate,_id&_count=3',
    'Patient?_sort=gender,name&_count=5',
    'Observation?_sort=-date,code&_count=9',
    'Observation?_sort=value-quantity&_count=11',
    'Observation?_sort=subject:Patient.birthdate,_id&_count=6',
    'Observation?_sort=-patient.name&_count=8',
    'MedicationRequest?_sort=-subject,_id&_count=7',
    'Observation?code:not=8310-5&_sort=_id&_count=20',
    'Observation?subject:missing=true&_count=50',
    'Condition?onset-date=ge2010&_sort=onset-date',
    'Questionnaire?url:below=http://hl7.org/fhir&_sort=url&_count=2',
    'PlanDefinition?url:below=http://hl7.org/fhir/ig&_sort=-url&_count=2',
    '?_type=Patient,Practitioner,Organization&_sort=name&_count=13',
  ];
  for (const query of DIFFERENTIAL_ONLY) {
    it(`differential: ${query} (keyset pages concatenate to the unpaged order)`, async function () {
      if (!app) {
        diagnostic('      skipped: the R4 examples folder ../shared/external/hl7-r4-examples is absent');
        this.skip();
      }
      const whole = entriesWithMode(await fetchBundle(app, query.replace(/&_count=\d+/, '') + (query.includes('?') ? '&' : '?') + '_count=1000'), 'match');
      const paged: string[] = [];
      let bundle = await fetchBundle(app, query);
      for (let guard = 0; guard < 1000; guard++) {
        paged.push(...entriesWithMode(bundle, 'match'));
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        bundle = await fetchBundle(app, localLink(next));
      }
      assert.ok(whole.length > 0, `${query} matches something`);
      assert.deepEqual(paged, whole);
    });
  }

  it('every search without a keyset position gave SQLite’s ids, order, total and next page', function () {
    if (!shadow) {
      diagnostic('      skipped: the R4 examples folder ../shared/external/hl7-r4-examples is absent');
      this.skip();
    }
    diagnostic(`      ${shadow.searches} searches answered by the MongoDB compiler`);
    assert.ok(shadow.searches >= EXAMPLE_ROWS.length, 'the rows searched through the MongoDB compiler');
    assert.deepEqual(shadow.disagreements, []);
  });
});
