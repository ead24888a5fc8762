/**
 * Request limits over HTTP (FHIR R4 http.html status codes, bundle.html, search.html; OperationOutcome
 * issue type `too-costly`; docs/limits.md): every limit answers the right status (413 for content,
 * 400 for queries and criteria) with issue code `too-costly`, diagnostics naming the limit's
 * configuration variable and an `expression` naming the offending element or parameter; nothing is
 * stored; a request exactly at the limit is served. The queries that used to answer 500 (1 000 OR
 * values, 1 000 `_sort` keys) are refused as too costly, and random queries within the limits never
 * answer 5xx.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { splitUnescaped } from '../../src/search/parse';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';

interface Outcome {
  issue: Array<{ code: string; diagnostics?: string; expression?: string[] }>;
}

function assertTooCostly(res: request.Response, status: number, variable: string, expression: string): void {
  assert.equal(res.status, status, res.text);
  const issue = (res.body as Outcome).issue[0]!;
  assert.equal(issue.code, 'too-costly', res.text);
  assert.match(issue.diagnostics ?? '', new RegExp(`\\(${variable}\\)`), res.text);
  assert.ok(issue.expression?.includes(expression), `expression ${JSON.stringify(issue.expression)} names ${expression}`);
}

const LIMITS = {
  ...GENERIC_ENGINE,
  MAX_BUNDLE_ENTRIES: '5',
  MAX_ARRAY_LENGTH: '20',
  MAX_RESOURCE_ELEMENTS: '200',
  MAX_SORT_KEYS: '3',
  MAX_OR_VALUES: '10',
  MAX_PARAMETER_REPEATS: '4',
  MAX_QUERY_PARAMETERS: '12',
  MAX_QUERY_VALUES: '30',
  MAX_TEXT_TERMS: '5',
  MAX_CONDITIONAL_PARAMETERS: '2',
};

const names = (n: number) => Array.from({ length: n }, (_, i) => ({ family: `Fam${i}` }));
const entry = (resource: unknown) => ({ resource, request: { method: 'POST', url: (resource as { resourceType: string }).resourceType } });

describe('security: request limits', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp(LIMITS);
  });
  afterEach(() => t.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => request(t.app).post(`/fhir${path}`).set('Content-Type', FHIR_JSON).set(headers).send(JSON.stringify(body));
  const get = (path: string) => request(t.app).get(`/fhir/${path}`);
  const count = async (query: string): Promise<number> => ((await get(`${query}${query.includes('?') ? '&' : '?'}_total=accurate`)).body as { total: number }).total;

  describe('content (413)', () => {
    it('MAX_BUNDLE_ENTRIES: a transaction or batch with more entries is refused whole; exactly the limit is processed', async () => {
      const pats = (n: number) => Array.from({ length: n }, (_, i) => entry({ resourceType: 'Patient', name: [{ family: `Bundled${i}` }] }));
      for (const type of ['transaction', 'batch']) {
        assertTooCostly(await post('', { resourceType: 'Bundle', type, entry: pats(6) }), 413, 'MAX_BUNDLE_ENTRIES', 'Bundle.entry');
      }
      assert.equal(await count('Patient'), 0, 'nothing of the refused Bundles was stored');
      const ok = await post('', { resourceType: 'Bundle', type: 'transaction', entry: pats(5) });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(await count('Patient'), 5);
    });

    it('MAX_ARRAY_LENGTH: a resource with a longer array is refused naming the array; the same inside a transaction names the entry', async () => {
      assertTooCostly(await post('/Patient', { resourceType: 'Patient', name: names(21) }), 413, 'MAX_ARRAY_LENGTH', 'Patient.name');
      const put = await request(t.app).put('/fhir/Patient/p1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'p1', name: [{ given: Array.from({ length: 25 }, (_, i) => `G${i}`) }] }));
      assertTooCostly(put, 413, 'MAX_ARRAY_LENGTH', 'Patient.name[0].given');
      const tx = await post('', { resourceType: 'Bundle', type: 'transaction', entry: [entry({ resourceType: 'Patient' }), entry({ resourceType: 'Patient', name: names(21) })] });
      assertTooCostly(tx, 413, 'MAX_ARRAY_LENGTH', 'Bundle.entry[1].resource.name');
      assert.equal(await count('Patient'), 0);
      assert.equal((await post('/Patient', { resourceType: 'Patient', name: names(20) })).status, 201);
    });

    it('MAX_RESOURCE_ELEMENTS: a resource with more JSON values is refused naming the resource; each Bundle entry counts on its own', async () => {
      // 1 + 1 + 1 + 20 names x (object + family + given array + 3 given) = 123 values: within 200.
      const within = { resourceType: 'Patient', name: Array.from({ length: 20 }, (_, i) => ({ family: `F${i}`, given: ['a', 'b', 'c'] })) };
      const over = { resourceType: 'Patient', name: Array.from({ length: 20 }, (_, i) => ({ family: `F${i}`, given: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] })) };
      assertTooCostly(await post('/Patient', over), 413, 'MAX_RESOURCE_ELEMENTS', 'Patient');
      assertTooCostly(await post('', { resourceType: 'Bundle', type: 'batch', entry: [entry(within), entry(over)] }), 413, 'MAX_RESOURCE_ELEMENTS', 'Bundle.entry[1].resource');
      // Three entries of 123 values: 369 in all, each resource within the limit.
      const ok = await post('', { resourceType: 'Bundle', type: 'transaction', entry: [entry(within), entry(within), entry(within)] });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(await count('Patient'), 3);
    });

    it('a PATCH that would grow the resource past the limits is refused and changes nothing', async () => {
      const created = await post('/Patient', { resourceType: 'Patient', name: names(15) });
      const id = (created.body as { id: string }).id;
      const patch = (ops: unknown[]) => request(t.app).patch(`/fhir/Patient/${id}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify(ops));
      // Six copies of one name: 21 names, over MAX_ARRAY_LENGTH, caught on the patched result.
      assertTooCostly(await patch(Array.from({ length: 6 }, () => ({ op: 'copy', from: '/name/0', path: '/name/-' }))), 413, 'MAX_ARRAY_LENGTH', 'Patient.name');
      // Copying the names into themselves doubles the document each time: refused before it grows.
      const doubling = await patch(Array.from({ length: 12 }, () => ({ op: 'copy', from: '/name', path: '/name/0' })));
      assertTooCostly(doubling, 413, 'MAX_RESOURCE_ELEMENTS', 'Patient');
      const read = await get(`Patient/${id}`);
      assert.equal(read.body.meta.versionId, '1');
      assert.equal(read.body.name.length, 15);
    });
  });

  describe('queries and criteria (400)', () => {
    const q = (n: number, p = 'v') => Array.from({ length: n }, (_, i) => `${p}${i}`).join(',');

    it('MAX_OR_VALUES, MAX_QUERY_VALUES: too many comma-separated values of a parameter, or of the query', async () => {
      assertTooCostly(await get(`Patient?family=${q(11)}`), 400, 'MAX_OR_VALUES', 'family');
      assertTooCostly(await get(`Observation?subject:Patient.name=${q(11)}`), 400, 'MAX_OR_VALUES', 'subject:Patient.name');
      assertTooCostly(await get(`Patient?family=${q(10)}&given=${q(10)}&name=${q(10)}&address=x`), 400, 'MAX_QUERY_VALUES', 'address');
      assert.equal((await get(`Patient?family=${q(10)}&given=${q(10)}&name=${q(10)}`)).status, 200);
    });

    it('MAX_PARAMETER_REPEATS, MAX_QUERY_PARAMETERS: a parameter repeated too often, a query with too many parameters', async () => {
      assertTooCostly(await get(`Patient?${Array.from({ length: 5 }, (_, i) => `birthdate=ge19${10 + i}`).join('&')}`), 400, 'MAX_PARAMETER_REPEATS', 'birthdate');
      const many = ['family=a', 'given=b', 'gender=male', 'birthdate=ge1900', 'address=x', 'name=y', 'telecom=1', 'email=e', 'phone=2', 'active=true', 'language=en', 'identifier=i', '_count=5'];
      assertTooCostly(await get(`Patient?${many.join('&')}`), 400, 'MAX_QUERY_PARAMETERS', '_count');
      assert.equal((await get(`Patient?${many.slice(0, 12).join('&')}`)).status, 200);
      // POST _search (a form body, not bounded by the URL length) has the same limits.
      const form = await request(t.app).post('/fhir/Patient/_search').type('form').send(many.join('&'));
      assertTooCostly(form, 400, 'MAX_QUERY_PARAMETERS', '_count');
    });

    it('MAX_SORT_KEYS: too many _sort keys, over one or several _sort parameters', async () => {
      assertTooCostly(await get('Patient?_sort=family,-birthdate,gender,given'), 400, 'MAX_SORT_KEYS', '_sort');
      assertTooCostly(await get('Patient?_sort=family,-birthdate&_sort=gender,given'), 400, 'MAX_SORT_KEYS', '_sort');
      assert.equal((await get('Patient?_sort=family,-birthdate,gender')).status, 200);
    });

    it('MAX_TEXT_TERMS: too many words in _content or _text', async () => {
      assertTooCostly(await get('Patient?_content=one two three four five six'), 400, 'MAX_TEXT_TERMS', '_content');
      assertTooCostly(await get('Patient?_text=one,two,three,four,five,six'), 400, 'MAX_TEXT_TERMS', '_text');
      assert.equal((await get('Patient?_content=one two three four five')).status, 200);
    });

    it('MAX_CONDITIONAL_PARAMETERS: If-None-Exist, conditional update/delete/patch and Bundle criteria with too many parameters do nothing', async () => {
      const pat = { resourceType: 'Patient', identifier: [{ system: 'urn:s', value: '1' }] };
      const criteria = 'identifier=urn:s|1&family=x&gender=male';
      assertTooCostly(await post('/Patient', pat, { 'If-None-Exist': criteria }), 400, 'MAX_CONDITIONAL_PARAMETERS', 'If-None-Exist');
      assertTooCostly(await request(t.app).put(`/fhir/Patient?${criteria}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(pat)), 400, 'MAX_CONDITIONAL_PARAMETERS', 'url');
      assertTooCostly(await request(t.app).delete(`/fhir/Patient?${criteria}`), 400, 'MAX_CONDITIONAL_PARAMETERS', 'url');
      const tx = await post('', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: pat, request: { method: 'POST', url: 'Patient', ifNoneExist: criteria } }] });
      assertTooCostly(tx, 400, 'MAX_CONDITIONAL_PARAMETERS', 'Bundle.entry[0].request.ifNoneExist');
      const ref = await post('', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient?${criteria}` } }, request: { method: 'POST', url: 'Observation' } }],
      });
      assertTooCostly(ref, 400, 'MAX_CONDITIONAL_PARAMETERS', 'Bundle.entry[0].resource');
      assert.equal(await count('Patient'), 0);
      assert.equal(await count('Observation'), 0);
      const ok = await post('/Patient', pat, { 'If-None-Exist': 'identifier=urn:s|1&family=x' });
      assert.equal(ok.status, 201, ok.text);
    });
  });
});

describe('security: no 5xx for queries within the limits (server defaults)', () => {
  let t: TestApp;
  before(async () => {
    t = testApp(GENERIC_ENGINE);
    const tx = await request(t.app)
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { fullUrl: 'urn:uuid:a0000000-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Alpha', given: ['Ann'] }], birthDate: '1970-01-01', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
            { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1-1' }] }, subject: { reference: 'urn:uuid:a0000000-0000-4000-8000-000000000001' }, effectiveDateTime: '2020-01-01' }, request: { method: 'POST', url: 'Observation' } },
          ],
        }),
      );
    assert.equal(tx.status, 200, tx.text);
  });
  after(() => t.close());

  it('the queries that used to fail with 500 (1 000 OR values, 1 000 _sort keys, 1 000 repeated parameters) are 400 too-costly', async () => {
    const values = Array.from({ length: 1000 }, (_, i) => `n${i}`).join(',');
    for (const query of [
      `Patient?family=${values}`,
      `Patient?_sort=${Array.from({ length: 1000 }, (_, i) => (i % 2 ? 'family' : '-birthdate')).join(',')}`,
      `Observation?date=${Array.from({ length: 1000 }, (_, i) => `ge20${String(i % 100).padStart(2, '0')}`).join(',')}`,
      `Patient?_content=${values}`,
    ]) {
      const res = await request(t.app).get(`/fhir/${query}`);
      assert.equal(res.status, 400, `${query.slice(0, 40)}: ${res.text.slice(0, 300)}`);
      assert.equal((res.body as Outcome).issue[0]!.code, 'too-costly');
    }
    const form = await request(t.app).post('/fhir/Patient/_search').type('form').send(Array.from({ length: 1000 }, (_, i) => `family=n${i}`).join('&'));
    assert.equal(form.status, 400, form.text);
  });

  it('random searches, within and beyond the default limits, never answer 5xx; beyond a limit they are 400 too-costly', async () => {
    const { limits } = t.config;
    const patientParams = ['family', 'given', 'name', 'address', 'identifier', 'telecom', 'gender', 'birthdate', 'general-practitioner', 'organization', '_id', '_lastUpdated', '_content', '_text', '_has:Observation:patient:code', 'link:Patient.name'];
    const valueArb = fc.oneof(fc.constantFrom('a', 'Alpha', 'ge1970', 'lt2020-01-01', 'urn:s|1', 'http://loinc.org|1-1', 'Patient/x', '1970', 'female', 'x y'), fc.string({ maxLength: 6 }));
    // Small queries, and queries around each limit (up to 1.5 times it): some within all, many beyond one.
    const around = <T>(arb: fc.Arbitrary<T>, limit: number, min = 0): fc.Arbitrary<T[]> =>
      fc.oneof(fc.array(arb, { minLength: min, maxLength: 4 }), fc.array(arb, { minLength: Math.max(min, Math.floor(limit * 0.8)), maxLength: Math.ceil(limit * 1.5), size: 'max' }));
    const paramArb = fc.tuple(fc.constantFrom(...patientParams), around(valueArb, limits.maxOrValues, 1).map((vs) => vs.join(',')));
    const queryArb = fc.record({
      params: around(paramArb, limits.maxQueryParameters),
      sort: around(fc.constantFrom('family', '-birthdate', 'gender', '_id', '-_lastUpdated', 'general-practitioner:Practitioner.name', 'address'), limits.maxSortKeys),
    });
    let within = 0;
    await fc.assert(
      fc.asyncProperty(queryArb, async ({ params, sort }) => {
        const pairs: Array<[string, string]> = [...params];
        if (sort.length > 0) pairs.push(['_sort', sort.join(',')]);
        const res = await request(t.app).post('/fhir/Patient/_search').type('form').send(new URLSearchParams(pairs).toString());
        assert.ok(res.status < 500, `${res.status} for ${JSON.stringify(pairs).slice(0, 500)}: ${res.text.slice(0, 300)}`);
        const costly = res.status === 400 && (res.body as Outcome).issue[0]?.code === 'too-costly';
        if (!costly) within++;
        const over = pairs.length > limits.maxQueryParameters || sort.length > limits.maxSortKeys || params.some(([, v]) => splitUnescaped(v, ',').filter((x) => x !== '').length > limits.maxOrValues);
        if (over) assert.ok(costly, `over a limit but ${res.status}: ${res.text.slice(0, 300)}`);
      }),
      { numRuns: 150 },
    );
    assert.ok(within > 10 && within < 140, `${within} of the 150 random queries were within the limits`);
  });
});
