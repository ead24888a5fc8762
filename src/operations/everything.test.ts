/**
 * `Patient/$everything` over HTTP (FHIR R4 patient-operation-everything.html): the Patient, its
 * compartment and what those reference; `start`/`end`, `_since`, `_type`, `_count` with paging links;
 * the type level; and with SMART patient-context tokens (ADR 20): a patient gets its own record at
 * the type level and another patient's answers as absent at the instance level.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, TEST_BASE, testApp, type TestApp } from '../../test/helpers/test-app';
import { compartmentWorld, type CompartmentWorld } from '../../test/security/compartment-fixture';

const ids = (b: Bundle, mode: 'match' | 'include'): string[] =>
  (b.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);

describe('operations/everything: Patient/$everything', () => {
  let t: TestApp;
  let middle: string;
  const put = async (r: Record<string, unknown>): Promise<void> => {
    const res = await request(t.app).put(`/fhir/${String(r['resourceType'])}/${String(r['id'])}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status < 300, res.text);
  };
  const obs = (id: string, patient: string, date: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', id, status: 'final', code: { text: id }, subject: { reference: `Patient/${patient}` }, effectiveDateTime: date, ...extra });

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    await put({ resourceType: 'Organization', id: 'org', name: 'Practice' });
    await put({ resourceType: 'Practitioner', id: 'doc', name: [{ family: 'Doc' }] });
    await put({ resourceType: 'Patient', id: 'ev', managingOrganization: { reference: 'Organization/org' } });
    await put({ resourceType: 'Patient', id: 'other' });
    await put(obs('o-2019', 'ev', '2019-06-01', { performer: [{ reference: 'Practitioner/doc' }] }));
    await put(obs('o-2021', 'ev', '2021-06-01'));
    await put(obs('o-other', 'other', '2021-06-01'));
    await put({ resourceType: 'Encounter', id: 'enc', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/ev' }, period: { start: '2020-01-01', end: '2020-01-02' } });
    await put({ resourceType: 'AllergyIntolerance', id: 'alg', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] }, patient: { reference: 'Patient/ev' } });
    // Written later than everything above (the _since probe).
    await new Promise((r) => setTimeout(r, 20));
    middle = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await put({ resourceType: 'Condition', id: 'cond', subject: { reference: 'Patient/ev' } });
  });
  after(() => t?.close());

  it('instance: the Patient first, then its compartment by type, with the resources they reference as includes', async () => {
    const res = await request(t.app).get('/fhir/Patient/ev/$everything');
    assert.equal(res.status, 200, res.text);
    const b = res.body as Bundle;
    assert.equal(b.type, 'searchset');
    assert.deepEqual(ids(b, 'match'), ['Patient/ev', 'AllergyIntolerance/alg', 'Condition/cond', 'Encounter/enc', 'Observation/o-2019', 'Observation/o-2021']);
    assert.equal(b.total, 6);
    assert.deepEqual(ids(b, 'include').sort(), ['Organization/org', 'Practitioner/doc']);
    assert.ok(!res.text.includes('o-other'));
    assert.equal(b.link?.find((l) => l.relation === 'next'), undefined, 'the whole record in one Bundle');
  });

  it('start/end keep resources whose care date overlaps the range (types without a care date are not filtered)', async () => {
    const res = await request(t.app).get('/fhir/Patient/ev/$everything?start=2020-01-01&end=2020-12-31');
    assert.equal(res.status, 200, res.text);
    // AllergyIntolerance's care date (`date`: recordedDate) is absent: not in the range. Condition has no `date`: not filtered.
    assert.deepEqual(ids(res.body as Bundle, 'match'), ['Patient/ev', 'Condition/cond', 'Encounter/enc']);
    const from = await request(t.app).get('/fhir/Patient/ev/$everything?start=2021');
    assert.deepEqual(ids(from.body as Bundle, 'match').filter((x) => x.startsWith('Observation') || x.startsWith('Encounter')), ['Observation/o-2021']);
  });

  it('_since keeps what was updated at or after it; _type keeps those types (the Patient only when named)', async () => {
    const since = await request(t.app).get(`/fhir/Patient/ev/$everything?_since=${encodeURIComponent(middle)}`);
    assert.deepEqual(ids(since.body as Bundle, 'match'), ['Condition/cond']);
    const typed = await request(t.app).get('/fhir/Patient/ev/$everything?_type=Observation,Practitioner&_type=Encounter');
    assert.deepEqual(ids(typed.body as Bundle, 'match'), ['Encounter/enc', 'Observation/o-2019', 'Observation/o-2021']);
    assert.deepEqual(ids(typed.body as Bundle, 'include'), ['Practitioner/doc'], 'includes are held to _type too');
  });

  it('_count pages through the record with signed next links; every resource once; a POST repeats its parameters in the links', async () => {
    const seen: string[] = [];
    let url: string | undefined;
    let res = await request(t.app).post('/fhir/Patient/ev/$everything').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: '_count', valueInteger: 4 }, { name: '_type', valueCode: 'Patient,Observation,Encounter,Condition,AllergyIntolerance' }] }));
    for (;;) {
      assert.equal(res.status, 200, res.text);
      const b = res.body as Bundle;
      assert.equal(b.total, 6);
      assert.ok(ids(b, 'match').length <= 4);
      seen.push(...ids(b, 'match'));
      url = b.link?.find((l) => l.relation === 'next')?.url;
      if (!url) break;
      assert.ok(url.startsWith(`${TEST_BASE}/Patient/ev/$everything?`) && url.includes('_type=') && url.includes('_cursor='), url);
      res = await request(t.app).get(url.slice(TEST_BASE.length - '/fhir'.length));
    }
    assert.deepEqual(seen, ['Patient/ev', 'AllergyIntolerance/alg', 'Condition/cond', 'Encounter/enc', 'Observation/o-2019', 'Observation/o-2021']);
  });

  it('type level: every Patient the caller may see and their records', async () => {
    const res = await request(t.app).get('/fhir/Patient/$everything?_type=Patient,Observation');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(ids(res.body as Bundle, 'match'), ['Patient/ev', 'Patient/other', 'Observation/o-2019', 'Observation/o-2021', 'Observation/o-other']);
  });

  it('refuses bad parameters: unknown ones, bad dates, unknown types; an absent Patient is 404, a deleted one 410', async () => {
    for (const q of ['start=yesterday', '_since=2020-01-01', '_type=Nope', 'patient=ev', '_count=x']) {
      const res = await request(t.app).get(`/fhir/Patient/ev/$everything?${q}`);
      assert.equal(res.status, 400, `${q}: ${res.text}`);
    }
    assert.equal((await request(t.app).get('/fhir/Patient/nobody/$everything')).status, 404);
    await put({ resourceType: 'Patient', id: 'gone' });
    await request(t.app).delete('/fhir/Patient/gone').expect(204);
    assert.equal((await request(t.app).get('/fhir/Patient/gone/$everything')).status, 410);
    assert.equal((await request(t.app).get('/fhir/Observation/o-2019/$everything')).status, 404, 'Patient only');
  });

  describe('with SMART tokens', () => {
    let w: CompartmentWorld;
    before(async () => {
      w = await compartmentWorld('generic');
    });
    after(() => w.close());

    it("a patient token: its own record at the type level, another patient's answers as absent at the instance level", async () => {
      const tok = w.patientToken('patient/*.rs');
      const own = await w.get(`/fhir/Patient/${w.a}/*?_count=1000`, w.system());
      const expected = [`Patient/${w.a}`, ...ids(own.body as Bundle, 'match').filter((x) => x !== `Patient/${w.a}`)].sort();
      const typeLevel = await w.get('/fhir/Patient/$everything', tok);
      assert.equal(typeLevel.status, 200, typeLevel.text);
      assert.deepEqual(ids(typeLevel.body as Bundle, 'match').sort(), expected);
      const instance = await w.get(`/fhir/Patient/${w.a}/$everything`, tok);
      assert.deepEqual(ids(instance.body as Bundle, 'match').sort(), expected);
      const other = await w.get(`/fhir/Patient/${w.b}/$everything`, tok);
      const nobody = await w.get('/fhir/Patient/qq-nobody/$everything', tok);
      assert.equal(other.status, 404);
      assert.equal(other.text.replace(w.b, 'ID'), nobody.text.replace('qq-nobody', 'ID'));
    });

    it('a system token sees every patient; a token without a Patient scope is refused', async () => {
      const all = await w.get('/fhir/Patient/$everything?_type=Patient', w.system());
      assert.deepEqual(ids(all.body as Bundle, 'match').sort(), [`Patient/${w.a}`, `Patient/${w.b}`].sort());
      const res = await w.get('/fhir/Patient/$everything', w.patientToken('patient/Observation.rs'));
      assert.equal(res.status, 403, res.text);
    });

    it('the restriction-applying flag is what lets it run: other type-level operations stay refused for the same token', async () => {
      const res = await w.send('post', '/fhir/Patient/$match', w.patientToken('patient/*.rs'), { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ family: 'Ashdown' }], birthDate: '1990-05-06' } }] });
      assert.equal(res.status, 403, res.text);
      assert.equal(w.t.services.operations.appliesRestriction('everything', 'type', 'Patient'), true);
      assert.equal(w.t.services.operations.appliesRestriction('match', 'type', 'Patient'), false);
    });
  });
});
