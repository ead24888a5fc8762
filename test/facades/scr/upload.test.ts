/**
 * SCR upload (summary-care-record.yaml upload-scr; ADR 35): everything acknowledged is stored, in one
 * engine transaction; an entry that cannot be stored refuses the whole upload and stores nothing;
 * concurrent uploads of one SCR id store one document.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Bundle, Composition, OperationOutcome, Organization } from 'fhir/r4';
import request from 'supertest';
import { skipWithReason } from '../../helpers/external-data';
import type { TestApp } from '../../helpers/test-app';
import { PDS, pdsApp, storeSandboxRecords } from '../pds/helpers';
import { loadScr, SCR_EXAMPLES, scrPost } from './helpers';

function stored(t: TestApp, ref: string): Promise<request.Response> {
  return request(t.app).get(`/fhir/${ref}`);
}

async function total(t: TestApp, query: string): Promise<number> {
  const res = await request(t.app).get(`/fhir/${query}${query.includes('?') ? '&' : '?'}_total=accurate`);
  assert.equal(res.status, 200, res.text);
  return (res.body as Bundle).total ?? (res.body as Bundle).entry?.length ?? 0;
}

describe('SCR upload is one transaction (ADR 35)', function () {
  let t: TestApp;
  beforeEach(async function () {
    if (!SCR_EXAMPLES || !PDS) skipWithReason(this, 'SCR examples or PDS sandbox records are not staged under ../shared/external/nhs-apis');
    t = pdsApp();
    await storeSandboxRecords(t);
  });
  afterEach(() => t?.close());

  it('the spec’s UploadScrBundle example, as published, stores every entry and the whole document', async () => {
    const example = loadScr<Bundle>('UploadScrBundle.json');
    const up = await scrPost(t, 'Bundle', example);
    assert.equal(up.status, 201, up.text);
    const scrId = (example.entry![0]!.resource as Composition).identifier!.value!;
    const entries = example.entry!.filter((e) => e.resource!.resourceType !== 'Patient');
    assert.equal(entries.length, 47);
    for (const e of entries) {
      const r = await stored(t, `${e.resource!.resourceType}/${e.resource!.id!}`);
      assert.equal(r.status, 200, `${e.resource!.resourceType}/${e.resource!.id!}: ${r.text}`);
    }
    // Counted by type on /fhir: as many as the example holds.
    const byType = new Map<string, number>();
    for (const e of entries) byType.set(e.resource!.resourceType, (byType.get(e.resource!.resourceType) ?? 0) + 1);
    for (const [type, n] of byType) assert.equal(await total(t, type), n, type);
    const doc = await stored(t, `Bundle/${scrId}`);
    assert.equal(doc.status, 200, doc.text);
    assert.equal((doc.body as Bundle).entry!.length, example.entry!.length, 'every entry in the stored document');
    // The normalisation of an Organization with neither name nor identifier: name recorded as absent.
    const org = (await stored(t, 'Organization/CD7FAF21-0126-456E-B681-703571153CA3')).body as Organization & { _name?: { extension?: Array<{ url: string; valueCode?: string }> } };
    assert.equal(org.name, undefined);
    assert.equal(org._name?.extension?.[0]?.url, 'http://hl7.org/fhir/StructureDefinition/data-absent-reason');
    assert.equal(org._name?.extension?.[0]?.valueCode, 'unknown');
  });

  it('an entry whose id is another patient’s resource refuses the upload naming it; that resource and the store stay as they were', async () => {
    const example = loadScr<Bundle>('UploadScrBundle.json');
    const n = example.entry!.findIndex((e) => e.resource!.resourceType === 'Condition');
    const condition = example.entry![n]!.resource!;
    const theirs = { ...condition, subject: { reference: 'Patient/9000000017' } };
    const put = await request(t.app).put(`/fhir/Condition/${condition.id!}`).set('Content-Type', 'application/fhir+json').send(JSON.stringify(theirs));
    assert.ok(put.status === 201 || put.status === 200, put.text);
    const before = (await stored(t, `Condition/${condition.id!}`)).text;
    const up = await scrPost(t, 'Bundle', example);
    assert.equal(up.status, 400, up.text);
    const oo = up.body as OperationOutcome;
    assert.deepEqual(oo.issue[0]!.expression, [`Bundle.entry[${n}]`]);
    assert.match(oo.issue[0]!.details?.text ?? oo.issue[0]!.diagnostics ?? '', /another patient/);
    assert.equal((await stored(t, `Condition/${condition.id!}`)).text, before);
    assert.equal(await total(t, 'Composition'), 0);
    assert.equal(await total(t, 'Bundle'), 0);
  });

  it('one invalid entry refuses the upload with 400 naming Bundle.entry[n], and nothing is stored', async () => {
    const example = loadScr<Bundle>('UploadScrBundle.json');
    const scrId = (example.entry![0]!.resource as Composition).identifier!.value!;
    (example.entry![36]!.resource as unknown as Record<string, unknown>)['status'] = 'not-a-status';
    const up = await scrPost(t, 'Bundle', example);
    assert.equal(up.status, 400, up.text);
    const issue = (up.body as OperationOutcome).issue[0]!;
    assert.equal(issue.code, 'invalid');
    assert.match(issue.details?.text ?? '', /^Bundle\.entry\[36\] \(Observation\/F17999D2-FFE7-4CA4-8CE8-52CB45FF6F49\) cannot be stored: Observation\.status/);
    assert.deepEqual(issue.expression, ['Bundle.entry[36]']);
    assert.equal(await total(t, `Composition?identifier=${scrId}`), 0);
    assert.equal((await stored(t, `Bundle/${scrId}`)).status, 404);
    assert.equal(await total(t, 'Bundle?type=document'), 0);
    for (const e of example.entry!) {
      if (e.resource!.resourceType === 'Patient') continue;
      assert.equal((await stored(t, `${e.resource!.resourceType}/${e.resource!.id!}`)).status, 404, `${e.resource!.resourceType}/${e.resource!.id!} not stored`);
    }
  });

  it('a retry with the same X-Request-ID is replayed (201); the same SCR id with another request id is PSIS-30134', async () => {
    const example = loadScr<Bundle>('UploadScrBundle.json');
    const send = (id: string): request.Test => request(t.app).post('/summary-care-record/FHIR/R4/Bundle').set('X-Request-ID', id).set('Content-Type', 'application/fhir+json').send(JSON.stringify(example));
    const id = randomUUID();
    assert.equal((await send(id)).status, 201);
    const retry = await send(id);
    assert.equal(retry.status, 201, retry.text);
    const other = await send(randomUUID());
    assert.equal(other.status, 400, other.text);
    assert.match((other.body as OperationOutcome).issue[0]!.details?.text ?? '', /PSIS-30134/);
    assert.equal(await total(t, 'Bundle?type=document'), 1);
  });

  it('concurrent uploads of one SCR id: one 201, one 400 PSIS-30134, one stored document', async () => {
    const example = loadScr<Bundle>('UploadScrBundle.json');
    const scrId = (example.entry![0]!.resource as Composition).identifier!.value!;
    const answers = await Promise.all([scrPost(t, 'Bundle', example), scrPost(t, 'Bundle', example)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 400], answers.map((a) => a.text).join('\n'));
    const refused = answers.find((a) => a.status === 400)!;
    assert.match((refused.body as OperationOutcome).issue[0]!.details?.text ?? '', /PSIS-30134/);
    assert.equal(await total(t, `Composition?identifier=${scrId}`), 1);
    assert.equal(await total(t, 'Bundle?type=document'), 1);
  });
});
