/**
 * `$meta` over HTTP (FHIR R4 resource-operation-meta.html): instance and version level answer the
 * meta a read returns; type and system level the union of the labels in use, without versionId and
 * lastUpdated, over current resources only.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Meta, Parameters } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../../test/helpers/test-app';
import { LabelSet } from './meta';

const metaOf = (body: Parameters): Meta => {
  assert.equal(body.resourceType, 'Parameters');
  const p = body.parameter?.find((x) => x.name === 'return');
  assert.ok(p?.valueMeta, JSON.stringify(body));
  return p.valueMeta;
};

describe('operations/meta: $meta', () => {
  let t: TestApp;
  const put = (r: Record<string, unknown>) => request(t.app).put(`/fhir/${String(r['resourceType'])}/${String(r['id'])}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    const tag = (code: string, display?: string) => ({ system: 'urn:test:tags', code, ...(display ? { display } : {}) });
    for (const r of [
      { resourceType: 'Patient', id: 'm1', meta: { tag: [tag('b', 'Bee'), tag('a')], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] } },
      { resourceType: 'Patient', id: 'm2', meta: { tag: [tag('a', 'Another display')], profile: ['http://example.org/StructureDefinition/p'] } },
      { resourceType: 'Patient', id: 'm3' },
      { resourceType: 'Observation', id: 'mo', status: 'final', code: { text: 'x' }, meta: { tag: [tag('obs')] } },
      { resourceType: 'Observation', id: 'gone', status: 'final', code: { text: 'x' }, meta: { tag: [tag('deleted-only')] } },
    ]) {
      const res = await put(r);
      assert.ok(res.status < 300, res.text);
    }
    assert.equal((await request(t.app).delete('/fhir/Observation/gone')).status, 204);
    assert.equal((await put({ resourceType: 'Patient', id: 'm3', meta: { tag: [tag('v2-only')] } })).status, 200);
  });
  after(() => t?.close());

  it('instance: the meta a read returns (versionId and lastUpdated included), GET and POST', async () => {
    const read = await request(t.app).get('/fhir/Patient/m1');
    for (const res of [await request(t.app).get('/fhir/Patient/m1/$meta'), await request(t.app).post('/fhir/Patient/m1/$meta').set('Content-Type', FHIR_JSON).send('{"resourceType":"Parameters"}')]) {
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(metaOf(res.body as Parameters), read.body.meta);
    }
  });

  it('version: the meta of that version ([type]/[id]/_history/[vid]/$meta)', async () => {
    const v1 = metaOf((await request(t.app).get('/fhir/Patient/m3/_history/1/$meta')).body as Parameters);
    assert.equal(v1.versionId, '1');
    assert.equal(v1.tag, undefined);
    const v2 = metaOf((await request(t.app).get('/fhir/Patient/m3/_history/2/$meta')).body as Parameters);
    assert.deepEqual(v2.tag, [{ system: 'urn:test:tags', code: 'v2-only' }]);
    assert.equal((await request(t.app).get('/fhir/Patient/m3/_history/9/$meta')).status, 404);
    assert.equal((await request(t.app).get('/fhir/Observation/gone/_history/2/$meta')).status, 410);
    assert.equal((await request(t.app).get('/fhir/Patient/m3/_history/1/$validate')).status, 404, 'only the meta operations apply to versions');
  });

  it('instance: absent is 404, deleted is 410', async () => {
    assert.equal((await request(t.app).get('/fhir/Patient/nobody/$meta')).status, 404);
    assert.equal((await request(t.app).get('/fhir/Observation/gone/$meta')).status, 410);
  });

  it('type: the union of the labels in use on current resources of the type, without versionId and lastUpdated', async () => {
    const res = await request(t.app).get('/fhir/Patient/$meta');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(metaOf(res.body as Parameters), {
      profile: ['http://example.org/StructureDefinition/p'],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }],
      // Identity is system + code: `a` once (first display seen), sorted by code.
      tag: [
        { system: 'urn:test:tags', code: 'a' },
        { system: 'urn:test:tags', code: 'b', display: 'Bee' },
        { system: 'urn:test:tags', code: 'v2-only' },
      ],
    });
  });

  it('system: every type; labels of deleted resources are not in use', async () => {
    const meta = metaOf((await request(t.app).get('/fhir/$meta')).body as Parameters);
    assert.deepEqual(
      meta.tag?.map((c) => c.code),
      ['a', 'b', 'obs', 'v2-only'],
    );
    assert.equal(meta.versionId, undefined);
    assert.equal(meta.lastUpdated, undefined);
  });

  it('a type without labels: a Meta that says so (data-absent-reason), not an empty element', async () => {
    const meta = metaOf((await request(t.app).get('/fhir/Encounter/$meta')).body as Parameters);
    assert.deepEqual(meta, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'not-applicable' }] });
  });

  it('refuses parameters it does not define', async () => {
    const res = await request(t.app).get('/fhir/Patient/$meta?tag=x');
    assert.equal(res.status, 400);
    assert.match(res.text, /parameter tag is not supported/);
  });

  it('LabelSet: sets by url and by system+code', () => {
    const s = new LabelSet();
    s.add({ profile: ['u2', 'u1'], tag: [{ system: 's', code: 'c', display: 'first' }] });
    s.add({ profile: ['u1'], tag: [{ system: 's', code: 'c', display: 'second' }, { code: 'nosys' }] });
    assert.deepEqual(s.toMeta(), { profile: ['u1', 'u2'], tag: [{ code: 'nosys' }, { system: 's', code: 'c', display: 'first' }] });
  });
});
