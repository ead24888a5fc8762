/**
 * Access to bulk exports with SMART tokens (Bulk Data 2.0 export.html "requiresAccessToken"; SMART
 * App Launch 2.0.0 scopes; ADR 15, 20, 31): a patient-context token exports only its own compartment;
 * the status URL and the files need the token of the caller that started the job (another caller gets
 * 404, as for an absent job; no token 401); types the token may not read are left out, naming one is 403.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { compartmentWorld, MARKER, type CompartmentWorld } from '../security/compartment-fixture';
import { exportAll, ids, kickOff, local, poll } from './client';

describe('bulk-data: $export access control (SMART)', () => {
  let w: CompartmentWorld;
  before(async () => {
    w = await compartmentWorld('generic');
  });
  after(() => w?.close());

  it('a backend token exports everything', async () => {
    const { byType } = await exportAll(w.t.app, '/fhir/$export', w.system());
    assert.deepEqual(ids(byType, 'Patient'), [w.a, w.b].sort());
    assert.ok(ids(byType, 'Observation').includes('ob1'));
  });

  it("a patient-context token exports only its own compartment, at every level", async () => {
    const tok = w.patientToken('patient/*.rs');
    for (const path of ['/fhir/$export', '/fhir/Patient/$export']) {
      const { byType } = await exportAll(w.t.app, path, tok);
      assert.deepEqual(ids(byType, 'Patient'), [w.a], path);
      const obs = ids(byType, 'Observation');
      assert.ok(obs.includes('oa1') && obs.includes('o-moved'), path);
      for (const [, rs] of byType) for (const r of rs) assert.ok(!JSON.stringify(r).includes(MARKER) || r.id === 'ob-by-a', `${path}: ${r.resourceType}/${r.id}`);
      assert.ok(!obs.includes('ob1') && !obs.includes('ob-focus') && !obs.includes('ob-del'), path);
    }
  });

  it('types the token may not read are left out; naming one in _type is 403', async () => {
    const tok = w.patientToken('patient/Observation.rs');
    const { byType } = await exportAll(w.t.app, '/fhir/$export', tok);
    assert.deepEqual([...byType.keys()], ['Observation']);
    const res = await request(w.t.app).get('/fhir/$export?_type=Patient').set('Prefer', 'respond-async').set('Authorization', `Bearer ${tok}`);
    assert.equal(res.status, 403, res.text);
  });

  it('another caller cannot poll, download or cancel; without a token it is 401', async () => {
    const owner = w.patientToken('patient/*.rs');
    const status = await kickOff(w.t.app, '/fhir/$export', owner);
    const { manifest } = await poll(w.t.app, status, owner);
    const file = manifest.output[0]!.url;
    const other = w.patientToken('patient/*.rs', w.b);
    for (const tok of [other, w.system()]) {
      assert.equal((await w.get(local(status), tok)).status, 404);
      assert.equal((await w.get(local(file), tok)).status, 404);
      assert.equal((await w.send('delete', local(status), tok)).status, 404);
    }
    assert.equal((await request(w.t.app).get(local(status))).status, 401);
    assert.equal((await request(w.t.app).get(local(file))).status, 401);
    assert.equal((await request(w.t.app).delete(local(status))).status, 401);
    // The owner still can, with a new token of the same grant.
    assert.equal((await w.get(local(file), w.patientToken('patient/*.rs'))).status, 200);
    assert.equal((await w.send('delete', local(status), owner)).status, 202);
  });
});
