/**
 * `/metadata` (FHIR R4 http.html#capabilities): a truthful CapabilityStatement generated from what is
 * registered, identical to the published copy in capability-statement/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import request from 'supertest';
import { resourceTypes } from '../../src/definitions/resource-types';
import { canonical, PUBLISHED_CAPABILITY_PATH } from '../helpers/capability';
import { testApp, type TestApp } from '../helpers/test-app';

describe('HTTP: CapabilityStatement', () => {
  let t: TestApp;
  before(() => {
    t = testApp();
  });
  after(() => t.close());

  it('serves an R4 CapabilityStatement covering every R4 resource type', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    assert.equal(res.status, 200);
    assert.equal(res.body.resourceType, 'CapabilityStatement');
    assert.equal(res.body.fhirVersion, '4.0.1');
    assert.equal(res.body.kind, 'instance');
    const types = res.body.rest[0].resource.map((r: { type: string }) => r.type);
    assert.equal(types.length, resourceTypes().size);
    assert.equal(resourceTypes().size, 146, 'R4 defines 146 concrete resource types');
    assert.deepEqual(res.body.format, ['application/fhir+json', 'application/json', 'application/fhir+xml', 'application/xml']);
    assert.deepEqual(res.body.patchFormat, ['application/json-patch+json', 'application/fhir+json', 'application/fhir+xml']);
    const sysInteractions = res.body.rest[0].interaction.map((i: { code: string }) => i.code);
    assert.deepEqual(sysInteractions.sort(), ['batch', 'history-system', 'search-system', 'transaction']);
  });

  it('matches the published copy in capability-statement/ (run `npm run capability` after changing what is registered)', async () => {
    // The published copy is of the default configuration (AUTH_MODE=smart); /metadata needs no token.
    const smart = testApp({ AUTH_MODE: 'smart' });
    try {
      const res = await request(smart.app).get('/fhir/metadata');
      const published = JSON.parse(fs.readFileSync(PUBLISHED_CAPABILITY_PATH, 'utf8'));
      assert.deepEqual(canonical(res.body), published);
    } finally {
      await smart.close();
    }
  });

  it('lists the standard operations with their definitions, on the types they are defined for, and only searchable parameters', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    const rest = res.body.rest[0];
    const ops = (type: string): string[] => (rest.resource.find((r: { type: string }) => r.type === type).operation ?? []).map((o: { name: string; definition: string }) => `${o.name} ${o.definition}`);
    const hl7 = (id: string): string => `http://hl7.org/fhir/OperationDefinition/${id}`;
    assert.ok(rest.operation.some((o: { name: string; definition: string }) => o.name === 'meta' && o.definition === hl7('Resource-meta')), 'system $meta');
    for (const type of ['Patient', 'Observation', 'CodeSystem']) for (const m of ['meta Resource-meta', 'meta-add Resource-meta-add', 'meta-delete Resource-meta-delete']) assert.ok(ops(type).includes(`${m.split(' ')[0]} ${hl7(m.split(' ')[1]!)}`), `${type} ${m}`);
    assert.ok(ops('Patient').includes(`everything ${hl7('Patient-everything')}`));
    assert.ok(!ops('Observation').some((o) => o.startsWith('everything ')));
    assert.ok(ops('ValueSet').includes(`expand ${hl7('ValueSet-expand')}`) && ops('ValueSet').includes(`validate-code ${hl7('ValueSet-validate-code')}`));
    for (const id of ['CodeSystem-lookup', 'CodeSystem-validate-code', 'CodeSystem-subsumes']) assert.ok(ops('CodeSystem').some((o) => o.endsWith(hl7(id))), id);
    assert.ok(!ops('CodeSystem').includes(`validate-code ${hl7('ValueSet-validate-code')}`));
    assert.ok(ops('ConceptMap').includes(`translate ${hl7('ConceptMap-translate')}`));
    // What no query can use is not listed (the walk in capability-search-walk.test.ts searches the rest).
    const params = rest.resource.flatMap((r: { type: string; searchParam?: Array<{ name: string }> }) => (r.searchParam ?? []).map((p) => `${r.type}.${p.name}`));
    assert.deepEqual(params.filter((p: string) => /\._query$|\.spine-|^DeviceDefinition\.classification$/.test(p)), []);
  });

  it('a validated CapabilityStatement: the server accepts its own statement as a resource', async () => {
    const res = await request(t.app).get('/fhir/metadata');
    const stored = await request(t.app).post('/fhir/CapabilityStatement').set('Content-Type', 'application/fhir+json').send(JSON.stringify(res.body));
    assert.equal(stored.status, 201, stored.text);
  });
});
