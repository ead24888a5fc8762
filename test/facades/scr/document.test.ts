import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, Composition } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../../helpers/external-data';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../../helpers/test-app';
import { localReference, referencesIn } from '../../../src/operations/composition-document';

const R4 = existingExternalPath('hl7-r4-examples');
const BASE = 'http://localhost:8080/fhir';

describe('Composition $document over the R4 Composition examples (composition-operation-document.html)', function () {
  let t: TestApp;
  before(function () {
    if (!R4) skipWithReason(this, 'the R4 examples are not staged under ../shared/external/hl7-r4-examples');
    t = testApp(GENERIC_ENGINE);
  });
  after(() => t?.close());

  for (const file of ['Composition-example.json', 'Composition-example-mixed.json']) {
    it(`${file}: the document has the Composition first, then every stored resource it references`, async () => {
      const composition = JSON.parse(fs.readFileSync(path.join(R4!, file), 'utf8')) as Composition;
      const put = await request(t.app).put(`/fhir/Composition/${composition.id!}`).set('Content-Type', FHIR_JSON).send(composition);
      assert.ok(put.status === 201 || put.status === 200, put.text);
      const stored: string[] = [];
      for (const ref of new Set(referencesIn(composition))) {
        const local = localReference(ref, BASE);
        const f = local && path.join(R4!, `${local.replace('/', '-')}.json`);
        if (!f || !fs.existsSync(f)) continue;
        const r = await request(t.app).put(`/fhir/${local}`).set('Content-Type', FHIR_JSON).send(fs.readFileSync(f, 'utf8'));
        if (r.status === 200 || r.status === 201) stored.push(local);
      }
      assert.ok(stored.length > 0, 'some referenced examples are stored');
      for (const url of [`/fhir/Composition/${composition.id!}/$document`, `/fhir/Composition/$document?id=${composition.id!}`]) {
        const res = await request(t.app).get(url);
        assert.equal(res.status, 200, res.text);
        const doc = res.body as Bundle;
        assert.equal(doc.type, 'document');
        assert.match(doc.identifier?.value ?? '', /^urn:uuid:/);
        assert.ok(doc.timestamp);
        assert.equal(doc.entry![0]!.resource!.resourceType, 'Composition');
        assert.equal(doc.entry![0]!.fullUrl, `${BASE}/Composition/${composition.id!}`);
        const has = new Set(doc.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id!}`));
        for (const s of stored) assert.ok(has.has(s), `${s} in the document`);
        assert.equal(has.size, doc.entry!.length, 'no resource twice');
      }
      const persisted = await request(t.app).post(`/fhir/Composition/${composition.id!}/$document`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters', parameter: [{ name: 'persist', valueBoolean: true }] });
      assert.equal(persisted.status, 200, persisted.text);
      const read = await request(t.app).get(`/fhir/Bundle/${(persisted.body as Bundle).id!}`);
      assert.equal(read.status, 200, read.text);
      assert.equal((read.body as Bundle).type, 'document');
    });
  }

  it('errors: unknown Composition 404, missing id 400', async () => {
    assert.equal((await request(t.app).get('/fhir/Composition/nope/$document')).status, 404);
    assert.equal((await request(t.app).get('/fhir/Composition/$document')).status, 400);
  });
});
