/**
 * FHIR Bulk Data Access IG 2.0 export.html over HTTP, AUTH_MODE=off: kick-off (Prefer: respond-async
 * required), polling, the manifest, NDJSON downloads, `_type`, `_since`, `_typeFilter`, Patient- and
 * Group-level exports, cancel (DELETE on the status URL), expiry, and a round trip: an export loaded
 * into an empty server gives back every resource.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Resource } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, TEST_BASE, testApp, type TestApp } from '../helpers/test-app';
import { download, exportAll, ids, kickOff, local, poll } from './client';

describe('bulk-data: $export (Bulk Data 2.0)', () => {
  let t: TestApp;
  let middle: string;
  const put = async (app: TestApp, r: Record<string, unknown>): Promise<void> => {
    const res = await request(app.app).put(`/fhir/${String(r['resourceType'])}/${String(r['id'])}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status < 300, res.text);
  };
  const obs = (id: string, patient: string, code: string) => ({ resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code }] }, subject: { reference: `Patient/${patient}` } });

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    await put(t, { resourceType: 'Organization', id: 'org', name: 'Practice\nwith a newline' });
    for (const p of ['p1', 'p2', 'p3']) await put(t, { resourceType: 'Patient', id: p, name: [{ family: p }], managingOrganization: { reference: 'Organization/org' } });
    await put(t, obs('o1', 'p1', '8867-4'));
    await put(t, obs('o2', 'p2', '8310-5'));
    await put(t, { resourceType: 'Group', id: 'g', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p3' } }] });
    await new Promise((r) => setTimeout(r, 20));
    middle = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await put(t, obs('o3', 'p3', '8867-4'));
  });
  after(() => t?.close());

  it('kick-off without Prefer: respond-async is 400 with an OperationOutcome', async () => {
    const res = await request(t.app).get('/fhir/$export').set('Accept', FHIR_JSON);
    assert.equal(res.status, 400);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(res.body), /respond-async/);
  });

  it('bad parameters are 400: _outputFormat, _type, _since, _typeFilter, unknown parameters', async () => {
    for (const q of ['_outputFormat=text/csv', '_type=Nope', '_since=yesterday', '_typeFilter=Observation', '_typeFilter=Observation?nope=1', 'patient=Patient/p1']) {
      const res = await request(t.app).get(`/fhir/$export?${q}`).set('Prefer', 'respond-async');
      assert.equal(res.status, 400, `${q}: ${res.text}`);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    }
  });

  it('system export: manifest per the IG, every resource in NDJSON by type, one a line', async () => {
    const { manifest, byType } = await exportAll(t.app, '/fhir/$export');
    assert.equal(manifest.requiresAccessToken, true);
    assert.equal(manifest.request, `${TEST_BASE}/$export`);
    assert.ok(!Number.isNaN(Date.parse(manifest.transactionTime)));
    assert.deepEqual(manifest.error, []);
    assert.deepEqual(manifest.output.map((o) => o.type).sort(), ['Group', 'Observation', 'Organization', 'Patient']);
    for (const o of manifest.output) assert.match(o.url, /^http:\/\/localhost:8080\/fhir\//);
    assert.deepEqual(ids(byType, 'Patient'), ['p1', 'p2', 'p3']);
    assert.deepEqual(ids(byType, 'Observation'), ['o1', 'o2', 'o3']);
    assert.equal((byType.get('Organization')![0] as { name?: string }).name, 'Practice\nwith a newline');
  });

  it('_type, _since and _typeFilter (searches through the engine; several filters for a type are a union)', async () => {
    const typed = await exportAll(t.app, '/fhir/$export?_type=Patient,Observation');
    assert.deepEqual([...typed.byType.keys()].sort(), ['Observation', 'Patient']);
    const since = await exportAll(t.app, `/fhir/$export?_since=${encodeURIComponent(middle)}`);
    assert.deepEqual([...since.byType.keys()], ['Observation']);
    assert.deepEqual(ids(since.byType, 'Observation'), ['o3']);
    const filtered = await exportAll(t.app, `/fhir/$export?_type=Observation,Patient&_typeFilter=${encodeURIComponent('Observation?code=http://loinc.org|8867-4')}`);
    assert.deepEqual(ids(filtered.byType, 'Observation'), ['o1', 'o3']);
    assert.deepEqual(ids(filtered.byType, 'Patient'), ['p1', 'p2', 'p3'], 'types without a filter are whole');
    const union = await exportAll(t.app, `/fhir/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?_id=o1')}&_typeFilter=${encodeURIComponent('Observation?_id=o2,o1')}`);
    assert.deepEqual(ids(union.byType, 'Observation'), ['o1', 'o2']);
    assert.equal(union.manifest.output[0]!.count, 2);
  });

  it('POST kick-off with a Parameters body', async () => {
    const res = await request(t.app).post('/fhir/$export').set('Prefer', 'respond-async').set('Content-Type', FHIR_JSON)
      .send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Organization' }] }));
    assert.equal(res.status, 202, res.text);
    const { manifest } = await poll(t.app, res.headers['content-location'] as string);
    assert.deepEqual(manifest.output.map((o) => o.type), ['Organization']);
  });

  it('Patient-level export: the Patient compartment only (the Group names Patients as members: in it; the Organization is not)', async () => {
    const { byType } = await exportAll(t.app, '/fhir/Patient/$export');
    assert.deepEqual([...byType.keys()].sort(), ['Group', 'Observation', 'Patient']);
    assert.deepEqual(ids(byType, 'Observation'), ['o1', 'o2', 'o3']);
  });

  it('Group-level export: the members and their compartments only', async () => {
    const { byType } = await exportAll(t.app, '/fhir/Group/g/$export');
    assert.deepEqual(ids(byType, 'Patient'), ['p1', 'p3']);
    assert.deepEqual(ids(byType, 'Observation'), ['o1', 'o3']);
    const missing = await request(t.app).get('/fhir/Group/nope/$export').set('Prefer', 'respond-async');
    assert.equal(missing.status, 404);
  });

  it('DELETE on the status URL cancels: 202, then the job and its files are gone (404)', async () => {
    const status = await kickOff(t.app, '/fhir/$export');
    const { manifest } = await poll(t.app, status);
    const del = await request(t.app).delete(local(status));
    assert.equal(del.status, 202, del.text);
    assert.equal((await request(t.app).get(local(status))).status, 404);
    assert.equal((await request(t.app).get(local(manifest.output[0]!.url))).status, 404);
    assert.equal((await request(t.app).delete(local(status))).status, 404);
  });

  it('an unknown job or file is 404', async () => {
    assert.equal((await request(t.app).get('/fhir/$export-poll-status?_jobId=nope')).status, 404);
    const status = await kickOff(t.app, '/fhir/$export?_type=Patient');
    await poll(t.app, status);
    const jobId = new URL(status).searchParams.get('_jobId')!;
    assert.equal((await request(t.app).get(`/fhir/$export-file?_jobId=${jobId}&_file=..%2F..%2Fetc%2Fpasswd`)).status, 404);
  });

  it('finished jobs expire after BULK_EXPORT_EXPIRY_SECONDS', async () => {
    const e = testApp({ ...GENERIC_ENGINE, BULK_EXPORT_EXPIRY_SECONDS: '1' });
    try {
      await put(e, { resourceType: 'Patient', id: 'x' });
      const status = await kickOff(e.app, '/fhir/$export');
      const { manifest } = await poll(e.app, status);
      assert.equal((await download(e.app, manifest.output[0]!.url)).length, 1);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await request(e.app).get(local(status))).status, 404);
      assert.equal((await request(e.app).get(local(manifest.output[0]!.url))).status, 404);
    } finally {
      await e.close();
    }
  });

  it('round trip: the export loaded into an empty server (one transaction) gives back every resource', async () => {
    const { byType } = await exportAll(t.app, '/fhir/$export');
    const target = testApp(GENERIC_ENGINE);
    try {
      const all = [...byType.values()].flat();
      const entry = all.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
      const res = await request(target.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
      assert.equal(res.status, 200, res.text);
      const strip = (r: Resource): Resource => {
        const { meta, ...rest } = r as Resource & { meta?: Record<string, unknown> };
        const m = { ...(meta ?? {}) };
        delete m['versionId'];
        delete m['lastUpdated'];
        return (Object.keys(m).length ? { ...rest, meta: m } : rest) as Resource;
      };
      for (const r of all) {
        const got = await request(target.app).get(`/fhir/${r.resourceType}/${r.id}`);
        assert.equal(got.status, 200);
        assert.deepEqual(strip(got.body as Resource), strip(r), `${r.resourceType}/${r.id}`);
      }
      const again = await exportAll(target.app, '/fhir/$export');
      for (const [type, rs] of byType) assert.deepEqual(ids(again.byType, type), rs.map((r) => r.id!).sort());
    } finally {
      await target.close();
    }
  });

  it('other requests are answered while a large export runs', async () => {
    const big = testApp(GENERIC_ENGINE);
    try {
      const entry = Array.from({ length: 1500 }, (_, i) => ({ resource: { resourceType: 'Patient', id: `b${i}` }, request: { method: 'PUT', url: `Patient/b${i}` } }));
      const res = await request(big.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
      assert.equal(res.status, 200);
      const status = await kickOff(big.app, '/fhir/$export');
      const meta = await request(big.app).get('/fhir/Patient/b1');
      assert.equal(meta.status, 200);
      const { manifest, inProgress } = await poll(big.app, status);
      assert.ok(inProgress >= 1, 'the read was answered while the job still ran');
      assert.equal(manifest.output[0]!.count, 1500);
    } finally {
      await big.close();
    }
  });
});
