/**
 * Searches that run type by type (FHIR R4 search.html §3.1.1.4.14 compartment search
 * `[Compartment]/[id]/*`, system searches of callers restricted differently per type, and operations
 * over a compartment such as patient-operation-everything.html): each type is searched on its own and
 * the results are concatenated in the given order of types. Pages continue by keyset (ADR 17): a
 * position is `[type, ...the store's position within that type]`, or `[type]` alone for "from the
 * start of that type", so a walk never repeats or skips what it already passed; an `_offset` start
 * counts the matches of the types it skips.
 */
import { FhirError } from './outcome';
import type { SearchPosition, SearchQuery } from '../search/ir';
import type { SearchPage } from '../store/store';

/** One type's query: its own criteria (restrictions included) and sort; paging fields are set here. */
export interface TypeQuery {
  type: string;
  query: SearchQuery;
}

/** The page asked for: size, an offset start or a position from a cursor, whether a total is wanted and a watermark. */
export interface TypeByTypePage {
  count: number;
  offset: number;
  after?: SearchPosition;
  total: SearchQuery['total'];
  watermark?: boolean;
}

/** One page of the concatenation of `types` (in their order), with the total when asked for. */
export async function typeByTypePage(run: (query: SearchQuery) => Promise<SearchPage>, types: readonly TypeQuery[], page: TypeByTypePage): Promise<SearchPage> {
  const typed = (t: TypeQuery): SearchQuery => ({ ...t.query, count: 0, offset: 0, total: 'accurate' });
  const counts = new Map<string, number>();
  const countOf = async (t: TypeQuery): Promise<number> => {
    let n = counts.get(t.type);
    if (n === undefined) counts.set(t.type, (n = (await run(typed(t))).total ?? 0));
    return n;
  };
  const out: SearchPage = { entries: [] };
  if (page.total !== 'none') {
    let total = 0;
    for (const t of types) total += await countOf(t);
    out.total = total;
  }
  let start = 0;
  let inner: SearchPosition | undefined;
  if (page.after !== undefined) {
    const [type, ...rest] = page.after;
    start = typeof type === 'string' ? types.findIndex((t) => t.type === type) : -1;
    if (start < 0) throw new FhirError('invalid', { diagnostics: '_cursor: the paging position does not belong to this search; restart the search from its first page', expression: ['_cursor'] });
    if (rest.length > 0) inner = rest;
  }
  let skip = page.after === undefined ? page.offset : 0;
  let need = page.count;
  for (let i = start; i < types.length && need > 0; i++) {
    const t = types[i]!;
    if (skip > 0) {
      const n = await countOf(t);
      if (skip >= n) {
        skip -= n;
        continue;
      }
    }
    const q: SearchQuery = { ...typed(t), count: need, offset: skip, total: 'none' };
    if (i === start && inner !== undefined) q.after = inner;
    if (page.watermark && out.watermark === undefined) q.watermark = true;
    const got = await run(q);
    if (got.watermark !== undefined) out.watermark = got.watermark;
    skip = 0;
    out.entries.push(...got.entries);
    need -= got.entries.length;
    if (need > 0) continue;
    if (got.next !== undefined) out.next = [t.type, ...got.next];
    else {
      // The page ended with this type: the next one starts with the next type that has a match.
      for (const later of types.slice(i + 1)) {
        if ((await run({ ...typed(later), count: 1, total: 'none' })).entries.length > 0) {
          out.next = [later.type];
          break;
        }
      }
    }
  }
  if (page.watermark && out.watermark === undefined && types[0] !== undefined) {
    out.watermark = (await run({ ...typed(types[0]), count: 1, total: 'none', watermark: true })).watermark;
  }
  return out;
}
