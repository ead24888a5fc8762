/**
 * `ValueSet/$expand` over HTTP (FHIR R4 valueset-operation-expand.html) over the local terminology:
 * stored and R4 value sets, filters, paging, designations, activeOnly; SNOMED CT, dm+d and fragments
 * are "not available" (422 not-supported), an unknown value set 404.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { ValueSet } from 'fhir/r4';
import { FHIR_JSON, type TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, FRAGMENT, SNOMED, terminologyApp } from './testing/terminology-fixture';
import { passesFilter } from './valueset-expand';

const codes = (vs: ValueSet): string[] => (vs.expansion?.contains ?? []).map((c) => c.code!);

describe('operations/valueset-expand: ValueSet/$expand', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const expand = (q: string) => request(t.app).get(`/fhir/ValueSet/$expand?${q}`);

  it('expands a stored value set by url, and the instance, with total, displays and the value set metadata', async () => {
    for (const res of [await expand('url=http://example.org/vs/warm'), await request(t.app).get('/fhir/ValueSet/warm/$expand'), await expand('url=http://example.org/vs/warm&valueSetVersion=2')]) {
      assert.equal(res.status, 200, res.text);
      const vs = res.body as ValueSet;
      assert.equal(vs.url, 'http://example.org/vs/warm');
      assert.equal(vs.compose, undefined, 'the definition only with includeDefinition');
      assert.equal(vs.expansion?.total, 2);
      assert.deepEqual(vs.expansion?.contains, [
        { system: COLOURS, code: 'red', display: 'Red' },
        { system: COLOURS, code: 'dark-red', display: 'Dark red' },
      ]);
      assert.match(vs.expansion?.identifier ?? '', /^urn:uuid:/);
    }
    assert.equal((await expand('url=http://example.org/vs/warm&valueSetVersion=9')).status, 404);
  });

  it('expands an R4 value set and one given in the request (POST valueSet)', async () => {
    const r4 = await expand('url=http://hl7.org/fhir/ValueSet/administrative-gender');
    assert.deepEqual(codes(r4.body as ValueSet), ['male', 'female', 'other', 'unknown']);
    const inline = await request(t.app)
      .post('/fhir/ValueSet/$expand')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: { resourceType: 'ValueSet', status: 'draft', compose: { include: [{ system: COLOURS, concept: [{ code: 'blue' }] }] } } }] }));
    assert.equal(inline.status, 200, inline.text);
    assert.deepEqual((inline.body as ValueSet).expansion?.contains, [{ system: COLOURS, code: 'blue', display: 'Blue' }]);
  });

  it('filter, activeOnly, abstract and inactive flags, designations, includeDefinition', async () => {
    const all = (await expand('url=http://example.org/vs/all-colours')).body as ValueSet;
    assert.deepEqual(codes(all), ['colour', 'red', 'dark-red', 'green', 'blue']);
    assert.equal(all.expansion?.contains?.[0]?.abstract, true, 'notSelectable');
    assert.equal(all.expansion?.contains?.find((c) => c.code === 'green')?.inactive, true);
    assert.deepEqual(codes((await expand('url=http://example.org/vs/all-colours&activeOnly=true')).body), ['colour', 'red', 'dark-red', 'blue']);
    assert.deepEqual(codes((await expand('url=http://example.org/vs/all-colours&filter=RED')).body), ['red', 'dark-red']);
    assert.deepEqual(codes((await expand('url=http://example.org/vs/all-colours&filter=dark%20r')).body), ['dark-red']);
    const d = (await expand('url=http://example.org/vs/all-colours&includeDesignations=true&includeDefinition=true')).body as ValueSet;
    assert.deepEqual(d.expansion?.contains?.find((c) => c.code === 'red')?.designation, [{ language: 'es', value: 'Rojo' }]);
    assert.ok(d.compose?.include.length === 1);
  });

  it('offset and count page the flat expansion; count=0 gives the total only', async () => {
    const page = (await expand('url=http://example.org/vs/all-colours&offset=1&count=2')).body as ValueSet;
    assert.deepEqual(codes(page), ['red', 'dark-red']);
    assert.equal(page.expansion?.total, 5);
    assert.equal(page.expansion?.offset, 1);
    const none = (await expand('url=http://example.org/vs/all-colours&count=0')).body as ValueSet;
    assert.equal(none.expansion?.total, 5);
    assert.equal(none.expansion?.contains, undefined);
  });

  it('SNOMED CT, dm+d and a fragment are not available (422 not-supported), never an empty expansion', async () => {
    assertNotAvailable(await expand('url=http://example.org/vs/snomed-findings'), SNOMED);
    assertNotAvailable(await expand('url=http://example.org/vs/dmd'), DMD);
    assertNotAvailable(await expand('url=http://example.org/vs/fragment-all'), FRAGMENT);
    assertNotAvailable(await expand(`url=${encodeURIComponent('http://snomed.info/sct?fhir_vs=isa/404684003')}`), SNOMED);
    // An explicit list of SNOMED CT codes needs no SNOMED CT content.
    assert.deepEqual(codes((await expand('url=http://example.org/vs/listed-snomed')).body), ['22298006']);
  });

  it('an unknown value set is 404; url and valueSet together, or neither, are 400; unknown parameters 400', async () => {
    assert.equal((await expand('url=http://example.org/vs/none')).status, 404);
    assert.equal((await request(t.app).get('/fhir/ValueSet/none/$expand')).status, 404);
    assert.equal((await request(t.app).get('/fhir/ValueSet/$expand')).status, 400);
    assert.equal((await expand('url=http://example.org/vs/warm&date=2020-01-01')).status, 400, 'date cannot be honoured: refused, not ignored');
  });

  it('passesFilter: code prefix, or every word starts a word of the display', () => {
    assert.ok(passesFilter('dar', 'dark-red', 'Dark red'));
    assert.ok(passesFilter('red dar', 'x', 'Dark red'));
    assert.ok(!passesFilter('blue', 'x', 'Dark red'));
    assert.ok(passesFilter('éte', 'x', 'Été'));
  });
});
