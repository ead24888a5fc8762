/**
 * Transactions, batches and references as the R4 text reads them (issue 12): the processing order
 * DELETE, POST, PUT/PATCH, GET (bundle.html#transaction) for conditional creates, placeholder
 * references that name no entry (bundle.html#references), conditional references outside a
 * transaction (http.html#trules), HEAD entries without a body and `response.lastModified` with the
 * stored version's milliseconds.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

type Entry = { response: { status: string; location?: string; lastModified?: string; etag?: string }; resource?: { resourceType: string; id?: string; meta?: { lastUpdated?: string } } };

describe('HTTP: transaction order, references, HEAD and lastModified', () => {
  let t: TestApp;
  beforeEach(() => {
    t = testApp();
  });
  afterEach(() => t.close());

  const postBundle = (b: unknown, headers: Record<string, string> = {}) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).set(headers).send(JSON.stringify(b));
  const create = async (resource: Record<string, unknown>): Promise<string> => {
    const res = await request(t.app).post(`/fhir/${String(resource['resourceType'])}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource));
    assert.equal(res.status, 201, res.text);
    return res.body.id as string;
  };
  const count = async (query: string): Promise<number> => (await request(t.app).get(`/fhir/${query}&_total=accurate`)).body.total as number;

  it('a conditional create whose ifNoneExist matched a resource deleted in the same transaction creates (DELETE runs first)', async () => {
    const old = await create({ resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'DEL-1' }] });
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-000000000001', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'DEL-1' }], name: [{ family: 'Replaced' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test:mrn|DEL-1' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'after' }, subject: { reference: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
        { request: { method: 'DELETE', url: `Patient/${old}` } },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const entries = res.body.entry as Entry[];
    assert.match(entries[0]!.response.status, /^201/, 'the Patient is created, not matched to the deleted one');
    const createdId = entries[0]!.response.location!.split('/')[1]!;
    assert.notEqual(createdId, old);
    assert.match(entries[2]!.response.status, /^204/);
    const obs = await request(t.app).get(`/fhir/${entries[1]!.response.location!.replace(/\/_history\/\d+$/, '')}`);
    assert.equal(obs.body.subject.reference, `Patient/${createdId}`, 'references to the fullUrl point at the new Patient');
    assert.equal(await count('Patient?identifier=urn:test:mrn|DEL-1'), 1);
  });

  it('a urn:uuid reference that names no entry of the transaction fails it (400 naming the element) and stores nothing; a stored Bundle keeps its own', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-000000000002', resource: { resourceType: 'Patient', name: [{ family: 'Dangling' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'dangling' }, subject: { reference: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-00000000dead' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    assert.ok(res.body.issue[0].expression.includes('Bundle.entry[1].resource.subject.reference'), JSON.stringify(res.body.issue[0]));
    assert.match(res.body.issue[0].diagnostics, /urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-00000000dead/);
    assert.equal(await count('Patient?family=Dangling'), 0);
    assert.equal(await count('Observation?code:text=dangling'), 0);
    const oid = await postBundle({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'oid' }, subject: { reference: 'urn:oid:1.2.3.4' } }, request: { method: 'POST', url: 'Observation' } }] });
    assert.equal(oid.status, 400, oid.text);
    // The internal urn:uuid references of a collection Bundle written by a transaction are that Bundle's own.
    const doc = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-0000000000d1', resource: { resourceType: 'Observation', status: 'final', code: { text: 'in doc' }, subject: { reference: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-0000000000d2' } } },
        { fullUrl: 'urn:uuid:5d0a8f0e-8f0e-4c1e-9c1e-0000000000d2', resource: { resourceType: 'Patient' } },
      ],
    };
    const stored = await postBundle({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: doc, request: { method: 'POST', url: 'Bundle' } }] });
    assert.equal(stored.status, 200, stored.text);
  });

  it('create and update resolve a conditional reference to its one match, and refuse none or several with 422', async () => {
    const p = await create({ resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'CR-1' }] });
    await create({ resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'CR-2' }] });
    await create({ resourceType: 'Patient', identifier: [{ system: 'urn:test:mrn', value: 'CR-2' }] });
    const obs = (subject: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'cond' }, subject: { reference: subject } });
    const one = await request(t.app).post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(JSON.stringify(obs('Patient?identifier=urn:test:mrn|CR-1')));
    assert.equal(one.status, 201, one.text);
    assert.equal(one.body.subject.reference, `Patient/${p}`);
    assert.equal(await count(`Observation?subject=Patient/${p}`), 1);
    for (const [criteria, code] of [['identifier=urn:test:mrn|CR-404', 'not-found'], ['identifier=urn:test:mrn|CR-2', 'multiple-matches']] as const) {
      const res = await request(t.app).post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(JSON.stringify(obs(`Patient?${criteria}`)));
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.issue[0].code, code);
      assert.deepEqual(res.body.issue[0].expression, ['Observation.subject.reference']);
    }
    const put = await request(t.app).put('/fhir/Observation/cr-put').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...obs('Patient?identifier=urn:test:mrn|CR-1'), id: 'cr-put' }));
    assert.equal(put.status, 201, put.text);
    assert.equal(put.body.subject.reference, `Patient/${p}`);
    const none = await request(t.app).put('/fhir/Observation/cr-put2').set('Content-Type', FHIR_JSON).send(JSON.stringify({ ...obs('Patient?identifier=urn:test:mrn|CR-404'), id: 'cr-put2' }));
    assert.equal(none.status, 422, none.text);
    assert.equal((await request(t.app).get('/fhir/Observation/cr-put2')).status, 404, 'nothing stored');
    // A batch entry is a plain write: the same rule.
    const batch = await postBundle({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: obs('Patient?identifier=urn:test:mrn|CR-1'), request: { method: 'POST', url: 'Observation' } }] });
    assert.equal(batch.status, 200, batch.text);
    assert.equal(batch.body.entry[0].resource.subject.reference, `Patient/${p}`);
  });

  it('HEAD entries of a batch answer without a body', async () => {
    const id = await create({ resourceType: 'Patient', name: [{ family: 'Headless' }] });
    const res = await postBundle({ resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'HEAD', url: `Patient/${id}` } }, { request: { method: 'GET', url: `Patient/${id}` } }] });
    assert.equal(res.status, 200, res.text);
    const [head, get] = res.body.entry as Entry[];
    assert.match(head!.response.status, /^200/);
    assert.equal(head!.response.etag, 'W/"1"');
    assert.equal(head!.resource, undefined, 'HEAD has no body');
    assert.equal(get!.resource?.id, id);
  });

  it('entry response.lastModified is the stored meta.lastUpdated with its milliseconds, with return=minimal and for large resources too', async () => {
    const large = { resourceType: 'Patient', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(2000)}</div>` }, name: [{ family: 'Large' }] };
    for (const [type, prefer] of [['transaction', 'return=minimal'], ['transaction', 'return=representation'], ['batch', 'return=minimal']] as const) {
      const res = await postBundle({ resourceType: 'Bundle', type, entry: [{ resource: large, request: { method: 'POST', url: 'Patient' } }] }, { Prefer: prefer });
      assert.equal(res.status, 200, res.text);
      const e = (res.body.entry as Entry[])[0]!;
      const stored = await request(t.app).get(`/fhir/${e.response.location!.replace(/\/_history\/\d+$/, '')}`);
      assert.equal(e.response.lastModified, stored.body.meta.lastUpdated, `${type} ${prefer}`);
      assert.match(e.response.lastModified!, /\.\d{3}Z$/);
    }
  });
});
