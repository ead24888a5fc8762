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
import type { SearchPosition } from '../../search/ir';
import { compareSortValues, matchesExpr, sortValues, type MatchContext, type MatchTarget } from '../../search/match';
import { OBSERVATION_IDS, PATIENT_IDS, datasetArb, searchExprArb, sortKeyArb, throughCursor, type DifferentialDataset } from '../../search/testing/arbitraries';
import { openSqliteStore } from './sqlite-store';

/** Writes the data set; returns the live targets, their rids (creation order) and a matcher context. */
async function load(store: ReturnType<typeof openSqliteStore>, data: DifferentialDataset): Promise<{ targets: Map<string, MatchTarget>; rid: Map<string, number>; ctx: MatchContext }> {
  const targets = new Map<string, MatchTarget>();
  const rid = new Map<string, number>();
  for (const t of ['Patient', 'Observation'] as const) {
    const ids = t === 'Patient' ? PATIENT_IDS : OBSERVATION_IDS;
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

describe('SQLite search agrees with the in-memory matcher', () => {
  for (const type of ['Patient', 'Observation'] as const) {
    it(`${type}: random data and random expressions give the same ids`, async () => {
      await fc.assert(
        fc.asyncProperty(datasetArb(), searchExprArb(type, 2, { lastUpdated: false }), async (data, where) => {
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
          datasetArb(),
          fc.option(searchExprArb(type, 1, { lastUpdated: false }), { nil: undefined }),
          fc.array(sortKeyArb(type), { minLength: 0, maxLength: 3 }),
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
                after = throughCursor(page.next); // positions travel in signed cursors
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
