/**
 * SearchParameter resources at run time and `$reindex` over HTTP (FHIR R4 searchparameter.html,
 * operations.html): a new parameter indexes later writes, `$reindex` indexes existing resources
 * (system, type, instance level) without new versions, deleting the parameter removes it.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';
import { initServices } from '../../src/main';

interface Bundle {
  total?: number;
  entry?: Array<{ resource: { resourceType: string; id: string }; search?: { mode: string } }>;
}
interface Params {
  resourceType: 'Parameters';
  parameter: Array<{ name: string; valueInteger?: number; part?: Array<{ name: string; valueCode?: string; valueInteger?: number }> }>;
}

const NICK_URL = 'http://example.org/fhir/SearchParameter/patient-nickname';
const nickname = {
  resourceType: 'SearchParameter',
  id: 'patient-nickname',
  url: NICK_URL,
  name: 'nickname',
  status: 'active',
  description: 'The nickname (HumanName with use=nickname) of a patient',
  code: 'nickname',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.name.where(use = 'nickname').given",
};
const patient = (id: string, nick: string) => ({ resourceType: 'Patient', id, name: [{ use: 'official', family: 'Runtime' }, { use: 'nickname', given: [nick] }] });
const ids = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id).sort();
const count = (p: Params, name: string): number | undefined => p.parameter.find((x) => x.name === name)?.valueInteger;

describe('HTTP: run-time SearchParameters and $reindex', () => {
  let t: TestApp;
  const put = async (r: { resourceType: string; id: string } & Record<string, unknown>): Promise<request.Response> =>
    request(t.app).put(`/fhir/${r.resourceType}/${r.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));

  before(async () => {
    t = testApp();
    assert.equal((await put(patient('rt-old', 'Bobby'))).status, 201);
  });
  after(() => t.close());

  it('before the SearchParameter exists the code is unknown (strict 400, lenient ignored)', async () => {
    assert.equal((await request(t.app).get('/fhir/Patient?nickname=bob').set('Prefer', 'handling=strict')).status, 400);
    const lenient = await request(t.app).get('/fhir/Patient?nickname=bob');
    assert.equal(lenient.status, 200);
    assert.ok((lenient.body as Bundle).entry!.some((e) => e.search?.mode === 'outcome'));
  });

  it('a created SearchParameter indexes new writes; $reindex indexes the existing ones without new versions', async () => {
    assert.equal((await put(nickname)).status, 201);
    assert.equal((await put(patient('rt-new', 'Bobcat'))).status, 201);
    const before = await request(t.app).get('/fhir/Patient?nickname=bob').set('Prefer', 'handling=strict');
    assert.equal(before.status, 200, before.text);
    assert.deepEqual(ids(before.body), ['rt-new'], 'existing resources are not indexed until $reindex');

    const typeLevel = await request(t.app).post('/fhir/Patient/$reindex').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'batchSize', valueInteger: 1 }] }));
    assert.equal(typeLevel.status, 200, typeLevel.text);
    const out = typeLevel.body as Params;
    assert.equal(count(out, 'reindexed'), 2);
    assert.equal(count(out, 'skipped'), 0);
    assert.deepEqual(out.parameter.find((p) => p.name === 'type')!.part, [
      { name: 'resourceType', valueCode: 'Patient' },
      { name: 'reindexed', valueInteger: 2 },
    ]);
    const after = await request(t.app).get('/fhir/Patient?nickname=bob');
    assert.deepEqual(ids(after.body), ['rt-new', 'rt-old']);
    const old = await request(t.app).get('/fhir/Patient/rt-old');
    assert.equal(old.body.meta.versionId, '1', '$reindex writes no new version');
  });

  it('$reindex at instance and system level; GET is refused (it changes state)', async () => {
    const inst = await request(t.app).post('/fhir/Patient/rt-old/$reindex');
    assert.equal(inst.status, 200, inst.text);
    assert.equal(count(inst.body as Params, 'reindexed'), 1);
    const sys = await request(t.app).post('/fhir/$reindex');
    assert.equal(sys.status, 200, sys.text);
    assert.equal(count(sys.body as Params, 'reindexed'), 3, 'two Patients and the SearchParameter');
    assert.equal((await request(t.app).get('/fhir/$reindex')).status, 405);
    assert.equal((await request(t.app).post('/fhir/Patient/nope/$reindex')).status, 404);
    assert.equal((await request(t.app).post('/fhir/$reindex?batchSize=0')).status, 400);
  });

  it('a SearchParameter whose expression does not compile is rejected with 400', async () => {
    const res = await put({ ...nickname, id: 'broken', url: 'http://example.org/fhir/SearchParameter/broken', code: 'broken', expression: 'Patient.name.where(' });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.resourceType, 'OperationOutcome');
  });

  it('a SearchParameter whose expression (or component expression) has a backtracking-prone regular expression is rejected with 400 (ReDoS, ADR 16)', async () => {
    const evil = { ...nickname, id: 'redos', url: 'http://example.org/fhir/SearchParameter/redos', code: 'redos', expression: "Patient.name.given.where($this.matches('^(a+)+$'))" };
    const res = await put(evil);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.issue[0].diagnostics, /matches\("\^\(a\+\)\+\$"\)/);
    const fromData = await put({ ...evil, expression: 'Patient.name.given.where($this.matches(%resource.id))' });
    assert.equal(fromData.status, 400, fromData.text);
    const composite = await put({ ...evil, type: 'composite', expression: 'Patient.name', component: [{ definition: NICK_URL, expression: "given.where(matches('(a|aa)+'))" }] });
    assert.equal(composite.status, 400, composite.text);
    assert.match(composite.body.issue[0].diagnostics, /\(a\|aa\)\+/);
    const fine = await put({ ...evil, expression: "Patient.name.given.where($this.matches('^[A-Z][a-z]+$'))" });
    assert.equal(fine.status, 201, fine.text);
  });

  it('a SearchParameter whose code is a built-in parameter of its base is refused (400 naming the code); the built-in one keeps working', async () => {
    const family = { ...nickname, id: 'family-given', url: 'http://example.org/fhir/SearchParameter/family-given', code: 'family', expression: 'Patient.name.given' };
    const res = await put(family);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.issue[0].diagnostics, /"family"/);
    assert.equal((await request(t.app).get('/fhir/SearchParameter/family-given')).status, 404, 'nothing was stored');
    assert.equal((await put({ resourceType: 'Patient', id: 'rt-famous', name: [{ family: 'Famous', given: ['Other'] }] })).status, 201);
    const byFamily = await request(t.app).get('/fhir/Patient?family=famous').set('Prefer', 'handling=strict');
    assert.deepEqual(ids(byFamily.body as Bundle), ['rt-famous']);
    assert.deepEqual(ids((await request(t.app).get('/fhir/Patient?family=other').set('Prefer', 'handling=strict')).body as Bundle), []);
    // On Resource / DomainResource the code collides with the parameters of every type; `_` codes are the specification's.
    const onAll = await put({ ...family, id: 'any-name', url: 'http://example.org/fhir/SearchParameter/any-name', code: 'name', base: ['DomainResource'], expression: 'DomainResource.id' });
    assert.equal(onAll.status, 400, onAll.text);
    assert.match(onAll.body.issue[0].diagnostics, /"name"/);
    const reserved = await put({ ...family, id: 'underscore', url: 'http://example.org/fhir/SearchParameter/underscore', code: '_nick', expression: 'Patient.name.given' });
    assert.equal(reserved.status, 400, reserved.text);
    assert.match(reserved.body.issue[0].diagnostics, /"_nick"/);
  });

  it('a colliding SearchParameter stored before the rule is not registered at start-up', async () => {
    const other = testApp();
    try {
      const sp = { ...nickname, id: 'old-family', url: 'http://example.org/fhir/SearchParameter/old-family', code: 'family', expression: 'Patient.name.given' };
      await other.services.store.write({ kind: 'create', resourceType: 'SearchParameter', id: sp.id, resource: sp as never, index: other.services.indexer.extract(sp as never) });
      await initServices(other.services);
      assert.equal((await request(other.app).put('/fhir/Patient/p1').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Kept', given: ['Given'] }] }))).status, 201);
      assert.deepEqual(ids((await request(other.app).get('/fhir/Patient?family=kept')).body as Bundle), ['p1']);
    } finally {
      await other.close();
    }
  });

  it('deleting the SearchParameter unregisters it', async () => {
    assert.equal((await request(t.app).delete('/fhir/SearchParameter/patient-nickname')).status, 204);
    assert.equal((await request(t.app).get('/fhir/Patient?nickname=bob').set('Prefer', 'handling=strict')).status, 400);
  });

  it('the CapabilityStatement lists $reindex, the compartments and _include/_revinclude values', async () => {
    const cs = (await request(t.app).get('/fhir/metadata')).body as {
      rest: Array<{ operation?: Array<{ name: string }>; compartment?: string[]; resource: Array<{ type: string; searchInclude?: string[]; searchRevInclude?: string[]; operation?: Array<{ name: string }> }> }>;
    };
    const rest = cs.rest[0]!;
    assert.ok(rest.operation!.some((o) => o.name === 'reindex'));
    assert.equal(rest.compartment!.length, 5);
    const mr = rest.resource.find((r) => r.type === 'MedicationRequest')!;
    assert.ok(mr.searchInclude!.includes('MedicationRequest:subject'));
    assert.ok(mr.operation!.some((o) => o.name === 'reindex'));
    const pat = rest.resource.find((r) => r.type === 'Patient')!;
    assert.ok(pat.searchRevInclude!.includes('MedicationRequest:subject'));
    assert.ok(pat.searchRevInclude!.includes('Provenance:target'));
  });
});
