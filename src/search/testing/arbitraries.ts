/**
 * fast-check generators for the differential tests of the search compilers (FHIR R4 §3.1.1
 * search.html): random index entries of every search parameter type, random search expressions
 * (every predicate kind, and/or/not, chain, `_has`, composite, `_text` / `_content`, token anyOf,
 * `_lastUpdated`) and random sorts (every sortable kind, `_id`, `_lastUpdated`, chained keys, mixed
 * directions), over a small fixed world of Patients and Observations that reference each other.
 * Values are full of SQL LIKE and regex metacharacters, so a compiler that forgets to escape them
 * disagrees with the in-memory matcher (src/search/match.ts). Shared by
 * src/store/sqlite/matcher-differential.test.ts and test/search/mongo-differential.test.ts; test
 * support only, imported by no server code.
 */
import fc from 'fast-check';
import type { IndexEntry } from '../index-entry';
import type { Predicate, Prefix, SearchExpr, SearchPosition, SortKey } from '../ir';
import { signCursor, verifyCursor } from '../cursor';

/** The two resource types of the generated world. */
export type DifferentialType = 'Patient' | 'Observation';

/** The ids of the generated Patients and Observations (a data set has one index per id). */
export const PATIENT_IDS: readonly string[] = ['p0', 'p1', 'p2', 'p3'];
export const OBSERVATION_IDS: readonly string[] = ['o0', 'o1', 'o2', 'o3'];

/** A generated data set: the index entries of each Patient / Observation (in id order), and the ids then deleted. */
export type DifferentialDataset = { Patient: IndexEntry[][]; Observation: IndexEntry[][]; deleted: string[] };

export interface EntryOptions {
  /**
   * Whether date entries may be open-ended (±Infinity bounds, as a Period without a start or end).
   * Default true. Such a value may be a sort value, and so part of a keyset position (which the
   * signed cursor carries: `throughCursor`).
   */
  openDateRanges?: boolean;
}

export interface ExprOptions {
  /**
   * Whether `_lastUpdated` predicates are generated. Default true. Their instants are relative to
   * the first write of a run (0 to 8 ms after it): the test shifts them to absolute instants.
   */
  lastUpdated?: boolean;
}

const PREFIXES: Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

const otherType = (type: DifferentialType): DifferentialType => (type === 'Patient' ? 'Observation' : 'Patient');

const sys = fc.constantFrom<string | null>(null, 's1', 's2');
const code = fc.constantFrom<string | null>(null, 'a', 'b', 'a.*');
const small = fc.integer({ min: -3, max: 3 });
const rng = fc.tuple(small, small).map(([a, b]) => ({ low: Math.min(a, b), high: Math.max(a, b) }));
const openRng = fc.oneof({ weight: 4, arbitrary: rng }, fc.constant({ low: -Infinity, high: 0 }), fc.constant({ low: 1, high: Infinity }));
const norm = fc.constantFrom('ab', 'abc', 'b', 'a%', 'a_c', 'é', 'a.c', 'a(b', '^a', 'a$', 'a\\b', '[x]', '$where', 'a.b.c');

const tokenEntry = fc
  .record({ system: sys, code, text: fc.constantFrom<string | null | undefined>(undefined, null, 'alpha', 'beta', 'al.ha'), typeCode: fc.constantFrom<string | undefined>(undefined, 'MR', 'NH') })
  .map((t): IndexEntry => ({ kind: 'token', param: 'code', system: t.system, code: t.code, ...(t.text !== undefined ? { text: t.text } : {}), ...(t.typeCode ? { typeSystem: 'v2', typeCode: t.typeCode } : {}) }));
const quantityEntry = fc
  .record({ r: rng, system: fc.constantFrom<string | null>(null, 'u'), code: fc.constantFrom<string | null>(null, 'mg'), unit: fc.constantFrom<string | null>(null, 'mg', 'g') })
  .map((q): IndexEntry => ({ kind: 'quantity', param: 'q', system: q.system, code: q.code, unit: q.unit, value: q.r.low, ...q.r }));

/** One index entry of a resource of `type` (params: code, name, d, n, q, u, ref, cq, `_text`, `_content`). */
export const indexEntryArb = (type: DifferentialType, options: EntryOptions = {}): fc.Arbitrary<IndexEntry> =>
  fc.oneof(
    tokenEntry,
    norm.map((n): IndexEntry => ({ kind: 'string', param: 'name', norm: n, exact: n.toUpperCase() })),
    (options.openDateRanges === false ? rng : openRng).map((r): IndexEntry => ({ kind: 'date', param: 'd', ...r })),
    rng.map((r): IndexEntry => ({ kind: 'number', param: 'n', value: r.low, ...r })),
    quantityEntry,
    fc.constantFrom('http://a/', 'http://a/b', 'http://b', 'http://a.b').map((value): IndexEntry => ({ kind: 'uri', param: 'u', value })),
    fc
      .record({ id: fc.constantFrom(...(type === 'Observation' ? PATIENT_IDS : OBSERVATION_IDS)), version: fc.constantFrom<string | null>(null, '1') })
      .map((r): IndexEntry => ({ kind: 'reference', param: 'ref', targetType: otherType(type), targetId: r.id, targetVersion: r.version, url: null })),
    fc.constantFrom('i1', 'i2').map((v): IndexEntry => ({ kind: 'reference', param: 'ref', targetType: null, targetId: null, url: `http://x/${v}`, identifierSystem: 'is', identifierValue: v })),
    fc.tuple(tokenEntry, quantityEntry).map(([t, q]): IndexEntry => ({ kind: 'composite', param: 'cq', components: [t, q] })),
    // Text entries always have words, as extract.ts `textEntries` makes them (a wordless one is never
    // indexed: SQLite and MongoDB store no row for it, where the matcher would count it as present).
    fc
      .record({ param: fc.constantFrom('_text' as const, '_content' as const), text: fc.constantFrom('Alpha beta', 'gamma-Delta', 'ÉCOLE x1', 'beta', 'alpha alpha', '-- beta --') })
      .map((t): IndexEntry => ({ kind: 'text', ...t })),
  );

/** A data set: up to four index entries for each of the Patients and Observations, and up to two of them deleted. */
export const datasetArb = (options: EntryOptions = {}): fc.Arbitrary<DifferentialDataset> =>
  fc.record({
    Patient: fc.array(fc.array(indexEntryArb('Patient', options), { maxLength: 4 }), { minLength: PATIENT_IDS.length, maxLength: PATIENT_IDS.length }),
    Observation: fc.array(fc.array(indexEntryArb('Observation', options), { maxLength: 4 }), { minLength: OBSERVATION_IDS.length, maxLength: OBSERVATION_IDS.length }),
    deleted: fc.subarray([...PATIENT_IDS, ...OBSERVATION_IDS], { maxLength: 2 }),
  });

const rangePredicate = (op: 'date' | 'number' | 'quantity', param: string): fc.Arbitrary<Predicate> =>
  fc
    .record({
      prefix: fc.constantFrom(...PREFIXES),
      r: rng,
      // Where the written value sits in its precision range: the ordering prefixes compare it exactly.
      at: fc.constantFrom(0, 0.25, 0.5, 1),
      system: fc.constantFrom<string | null | undefined>(undefined, null, 'u'),
      code: fc.constantFrom<string | null | undefined>(undefined, null, 'mg', 'g'),
    })
    .map((q): Predicate => ({
      op,
      param,
      prefix: q.prefix,
      ...q.r,
      ...(op === 'date' ? {} : { value: q.r.low + (q.r.high - q.r.low) * q.at }),
      ...(q.prefix === 'ap' ? { approxDelta: 1 } : {}),
      ...(op === 'quantity' && q.system !== undefined ? { system: q.system } : {}),
      ...(op === 'quantity' && q.code !== undefined ? { code: q.code } : {}),
    }));

const tokenPredicate = fc.oneof(
  fc.record({ system: fc.constantFrom<string | null | undefined>(undefined, null, 's1'), code: fc.constantFrom<string | undefined>(undefined, 'a', 'b', 'a.*') }).map(
    (t): Predicate => ({ op: 'token', param: 'code', ...(t.system !== undefined ? { system: t.system } : {}), ...(t.code !== undefined ? { code: t.code } : {}) }),
  ),
  fc.constantFrom('al', 'beta', 'x', '', 'al.', '.').map((text): Predicate => ({ op: 'token', param: 'code', text })),
  fc.constantFrom('MR', 'NH').map((c): Predicate => ({ op: 'token', param: 'code', ofType: { system: 'v2', code: c, value: 'a' } })),
  fc.array(fc.record({ system: sys, code: fc.constantFrom('a', 'b') }), { maxLength: 2 }).map((anyOf): Predicate => ({ op: 'token', param: 'code', anyOf })),
);

/** `_lastUpdated` relative to the first write of a run (the test adds it): writes come a millisecond or more apart. */
const lastUpdatedPredicate = fc
  .record({ prefix: fc.constantFrom(...PREFIXES), at: fc.integer({ min: 0, max: 8 }) })
  .map((l): Predicate => ({ op: 'lastUpdated', prefix: l.prefix, low: l.at, high: l.at, ...(l.prefix === 'ap' ? { approxDelta: 1 } : {}) }));

/** One predicate over a resource of `type`, of any kind. */
export const predicateArb = (type: DifferentialType, options: ExprOptions = {}): fc.Arbitrary<Predicate> =>
  fc.oneof(
    tokenPredicate,
    fc
      .record({ value: fc.constantFrom('a', 'ab', 'AB', '%', '_', 'é', '', '.', 'a.', '(', '^a', '$', '\\', '[', 'A.C', '$where'), mode: fc.constantFrom('start' as const, 'exact' as const, 'contains' as const) })
      .map((s): Predicate => ({ op: 'string', param: 'name', ...s })),
    rangePredicate('date', 'd'),
    rangePredicate('number', 'n'),
    rangePredicate('quantity', 'q'),
    fc
      .record({ value: fc.constantFrom('http://a/', 'http://a/b/c', 'http://', 'http://b', 'http://a.b/c', 'http://aXb'), mode: fc.constantFrom('exact' as const, 'above' as const, 'below' as const) })
      .map((u): Predicate => ({ op: 'uri', param: 'u', ...u })),
    fc
      .record({ id: fc.constantFrom(...PATIENT_IDS, ...OBSERVATION_IDS), types: fc.constantFrom<string[] | undefined>(undefined, [], ['Patient'], ['Observation', 'Group']), version: fc.constantFrom<string | undefined>(undefined, '1') })
      .map((r): Predicate => ({ op: 'reference', param: 'ref', id: r.id, ...(r.types ? { targetTypes: r.types } : {}), ...(r.version ? { version: r.version } : {}) })),
    fc.record({ value: fc.constantFrom('i1', 'i2'), system: fc.constantFrom<string | null | undefined>(undefined, null, 'is') }).map(
      (i): Predicate => ({ op: 'reference', param: 'ref', identifier: { value: i.value, ...(i.system !== undefined ? { system: i.system } : {}) } }),
    ),
    fc.constantFrom('http://x/i1', 'http://x/i3').map((url): Predicate => ({ op: 'reference', param: 'ref', url })),
    fc
      .record({
        kind: fc.constantFrom('token' as const, 'string' as const, 'date' as const, 'reference' as const, 'composite' as const, 'text' as const),
        param: fc.constantFrom('code', 'name', 'd', 'ref', 'cq', '_text', '_content'),
        missing: fc.boolean(),
      })
      .map((m): Predicate => ({ op: 'missing', ...m })),
    fc.subarray([...(type === 'Patient' ? PATIENT_IDS : OBSERVATION_IDS), 'zz']).map((ids): Predicate => ({ op: 'id', ids })),
    fc.tuple(tokenPredicate, rangePredicate('quantity', 'q')).map(([t, q]): Predicate => ({ op: 'composite', param: 'cq', components: [t, q] })),
    fc
      .record({ scope: fc.constantFrom('narrative' as const, 'content' as const), query: fc.constantFrom('alpha', 'beta gamma', 'delta', 'ecole', 'École X1', 'al', 'alpha beta', '--') })
      .map((t): Predicate => ({ op: 'text', ...t })),
    ...(options.lastUpdated === false ? [] : [lastUpdatedPredicate]),
  );

/** A search expression over `type`, nested `depth` levels deep: and/or/not, and a chain (Observation) or `_has` (Patient) into the other type. */
export const searchExprArb = (type: DifferentialType, depth: number, options: ExprOptions = {}): fc.Arbitrary<SearchExpr> => {
  const leaf: fc.Arbitrary<SearchExpr> = predicateArb(type, options);
  if (depth === 0) return leaf;
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    fc.array(searchExprArb(type, depth - 1, options), { maxLength: 3 }).map((args): SearchExpr => ({ op: 'and', args })),
    fc.array(searchExprArb(type, depth - 1, options), { maxLength: 3 }).map((args): SearchExpr => ({ op: 'or', args })),
    searchExprArb(type, depth - 1, options).map((arg): SearchExpr => ({ op: 'not', arg })),
    searchExprArb(otherType(type), depth - 1, options).map((where): SearchExpr =>
      type === 'Observation' ? { op: 'chain', param: 'ref', targetTypes: ['Patient'], where } : { op: 'has', targetType: 'Observation', param: 'ref', where },
    ),
  );
};

const plainSortKey: fc.Arbitrary<SortKey> = fc
  .record({
    key: fc.constantFrom<[string, SortKey['kind']]>(['code', 'token'], ['name', 'string'], ['d', 'date'], ['n', 'number'], ['q', 'quantity'], ['u', 'uri'], ['ref', 'reference'], ['_id', 'special'], ['_lastUpdated', 'special']),
    descending: fc.boolean(),
  })
  .map(({ key, descending }) => ({ param: key[0], kind: key[1], descending }));

/** One `_sort` key for a search of `type`: any sortable param, unchained, chained once into the other type, or chained there and back. */
export const sortKeyArb = (type: DifferentialType): fc.Arbitrary<SortKey> =>
  fc.oneof(
    { weight: 3, arbitrary: plainSortKey },
    plainSortKey.map((k): SortKey => ({ ...k, chain: [{ param: 'ref', targetTypes: [otherType(type)] }] })),
    plainSortKey.map((k): SortKey => ({ ...k, chain: [{ param: 'ref', targetTypes: [otherType(type)] }, { param: 'ref', targetTypes: [type] }] })),
  );

/**
 * A keyset position as it comes back from a page link: signed into a cursor and verified again
 * (src/search/cursor.ts), the way positions travel between pages; ±Infinity survives.
 */
export function throughCursor(position: SearchPosition): SearchPosition {
  const key = Buffer.from('differential-tests-cursor-key-0123456789');
  return verifyCursor(signCursor({ v: 2, h: '', s: '', c: 1, t: 0, a: position }, key), key).a!;
}
