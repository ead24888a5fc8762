/**
 * `CodeSystem/$lookup` over HTTP (FHIR R4 codesystem-operation-lookup.html): name, version, display,
 * designations and properties (parent, child, definition, inactive, the concept's own), `property`
 * selecting them; SNOMED CT and dm+d are "not available" (422), an undefined code of a complete
 * system 404.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Parameters, ParametersParameter } from 'fhir/r4';
import type { TestApp } from '../../test/helpers/test-app';
import { assertNotAvailable, COLOURS, DMD, FRAGMENT, SNOMED, out, terminologyApp } from './testing/terminology-fixture';

const props = (b: Parameters): Array<[string, unknown]> =>
  (b.parameter ?? [])
    .filter((p) => p.name === 'property')
    .map((p) => {
      const v = p.part?.find((x) => x.name === 'value') as (ParametersParameter & Record<string, unknown>) | undefined;
      const k = v ? Object.keys(v).find((x) => x.startsWith('value')) : undefined;
      return [p.part?.[0]?.valueCode ?? '', k ? v![k] : undefined];
    });

describe('operations/codesystem-lookup: CodeSystem/$lookup', () => {
  let t: TestApp;
  before(async () => {
    t = await terminologyApp();
  });
  after(() => t?.close());
  const lookup = (q: string) => request(t.app).get(`/fhir/CodeSystem/$lookup?${q}`);
  const enc = encodeURIComponent;

  it('answers name, version, display, designations and the properties of a concept', async () => {
    const res = await lookup(`system=${enc(COLOURS)}&code=red`);
    assert.equal(res.status, 200, res.text);
    const b = res.body as Parameters;
    assert.equal(out(b, 'name'), 'Test colours');
    assert.equal(out(b, 'version'), '1.0');
    assert.equal(out(b, 'display'), 'Red');
    assert.deepEqual(b.parameter?.find((p) => p.name === 'designation')?.part, [{ name: 'language', valueCode: 'es' }, { name: 'value', valueString: 'Rojo' }]);
    assert.deepEqual(props(b), [['parent', 'colour'], ['child', 'dark-red'], ['inactive', false], ['wavelength', 700]]);
    assert.deepEqual(b.parameter?.find((p) => p.name === 'property')?.part?.[2], { name: 'description', valueString: 'Colour' });
  });

  it('property selects what is returned (definition, inactive, lang.X); a Coding works at GET', async () => {
    const blue = (await lookup(`coding=${enc(`${COLOURS}|BLUE`)}&property=definition&property=inactive`)).body as Parameters;
    assert.deepEqual(props(blue), [['definition', 'The colour of a clear sky'], ['inactive', false]]);
    assert.equal(out(blue, 'version'), undefined);
    const green = (await lookup(`system=${enc(COLOURS)}&code=green&property=inactive`)).body as Parameters;
    assert.deepEqual(props(green), [['inactive', true]]);
    const red = (await lookup(`system=${enc(COLOURS)}&code=red&property=lang.es`)).body as Parameters;
    assert.equal(red.parameter?.filter((p) => p.name === 'designation').length, 1);
    assert.deepEqual(props(red), []);
  });

  it('looks up R4 code systems (v3 hierarchy)', async () => {
    const res = await lookup('system=http://terminology.hl7.org/CodeSystem/v3-ActCode&code=ACCTRECEIVABLE&property=parent');
    assert.deepEqual(props(res.body as Parameters), [['parent', '_ActAccountCode']]);
  });

  it('SNOMED CT, dm+d, unknown systems and codes a fragment does not list are not available (422), never not found', async () => {
    assertNotAvailable(await lookup(`system=${enc(SNOMED)}&code=22298006`), SNOMED);
    assertNotAvailable(await lookup(`system=${enc(DMD)}&code=39720311000001101`), DMD);
    assertNotAvailable(await lookup('system=http://example.org/cs/unknown&code=x'), 'http://example.org/cs/unknown');
    assertNotAvailable(await lookup(`system=${enc(FRAGMENT)}&code=zz`), FRAGMENT);
    assert.equal((await lookup(`system=${enc(FRAGMENT)}&code=b`)).status, 200);
  });

  it('an undefined code of a complete system is 404; system and code are both needed', async () => {
    const res = await lookup(`system=${enc(COLOURS)}&code=purple`);
    assert.equal(res.status, 404, res.text);
    assert.equal((await lookup('code=red')).status, 400);
    assert.equal((await lookup(`system=${enc(COLOURS)}`)).status, 400);
    assert.equal((await request(t.app).get('/fhir/CodeSystem/colours/$lookup?code=red')).status, 404, 'not an instance-level operation in R4');
  });
});
