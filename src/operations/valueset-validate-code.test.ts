/**
 * `ValueSet/$validate-code` over HTTP (FHIR R4 valueset-operation-validate-code.html): membership in
 * the local expansion, displays, codeableConcepts; value sets that need SNOMED CT or dm+d are "not
 * available" (422), never `result: false`.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, type TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, SNOMED, out, terminologyApp } from './testing/terminology-fixture';

describe('operations/valueset-validate-code: ValueSet/$validate-code', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const vc = (q: string) => request(t.app).get(`/fhir/ValueSet/$validate-code?${q}`);
  const enc = encodeURIComponent;

  it('a code of the value set is valid (its display returned); one outside it is not, with a message', async () => {
    const ok = await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=dark-red`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(out(ok.body, 'result'), true);
    assert.equal(out(ok.body, 'display'), 'Dark red');
    const no = await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=blue`);
    assert.equal(out(no.body, 'result'), false);
    assert.match(String(out(no.body, 'message')), /not in the value set/);
    // The instance, and a Coding at GET (system|code).
    const inst = await request(t.app).get(`/fhir/ValueSet/warm/$validate-code?coding=${enc(`${COLOURS}|red`)}`);
    assert.equal(out(inst.body, 'result'), true, inst.text);
  });

  it('case-insensitive code systems match in their own spelling; the display is checked (designations count)', async () => {
    assert.equal(out((await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=RED`)).body, 'result'), true);
    assert.equal(out((await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=red&display=rojo`)).body, 'result'), true);
    const wrong = await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=red&display=Green`);
    assert.equal(out(wrong.body, 'result'), false);
    assert.match(String(out(wrong.body, 'message')), /not a display/);
  });

  it('a codeableConcept is valid when one of its codings is', async () => {
    const res = await request(t.app)
      .post('/fhir/ValueSet/$validate-code')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: 'http://hl7.org/fhir/ValueSet/administrative-gender' }, { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:other', code: 'x' }, { system: 'http://hl7.org/fhir/administrative-gender', code: 'female' }] } }] }));
    assert.equal(res.status, 200, res.text);
    assert.equal(out(res.body, 'result'), true);
  });

  it('value sets over SNOMED CT or dm+d are not available (422), never result=false; an explicit SNOMED CT list is answered', async () => {
    assertNotAvailable(await vc(`url=http://example.org/vs/snomed-findings&system=${enc(SNOMED)}&code=22298006`), SNOMED);
    assertNotAvailable(await vc(`url=http://example.org/vs/dmd&system=${enc(DMD)}&code=39720311000001101`), DMD);
    assert.equal(out((await vc(`url=http://example.org/vs/listed-snomed&system=${enc(SNOMED)}&code=22298006`)).body, 'result'), true);
    assert.equal(out((await vc(`url=http://example.org/vs/listed-snomed&system=${enc(SNOMED)}&code=1234`)).body, 'result'), false);
  });

  it('needs exactly one of code, coding, codeableConcept; a code needs its system; an unknown value set is 404; an unknown system version 422', async () => {
    assert.equal((await vc('url=http://example.org/vs/warm&code=red')).status, 400);
    assert.equal((await vc('url=http://example.org/vs/warm')).status, 400);
    assert.equal((await vc(`url=http://example.org/vs/warm&code=red&system=${enc(COLOURS)}&coding=${enc(`${COLOURS}|red`)}`)).status, 400);
    assert.equal((await vc(`url=http://example.org/vs/none&system=${enc(COLOURS)}&code=red`)).status, 404);
    assertNotAvailable(await vc(`url=http://example.org/vs/warm&system=${enc(COLOURS)}&code=red&systemVersion=9.9`), COLOURS);
  });
});
