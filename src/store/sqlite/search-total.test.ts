/**
 * `_total=accurate` of the SQLite store (FHIR R4 §3.1.1 search.html "_total", "Paging"): the total is
 * exact for every page size and offset, including the last page of an offset walk (answered from the
 * page's own rows, without a COUNT) and offsets past the end (answered by a COUNT).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SearchQuery } from '../../search/ir';
import { openSqliteStore } from './sqlite-store';

describe('SQLite search totals', () => {
  it('the total is the number of matches on every page, whatever the count and offset', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 15 }), async (codes, count, offset) => {
        const store = openSqliteStore(':memory:');
        try {
          for (const [n, isA] of codes.entries()) {
            await store.write({
              kind: 'create',
              resourceType: 'Patient',
              id: `p${n}`,
              resource: { resourceType: 'Patient', id: `p${n}` },
              index: [{ kind: 'token', param: 'code', system: null, code: isA ? 'a' : 'b' }],
            });
          }
          const matches = codes.filter((c) => c).length;
          const q: SearchQuery = { resourceTypes: ['Patient'], where: { op: 'token', param: 'code', code: 'a' }, sort: [], count, offset, total: 'accurate' };
          const page = await store.search(q);
          assert.equal(page.total, matches);
          assert.equal(page.entries.length, Math.max(0, Math.min(count, matches - offset)));
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
