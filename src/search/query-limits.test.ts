/**
 * The query limits of a search (src/search/parse.ts `checkQueryLimits`; FHIR R4 search.html §3.1.1.3
 * OR by comma and AND by repetition, §3.1.1.7.1 `_sort`, `_text`/`_content`): a property test against
 * a reference count of each limit on random queries, and parseSearchQuery applying them.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FhirError } from '../fhir/outcome';
import { textWords } from './normalize';
import { createR4SearchParameters } from './parameters';
import { checkQueryLimits, parseSearchQuery, splitUnescaped, type QueryLimits } from './parse';

const NAMES = ['family', 'given', 'name:exact', 'subject.name', '_sort', '_content', '_text', '_type', '_id', '_has:Observation:patient:code', 'birthdate'];

/** The value of a query parameter: words, commas, escaped commas and blanks. */
const valueArb = fc.array(fc.constantFrom('a', 'b', ',', '\\,', ' ', '-x', 'word'), { maxLength: 12 }).map((parts) => parts.join(''));
const queryArb = fc.array(fc.tuple(fc.constantFrom(...NAMES), valueArb), { maxLength: 14 });
const limitsArb = fc.record({
  maxQueryParameters: fc.integer({ min: 1, max: 12 }),
  maxParameterRepeats: fc.integer({ min: 1, max: 6 }),
  maxOrValues: fc.integer({ min: 1, max: 6 }),
  maxQueryValues: fc.integer({ min: 1, max: 20 }),
  maxSortKeys: fc.integer({ min: 1, max: 6 }),
  maxTextTerms: fc.integer({ min: 1, max: 8 }),
});

/** Which limits the query is over, counted the plain way. */
function over(query: ReadonlyArray<[string, string]>, l: QueryLimits): Set<string> {
  const out = new Set<string>();
  if (query.length > l.maxQueryParameters) out.add('MAX_QUERY_PARAMETERS');
  const codes = query.map(([n]) => n.split(/[.:]/)[0]!);
  for (const c of new Set(codes)) if (codes.filter((x) => x === c).length > l.maxParameterRepeats) out.add('MAX_PARAMETER_REPEATS');
  const sortKeys = query.filter(([n]) => n === '_sort').flatMap(([, v]) => v.split(',').filter((k) => k !== '')).length;
  if (sortKeys > l.maxSortKeys) out.add('MAX_SORT_KEYS');
  let all = 0;
  for (const [n, v] of query) {
    if (n === '_sort' || n === '_type') continue;
    const values = splitUnescaped(v, ',').filter((x) => x !== '');
    all += values.length;
    if (values.length > l.maxOrValues) out.add('MAX_OR_VALUES');
    if (/(^|[.:])_(text|content)$/.test(n) && values.reduce((s, x) => s + textWords(x.replace(/\\,/g, ',')).length, 0) > l.maxTextTerms) out.add('MAX_TEXT_TERMS');
  }
  if (all > l.maxQueryValues) out.add('MAX_QUERY_VALUES');
  return out;
}

describe('search query limits', () => {
  it('refuse exactly the queries over a limit, with a 400 too-costly naming the limit and a parameter of the query', () => {
    fc.assert(
      fc.property(queryArb, limitsArb, (query, limits) => {
        const expected = over(query, limits);
        let error: unknown;
        try {
          checkQueryLimits(query, limits);
        } catch (e) {
          error = e;
        }
        if (expected.size === 0) {
          assert.equal(error, undefined);
          return;
        }
        assert.ok(error instanceof FhirError, `expected one of ${[...expected].join(', ')}, got ${String(error)}`);
        assert.equal(error.status, 400);
        const issue = error.issues[0]!;
        assert.equal(issue.code, 'too-costly');
        const variable = /\((MAX_[A-Z_]+)\)/.exec(issue.diagnostics ?? '')?.[1];
        assert.ok(variable !== undefined && expected.has(variable), `${issue.diagnostics} names one of ${[...expected].join(', ')}`);
        assert.ok(query.some(([n]) => n === issue.expression?.[0]), `expression ${String(issue.expression)} is a parameter of the query`);
      }),
      { numRuns: 3000 },
    );
  });

  it('parseSearchQuery applies them before parsing (a query over a limit is refused even when it would not parse)', () => {
    const registry = createR4SearchParameters();
    const limits: QueryLimits = { maxQueryParameters: 50, maxParameterRepeats: 20, maxOrValues: 3, maxQueryValues: 500, maxSortKeys: 2, maxTextTerms: 20 };
    const parse = (params: Array<[string, string]>) => parseSearchQuery(['Patient'], params, registry, { strict: true, defaultCount: 10, maxCount: 100, limits });
    assert.doesNotThrow(() => parse([['family', 'a,b,c'], ['_sort', 'family,-birthdate']]));
    assert.throws(() => parse([['birthdate', 'x,y,z,w']]), (e: unknown) => e instanceof FhirError && e.category === 'too-costly' && /MAX_OR_VALUES/.test(e.message));
    assert.throws(() => parse([['_sort', 'family,-birthdate,gender']]), (e: unknown) => e instanceof FhirError && e.category === 'too-costly' && /MAX_SORT_KEYS/.test(e.message));
    // Without limits (e.g. the store's own searches), nothing is refused for its size.
    assert.doesNotThrow(() => parseSearchQuery(['Patient'], [['family', 'a,b,c,d,e']], registry, { strict: true, defaultCount: 10, maxCount: 100 }));
  });
});
