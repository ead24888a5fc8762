/**
 * PDS façade: patient coverage (EHIC; coverage-get.yaml and coverage-post.yaml sandbox scenarios)
 * with the server's default configuration: 9000000009's coverage is the example (examples/Coverage.json)
 * posted through the façade, 9000000033 has none. Skips with a printed reason when
 * ../shared/external/nhs-apis/pds is absent.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, Coverage } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import type { TestApp } from '../../helpers/test-app';
import { SEARCH_FORMAT } from '../../../src/facades/pds/coverage';
import { assertPdsError, BASE, loadPds, PDS, pds, pdsApp, storeSandboxRecords } from './helpers';
import { smartPdsApp, type SmartPds } from './smart';

const ORIGIN = 'http://localhost:8080';
const coverage = (): Coverage => loadPds('specification', 'components', 'examples', 'Coverage.json');
const post = (t: TestApp, body: unknown, ifMatch: string | undefined, token?: string): request.Test => {
  const r = pds(t, 'post', 'Coverage', token ? { token } : {}).set('Content-Type', 'application/json');
  return (ifMatch !== undefined ? r.set('If-Match', ifMatch) : r).send(JSON.stringify(body));
};
const get = (t: TestApp, q: string, token?: string): request.Test => pds(t, 'get', `Coverage?${q}`, token ? { token } : {});

describe('PDS façade: coverage', function () {
  let t: TestApp;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    t = pdsApp();
    await storeSandboxRecords(t);
  });
  after(() => t?.close());

  it('Coverage details do not exist (9000000033): 200 empty searchset with meta.versionId 0 and ETag W/"0"', async () => {
    const res = await get(t, 'subscriber:identifier=9000000033');
    assert.equal(res.status, 200, res.text);
    const b = res.body as Bundle;
    assert.equal(b.type, 'searchset');
    assert.equal(b.total, 0);
    assert.equal(b.entry, undefined);
    assert.deepEqual(b.meta, { versionId: '0' });
    assert.equal(res.headers['etag'], 'W/"0"');
  });

  it('Add coverage details (9000000009, the example): 201 with the searchset of the new details (CoverageSearch.json)', async () => {
    const res = await post(t, coverage(), 'W/"0"');
    assert.equal(res.status, 201, res.text);
    const want = loadPds<Bundle>('specification', 'components', 'examples', 'CoverageSearch.json');
    const got = res.body as Bundle;
    assert.deepEqual(got.entry, want.entry!.map((e) => ({ ...e, fullUrl: e.fullUrl!.replace('https://api.service.nhs.uk', ORIGIN) })));
    assert.deepEqual(got.meta, { versionId: '1' });
    assert.equal(res.headers['etag'], 'W/"1"');
  });

  it('Coverage details exist (9000000009): 200 with the details, as CoverageSearch.json', async () => {
    const res = await get(t, 'subscriber:identifier=9000000009');
    assert.equal(res.status, 200, res.text);
    const want = loadPds<Bundle>('specification', 'components', 'examples', 'CoverageSearch.json');
    const got = res.body as Bundle;
    assert.equal(got.total, 1);
    assert.deepEqual(got.entry![0]!.resource, want.entry![0]!.resource);
    assert.equal(res.headers['etag'], 'W/"1"');
    // The system|value form names the same record.
    assert.equal(((await get(t, 'subscriber:identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009')).body as Bundle).total, 1);
  });

  it('Incorrect resource version: 409 RESOURCE_VERSION_MISMATCH; Missing If-Match: 412 PRECONDITION_FAILED; the current version replaces', async () => {
    assertPdsError(await post(t, coverage(), 'W/"0"'), 409, 'RESOURCE_VERSION_MISMATCH');
    assertPdsError(await post(t, coverage(), undefined), 412, 'PRECONDITION_FAILED');
    const res = await post(t, { ...coverage(), period: { end: '2031-01-31' } }, 'W/"1"');
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['etag'], 'W/"2"');
    assertPdsError(await post(t, coverage(), 'W/"1"'), 409, 'RESOURCE_VERSION_MISMATCH');
    const now = await get(t, 'subscriber:identifier=9000000009');
    assert.equal(((now.body as Bundle).entry![0]!.resource as Coverage).period?.end, '2031-01-31');
  });

  it('Missing EHIC card number: 400 MISSING_VALUE naming the field; invalid values 400 INVALID_VALUE', async () => {
    const noCard = { ...coverage(), identifier: [{ assigner: coverage().identifier![0]!.assigner }] };
    assert.equal(assertPdsError(await post(t, noCard, 'W/"2"'), 400, 'MISSING_VALUE').issue[0]!.diagnostics, "Missing value - 'identifier/0/value'");
    assertPdsError(await post(t, { ...coverage(), status: 'cancelled' }, 'W/"2"'), 400, 'INVALID_VALUE');
    assertPdsError(await post(t, { ...coverage(), period: { end: 'soon' } }, 'W/"2"'), 400, 'INVALID_VALUE');
  });

  it('Invalid NHS number: 400 INVALID_RESOURCE_ID (GET and POST); unknown patient 404 RESOURCE_NOT_FOUND', async () => {
    assertPdsError(await get(t, 'subscriber:identifier=9000000000'), 400, 'INVALID_RESOURCE_ID');
    assertPdsError(await post(t, { ...coverage(), subscriber: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000000' } } }, 'W/"0"'), 400, 'INVALID_RESOURCE_ID');
    assertPdsError(await get(t, 'subscriber:identifier=9111231130'), 404, 'RESOURCE_NOT_FOUND');
  });

  it('Invalid search criteria (id=9999999990&year=2003, or no parameter, or another one): 400 INVALID_SEARCH_DATA', async () => {
    for (const q of ['id=9999999990&year=2003', '', 'subscriber:identifier=9000000009&year=2003', 'beneficiary=9000000009']) {
      assert.equal(assertPdsError(await get(t, q), 400, 'INVALID_SEARCH_DATA').issue[0]!.diagnostics, SEARCH_FORMAT, q);
    }
  });

  it('Missing X-Request-ID: 400 MISSING_VALUE; Invalid X-Request-ID (1234): 400 INVALID_VALUE', async () => {
    assertPdsError(await request(t.app).get(`${BASE}/Coverage?subscriber:identifier=9000000009`), 400, 'MISSING_VALUE');
    assertPdsError(await request(t.app).get(`${BASE}/Coverage?subscriber:identifier=9000000009`).set('X-Request-ID', '1234'), 400, 'INVALID_VALUE');
  });
});

describe('PDS façade: coverage, access modes (SMART)', function () {
  let s: SmartPds;
  before(async function () {
    if (!PDS) skipWithReason(this, 'the PDS material (../shared/external/nhs-apis/pds) is not present');
    s = smartPdsApp();
    for (const id of ['9000000009', '9000000017']) {
      const res = await request(s.t.app)
        .put(`/fhir/Patient/${id}`)
        .set('Authorization', `Bearer ${s.worker()}`)
        .set('Content-Type', 'application/fhir+json')
        .send({ resourceType: 'Patient', id, identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: id }], name: [{ use: 'usual', family: 'Cover', given: ['Al'] }], gender: 'male', birthDate: '1970-01-01' });
      assert.equal(res.status, 201, res.text);
    }
  });
  after(() => s?.t.close());

  it('the patient themself (patient access): POST 201 then GET 200 with the details', async () => {
    const token = s.patient('9000000009');
    const res = await post(s.t, coverage(), 'W/"0"', token);
    assert.equal(res.status, 201, res.text);
    const got = await get(s.t, 'subscriber:identifier=9000000009', token);
    assert.equal(got.status, 200, got.text);
    assert.equal((got.body as Bundle).total, 1);
  });

  it("another patient: 403 ACCESS_DENIED for GET and POST, and none of the data", async () => {
    const token = s.patient('9000000017');
    const res = await get(s.t, 'subscriber:identifier=9000000009', token);
    assertPdsError(res, 403, 'ACCESS_DENIED');
    assert.doesNotMatch(res.text, /29401395498043123948/);
    assertPdsError(await post(s.t, coverage(), 'W/"1"', token), 403, 'ACCESS_DENIED');
  });

  it('healthcare worker and application-restricted access: 403 ACCESS_DENIED (patient access only); no token 401', async () => {
    for (const token of [s.worker(), s.application()]) assertPdsError(await get(s.t, 'subscriber:identifier=9000000009', token), 403, 'ACCESS_DENIED');
    assertPdsError(await post(s.t, coverage(), 'W/"1"', s.application()), 403, 'ACCESS_DENIED');
    assertPdsError(await get(s.t, 'subscriber:identifier=9000000009'), 401, 'ACCESS_DENIED');
  });
});
