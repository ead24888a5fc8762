/**
 * Interceptors and access restrictions (src/fhir/interaction.ts, src/fhir/context.ts): every
 * interaction — Bundle entries included — is described to the interceptors before its handler runs,
 * and an access restriction set by an interceptor is part of every search, `_include`/`_revinclude`
 * and system search, so resources outside it are never returned or counted.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, GENERIC_ENGINE, type TestApp } from '../helpers/test-app';
import type { Interaction, Interceptor } from '../../src/fhir/interaction';
import { compartmentRestriction } from '../../src/search/compartments';
import { FhirError } from '../../src/fhir/outcome';

interface Entry {
  resource: { resourceType: string; id: string };
  search?: { mode: string };
}
const keys = (entries: Entry[] | undefined, mode?: string): string[] =>
  (entries ?? [])
    .filter((e) => mode === undefined || e.search?.mode === mode)
    .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();

describe('HTTP: interceptors and access restrictions', () => {
  let t: TestApp;
  const seen: Interaction[] = [];
  /** Set per test: the patient whose compartment the caller is restricted to. */
  let patient: string | undefined;

  const recorder: Interceptor = (req, interaction, ctx, next) => {
    seen.push(interaction);
    return next();
  };
  const compartmentOnly: Interceptor = (req, interaction, ctx, next) => {
    if (patient === undefined || ctx.access) return next();
    const p = patient;
    return next(req, {
      ...ctx,
      access: {
        restrict: (type) => (type === 'Organization' ? 'none' : (compartmentRestriction('Patient', p, type) ?? 'none')),
      },
    });
  };
  const refuseDeletes: Interceptor = (req, interaction, ctx, next) => {
    if (interaction.kind === 'delete' && interaction.resourceType === 'Practitioner') throw new FhirError('forbidden', { diagnostics: 'no deletes of Practitioner' });
    return next();
  };

  const put = async (r: { resourceType: string; id: string } & Record<string, unknown>): Promise<void> => {
    const res = await request(t.app).put(`/fhir/${r.resourceType}/${r.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status === 201 || res.status === 200, res.text);
  };
  const get = async (url: string): Promise<{ entry?: Entry[]; total?: number }> => {
    const res = await request(t.app).get(url);
    assert.equal(res.status, 200, res.text);
    return res.body as { entry?: Entry[]; total?: number };
  };

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    t.services.interceptors = [recorder, compartmentOnly, refuseDeletes];
    await put({ resourceType: 'Organization', id: 'org1', name: 'Org' });
    await put({ resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Who' }] });
    for (const id of ['a', 'b']) await put({ resourceType: 'Patient', id, name: [{ family: 'Same' }], managingOrganization: { reference: 'Organization/org1' } });
    for (const [id, subject] of [['oa1', 'a'], ['oa2', 'a'], ['ob1', 'b']] as const) {
      await put({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${subject}` }, performer: [{ reference: 'Practitioner/pr1' }] });
    }
  });
  after(() => t.close());
  beforeEach(() => {
    seen.length = 0;
    patient = undefined;
  });

  it('describes each interaction before its handler runs', async () => {
    await get('/fhir/Patient/a');
    await get('/fhir/Patient?name=same');
    await get('/fhir/Patient/a/_history/1');
    await get('/fhir/Patient/a/Observation');
    await get('/fhir/metadata');
    assert.deepEqual(
      seen.map((i) => [i.kind, i.level, i.resourceType, i.id, i.versionId, i.compartment?.id]),
      [
        ['read', 'instance', 'Patient', 'a', undefined, undefined],
        ['search', 'type', 'Patient', undefined, undefined, undefined],
        ['vread', 'instance', 'Patient', 'a', '1', undefined],
        ['search', 'type', 'Observation', undefined, undefined, 'a'],
        ['capabilities', 'system', undefined, undefined, undefined, undefined],
      ],
    );
  });

  it('runs the interceptors for every entry of a transaction, creates included', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Practitioner', name: [{ family: 'New' }] }, request: { method: 'POST', url: 'Practitioner' } },
        { request: { method: 'GET', url: 'Patient/b' } },
      ],
    };
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      seen.map((i) => `${i.kind}:${i.resourceType ?? ''}`),
      ['transaction:', 'create:Practitioner', 'read:Patient'],
    );
  });

  it('an interceptor can refuse an interaction, also inside a transaction (nothing is left behind)', async () => {
    const res = await request(t.app).delete('/fhir/Practitioner/pr1');
    assert.equal(res.status, 403);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Organization', id: 'org9', name: 'Nine' }, request: { method: 'PUT', url: 'Organization/org9' } },
        { request: { method: 'DELETE', url: 'Practitioner/pr1' } },
      ],
    };
    const tx = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));
    assert.equal(tx.status, 403, tx.text);
    assert.equal((await request(t.app).get('/fhir/Organization/org9')).status, 404);
  });

  it('restricts a type search inside the query: results and total', async () => {
    patient = 'a';
    const b = await get('/fhir/Observation?_total=accurate');
    assert.deepEqual(keys(b.entry), ['Observation/oa1', 'Observation/oa2']);
    assert.equal(b.total, 2);
    const none = await get('/fhir/Observation?subject=Patient/b&_total=accurate');
    assert.deepEqual(keys(none.entry), []);
    assert.equal(none.total, 0);
    const pats = await get('/fhir/Patient?name=same');
    assert.deepEqual(keys(pats.entry), ['Patient/a']);
  });

  it('restricts _include and _revinclude targets', async () => {
    patient = 'a';
    const inc = await get('/fhir/Observation?_include=Observation:subject&_include=Observation:performer');
    // Practitioner is not in the Patient compartment: it is not included.
    assert.deepEqual(keys(inc.entry, 'include'), ['Patient/a']);
    const org = await get('/fhir/Patient?_include=Patient:organization&_revinclude=Observation:subject');
    assert.deepEqual(keys(org.entry, 'match'), ['Patient/a']);
    assert.deepEqual(keys(org.entry, 'include'), ['Observation/oa1', 'Observation/oa2']);
  });

  it('restricts system searches type by type, skipping types the caller may not see', async () => {
    patient = 'a';
    const b = await get('/fhir?_type=Patient,Observation,Organization&_total=accurate');
    assert.deepEqual(keys(b.entry), ['Observation/oa1', 'Observation/oa2', 'Patient/a']);
    assert.equal(b.total, 3);
    patient = undefined;
    const all = await get('/fhir?_type=Patient,Organization&_total=accurate');
    assert.equal(all.total, 3);
  });
});
