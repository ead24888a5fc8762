/**
 * Prefix semantics of ordered parameters in SQL agree with the shared definition (FHIR R4 §3.1.1.4
 * search.html "prefixes"): for random stored ranges and queries, the SQLite store finds exactly the
 * resources of which ANY entry satisfies `rangeMatches(rangeCondition(...))`.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Resource } from 'fhir/r4';
import type { Prefix } from '../../search/ir';
import { rangeCondition, rangeMatches } from '../../search/range-semantics';
import { openSqliteStore } from './sqlite-store';

const PREFIXES: Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
const bound = fc.oneof(fc.integer({ min: -6, max: 6 }), fc.constantFrom(-Infinity, Infinity));
const range = fc.tuple(bound, bound).map(([a, b]) => (a <= b ? { low: a, high: b } : { low: b, high: a }));
/** A finite value inside a stored range (open ranges included). */
const mid = (e: { low: number; high: number }): number => (Number.isFinite(e.low) ? e.low : Number.isFinite(e.high) ? e.high : 0);
const query = fc.record({ prefix: fc.constantFrom(...PREFIXES), value: fc.integer({ min: -5, max: 5 }), half: fc.constantFrom(0, 0.5, 1) });

describe('SQLite range predicates match the shared prefix semantics', () => {
  for (const kind of ['number', 'quantity', 'date'] as const) {
    it(`${kind}: every prefix over random stored ranges`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(range, { maxLength: 3 }), { minLength: 1, maxLength: 6 }), query, async (resources, q) => {
          const store = openSqliteStore(':memory:');
          try {
            await store.withTransaction(async (tx) => {
              for (const [n, entries] of resources.entries()) {
                await tx.write({
                  kind: 'create',
                  resourceType: 'Basic',
                  id: `b${n}`,
                  resource: { resourceType: 'Basic', id: `b${n}` } as Resource,
                  index: entries.map((e) =>
                    kind === 'date'
                      ? { kind, param: 'p', ...e }
                      : kind === 'number'
                        ? { kind, param: 'p', value: mid(e), ...e }
                        : { kind, param: 'p', system: null, code: null, value: mid(e), ...e },
                  ),
                });
              }
            });
            const low = q.value - q.half;
            const high = q.value + q.half;
            const approxDelta = q.prefix === 'ap' ? Math.abs(q.value) * 0.1 + 0.5 : undefined;
            const predicate = { op: kind, param: 'p', prefix: q.prefix, low, high, value: q.value, ...(approxDelta !== undefined ? { approxDelta } : {}) };
            const page = await store.search({ resourceTypes: ['Basic'], where: predicate, sort: [], count: 100, offset: 0, total: 'none' });
            // The predicate itself: a number or quantity value is exact under gt/lt/ge/le/sa/eb, a date never.
            const cond = rangeCondition(q.prefix, predicate, approxDelta ?? 0);
            const expected = resources.flatMap((entries, n) => (entries.some((e) => rangeMatches(cond, e)) ? [`b${n}`] : []));
            assert.deepEqual(page.entries.map((e) => e.id).sort(), expected.sort());
          } finally {
            await store.close();
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
