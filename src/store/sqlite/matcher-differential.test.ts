/**
 * Differential test of the SQLite search compiler against the in-memory matcher, the oracle of the
 * search IR's semantics (FHIR R4 §3.1.1 search.html): random resources with random index entries,
 * random search expressions (every predicate kind, and/or/not, chain, _has, composite, `_text` /
 * `_content`, token anyOf); the store must find exactly the resources the matcher accepts. Then random
 * sorts (every sortable kind, `_id`, `_lastUpdated`, chained keys, mixed directions): the store's
 * order must be the matcher's (sortValues / compareSortValues, rid as the tiebreak), and paging
 * through it with keyset positions of any page size must give exactly that order.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import fc from 'fast-check';
import type { IndexEntry } from '../../search/index-entry';
import type { Predicate, Prefix, SearchExpr, SearchPosition, SortKey } from '../../search/ir';
import { compareSortValues, matchesExpr, sortValues, type MatchContext, type MatchTarget } from '../../search/match';
import { openSqliteStore } from './sqlite-store';

const PREFIXES: Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const PATIENTS = ['p0', 'p1', 'p2', 'p3'];
const OBSERVATIONS = ['o0', 'o1', 'o2', 'o3'];

const sys = fc.constantFrom<string | null>(null, 's1', 's2');
const code = fc.constantFrom<string | null>(null, 'a', 'b');
const small = fc.integer({ min: -3, max: 3 });
const rng = fc.tuple(small, small).map(([a, b]) => ({ low: Math.min(a, b), high: Math.max(a, b) }));
const norm = fc.constantFrom('ab', 'abc', 'b', 'a%', 'a_c', 'é');

const tokenEntry = fc.record({ system: sys, code, text: fc.constantFrom<string | null | undefined>(undefined, null, 'alpha', 'beta'), typeCode: fc.constantFrom<string | undefined>(undefined, 'MR', 'NH') }).map(
  (t): IndexEntry => ({ kind: 'token', param: 'code', system: t.system, code: t.code, ...(t.text !== undefined ? { text: t.text } : {}), ...(t.typeCode ? { typeSystem: 'v2', typeCode: t.typeCode } : {}) }),
);
const quantityEntry = fc
  .record({ r: rng, system: fc.constantFrom<string | null>(null, 'u'), code: fc.constantFrom<string | null>(null, 'mg'), unit: fc.constantFrom<string | null>(null, 'mg', 'g') })
  .map((q): IndexEntry => ({ kind: 'quantity', param: 'q', system: q.system, code: q.code, unit: q.unit, value: q.r.low, ...q.r }));
const entry = (type: 'Patient' | 'Observation'): fc.Arbitrary<IndexEntry> =>
  fc.oneof(
    tokenEntry,
    norm.map((n): IndexEntry => ({ kind: 'string', param: 'name', norm: n, exact: n.toUpperCase() })),
    rng.map((r): IndexEntry => ({ kind: 'date', param: 'd', ...r })),
    rng.map((r): IndexEntry => ({ kind: 'number', param: 'n', value: r.low, ...r })),
    quantityEntry,
    fc.constantFrom('http://a/', 'http://a/b', 'http://b').map((value): IndexEntry => ({ kind: 'uri', param: 'u', value })),
    fc
      .record({ id: fc.constantFrom(...(type === 'Observation' ? PATIENTS : OBSERVATIONS)), version: fc.constantFrom<string | null>(null, '1') })
      .map((r): IndexEntry => ({ kind: 'reference', param: 'ref', targetType: type === 'Observation' ? 'Patient' : 'Observation', targetId: r.id, targetVersion: r.version, url: null })),
    fc.constantFrom('i1', 'i2').map((v): IndexEntry => ({ kind: 'reference', param: 'ref', targetType: null, targetId: null, url: `http://x/${v}`, identifierSystem: 'is', identifierValue: v })),
    fc.tuple(tokenEntry, quantityEntry).map(([t, q]): IndexEntry => ({ kind: 'composite', param: 'cq', components: [t, q] })),
    fc
      .record({ param: fc.constantFrom('_text' as const, '_content' as const), text: fc.constantFrom('Alpha beta', 'gamma-Delta', 'ÉCOLE x1', 'beta', 'alpha alpha') })
      .map((t): IndexEntry => ({ kind: 'text', ...t })),
  );

const rangePredicate = (op: 'date' | 'number' | 'quantity', param: string): fc.Arbitrary<Predicate> =>
  fc
    .record({
      prefix: fc.constantFrom(...PREFIXES),
      r: rng,
      system: fc.constantFrom<string | null | undefined>(undefined, null, 'u'),
      code: fc.constantFrom<string | null | undefined>(undefined, null, 'mg', 'g'),
    })
    .map((q): Predicate => ({
      op,
      param,
      prefix: q.prefix,
      ...q.r,
      value: q.r.low,
      ...(q.prefix === 'ap' ? { approxDelta: 1 } : {}),
      ...(op === 'quantity' && q.system !== undefined ? { system: q.system } : {}),
      ...(op === 'quantity' && q.code !== undefined ? { code: q.code } : {}),
    }));

const tokenPredicate = fc.oneof(
  fc.record({ system: fc.constantFrom<string | null | undefined>(undefined, null, 's1'), code: fc.constantFrom<string | undefined>(undefined, 'a', 'b') }).map(
    (t): Predicate => ({ op: 'token', param: 'code', ...(t.system !== undefined ? { system: t.system } : {}), ...(t.code !== undefined ? { code: t.code } : {}) }),
  ),
  fc.constantFrom('al', 'beta', 'x', '').map((text): Predicate => ({ op: 'token', param: 'code', text })),
  fc.constantFrom('MR', 'NH').map((c): Predicate => ({ op: 'token', param: 'code', ofType: { system: 'v2', code: c, value: 'a' } })),
  fc.array(fc.record({ system: sys, code: fc.constantFrom('a', 'b') }), { maxLength: 2 }).map((anyOf): Predicate => ({ op: 'token', param: 'code', anyOf })),
);

const predicate = (type: 'Patient' | 'Observation'): fc.Arbitrary<Predicate> =>
  fc.oneof(
    tokenPredicate,
    fc.record({ value: fc.constantFrom('a', 'ab', 'AB', '%', '_', 'é', ''), mode: fc.constantFrom('start' as const, 'exact' as const, 'contains' as const) }).map((s): Predicate => ({ op: 'string', param: 'name', ...s })),
    rangePredicate('date', 'd'),
    rangePredicate('number', 'n'),
    rangePredicate('quantity', 'q'),
    fc.record({ value: fc.constantFrom('http://a/', 'http://a/b/c', 'http://', 'http://b'), mode: fc.constantFrom('exact' as const, 'above' as const, 'below' as const) }).map((u): Predicate => ({ op: 'uri', param: 'u', ...u })),
    fc
      .record({ id: fc.constantFrom(...PATIENTS, ...OBSERVATIONS), types: fc.constantFrom<string[] | undefined>(undefined, [], ['Patient'], ['Observation', 'Group']), version: fc.constantFrom<string | undefined>(undefined, '1') })
      .map((r): Predicate => ({ op: 'reference', param: 'ref', id: r.id, ...(r.types ? { targetTypes: r.types } : {}), ...(r.version ? { version: r.version } : {}) })),
    fc.record({ value: fc.constantFrom('i1', 'i2'), system: fc.constantFrom<string | null | undefined>(undefined, null, 'is') }).map(
      (i): Predicate => ({ op: 'reference', param: 'ref', identifier: { value: i.value, ...(i.system !== undefined ? { system: i.system } : {}) } }),
    ),
    fc.constantFrom('http://x/i1', 'http://x/i3').map((url): Predicate => ({ op: 'reference', param: 'ref', url })),
    fc
      .record({ kind: fc.constantFrom('token' as const, 'string' as const, 'date' as const, 'reference' as const, 'composite' as const), param: fc.constantFrom('code', 'name', 'd', 'ref', 'cq'), missing: fc.boolean() })
      .map((m): Predicate => ({ op: 'missing', ...m })),
    fc.subarray([...(type === 'Patient' ? PATIENTS : OBSERVATIONS), 'zz']).map((ids): Predicate => ({ op: 'id', ids })),
    fc.tuple(tokenPredicate, rangePredicate('quantity', 'q')).map(([t, q]): Predicate => ({ op: 'composite', param: 'cq', components: [t, q] })),
    fc
      .record({ scope: fc.constantFrom('narrative' as const, 'content' as const), query: fc.constantFrom('alpha', 'beta gamma', 'delta', 'ecole', 'École X1', 'al', 'alpha beta', '--') })
      .map((t): Predicate => ({ op: 'text', ...t })),
  );

const expr = (type: 'Patient' | 'Observation', depth: number): fc.Arbitrary<SearchExpr> => {
  const leaf: fc.Arbitrary<SearchExpr> = predicate(type);
  if (depth === 0) return leaf;
  const other = type === 'Patient' ? 'Observation' : 'Patient';
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    fc.array(expr(type, depth - 1), { maxLength: 3 }).map((args): SearchExpr => ({ op: 'and', args })),
    fc.array(expr(type, depth - 1), { maxLength: 3 }).map((args): SearchExpr => ({ op: 'or', args })),
    expr(type, depth - 1).map((arg): SearchExpr => ({ op: 'not', arg })),
    expr(other, depth - 1).map((where): SearchExpr =>
      type === 'Observation' ? { op: 'chain', param: 'ref', targetTypes: ['Patient'], where } : { op: 'has', targetType: 'Observation', param: 'ref', where },
    ),
  );
};

const dataset = fc.record({
  Patient: fc.array(fc.array(entry('Patient'), { maxLength: 4 }), { minLength: PATIENTS.length, maxLength: PATIENTS.length }),
  Observation: fc.array(fc.array(entry('Observation'), { maxLength: 4 }), { minLength: OBSERVATIONS.length, maxLength: OBSERVATIONS.length }),
  deleted: fc.subarray([...PATIENTS, ...OBSERVATIONS], { maxLength: 2 }),
});

type Dataset = { Patient: IndexEntry[][]; Observation: IndexEntry[][]; deleted: string[] };

/** Writes the data set; returns the live targets, their rids (creation order) and a matcher context. */
async function load(store: ReturnType<typeof openSqliteStore>, data: Dataset): Promise<{ targets: Map<string, MatchTarget>; rid: Map<string, number>; ctx: MatchContext }> {
  const targets = new Map<string, MatchTarget>();
  const rid = new Map<string, number>();
  for (const t of ['Patient', 'Observation'] as const) {
    const ids = t === 'Patient' ? PATIENTS : OBSERVATIONS;
    for (const [n, index] of data[t].entries()) {
      const id = ids[n]!;
      const v = await store.write({ kind: 'create', resourceType: t, id, resource: { resourceType: t, id } as Resource, index });
      rid.set(`${t}/${id}`, rid.size + 1);
      if (data.deleted.includes(id)) await store.write({ kind: 'delete', resourceType: t, id });
      else targets.set(`${t}/${id}`, { resourceType: t, id, lastUpdated: v!.version.lastUpdated, index });
    }
  }
  const ctx: MatchContext = {
    resolve: (ref) => (ref.targetType && ref.targetId ? targets.get(`${ref.targetType}/${ref.targetId}`) : undefined),
    referrers: (rt) => [...targets.values()].filter((x) => x.resourceType === rt),
  };
  return { targets, rid, ctx };
}

const plainSortKey: fc.Arbitrary<SortKey> = fc.record({
  key: fc.constantFrom<[string, SortKey['kind']]>(['code', 'token'], ['name', 'string'], ['d', 'date'], ['n', 'number'], ['q', 'quantity'], ['u', 'uri'], ['ref', 'reference'], ['_id', 'special'], ['_lastUpdated', 'special']),
  descending: fc.boolean(),
}).map(({ key, descending }) => ({ param: key[0], kind: key[1], descending }));

const sortKey = (type: 'Patient' | 'Observation'): fc.Arbitrary<SortKey> =>
  fc.oneof(
    { weight: 3, arbitrary: plainSortKey },
    plainSortKey.map((k): SortKey => ({ ...k, chain: [{ param: 'ref', targetTypes: [type === 'Patient' ? 'Observation' : 'Patient'] }] })),
  );

describe('SQLite search agrees with the in-memory matcher', () => {
  for (const type of ['Patient', 'Observation'] as const) {
    it(`${type}: random data and random expressions give the same ids`, async () => {
      await fc.assert(
        fc.asyncProperty(dataset, expr(type, 2), async (data, where) => {
          const store = openSqliteStore(':memory:');
          try {
            const { targets, ctx } = await load(store, data);
            const expected = [...targets.values()].filter((x) => x.resourceType === type && matchesExpr(where, x, ctx)).map((x) => x.id);
            const page = await store.search({ resourceTypes: [type], where, sort: [], count: 100, offset: 0, total: 'accurate' });
            assert.deepEqual(page.entries.map((e) => e.id).sort(), expected.sort());
            assert.equal(page.total, expected.length);
          } finally {
            await store.close();
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  for (const type of ['Patient', 'Observation'] as const) {
    it(`${type}: random sorts give the matcher's order, and keyset pages of any size give exactly that order`, async () => {
      await fc.assert(
        fc.asyncProperty(
          dataset,
          fc.option(expr(type, 1), { nil: undefined }),
          fc.array(sortKey(type), { minLength: 0, maxLength: 3 }),
          fc.integer({ min: 1, max: 4 }),
          async (data, where, sort, pageSize) => {
            const store = openSqliteStore(':memory:');
            try {
              const { targets, rid, ctx } = await load(store, data);
              const ridDesc = sort.length > 0 && sort[sort.length - 1]!.descending;
              const expected = [...targets.values()]
                .filter((x) => x.resourceType === type && (where === undefined || matchesExpr(where, x, ctx)))
                .map((x) => ({ id: x.id, values: sortValues(x, sort, ctx), rid: rid.get(`${type}/${x.id}`)! }))
                .sort((a, b) => compareSortValues(a.values, b.values, sort) || (ridDesc ? b.rid - a.rid : a.rid - b.rid))
                .map((x) => x.id);
              const q = { resourceTypes: [type], ...(where ? { where } : {}), sort, count: 100, offset: 0, total: 'none' as const };
              assert.deepEqual((await store.search(q)).entries.map((e) => e.id), expected, 'unpaged order');
              const paged: string[] = [];
              let after: SearchPosition | undefined;
              for (let guard = 0; guard <= expected.length; guard++) {
                const page = await store.search({ ...q, count: pageSize, ...(after ? { after } : {}) });
                paged.push(...page.entries.map((e) => e.id));
                if (page.next === undefined) break;
                assert.equal(page.entries.length, pageSize, 'a position only after a full page');
                after = JSON.parse(JSON.stringify(page.next)) as SearchPosition; // positions travel as JSON
              }
              assert.deepEqual(paged, expected, 'keyset pages');
            } finally {
              await store.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});
