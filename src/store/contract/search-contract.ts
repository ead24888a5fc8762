/**
 * Store contract: search (FHIR R4 §3.1.1 search.html): every parameter type, modifiers and prefixes,
 * `:missing`, `_id`, `_lastUpdated`, chaining, `_has`, composite parameters, and/or/not, `_sort`,
 * paging and `_total`, over the hand-written data set; `_text` / `_content`, chained sorts and keyset
 * paging (`SearchQuery.after` / `SearchPage.next`) over a second small data set.
 */
import assert from 'node:assert/strict';
import type { Resource } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import type { Prefix, Predicate, SearchExpr, SearchQuery, SortKey } from '../../search/ir';
import type { Store, StoredVersion } from '../store';
import { asc, dateEntry, desc, idList, idSet, ms, put, query, remove, res, type OpenStore } from './fixtures';
import { GENDER, LOINC, loadDataset, UCUM } from './search-dataset';

const PATIENTS = ['p1', 'p2', 'p3', 'p4', 'p5'];

const range = (op: 'date' | 'number' | 'quantity', param: string, prefix: Prefix, low: number, high: number, extra: Partial<Predicate> = {}): Predicate =>
  ({ op, param, prefix, low, high, ...extra }) as Predicate;
const birthdate = (prefix: Prefix, from: string, toExclusive: string): Predicate => range('date', 'birthdate', prefix, ms(from), ms(toExclusive) - 1);
const y = (year: number): [string, string] => [`${year}-01-01T00:00:00Z`, `${year + 1}-01-01T00:00:00Z`];
const family = (value: string, mode: 'start' | 'exact' | 'contains' = 'start'): Predicate => ({ op: 'string', param: 'family', value, mode });
const gender = (code: string, system?: string | null): Predicate => ({ op: 'token', param: 'gender', code, ...(system !== undefined ? { system } : {}) });
const num = (prefix: Prefix, value: number, low: number, high: number): Predicate => range('number', 'probability', prefix, low, high, { value });
const qty = (prefix: Prefix, value: number, half: number, system?: string | null, code?: string | null): Predicate =>
  range('quantity', 'value-quantity', prefix, value - half, value + half, { value, ...(system !== undefined ? { system } : {}), ...(code !== undefined ? { code } : {}) });
const code = (c: string): Predicate => ({ op: 'token', param: 'code', system: LOINC, code: c });

/**
 * Every page of `q` (page size `count`), following `next` positions until the store gives none (a
 * position only ever follows a full page); the ids in order.
 */
export async function pageThrough(store: Store, q: SearchQuery, count: number): Promise<string[]> {
  const out: string[] = [];
  let after: SearchQuery['after'];
  for (let guard = 0; guard < 1000; guard++) {
    const page = await store.search({ ...q, count, offset: 0, ...(after !== undefined ? { after } : {}) });
    out.push(...page.entries.map((e) => e.id));
    if (page.next === undefined) return out;
    assert.equal(page.entries.length, count, 'a position only after a full page');
    after = page.next;
  }
  throw new Error('paging must end');
}

const text = (param: '_text' | '_content', words: string): IndexEntry => ({ kind: 'text', param, text: words });
const str = (param: string, exact: string): IndexEntry => ({ kind: 'string', param, norm: exact.toLowerCase(), exact });
const subject = (id: string): IndexEntry => ({ kind: 'reference', param: 'subject', targetType: 'Patient', targetId: id, url: null });

/** Patients and encounters for text search, chained sorts and keyset paging (written in this order). */
const TEXT_DATASET: ReadonlyArray<[Resource & { id: string }, IndexEntry[]]> = [
  [res({ resourceType: 'Patient', id: 'a' }), [text('_text', 'heart clinic'), text('_content', 'heart clinic smith generated'), str('family', 'Smith'), dateEntry('birthdate', '1990-01-01T00:00:00Z', '1990-01-02T00:00:00Z')]],
  [res({ resourceType: 'Patient', id: 'b' }), [text('_text', 'lung clinic'), text('_content', 'lung clinic jones'), str('family', 'Jones'), dateEntry('birthdate', '1970-01-01T00:00:00Z', '1970-01-02T00:00:00Z')]],
  [res({ resourceType: 'Patient', id: 'c' }), [text('_content', 'heart jones'), str('family', 'Jones')]],
  [res({ resourceType: 'Patient', id: 'd' }), [str('family', 'Smith'), dateEntry('birthdate', '1970-01-01T00:00:00Z', '1970-01-02T00:00:00Z')]],
  ...['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7'].map((id, n): [Resource & { id: string }, IndexEntry[]] => [
    res({ resourceType: 'Encounter', id }),
    n === 6 ? [] : [subject(['a', 'b', 'c', 'd', 'a', 'zz'][n]!)],
  ]),
];

export function searchContract(open: OpenStore): void {
  describe('search', () => {
    let store: Store;
    let written: Map<string, StoredVersion>;
    before(async () => {
      store = await open();
      written = await loadDataset(store);
    });
    after(async () => {
      await store.close();
    });
    const find = (types: string[], where?: SearchExpr): Promise<string[]> => idSet(store, query(types, where));
    const patients = (where: SearchExpr): Promise<string[]> => find(['Patient'], where);
    const observations = (where: SearchExpr): Promise<string[]> => find(['Observation'], where);

    it('returns every current resource of the type without a filter, with its stored JSON', async () => {
      assert.deepEqual(await find(['Patient']), PATIENTS);
      const page = await store.search(query(['Practitioner']));
      assert.deepEqual(page.entries, [written.get('dr1'), written.get('dr2')]);
    });

    it('token: system|code, code, |code, system|, case-sensitive codes', async () => {
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', system: 'urn:nhs', code: '111' }), ['p1']);
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', system: 'urn:other', code: '111' }), []);
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', code: '222' }), ['p2']);
      assert.deepEqual(await patients(gender('female')), ['p2', 'p3']);
      assert.deepEqual(await patients(gender('female', null)), ['p3']);
      assert.deepEqual(await patients(gender('female', GENDER)), ['p2']);
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', system: 'urn:nhs' }), ['p1', 'p2']);
      assert.deepEqual(await patients(gender('MALE')), []);
    });

    it('token: :text over the display text, anyOf (expanded :in/:below), :of-type', async () => {
      assert.deepEqual(await patients({ op: 'token', param: 'language', text: 'engl' }), ['p3']);
      assert.deepEqual(await patients({ op: 'token', param: 'language', text: 'xyz' }), []);
      assert.deepEqual(await observations({ op: 'token', param: 'code', text: 'gluc' }), ['o1']);
      const anyOf = [
        { system: GENDER, code: 'male' },
        { system: null, code: 'female' },
      ];
      assert.deepEqual(await patients({ op: 'token', param: 'gender', anyOf }), ['p1', 'p3']);
      assert.deepEqual(await patients({ op: 'token', param: 'gender', anyOf: [] }), []);
      const mr = { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' };
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', ofType: { ...mr, value: 'MRN1' } }), ['p1']);
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', ofType: { ...mr, value: '111' } }), []);
      assert.deepEqual(await patients({ op: 'token', param: 'identifier', ofType: { ...mr, code: 'NH', value: 'MRN1' } }), []);
    });

    it('string: starts-with on the normalised value, any of several values', async () => {
      assert.deepEqual(await patients(family('smith')), ['p1', 'p2']);
      assert.deepEqual(await patients(family('smiths')), ['p2']);
      assert.deepEqual(await patients(family('adams')), ['p1']);
      assert.deepEqual(await patients(family('x')), []);
      assert.deepEqual(await patients(family('')), ['p1', 'p2', 'p3', 'p4']);
    });

    it('string: :exact and :contains, with SQL/regex wildcards taken literally', async () => {
      assert.deepEqual(await patients(family('Smith', 'exact')), ['p1']);
      assert.deepEqual(await patients(family('smith', 'exact')), []);
      assert.deepEqual(await patients(family('mith', 'contains')), ['p1', 'p2']);
      assert.deepEqual(await patients(family('ams', 'contains')), ['p1']);
      assert.deepEqual(await patients(family('MITH', 'contains')), [], 'contains is case-sensitive on the normalised value');
      assert.deepEqual(await patients(family('%', 'contains')), ['p4']);
      assert.deepEqual(await patients(family('_', 'contains')), ['p4']);
      assert.deepEqual(await patients(family('.*', 'contains')), []);
      assert.deepEqual(await patients(family("o'brien%")), ['p4']);
      assert.deepEqual(await patients(family("o'brien_")), []);
      assert.deepEqual(await patients(family('s%')), []);
    });

    it('date: every prefix against stored ranges', async () => {
      assert.deepEqual(await patients(birthdate('eq', ...y(1980))), ['p1', 'p3']);
      assert.deepEqual(await patients(birthdate('eq', '1980-06-01T00:00:00Z', '1980-06-02T00:00:00Z')), ['p1']);
      assert.deepEqual(await patients(birthdate('ne', ...y(1980))), ['p2']);
      assert.deepEqual(await patients(birthdate('gt', ...y(1985))), ['p2']);
      assert.deepEqual(await patients(birthdate('lt', ...y(1985))), ['p1', 'p3']);
      assert.deepEqual(await patients(birthdate('ge', '1980-06-01T00:00:00Z', '1980-06-02T00:00:00Z')), ['p1', 'p2', 'p3']);
      assert.deepEqual(await patients(birthdate('le', '1980-03-01T00:00:00Z', '1980-03-02T00:00:00Z')), ['p3']);
      assert.deepEqual(await patients(birthdate('sa', ...y(1980))), ['p2']);
      assert.deepEqual(await patients(birthdate('eb', ...y(1990))), ['p1', 'p3']);
      const ap = (approxDelta: number): Predicate => ({ ...birthdate('ap', '1990-05-15T00:00:00Z', '1990-05-16T00:00:00Z'), approxDelta }) as Predicate;
      const year = 365 * 24 * 3600 * 1000;
      assert.deepEqual(await patients(ap(0)), ['p2']);
      assert.deepEqual(await patients(ap(year)), ['p2']);
      assert.deepEqual(await patients(ap(10 * year)), ['p1', 'p2', 'p3']);
    });

    it('number: prefixes against the precision range', async () => {
      const ra = (where: SearchExpr): Promise<string[]> => find(['RiskAssessment'], where);
      assert.deepEqual(await ra(num('eq', 0.2, 0.15, 0.25)), ['ra1']);
      assert.deepEqual(await ra(num('ne', 0.2, 0.15, 0.25)), ['ra2']);
      assert.deepEqual(await ra(num('gt', 0.5, 0.45, 0.55)), ['ra2']);
      assert.deepEqual(await ra(num('lt', 0.5, 0.45, 0.55)), ['ra1']);
      assert.deepEqual(await ra(num('ge', 0.2, 0.15, 0.25)), ['ra1', 'ra2']);
      assert.deepEqual(await ra({ ...num('ap', 0.8, 0.75, 0.85), approxDelta: 0.08 } as Predicate), ['ra2']);
      assert.deepEqual(await ra({ ...num('ap', 0.5, 0.45, 0.55), approxDelta: 0.05 } as Predicate), []);
      assert.deepEqual(await ra({ ...num('ap', 0.5, 0.45, 0.55), approxDelta: 0.25 } as Predicate), ['ra1', 'ra2']);
    });

    it('number and quantity: gt, lt, ge, le, sa, eb compare the exact search value, eq/ne/ap its precision range (search.html#number)', async () => {
      const ra = (where: SearchExpr): Promise<string[]> => find(['RiskAssessment'], where);
      // ra1 is 0.2 ([0.15, 0.25]), ra2 is 0.8 ([0.75, 0.85]).
      assert.deepEqual(await ra(num('lt', 0.2, 0.15, 0.25)), ['ra1'], 'lt0.2: ra1 includes values below 0.2');
      assert.deepEqual(await ra(num('gt', 0.8, 0.75, 0.85)), ['ra2'], 'gt0.8: ra2 includes values above 0.8');
      assert.deepEqual(await ra(num('sa', 0.1, 0.05, 0.15)), ['ra1', 'ra2'], 'sa0.1: both start after 0.1 exactly');
      assert.deepEqual(await ra(num('eb', 0.9, 0.85, 0.95)), ['ra1', 'ra2'], 'eb0.9: both end before 0.9 exactly');
      assert.deepEqual(await ra(num('eq', 0.8, 0.75, 0.85)), ['ra2'], 'eq keeps the precision range');
      assert.deepEqual(await ra(num('ne', 0.8, 0.75, 0.85)), ['ra1'], 'ne keeps the precision range');
      // o1 is 5.4 mg ([5.35, 5.45]), o2 and o3 are 7 mg ([6.5, 7.5]).
      assert.deepEqual(await observations(qty('gt', 7.45, 0.1)), ['o2', 'o3'], 'gt7.45 (written to one decimal)');
      assert.deepEqual(await observations(qty('eb', 7.55, 0.05)), ['o1', 'o2', 'o3']);
      const cvq: SearchExpr = { op: 'composite', param: 'code-value-quantity', components: [code('1234-5'), qty('lt', 1.2, 0.05)] };
      assert.deepEqual(await observations(cvq), ['o3'], 'a composite quantity component too');
    });

    it('quantity: value with system|code, ||unit, or any unit', async () => {
      assert.deepEqual(await observations(qty('eq', 7, 0.5, UCUM, 'mg')), ['o2']);
      assert.deepEqual(await observations(qty('eq', 7, 0.5, undefined, 'mg')), ['o2', 'o3']);
      assert.deepEqual(await observations(qty('eq', 7, 0.5, undefined, 'g')), []);
      assert.deepEqual(await observations(qty('eq', 7, 0.5, null)), ['o3']);
      assert.deepEqual(await observations(qty('eq', 7, 0.5, UCUM)), ['o2']);
      assert.deepEqual(await observations(qty('gt', 6, 0.5)), ['o2', 'o3']);
      assert.deepEqual(await observations(qty('le', 5.4, 0.05)), ['o1']);
    });

    it('reference: type/id, id alone, type alone, :identifier, canonical url|version', async () => {
      assert.deepEqual(await observations({ op: 'reference', param: 'subject', targetTypes: ['Patient'], id: 'p1' }), ['o1', 'o3']);
      assert.deepEqual(await observations({ op: 'reference', param: 'subject', id: 'p2' }), ['o2']);
      assert.deepEqual(await observations({ op: 'reference', param: 'subject', targetTypes: ['Group'], id: 'p1' }), []);
      assert.deepEqual(await patients({ op: 'reference', param: 'general-practitioner', targetTypes: ['Practitioner', 'Organization'], id: 'dr1' }), ['p1']);
      assert.deepEqual(await observations({ op: 'reference', param: 'performer', identifier: { system: 'urn:org', value: 'ORG1' } }), ['o1']);
      assert.deepEqual(await observations({ op: 'reference', param: 'performer', identifier: { value: 'ORG1' } }), ['o1']);
      assert.deepEqual(await observations({ op: 'reference', param: 'performer', identifier: { system: null, value: 'ORG1' } }), []);
      assert.deepEqual(await observations({ op: 'reference', param: 'based-on', url: 'http://example.org/plan/1' }), ['o2']);
      assert.deepEqual(await observations({ op: 'reference', param: 'based-on', url: 'http://example.org/plan/1', urlVersion: '2' }), ['o2']);
      assert.deepEqual(await observations({ op: 'reference', param: 'based-on', url: 'http://example.org/plan/1', urlVersion: '3' }), []);
    });

    it('uri: exact, :below and :above', async () => {
      const vs = (value: string, mode: 'exact' | 'above' | 'below'): Promise<string[]> => find(['ValueSet'], { op: 'uri', param: 'url', value, mode });
      assert.deepEqual(await vs('http://acme.org/fhir/ValueSet/123', 'exact'), ['vs1']);
      assert.deepEqual(await vs('http://acme.org/fhir/ValueSet/12', 'exact'), []);
      assert.deepEqual(await vs('http://acme.org/fhir/', 'below'), ['vs1', 'vs2']);
      assert.deepEqual(await vs('http://acme.org/fhir%', 'below'), ['vs4']);
      assert.deepEqual(await vs('http://acme.org/fhir/ValueSet/123/_history/5', 'above'), ['vs1']);
      assert.deepEqual(await vs('http://acme.org/fhir/ValueSet/12', 'above'), []);
    });

    it(':missing for each kind of index', async () => {
      assert.deepEqual(await patients({ op: 'missing', param: 'birthdate', kind: 'date', missing: true }), ['p4', 'p5']);
      assert.deepEqual(await patients({ op: 'missing', param: 'birthdate', kind: 'date', missing: false }), ['p1', 'p2', 'p3']);
      assert.deepEqual(await patients({ op: 'missing', param: 'identifier', kind: 'token', missing: true }), ['p3', 'p4', 'p5']);
      assert.deepEqual(await patients({ op: 'missing', param: 'family', kind: 'string', missing: true }), ['p5']);
      assert.deepEqual(await patients({ op: 'missing', param: 'general-practitioner', kind: 'reference', missing: false }), ['p1', 'p2']);
      assert.deepEqual(await observations({ op: 'missing', param: 'code-value-quantity', kind: 'composite', missing: false }), ['o1', 'o2', 'o3']);
      assert.deepEqual(await observations({ op: 'missing', param: 'value-quantity', kind: 'quantity', missing: true }), []);
      assert.deepEqual(await find(['RiskAssessment'], { op: 'missing', param: 'probability', kind: 'number', missing: false }), ['ra1', 'ra2']);
      assert.deepEqual(await find(['ValueSet'], { op: 'missing', param: 'url', kind: 'uri', missing: true }), []);
    });

    it('_id, also across several types', async () => {
      assert.deepEqual(await patients({ op: 'id', ids: ['p1', 'p3', 'zz', 'o1'] }), ['p1', 'p3']);
      assert.deepEqual(await patients({ op: 'id', ids: [] }), []);
      assert.deepEqual(await find(['Patient', 'Observation'], { op: 'id', ids: ['p1', 'o1'] }), ['o1', 'p1']);
    });

    it('_lastUpdated on the resource own lastUpdated', async () => {
      const t = ms(written.get('o2')!.lastUpdated);
      const lu = (prefix: Prefix): SearchExpr => ({ op: 'lastUpdated', prefix, low: t, high: t });
      assert.deepEqual(await observations(lu('eq')), ['o2']);
      assert.deepEqual(await observations(lu('ge')), ['o2', 'o3']);
      assert.deepEqual(await observations(lu('gt')), ['o3']);
      assert.deepEqual(await observations(lu('lt')), ['o1']);
      assert.deepEqual(await observations(lu('ne')), ['o1', 'o3']);
    });

    it('chains through references, also two levels deep', async () => {
      const chain = (param: string, targetTypes: string[], where: SearchExpr): SearchExpr => ({ op: 'chain', param, targetTypes, where });
      assert.deepEqual(await observations(chain('subject', ['Patient'], family('smiths'))), ['o2']);
      assert.deepEqual(await observations(chain('subject', ['Patient'], { op: 'token', param: 'identifier', system: 'urn:nhs', code: '111' })), ['o1', 'o3']);
      assert.deepEqual(await observations(chain('subject', ['Group'], family('smiths'))), []);
      assert.deepEqual(await patients(chain('general-practitioner', ['Practitioner'], family('house'))), ['p2']);
      assert.deepEqual(await observations(chain('subject', ['Patient'], chain('general-practitioner', ['Practitioner'], family('who')))), ['o1', 'o3']);
    });

    it('_has (reverse chain), also nested', async () => {
      const has = (targetType: string, param: string, where: SearchExpr): SearchExpr => ({ op: 'has', targetType, param, where });
      assert.deepEqual(await patients(has('Observation', 'subject', code('1234-5'))), ['p1', 'p2']);
      assert.deepEqual(await patients(has('Observation', 'subject', code('9999-9'))), ['p1']);
      assert.deepEqual(await patients(has('Observation', 'performer', code('9999-9'))), []);
      assert.deepEqual(await find(['Practitioner'], has('Patient', 'general-practitioner', gender('female'))), ['dr2']);
      assert.deepEqual(await find(['Practitioner'], has('Patient', 'general-practitioner', has('Observation', 'subject', code('9999-9')))), ['dr1']);
      // o1's performer reference has no target (identifier only): it must not poison the negation.
      assert.deepEqual(await patients({ op: 'not', arg: has('Observation', 'performer', code('1234-5')) }), PATIENTS);
      assert.deepEqual(await patients({ op: 'not', arg: has('Observation', 'subject', code('9999-9')) }), ['p2', 'p3', 'p4', 'p5']);
    });

    it('composite: all components satisfied by the same composite entry', async () => {
      const cvq = (c: string, value: Predicate): SearchExpr => ({ op: 'composite', param: 'code-value-quantity', components: [{ op: 'token', param: 'code', system: LOINC, code: c }, value] });
      assert.deepEqual(await observations(cvq('1234-5', qty('eq', 7, 0.5))), ['o2']);
      assert.deepEqual(await observations(cvq('1234-5', qty('eq', 5.4, 0.05))), ['o1']);
      assert.deepEqual(await observations(cvq('1234-5', qty('eq', 1, 0.5))), ['o3']);
      assert.deepEqual(await observations(cvq('9999-9', qty('eq', 1, 0.5))), [], 'components from two different entries do not combine');
      assert.deepEqual(await observations(cvq('9999-9', qty('eq', 7, 0.5, undefined, 'mg'))), ['o3']);
      assert.deepEqual(await observations(cvq('1234-5', qty('gt', 0, 0.5))), ['o1', 'o2', 'o3']);
    });

    it('and / or / not', async () => {
      assert.deepEqual(await patients({ op: 'and', args: [family('smith'), gender('female')] }), ['p2']);
      assert.deepEqual(await patients({ op: 'or', args: [{ op: 'token', param: 'identifier', system: 'urn:nhs', code: '111' }, gender('female', null)] }), ['p1', 'p3']);
      assert.deepEqual(await patients({ op: 'not', arg: gender('male') }), ['p2', 'p3', 'p4', 'p5']);
      assert.deepEqual(await patients({ op: 'not', arg: { op: 'or', args: [birthdate('eq', ...y(1980)), { op: 'missing', param: 'birthdate', kind: 'date', missing: true }] } }), ['p2']);
      assert.deepEqual(
        await patients({ op: 'and', args: [{ op: 'or', args: [family('smith'), family('jones')] }, { op: 'not', arg: birthdate('eq', ...y(1990)) }] }),
        ['p1', 'p3'],
      );
    });

    it('sorts by a string, lowest value ascending, highest descending, resources without a value last', async () => {
      assert.deepEqual(await idList(store, query(['Patient'], undefined, { sort: [asc('family', 'string')] })), ['p1', 'p3', 'p4', 'p2', 'p5']);
      assert.deepEqual(await idList(store, query(['Patient'], undefined, { sort: [desc('family', 'string')] })), ['p2', 'p1', 'p4', 'p3', 'p5']);
    });

    it('sorts by a date range (low ascending, high descending)', async () => {
      const up = await idList(store, query(['Patient'], undefined, { sort: [asc('birthdate', 'date')] }));
      assert.deepEqual(up.slice(0, 3), ['p3', 'p1', 'p2']);
      assert.deepEqual(up.slice(3).sort(), ['p4', 'p5']);
      const down = await idList(store, query(['Patient'], undefined, { sort: [desc('birthdate', 'date')] }));
      assert.deepEqual(down.slice(0, 3), ['p2', 'p3', 'p1']);
      assert.deepEqual(down.slice(3).sort(), ['p4', 'p5']);
    });

    it('sorts by _id, _lastUpdated, several keys, numbers and quantities', async () => {
      assert.deepEqual(await idList(store, query(['Patient'], undefined, { sort: [desc('_id', 'special')] })), ['p5', 'p4', 'p3', 'p2', 'p1']);
      assert.deepEqual(await idList(store, query(['Observation'], undefined, { sort: [desc('_lastUpdated', 'special')] })), ['o3', 'o2', 'o1']);
      assert.deepEqual(await idList(store, query(['Patient'], undefined, { sort: [asc('gender', 'token'), asc('family', 'string')] })), ['p3', 'p2', 'p1', 'p4', 'p5']);
      assert.deepEqual(await idList(store, query(['Patient'], undefined, { sort: [desc('gender', 'token'), asc('_id', 'special')] })), ['p5', 'p4', 'p1', 'p2', 'p3']);
      assert.deepEqual(await idList(store, query(['RiskAssessment'], undefined, { sort: [desc('probability', 'number')] })), ['ra2', 'ra1']);
      assert.deepEqual(await idList(store, query(['Observation'], undefined, { sort: [asc('value-quantity', 'quantity'), asc('_id', 'special')] })), ['o1', 'o2', 'o3']);
    });

    it('pages with count and offset over a stable order and reports accurate totals', async () => {
      const page = (count: number, offset: number) => store.search(query(['Patient'], undefined, { sort: [asc('family', 'string')], count, offset, total: 'accurate' }));
      const p = await page(2, 1);
      assert.deepEqual(p.entries.map((e) => e.id), ['p3', 'p4']);
      assert.equal(p.total, 5);
      assert.deepEqual((await page(2, 4)).entries.map((e) => e.id), ['p5']);
      const beyond = await page(2, 5);
      assert.deepEqual(beyond.entries, []);
      assert.equal(beyond.total, 5);
      const totalOnly = await page(0, 0);
      assert.deepEqual(totalOnly.entries, []);
      assert.equal(totalOnly.total, 5);
      const filtered = await store.search(query(['Patient'], family('smith'), { count: 1, total: 'accurate' }));
      assert.equal(filtered.entries.length, 1);
      assert.equal(filtered.total, 2);
      const estimate = await store.search(query(['Patient'], family('smith'), { total: 'estimate' }));
      assert.equal(typeof estimate.total, 'number');
      // Unsorted paging still partitions the result: no duplicates, nothing lost.
      const seen: string[] = [];
      for (let offset = 0; offset < 20; offset += 3) seen.push(...(await store.search(query(['Patient', 'Observation', 'ValueSet'], undefined, { count: 3, offset }))).entries.map((e) => `${e.resourceType}/${e.id}`));
      assert.equal(seen.length, 12);
      assert.equal(new Set(seen).size, 12);
    });
  });

  textSortPagingContract(open);

  describe('search after updates and deletes', () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await loadDataset(store);
    });
    afterEach(async () => {
      await store.close();
    });

    it('forgets the index entries of a deleted resource, for chains and _has too', async () => {
      await remove(store, 'Patient', 'p2');
      assert.deepEqual(await idSet(store, query(['Patient'], family('smith'))), ['p1']);
      assert.deepEqual(await idSet(store, query(['Patient'], { op: 'missing', param: 'family', kind: 'string', missing: false })), ['p1', 'p3', 'p4']);
      assert.deepEqual(await idSet(store, query(['Observation'], { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: family('smithson') })), []);
      assert.deepEqual(await idSet(store, query(['Practitioner'], { op: 'has', targetType: 'Patient', param: 'general-practitioner', where: gender('female') })), []);
      const total = await store.search(query(['Patient'], undefined, { total: 'accurate', count: 0 }));
      assert.equal(total.total, 4);
    });

    it('searches the new entries after an update, and chains see the target update', async () => {
      await put(store, { resourceType: 'Patient', id: 'p2' }, [{ kind: 'string', param: 'family', norm: 'brown', exact: 'Brown' }]);
      assert.deepEqual(await idSet(store, query(['Patient'], family('smith'))), ['p1']);
      assert.deepEqual(await idSet(store, query(['Patient'], family('brown'))), ['p2']);
      assert.deepEqual(await idSet(store, query(['Observation'], { op: 'chain', param: 'subject', targetTypes: ['Patient'], where: family('brown') })), ['o2']);
      assert.deepEqual(await idSet(store, query(['Patient'], { op: 'token', param: 'identifier', code: '222' })), []);
    });
  });
}

function textSortPagingContract(open: OpenStore): void {
  describe('search: _text / _content, chained sorts, keyset paging', () => {
    let store: Store;
    before(async () => {
      store = await open();
      for (const [r, index] of TEXT_DATASET) await put(store, r, index);
    });
    after(async () => {
      await store.close();
    });
    const patients = (where: SearchExpr): Promise<string[]> => idSet(store, query(['Patient'], where));
    const t = (scope: 'narrative' | 'content', q: string): SearchExpr => ({ op: 'text', scope, query: q });

    it('_text matches every word of the narrative, _content every word of the content', async () => {
      assert.deepEqual(await patients(t('narrative', 'clinic')), ['a', 'b']);
      assert.deepEqual(await patients(t('narrative', 'heart clinic')), ['a']);
      assert.deepEqual(await patients(t('narrative', 'heart')), ['a']);
      assert.deepEqual(await patients(t('content', 'heart')), ['a', 'c']);
      assert.deepEqual(await patients(t('content', 'jones')), ['b', 'c']);
      assert.deepEqual(await patients(t('narrative', 'jones')), []);
      assert.deepEqual(await patients(t('narrative', 'clin')), [], 'whole words only');
      assert.deepEqual(await patients({ op: 'or', args: [t('narrative', 'lung'), t('content', 'heart jones')] }), ['b', 'c']);
      assert.deepEqual(await patients({ op: 'not', arg: t('narrative', 'clinic') }), ['c', 'd']);
      assert.deepEqual(await patients({ op: 'and', args: [t('content', 'heart'), { op: 'string', param: 'family', value: 'jones', mode: 'start' }] }), ['c']);
    });

    it('chained sort: by the referenced patient birthdate, either direction, unresolved references last', async () => {
      const bySubject = (descending: boolean, then: SortKey[] = []): SortKey[] => [
        { param: 'birthdate', kind: 'date', descending, chain: [{ param: 'subject', targetTypes: ['Patient'] }] },
        ...then,
      ];
      const up = await idList(store, query(['Encounter'], undefined, { sort: bySubject(false, [asc('_id', 'special')]) }));
      assert.deepEqual(up, ['e2', 'e4', 'e1', 'e5', 'e3', 'e6', 'e7']);
      const down = await idList(store, query(['Encounter'], undefined, { sort: bySubject(true, [asc('_id', 'special')]) }));
      assert.deepEqual(down, ['e1', 'e5', 'e2', 'e4', 'e3', 'e6', 'e7']);
      const byFamily = await idList(store, query(['Encounter'], undefined, { sort: [{ param: 'family', kind: 'string', descending: false, chain: [{ param: 'subject', targetTypes: ['Patient'] }] }, desc('_id', 'special')] }));
      assert.deepEqual(byFamily, ['e3', 'e2', 'e5', 'e4', 'e1', 'e7', 'e6']);
    });

    it('keyset pages give exactly the unpaged result, also with ties across page boundaries', async () => {
      const sorts: SortKey[][] = [
        [],
        [asc('_lastUpdated', 'special')],
        [desc('_lastUpdated', 'special')],
        [desc('_id', 'special')],
        [asc('family', 'string')],
        [desc('family', 'string'), asc('birthdate', 'date')],
        [asc('birthdate', 'date'), desc('_id', 'special')],
      ];
      for (const sort of sorts) {
        const q = query(['Patient', 'Encounter'], undefined, { sort });
        const all = await idList(store, q);
        assert.equal(all.length, 11);
        for (const count of [1, 2, 3, 5]) assert.deepEqual(await pageThrough(store, q, count), all, `sort ${JSON.stringify(sort)}, pages of ${count}`);
      }
    });

    it('a _lastUpdated page that may be followed by more rows carries a position; the last page does not', async () => {
      for (const sort of [[asc('_lastUpdated', 'special')], [desc('_lastUpdated', 'special')]]) {
        const q = query(['Patient'], undefined, { sort, count: 3 });
        const first = await store.search(q);
        assert.equal(first.entries.length, 3);
        assert.ok(first.next !== undefined, 'a _lastUpdated sort allows keyset paging');
        const second = await store.search({ ...q, after: first.next, offset: 1000 });
        assert.equal(second.entries.length, 1, 'after wins over offset');
        assert.equal(second.next, undefined);
        assert.deepEqual([...first.entries, ...second.entries].map((e) => e.id), sort[0]!.descending ? ['d', 'c', 'b', 'a'] : ['a', 'b', 'c', 'd']);
        const exact = await store.search({ ...q, count: 4 });
        assert.equal(exact.next, undefined, 'no position when nothing follows');
      }
    });

    it('the watermark: the newest lastUpdated when the page was served; later writes are newer', async () => {
      const s = await open();
      try {
        const a = await put(s, res({ resourceType: 'Patient', id: 'w1' }), [text('_text', 'alpha')]);
        const q = query(['Patient'], undefined, { sort: [desc('_lastUpdated', 'special')] });
        assert.equal((await s.search(q)).watermark, undefined, 'only when asked for');
        const first = await s.search({ ...q, watermark: true });
        assert.equal(first.watermark, Date.parse(a.lastUpdated));
        const b = await put(s, res({ resourceType: 'Observation', id: 'w2' }), []);
        assert.ok(Date.parse(b.lastUpdated) > first.watermark!, 'a write of any type after the page is newer');
        assert.equal((await s.search({ ...q, watermark: true })).watermark, Date.parse(b.lastUpdated));
      } finally {
        await s.close();
      }
    });

    it('text entries follow updates and deletes', async () => {
      const s = await open();
      try {
        await put(s, res({ resourceType: 'Patient', id: 'x' }), [text('_text', 'alpha beta')]);
        assert.deepEqual(await idSet(s, query(['Patient'], t('narrative', 'alpha'))), ['x']);
        await put(s, res({ resourceType: 'Patient', id: 'x' }), [text('_text', 'gamma')]);
        assert.deepEqual(await idSet(s, query(['Patient'], t('narrative', 'alpha'))), []);
        assert.deepEqual(await idSet(s, query(['Patient'], t('narrative', 'gamma'))), ['x']);
        await remove(s, 'Patient', 'x');
        assert.deepEqual(await idSet(s, query(['Patient'], t('narrative', 'gamma'))), []);
        await put(s, res({ resourceType: 'Patient', id: 'x' }), [text('_text', 'gamma')]);
        assert.deepEqual(await idSet(s, query(['Patient'], t('narrative', 'gamma'))), ['x'], 'recreated after delete');
      } finally {
        await s.close();
      }
    });
  });
}
