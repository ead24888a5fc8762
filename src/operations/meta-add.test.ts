/**
 * `$meta-add` over HTTP (FHIR R4 resource-operation-meta-add.html): profiles, tags and security labels
 * added as sets (tags by system+code, version and display ignored; profiles by url), written as a new
 * version (meta-add.ts explains why), nothing written when nothing changes, POST only, instance only.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Bundle, Meta, Parameters } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../../test/helpers/test-app';
import { changedMeta } from './meta-add';

const params = (meta: Meta): string => JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: meta }] });
const returned = (body: Parameters): Meta => body.parameter!.find((p) => p.name === 'return')!.valueMeta!;

describe('operations/meta-add: $meta-add', () => {
  let t: TestApp;
  const add = (path: string, meta: Meta) => request(t.app).post(`/fhir/${path}/$meta-add`).set('Content-Type', FHIR_JSON).send(params(meta));

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    const res = await request(t.app)
      .put('/fhir/Patient/ma')
      .set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Patient', id: 'ma', meta: { tag: [{ system: 'urn:t', code: 'old', display: 'Old' }] }, name: [{ family: 'Meta' }] }));
    assert.equal(res.status, 201);
  });
  after(() => t?.close());

  it('adds tags, security labels and profiles as sets; the result is a new version carrying them', async () => {
    const res = await add('Patient/ma', {
      tag: [{ system: 'urn:t', code: 'old', display: 'Other display' }, { system: 'urn:t', code: 'new', display: 'New' }],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }],
      profile: ['http://hl7.org/fhir/StructureDefinition/Patient'],
      versionId: '99',
      source: 'http://ignored.example.org',
    });
    assert.equal(res.status, 200, res.text);
    const meta = returned(res.body as Parameters);
    assert.deepEqual(meta.tag, [{ system: 'urn:t', code: 'old', display: 'Old' }, { system: 'urn:t', code: 'new', display: 'New' }]);
    assert.deepEqual(meta.security, [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HTEST' }]);
    assert.deepEqual(meta.profile, ['http://hl7.org/fhir/StructureDefinition/Patient']);
    assert.equal(meta.versionId, '2');
    assert.equal(meta.source, undefined, 'only profiles, tags and security labels are taken from the given meta');
    const read = await request(t.app).get('/fhir/Patient/ma');
    assert.deepEqual(read.body.meta, meta);
    assert.deepEqual(read.body.name, [{ family: 'Meta' }], 'the rest of the resource is unchanged');
    // The new tag is searchable at once (the write indexed it).
    const found = await request(t.app).get('/fhir/Patient?_tag=urn:t|new');
    assert.deepEqual((found.body as Bundle).entry?.map((e) => e.resource?.id), ['ma']);
  });

  it('adding what is there already writes no version', async () => {
    const res = await add('Patient/ma', { tag: [{ system: 'urn:t', code: 'new' }] });
    assert.equal(res.status, 200);
    assert.equal(returned(res.body as Parameters).versionId, '2');
    assert.equal((await request(t.app).get('/fhir/Patient/ma/_history')).body.total, 2);
  });

  it('a newly claimed profile is validated like any write (UNKNOWN_PROFILE=reject: an unknown profile is 422 and nothing is written)', async () => {
    const strict = testApp({ ...GENERIC_ENGINE, UNKNOWN_PROFILE: 'reject' });
    try {
      await request(strict.app).put('/fhir/Patient/p').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'p' })).expect(201);
      const res = await request(strict.app).post('/fhir/Patient/p/$meta-add').set('Content-Type', FHIR_JSON).send(params({ profile: ['http://example.org/StructureDefinition/unknown'] }));
      assert.equal(res.status, 422, res.text);
      assert.equal((await request(strict.app).get('/fhir/Patient/p')).body.meta.versionId, '1', 'nothing written');
    } finally {
      await strict.close();
    }
  });

  it('needs meta; POST only; instance only; absent 404; a version other than the current one cannot be changed', async () => {
    assert.equal((await request(t.app).post('/fhir/Patient/ma/$meta-add').set('Content-Type', FHIR_JSON).send('{"resourceType":"Parameters"}')).status, 400);
    assert.equal((await add('Patient/ma', { tag: [{ system: 'urn:t' }] })).status, 400, 'a tag needs a code');
    const get = await request(t.app).get('/fhir/Patient/ma/$meta-add');
    assert.equal(get.status, 405);
    assert.equal((await add('Patient', { tag: [{ code: 'x' }] })).status, 404, 'not a type-level operation');
    assert.equal((await add('Patient/nobody', { tag: [{ code: 'x' }] })).status, 404);
    const old = await add('Patient/ma/_history/1', { tag: [{ code: 'x' }] });
    assert.equal(old.status, 422, old.text);
    assert.match(old.text, /only the current version \(2\)/);
    const current = await add('Patient/ma/_history/2', { tag: [{ code: 'on-current' }] });
    assert.equal(current.status, 200, current.text);
    assert.equal(returned(current.body as Parameters).versionId, '3');
  });

  it('changedMeta: add keeps order and the first of equal system+code; delete by system+code and url', () => {
    const cur: Meta = { versionId: '4', profile: ['p1'], tag: [{ system: 's', code: 'a', display: 'A' }], security: [{ code: 'x' }] };
    assert.deepEqual(changedMeta(cur, { profile: ['p2', 'p1', 'p2'], tag: [{ system: 's', code: 'a', version: '9' }, { system: 't', code: 'a' }] }, 'add'), {
      versionId: '4',
      profile: ['p1', 'p2'],
      tag: [{ system: 's', code: 'a', display: 'A' }, { system: 't', code: 'a' }],
      security: [{ code: 'x' }],
    });
    assert.deepEqual(changedMeta(cur, { profile: ['p1'], tag: [{ system: 's', code: 'a', display: 'other' }], security: [{ system: 'other', code: 'x' }] }, 'delete'), { versionId: '4', security: [{ code: 'x' }] });
    assert.deepEqual(cur.tag, [{ system: 's', code: 'a', display: 'A' }], 'input unchanged');
  });
});
