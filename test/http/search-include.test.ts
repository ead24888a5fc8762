/**
 * `_include` / `_revinclude` over HTTP (FHIR R4 search.html#include): search.mode `include`, `:iterate`,
 * `*`, target type restriction, no duplicates.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { FHIR_JSON, testApp, GENERIC_ENGINE, type TestApp } from '../helpers/test-app';

interface Entry {
  fullUrl: string;
  resource: { resourceType: string; id: string };
  search: { mode: string };
}

const keys = (entries: Entry[] | undefined, mode: string): string[] =>
  (entries ?? [])
    .filter((e) => e.search.mode === mode)
    .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
    .sort();

describe('HTTP: _include and _revinclude', () => {
  let t: TestApp;
  const put = async (r: { resourceType: string; id: string } & Record<string, unknown>): Promise<void> => {
    const res = await request(t.app).put(`/fhir/${r.resourceType}/${r.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(r));
    assert.ok(res.status === 201 || res.status === 200, res.text);
  };
  const get = async (url: string) => {
    const res = await request(t.app).get(url);
    assert.equal(res.status, 200, res.text);
    return res.body as { entry?: Entry[]; total?: number };
  };

  before(async () => {
    t = testApp(GENERIC_ENGINE);
    await put({ resourceType: 'Organization', id: 'org1', name: 'Org One' });
    await put({ resourceType: 'Organization', id: 'org0', name: 'Parent Org' });
    await put({ resourceType: 'Organization', id: 'org2', name: 'Org Two', partOf: { reference: 'Organization/org0' } });
    await put({ resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Who' }] });
    await put({ resourceType: 'Patient', id: 'p1', name: [{ family: 'Incl' }], managingOrganization: { reference: 'Organization/org1' }, generalPractitioner: [{ reference: 'Practitioner/pr1' }] });
    await put({ resourceType: 'Patient', id: 'p2', name: [{ family: 'Incl' }], managingOrganization: { reference: 'Organization/org1' } });
    await put({ resourceType: 'Patient', id: 'p3', name: [{ family: 'Other' }], managingOrganization: { reference: 'Organization/org2' } });
    for (const [id, subject, requester] of [
      ['mr1', 'Patient/p1', 'Practitioner/pr1'],
      ['mr2', 'Patient/p1', 'Patient/p2'],
      ['mr3', 'Patient/p2', 'Practitioner/pr1'],
      ['mr4', 'Patient/p3', 'Practitioner/pr1'],
    ] as const) {
      await put({ resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: subject }, requester: { reference: requester } });
    }
    await put({ resourceType: 'Provenance', id: 'prov1', target: [{ reference: 'Patient/p1' }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/pr1' } }] });
  });
  after(() => t.close());

  it('_include adds each referenced resource once, with search.mode include', async () => {
    const b = await get('/fhir/MedicationRequest?_include=MedicationRequest:subject');
    assert.deepEqual(keys(b.entry, 'match'), ['MedicationRequest/mr1', 'MedicationRequest/mr2', 'MedicationRequest/mr3', 'MedicationRequest/mr4']);
    assert.deepEqual(keys(b.entry, 'include'), ['Patient/p1', 'Patient/p2', 'Patient/p3']);
    assert.equal(b.total, 4, 'total counts matches only');
  });

  it('a target type restricts what is included (MedicationRequest:requester:Patient)', async () => {
    const b = await get('/fhir/MedicationRequest?_include=MedicationRequest:requester:Patient');
    assert.deepEqual(keys(b.entry, 'include'), ['Patient/p2']);
    const all = await get('/fhir/MedicationRequest?_include=MedicationRequest:requester');
    assert.deepEqual(keys(all.entry, 'include'), ['Patient/p2', 'Practitioner/pr1']);
  });

  it('a resource that is already a match is not repeated as an include', async () => {
    const b = await get('/fhir/Patient?_id=p1,p2&_include=Patient:link&_revinclude=MedicationRequest:requester');
    const mr = await get('/fhir/MedicationRequest?_id=mr2&_include=MedicationRequest:subject&_include=MedicationRequest:requester');
    assert.deepEqual(keys(mr.entry, 'include'), ['Patient/p1', 'Patient/p2']);
    const urls = (b.entry ?? []).map((e) => e.fullUrl);
    assert.equal(new Set(urls).size, urls.length, 'no entry twice');
  });

  it('_include=* follows every reference parameter of the matches', async () => {
    const b = await get('/fhir/Patient?_id=p1&_include=*');
    assert.deepEqual(keys(b.entry, 'include'), ['Organization/org1', 'Practitioner/pr1']);
  });

  it('_revinclude adds the resources referring to the matches', async () => {
    const b = await get('/fhir/Patient?family=Incl&_revinclude=MedicationRequest:subject&_revinclude=Provenance:target');
    assert.deepEqual(keys(b.entry, 'match'), ['Patient/p1', 'Patient/p2']);
    assert.deepEqual(keys(b.entry, 'include'), ['MedicationRequest/mr1', 'MedicationRequest/mr2', 'MedicationRequest/mr3', 'Provenance/prov1']);
    const typed = await get('/fhir/Patient?family=Incl&_revinclude=MedicationRequest:*');
    assert.deepEqual(keys(typed.entry, 'include'), ['MedicationRequest/mr1', 'MedicationRequest/mr2', 'MedicationRequest/mr3']);
  });

  it(':iterate follows references of included resources; without it they are not followed', async () => {
    const plain = await get('/fhir/MedicationRequest?_id=mr4&_include=MedicationRequest:subject&_include=Patient:organization&_include=Organization:partof');
    assert.deepEqual(keys(plain.entry, 'include'), ['Patient/p3']);
    const iter = await get('/fhir/MedicationRequest?_id=mr4&_include=MedicationRequest:subject&_include:iterate=Patient:organization&_include:iterate=Organization:partof');
    assert.deepEqual(keys(iter.entry, 'include'), ['Organization/org0', 'Organization/org2', 'Patient/p3']);
    const rev = await get('/fhir/Organization?_id=org1&_revinclude=Patient:organization&_revinclude:iterate=MedicationRequest:subject');
    assert.deepEqual(keys(rev.entry, 'include'), ['MedicationRequest/mr1', 'MedicationRequest/mr2', 'MedicationRequest/mr3', 'Patient/p1', 'Patient/p2']);
  });

  it('_summary=count answers the total without entries or includes', async () => {
    const b = await get('/fhir/MedicationRequest?_summary=count&_include=MedicationRequest:subject');
    assert.equal(b.total, 4);
    assert.equal(b.entry, undefined);
  });

  it('bad include values are a 400; _revinclude=* is not supported: a 400 in strict handling, a warning in lenient', async () => {
    assert.equal((await request(t.app).get('/fhir/Patient?_include=Patient:family')).status, 400);
    assert.equal((await request(t.app).get('/fhir/Patient?_include=Nope:subject')).status, 400);
    const strict = await request(t.app).get('/fhir/Patient?_revinclude=*').set('Prefer', 'handling=strict');
    assert.equal(strict.status, 400, strict.text);
    assert.equal(strict.body.resourceType, 'OperationOutcome');
    assert.match(JSON.stringify(strict.body), /_revinclude=\* is not supported/);
    const lenient = await request(t.app).get('/fhir/Patient?_revinclude=*');
    assert.equal(lenient.status, 200, lenient.text);
    const b = lenient.body as { entry: Array<{ resource: { resourceType: string; issue?: Array<{ severity: string; diagnostics: string }> }; search: { mode: string } }> };
    assert.deepEqual(b.entry.filter((e) => e.search.mode === 'include'), []);
    const outcome = b.entry.find((e) => e.search.mode === 'outcome')!.resource;
    assert.equal(outcome.issue![0]!.severity, 'warning');
    assert.match(outcome.issue![0]!.diagnostics, /_revinclude=\* is not supported/);
  });
});
