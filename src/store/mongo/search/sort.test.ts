/**
 * `_sort` in the MongoDB search compiler (FHIR R4 search.html §3.1.1.7 "Sorting"): a token's sort value
 * is its code, else its text; entries without either are skipped by `$min`/`$max`, so a resource with
 * one valueless entry and one with text sorts by that text (as SQLite and the matcher do).
 */
import assert from 'node:assert/strict';
import type { IndexEntry } from '../../../search/index-entry';
import type { SearchQuery, SortKey } from '../../../search/ir';
import { toIndexDocs } from './index-docs';
import { mingoTarget } from './mingo-target';
import { runSearch } from './run';

describe('MongoDB search compiler: sort values', () => {
  const docOf = (id: string, index: IndexEntry[]) => ({ _id: `Observation/${id}`, t: 'Observation', i: id, v: 1, u: 1, lu: '1970-01-01T00:00:00.001Z', d: false, m: 'PUT', j: '{}', ...toIndexDocs(index) });
  const docs = [
    docOf('o0', []),
    docOf('o1', [{ kind: 'token', param: 'code', system: null, code: 'a' }]),
    docOf('o3', [
      { kind: 'token', param: 'code', system: null, code: null },
      { kind: 'token', param: 'code', system: null, code: null, text: 'beta' },
    ]),
  ];
  const order = async (sort: SortKey[]): Promise<string[]> => {
    const q: SearchQuery = { resourceTypes: ['Observation'], sort, count: 10, offset: 0, total: 'none' };
    return (await runSearch(mingoTarget(() => docs), q)).entries.map((e) => e.id);
  };

  it('skips valueless entries: the text of another entry is the value; resources without a value come last', async () => {
    assert.deepEqual(await order([{ param: 'code', kind: 'token', descending: true }]), ['o3', 'o1', 'o0']);
    assert.deepEqual(await order([{ param: 'code', kind: 'token', descending: false }]), ['o1', 'o3', 'o0']);
    // The same with a second, chained key (no values): the first key still decides.
    const chained: SortKey = { param: 'code', kind: 'token', descending: false, chain: [{ param: 'ref', targetTypes: ['Patient'] }] };
    assert.deepEqual(await order([{ param: 'code', kind: 'token', descending: true }, chained]), ['o3', 'o1', 'o0']);
  });
});
