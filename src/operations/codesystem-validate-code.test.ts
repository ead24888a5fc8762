/**
 * `CodeSystem/$validate-code` over HTTP (FHIR R4 codesystem-operation-validate-code.html): a code of a
 * complete local code system is valid or not; SNOMED CT, dm+d, unknown systems, fragments (for codes
 * they do not list) and unknown versions are "not available" (422), never `result: false`.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, type TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, FRAGMENT, SNOMED, out, terminologyApp } from './testing/terminology-fixture';

describe('operations/codesystem-validate-code: CodeSystem/$validate-code', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const vc = (q: string) => request(t.app).get(`/fhir/CodeSystem/$validate-code?${q}`);
  const enc = encodeURIComponent;

  it('a defined code is valid (case ignored for a case-insensitive system); an undefined one is result=false', async () => {
    const ok = await vc(`url=${enc(COLOURS)}&code=Blue`);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(out(ok.body, 'result'), true);
    assert.equal(out(ok.body, 'display'), 'Blue');
    const no = await vc(`url=${enc(COLOURS)}&code=purple`);
    assert.equal(out(no.body, 'result'), false);
    assert.match(String(out(no.body, 'message')), /not defined by the code system/);
    assert.equal(out((await request(t.app).get('/fhir/CodeSystem/colours/$validate-code?code=red&display=Red')).body, 'result'), true, 'instance');
    assert.equal(out((await vc(`coding=${enc(`${COLOURS}|green`)}`)).body, 'result'), true, 'the url taken from the coding');
    assert.equal(out((await vc('url=http://hl7.org/fhir/administrative-gender&code=female')).body, 'result'), true, 'an R4 code system');
  });

  it('a wrong display is result=false; a coding of another system is 400; a codeableConcept without a coding of the system is false', async () => {
    assert.equal(out((await vc(`url=${enc(COLOURS)}&code=red&display=Blue`)).body, 'result'), false);
    assert.equal((await vc(`url=${enc(COLOURS)}&coding=${enc('urn:other|red')}`)).status, 400);
    const cc = await request(t.app)
      .post('/fhir/CodeSystem/$validate-code')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: COLOURS }, { name: 'codeableConcept', valueCodeableConcept: { coding: [{ system: 'urn:other', code: 'red' }] } }] }));
    assert.equal(out(cc.body, 'result'), false, cc.text);
  });

  it('SNOMED CT, dm+d, an unknown system, a fragment (for a code it does not list) and an unknown version are not available', async () => {
    assertNotAvailable(await vc(`url=${enc(SNOMED)}&code=22298006`), SNOMED);
    assertNotAvailable(await vc(`url=${enc(DMD)}&code=39720311000001101`), DMD);
    assertNotAvailable(await vc('url=http://example.org/cs/unknown&code=x'), 'http://example.org/cs/unknown');
    assertNotAvailable(await vc(`url=${enc(FRAGMENT)}&code=zz`), FRAGMENT);
    assert.equal(out((await vc(`url=${enc(FRAGMENT)}&code=b`)).body, 'result'), true, 'a code the fragment lists');
    assertNotAvailable(await vc(`url=${enc(COLOURS)}&code=red&version=7`), COLOURS);
    assert.equal(out((await vc(`url=${enc(COLOURS)}&code=red&version=1.0`)).body, 'result'), true);
  });
});
