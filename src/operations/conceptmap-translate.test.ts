/**
 * `ConceptMap/$translate` over HTTP (FHIR R4 conceptmap-operation-translate.html): stored and R4
 * ConceptMaps, equivalences, unmapped rules, reverse, source/target/targetsystem; a system no local
 * map translates (SNOMED CT to ICD-10 beyond a fragment map, dm+d) is "not available" (422).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Parameters } from 'fhir/r4';
import { FHIR_JSON, type TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, FRAGMENT, RGB, SNOMED, out, terminologyApp } from './testing/terminology-fixture';

const matches = (b: Parameters): string[] =>
  (b.parameter ?? [])
    .filter((p) => p.name === 'match')
    .map((p) => `${p.part?.find((x) => x.name === 'equivalence')?.valueCode} ${p.part?.find((x) => x.name === 'concept')?.valueCoding?.code}`);

describe('operations/conceptmap-translate: ConceptMap/$translate', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const translate = (q: string) => request(t.app).get(`/fhir/ConceptMap/$translate?${q}`);
  const enc = encodeURIComponent;

  it('translates with the stored map: matches with equivalence, concept and source; result true', async () => {
    const res = await translate(`system=${enc(COLOURS)}&code=red`);
    assert.equal(res.status, 200, res.text);
    assert.equal(out(res.body, 'result'), true);
    assert.deepEqual(matches(res.body as Parameters), ['equivalent ff0000']);
    const match = (res.body as Parameters).parameter?.find((p) => p.name === 'match');
    assert.deepEqual(match?.part?.find((x) => x.name === 'concept')?.valueCoding, { system: RGB, code: 'ff0000' });
    assert.equal(match?.part?.find((x) => x.name === 'source')?.valueUri, 'http://example.org/cm/colours-to-rgb');
    assert.deepEqual(matches((await translate(`system=${enc(COLOURS)}&code=green`)).body), ['wider 00ff00', 'disjoint 0000ff']);
  });

  it('unmatched only is result=false; a mapping with dependencies is not a match (the message says why)', async () => {
    const none = await translate(`system=${enc(COLOURS)}&code=colour`);
    assert.equal(out(none.body, 'result'), false);
    assert.deepEqual(matches(none.body), ['unmatched undefined']);
    const blue = await translate(`system=${enc(COLOURS)}&code=blue`);
    assert.equal(out(blue.body, 'result'), false);
    assert.match(String(out(blue.body, 'message')), /dependencies/);
  });

  it('a code the maps of a complete system do not have: result=false; unmapped rules (fixed) apply', async () => {
    const res = await translate(`system=${enc(COLOURS)}&code=purple`);
    assert.equal(res.status, 200, res.text);
    assert.equal(out(res.body, 'result'), false);
    assert.match(String(out(res.body, 'message')), /not mapped/);
    assert.deepEqual(matches((await translate(`system=${enc(FRAGMENT)}&code=c`)).body), ['inexact 0000ff']);
  });

  it('reverse, url, instance, source/target/targetsystem select maps; an R4 map works', async () => {
    assert.deepEqual(matches((await translate(`system=${enc(RGB)}&code=8b0000&reverse=true`)).body), ['wider dark-red']);
    assert.deepEqual(matches((await translate(`url=${enc('http://example.org/cm/colours-to-rgb')}&system=${enc(COLOURS)}&code=red`)).body), ['equivalent ff0000']);
    assert.deepEqual(matches((await request(t.app).get(`/fhir/ConceptMap/colours-to-rgb/$translate?coding=${enc(`${COLOURS}|red`)}`)).body), ['equivalent ff0000']);
    assert.equal(out((await translate(`system=${enc(COLOURS)}&code=red&source=${enc('http://example.org/vs/all-colours')}&target=${enc('http://example.org/vs/rgb')}`)).body, 'result'), true);
    assertNotAvailable(await translate(`system=${enc(COLOURS)}&code=red&targetsystem=${enc('urn:elsewhere')}`), COLOURS);
    assertNotAvailable(await translate(`system=${enc(COLOURS)}&code=red&source=${enc('http://example.org/vs/other')}`), COLOURS);
    const r4 = await translate(`system=${enc('http://hl7.org/fhir/administrative-gender')}&code=female&targetsystem=${enc('http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender')}`);
    assert.deepEqual(matches(r4.body), ['equal F']);
    assert.equal((await translate(`url=${enc('http://example.org/cm/none')}&system=${enc(COLOURS)}&code=red`)).status, 404);
  });

  it('a ConceptMap given in the request (POST), and a codeableConcept', async () => {
    const res = await request(t.app)
      .post('/fhir/ConceptMap/$translate')
      .set('Content-Type', FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Parameters',
          parameter: [
            { name: 'conceptMap', resource: { resourceType: 'ConceptMap', status: 'draft', group: [{ source: 'urn:a', target: 'urn:b', element: [{ code: 'x', target: [{ code: 'y', equivalence: 'equal' }] }], unmapped: { mode: 'provided' } }] } },
            { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:a', code: 'x' }, { system: 'urn:a', code: 'q' }] } },
          ],
        }),
      );
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(matches(res.body as Parameters), ['equal y', 'equal q']);
  });

  it('SNOMED CT beyond what a local map lists, and dm+d, are not available (422), never result=false', async () => {
    assert.deepEqual(matches((await translate(`system=${enc(SNOMED)}&code=22298006`)).body), ['equivalent I21.9']);
    assertNotAvailable(await translate(`system=${enc(SNOMED)}&code=404684003`), SNOMED);
    assertNotAvailable(await translate(`system=${enc(DMD)}&code=39720311000001101`), DMD);
    assert.equal((await translate(`system=${enc(COLOURS)}&code=red&dependency=x`)).status, 400, 'dependency is not supported: refused, not ignored');
  });
});
