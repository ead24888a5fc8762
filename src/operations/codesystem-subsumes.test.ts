/**
 * `CodeSystem/$subsumes` over HTTP (FHIR R4 codesystem-operation-subsumes.html): equivalent, subsumes,
 * subsumed-by, not-subsumed over an is-a hierarchy; errors when the relationship cannot be determined
 * (SNOMED CT, dm+d, a grouped-by hierarchy, a fragment, codes of another system, an undefined code).
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, FRAGMENT, GROUPED, SNOMED, out, terminologyApp } from './testing/terminology-fixture';

describe('operations/codesystem-subsumes: CodeSystem/$subsumes', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const subsumes = (q: string) => request(t.app).get(`/fhir/CodeSystem/$subsumes?${q}`);
  const enc = encodeURIComponent;
  const outcome = async (q: string): Promise<unknown> => {
    const res = await subsumes(q);
    assert.equal(res.status, 200, res.text);
    return out(res.body, 'outcome');
  };

  it('answers the four outcomes over an is-a hierarchy (nesting, transitively; case ignored)', async () => {
    const s = `system=${enc(COLOURS)}`;
    assert.equal(await outcome(`${s}&codeA=red&codeB=red`), 'equivalent');
    assert.equal(await outcome(`${s}&codeA=RED&codeB=red`), 'equivalent');
    assert.equal(await outcome(`${s}&codeA=colour&codeB=dark-red`), 'subsumes');
    assert.equal(await outcome(`${s}&codeA=dark-red&codeB=colour`), 'subsumed-by');
    assert.equal(await outcome(`${s}&codeA=green&codeB=dark-red`), 'not-subsumed');
    assert.equal(await outcome(`codingA=${enc(`${COLOURS}|colour`)}&codingB=${enc(`${COLOURS}|blue`)}`), 'subsumes');
    const inst = await request(t.app).get('/fhir/CodeSystem/colours/$subsumes?codeA=red&codeB=dark-red');
    assert.equal(out(inst.body, 'outcome'), 'subsumes', inst.text);
    assert.equal(await outcome('system=http://terminology.hl7.org/CodeSystem/v3-ActCode&codeA=_ActAccountCode&codeB=ACCTRECEIVABLE'), 'subsumes');
  });

  it('a fragment answers what it shows, and is not available for "not subsumed" (it may miss concepts)', async () => {
    assert.equal(await outcome(`system=${enc(FRAGMENT)}&codeA=a&codeB=b`), 'subsumes');
    assertNotAvailable(await subsumes(`system=${enc(FRAGMENT)}&codeA=c&codeB=b`), FRAGMENT);
  });

  it('cannot tell (error) for SNOMED CT, dm+d, a grouped-by hierarchy, codings of another system; an undefined code is 400', async () => {
    assertNotAvailable(await subsumes(`system=${enc(SNOMED)}&codeA=404684003&codeB=22298006`), SNOMED);
    assertNotAvailable(await subsumes(`system=${enc(DMD)}&codeA=1&codeB=2`), DMD);
    assertNotAvailable(await subsumes(`system=${enc(GROUPED)}&codeA=g1&codeB=g2`), GROUPED);
    const across = await subsumes(`system=${enc(COLOURS)}&codingA=${enc(`${COLOURS}|red`)}&codingB=${enc('urn:other|red')}`);
    assert.equal(across.status, 422, across.text);
    assert.equal((await subsumes(`system=${enc(COLOURS)}&codeA=red&codeB=purple`)).status, 400);
    assert.equal((await subsumes(`system=${enc(COLOURS)}&codeA=red`)).status, 400);
    assert.equal((await subsumes('codeA=red&codeB=blue')).status, 400);
  });
});
