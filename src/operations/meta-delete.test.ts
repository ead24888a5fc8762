/**
 * `$meta-delete` over HTTP (FHIR R4 resource-operation-meta-delete.html): removes profiles, tags and
 * security labels (matched by system+code, version and display ignored; profiles by url); absent ones
 * are not an error and write nothing.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Meta, Parameters } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../../test/helpers/test-app';

const params = (meta: Meta): string => JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: meta }] });
const returned = (body: Parameters): Meta => body.parameter!.find((p) => p.name === 'return')!.valueMeta!;

describe('operations/meta-delete: $meta-delete', () => {
  let t: TestApp;
  const del = (path: string, meta: Meta) => request(t.app).post(`/fhir/${path}/$meta-delete`).set('Content-Type', FHIR_JSON).send(params(meta));

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    const res = await request(t.app)
      .put('/fhir/Observation/md')
      .set('Content-Type', FHIR_JSON)
      .send(
        JSON.stringify({
          resourceType: 'Observation',
          id: 'md',
          status: 'final',
          code: { text: 'x' },
          meta: { tag: [{ system: 'urn:t', code: 'keep' }, { system: 'urn:t', code: 'drop', display: 'Drop' }], security: [{ system: 'urn:s', code: 'L' }], profile: ['http://hl7.org/fhir/StructureDefinition/Observation'] },
        }),
      );
    assert.equal(res.status, 201);
  });
  after(() => t?.close());

  it('removes the tags, labels and profiles named (display and version ignored) in a new version', async () => {
    const res = await del('Observation/md', { tag: [{ system: 'urn:t', code: 'drop', display: 'whatever', version: '3' }], security: [{ system: 'urn:s', code: 'L' }], profile: ['http://hl7.org/fhir/StructureDefinition/Observation'] });
    assert.equal(res.status, 200, res.text);
    const meta = returned(res.body as Parameters);
    assert.deepEqual(meta.tag, [{ system: 'urn:t', code: 'keep' }]);
    assert.equal(meta.security, undefined);
    assert.equal(meta.profile, undefined);
    assert.equal(meta.versionId, '2');
    assert.deepEqual((await request(t.app).get('/fhir/Observation/md')).body.meta, meta);
    assert.equal((await request(t.app).get('/fhir/Observation?_tag=urn:t|drop')).body.entry, undefined, 'no longer found by the tag');
  });

  it('deleting what is not there is not an error and writes nothing', async () => {
    const res = await del('Observation/md', { tag: [{ system: 'other', code: 'keep' }, { code: 'never' }] });
    assert.equal(res.status, 200, res.text);
    assert.equal(returned(res.body as Parameters).versionId, '2');
    assert.deepEqual(returned(res.body as Parameters).tag, [{ system: 'urn:t', code: 'keep' }]);
  });

  it('POST only, needs meta, 404 for an absent resource', async () => {
    assert.equal((await request(t.app).get('/fhir/Observation/md/$meta-delete')).status, 405);
    assert.equal((await request(t.app).post('/fhir/Observation/md/$meta-delete').set('Content-Type', FHIR_JSON).send('{"resourceType":"Parameters","parameter":[{"name":"meta","valueString":"x"}]}')).status, 400);
    assert.equal((await del('Observation/none', { tag: [{ code: 'x' }] })).status, 404);
  });
});
