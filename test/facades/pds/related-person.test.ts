/**
 * PDS façade: "Get a patient's related people" (relatedpersons-get.yaml sandbox scenarios) with the
 * server's default configuration: the example RelatedPersons (examples/*RelatedPersonBundle.json)
 * stored as the façade keeps them (related-person.ts `fromPdsRelatedPerson`, through /fhir with
 * validation on) for the sandbox's records. Skips with a printed reason when
 * ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, RelatedPerson } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { FHIR_JSON, type TestApp } from '../../helpers/test-app';
import { fromPdsRelatedPerson } from '../../../src/facades/pds/related-person';
import { toStored } from '../../../src/facades/pds/shapes';
import { assertPdsError, BASE, loadPds, PDS, pds, pdsApp, storeSandboxRecords } from './helpers';
import { smartPdsApp, type SmartPds } from './smart';

const ORIGIN = 'http://localhost:8080';
const examples = (name: string): Bundle => loadPds('specification', 'components', 'examples', `${name}.json`);
const entriesOf = (...names: string[]): NonNullable<Bundle['entry']> => names.flatMap((n) => examples(n).entry ?? []);

async function storeRelated(t: TestApp, nhs: string, rp: RelatedPerson): Promise<void> {
  const res = await request(t.app).put(`/fhir/RelatedPerson/${rp.id}`).set('Content-Type', FHIR_JSON).send(fromPdsRelatedPerson(rp, nhs));
  assert.ok(res.status === 201 || res.status === 200, `${rp.id}: ${res.status} ${res.text}`);
}

/** The sandbox table's related people: two for 9000000009, one for 9000000017, one for the restricted 9000000025. */
async function storeSandboxRelatedPeople(t: TestApp): Promise<void> {
  for (const e of entriesOf('RelatedPersonBundle', 'Referenced_RelatedPersonBundle')) await storeRelated(t, '9000000009', e.resource as RelatedPerson);
  for (const e of entriesOf('Personal_Details_RelatedPersonBundle')) await storeRelated(t, '9000000017', e.resource as RelatedPerson);
  await storeRelated(t, '9000000025', { ...(entriesOf('Personal_Details_RelatedPersonBundle')[0]!.resource as RelatedPerson), id: 'R25' });
}

const rebased = (url: string): string => url.replace('https://api.service.nhs.uk', ORIGIN);
const byUrl = (a: { fullUrl?: string }, b: { fullUrl?: string }): number => (a.fullUrl ?? '').localeCompare(b.fullUrl ?? '');

describe('PDS façade: related people', function () {
  let t: TestApp;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    t = pdsApp();
    await storeSandboxRecords(t);
    await storeSandboxRelatedPeople(t);
  });
  after(() => t?.close());

  it('Multiple related people exist (9000000009): 200 searchset, the examples as PDS gives them', async () => {
    const res = await pds(t, 'get', 'Patient/9000000009/RelatedPerson');
    assert.equal(res.status, 200, res.text);
    const b = res.body as Bundle;
    assert.equal(b.type, 'searchset');
    assert.equal(b.total, 2);
    const want = entriesOf('RelatedPersonBundle', 'Referenced_RelatedPersonBundle').map((e) => ({ ...e, fullUrl: rebased(e.fullUrl!) }));
    assert.deepEqual([...b.entry!].sort(byUrl), want.sort(byUrl));
    assert.equal(res.headers['etag'], 'W/"1"');
  });

  it('Single related person exists (9000000017): 200, the example entry (patient {} when it names no record)', async () => {
    const res = await pds(t, 'get', 'Patient/9000000017/RelatedPerson');
    assert.equal(res.status, 200, res.text);
    const want = examples('Personal_Details_RelatedPersonBundle');
    assert.equal((res.body as Bundle).total, 1);
    assert.deepEqual((res.body as Bundle).entry, want.entry!.map((e) => ({ ...e, fullUrl: rebased(e.fullUrl!) })));
  });

  it('Related people do not exist (9000000025, restricted): 200 empty searchset without entry, even though one is stored', async () => {
    const res = await pds(t, 'get', 'Patient/9000000025/RelatedPerson');
    assert.equal(res.status, 200, res.text);
    assert.equal((res.body as Bundle).total, 0);
    assert.equal((res.body as Bundle).entry, undefined);
  });

  it('a patient without related people (9000000033): 200 empty searchset', async () => {
    const res = await pds(t, 'get', 'Patient/9000000033/RelatedPerson');
    assert.equal(res.status, 200, res.text);
    assert.equal((res.body as Bundle).total, 0);
    assert.equal((res.body as Bundle).entry, undefined);
  });

  it('unknown patient 404 RESOURCE_NOT_FOUND; invalid NHS number 400 INVALID_RESOURCE_ID; missing X-Request-ID 400 MISSING_VALUE', async () => {
    assertPdsError(await pds(t, 'get', 'Patient/9111231130/RelatedPerson'), 404, 'RESOURCE_NOT_FOUND');
    assertPdsError(await pds(t, 'get', 'Patient/9000000000/RelatedPerson'), 400, 'INVALID_RESOURCE_ID');
    assertPdsError(await request(t.app).get(`${BASE}/Patient/9000000009/RelatedPerson`), 400, 'MISSING_VALUE');
  });
});

describe('PDS façade: related people, access modes (SMART)', function () {
  let s: SmartPds;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    s = smartPdsApp();
    // Stored by a healthcare worker through the façade's own shapes.
    const tok = s.worker();
    for (const id of ['9000000009', '9000000017']) {
      const p = loadPds<Record<string, unknown>>('searchResponses', id === '9000000009' ? 'Patient.json' : 'Patient-Jayne-Smyth.json');
      const { meta: _m, ...rest } = p;
      const res = await request(s.t.app).put(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(toStored(rest as never));
      assert.ok(res.status === 201, res.text);
    }
    for (const e of entriesOf('RelatedPersonBundle')) {
      const res = await request(s.t.app).put(`/fhir/RelatedPerson/${e.resource!.id}`).set('Authorization', `Bearer ${tok}`).set('Content-Type', FHIR_JSON).send(fromPdsRelatedPerson(e.resource as RelatedPerson, '9000000009'));
      assert.ok(res.status === 201, res.text);
    }
  });
  after(() => s?.t.close());

  it('healthcare worker, application-restricted and the patient themself: 200 with the related person', async () => {
    for (const token of [s.worker(), s.application(), s.patient('9000000009')]) {
      const res = await pds(s.t, 'get', 'Patient/9000000009/RelatedPerson', { token });
      assert.equal(res.status, 200, res.text);
      assert.equal((res.body as Bundle).total, 1);
    }
  });

  it("a patient asking for another patient's related people: 403 ACCESS_DENIED and none of the data", async () => {
    const res = await pds(s.t, 'get', 'Patient/9000000009/RelatedPerson', { token: s.patient('9000000017') });
    assertPdsError(res, 403, 'ACCESS_DENIED');
    assert.doesNotMatch(res.text, /507B7621|Trevelyan/);
  });

  it('no token: 401 ACCESS_DENIED', async () => {
    assertPdsError(await pds(s.t, 'get', 'Patient/9000000009/RelatedPerson'), 401, 'ACCESS_DENIED');
  });
});
