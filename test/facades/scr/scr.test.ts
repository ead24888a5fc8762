import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Bundle, Composition, DocumentReference, OperationOutcome } from 'fhir/r4';
import request from 'supertest';
import { skipWithReason } from '../../helpers/external-data';
import type { TestApp } from '../../helpers/test-app';
import { PDS, pdsApp, storeSandboxRecords } from '../pds/helpers';
import { loadScr, NHS, SCR, SCR_EXAMPLES, scrGet, scrPost } from './helpers';

const GP = 'http://snomed.info/sct|196981000000101';

/** The staged upload example as a first summary (its relatesTo removed) or a replacement of `replaces`. */
function upload(scrId: string, replaces?: string, nhs = '9000000009'): Bundle {
  const b = loadScr<Bundle>('UploadScrBundle.json');
  // Each upload is a new document: its own Bundle.identifier (documents.html: unique).
  b.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID().toUpperCase() };
  const c = b.entry![0]!.resource as Composition;
  c.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: scrId };
  c.id = scrId;
  b.entry![0]!.fullUrl = `https://api.service.nhs.uk/summary-care-record/FHIR/R4/Composition/${scrId}`;
  if (replaces) c.relatesTo = [{ code: 'replaces', targetIdentifier: { value: replaces } }];
  else delete c.relatesTo;
  const p = b.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as { identifier: Array<{ value: string }> };
  p.identifier[0]!.value = nhs;
  return b;
}

function issueText(res: request.Response): string {
  return (res.body as OperationOutcome).issue[0]?.details?.text ?? '';
}

describe('SCR façade (summary-care-record.yaml)', function () {
  let t: TestApp;
  const first = 'FA60BE64-1F34-11EB-A2A8-000C29A364EB';
  const second = '0C9F6B2A-3E0F-11EB-8111-F40343488B16';

  before(async function () {
    if (!SCR_EXAMPLES || !PDS) skipWithReason(this, 'SCR examples or PDS sandbox records are not staged under ../shared/external/nhs-apis');
    t = pdsApp();
    await storeSandboxRecords(t);
  });
  after(() => t?.close());

  it('stateful walk: upload, get id, get, replace, the latest returned and the old one not', async () => {
    const empty = await scrGet(t, `DocumentReference?patient=${NHS}|9000000009&type=${GP}`);
    assert.equal(empty.status, 200, empty.text);
    assert.equal((empty.body as Bundle).total, 0);

    const up = await scrPost(t, 'Bundle', upload(first));
    assert.equal(up.status, 201, up.text);
    assert.equal(up.headers['x-request-id'] !== undefined, true);

    const ids = await scrGet(t, `DocumentReference?patient=${NHS}|9000000009&type=${GP}&_sort=date&_count=1`);
    assert.equal(ids.status, 200, ids.text);
    assert.equal(ids.headers['x-correlation-id'], 'corr-1');
    assert.match(String(ids.headers['content-type']), /application\/fhir\+json/);
    const dr = (ids.body as Bundle).entry![0]!.resource as DocumentReference;
    assert.equal(dr.masterIdentifier?.value, first);
    assert.equal(dr.masterIdentifier?.system, 'https://fhir.nhs.uk/Id/nhsSCRUUID');
    assert.equal(dr.securityLabel?.[0]?.coding?.[0]?.code, 'Ask');
    const url = new URL(dr.content[0]!.attachment.url!);
    assert.equal(url.pathname, `${SCR}/Bundle`);

    const got = await scrGet(t, `Bundle${url.search}`);
    assert.equal(got.status, 200, got.text);
    const doc = got.body as Bundle;
    assert.equal(doc.type, 'searchset');
    assert.equal(doc.entry![0]!.resource!.resourceType, 'Composition');
    assert.equal((doc.entry![0]!.resource as Composition).subject?.reference, 'Patient/9000000009');

    // The entries are stored resources, searchable on /fhir.
    const onFhir = await request(t.app).get('/fhir/Composition').query({ identifier: first });
    assert.equal(onFhir.status, 200, onFhir.text);
    assert.equal((onFhir.body as Bundle).entry?.length, 1);
    const cond = await request(t.app).get('/fhir/Condition/FCB84E15-02E5-495C-B334-D0685DCB0687');
    assert.equal(cond.status, 200, cond.text);

    const rep = await scrPost(t, 'Bundle', upload(second, first));
    assert.equal(rep.status, 201, rep.text);
    const ids2 = await scrGet(t, `DocumentReference?patient=${NHS}|9000000009`);
    assert.equal(((ids2.body as Bundle).entry![0]!.resource as DocumentReference).masterIdentifier?.value, second);
    const old = await scrGet(t, `Bundle?composition.identifier=${first}&composition.subject:Patient.identifier=${NHS}|9000000009`);
    assert.equal(old.status, 200);
    assert.equal((old.body as Bundle).total, 0);
    const latest = await scrGet(t, `Bundle?composition.identifier=${second}&composition.subject:Patient.identifier=${NHS}|9000000009`);
    assert.equal(((latest.body as Bundle).entry![0]!.resource as Composition).identifier?.value, second);

    const dup = await scrPost(t, 'Bundle', upload(second, first));
    assert.equal(dup.status, 400, dup.text);
    assert.match(issueText(dup), /PSIS-30134/);
  });

  it('$setPermission changes the securityLabel; AuditEvent alerts are stored', async () => {
    const set = loadScr<unknown>('SetPermission.json');
    const r = await scrPost(t, '$setPermission', JSON.parse(JSON.stringify(set).replace('"Ask"', '"Yes"')));
    assert.equal(r.status, 201, r.text);
    const ids = await scrGet(t, `DocumentReference?patient=${NHS}|9000000009`);
    assert.equal(((ids.body as Bundle).entry![0]!.resource as DocumentReference).securityLabel?.[0]?.coding?.[0]?.code, 'Yes');
    const alert = await scrPost(t, 'AuditEvent', loadScr('AuditEvent.json'));
    assert.equal(alert.status, 201, alert.text);
    // Stored (committed before the 201) as a searchable AuditEvent, though the API never writes one.
    const stored = await request(t.app).get('/fhir/AuditEvent?type=https://fhir.nhs.uk/CodeSystem/SCR-AlertType|1');
    assert.equal(stored.status, 200, stored.text);
    assert.equal((stored.body as Bundle).entry?.length, 1, stored.text);
    assert.equal((await request(t.app).post('/fhir/AuditEvent').set('Content-Type', 'application/fhir+json').send(JSON.stringify(loadScr('AuditEvent.json')))).status, 405);
    const bad = loadScr<{ subtype: Array<{ code: string }> }>('AuditEvent.json');
    bad.subtype[0]!.code = '5';
    const refused = await scrPost(t, 'AuditEvent', bad);
    assert.equal(refused.status, 400, refused.text);
    assert.match(issueText(refused), /not a permitted combination/);
  });

  it('error cases answer the spec’s shape and statuses', async () => {
    const cases: Array<[request.Test, number, string, RegExp]> = [
      [scrGet(t, 'DocumentReference'), 400, 'invalid', /patient/],
      [scrGet(t, 'DocumentReference?patient=INVALID%20NHS%20NUMBER'), 400, 'invalid', /Invalid NHS number/],
      [scrGet(t, `DocumentReference?patient=${NHS}|9000000009&_count=2`), 400, 'invalid', /_count/],
      [scrGet(t, `DocumentReference?patient=${NHS}|9000000009&_sort=name`), 400, 'invalid', /_sort/],
      [scrGet(t, 'Bundle?composition.identifier=INVALID%20ID&composition.subject:Patient.identifier=INVALID'), 400, 'invalid', /composition.identifier/],
      [scrGet(t, 'Bundle'), 400, 'invalid', /required/],
      [request(t.app).post(`${SCR}/Bundle`).set('Content-Type', 'text/plain').send('x'), 415, 'not-supported', /Content type 'text\/plain' not supported/],
      [scrPost(t, 'Bundle', { ...upload('11111111-1F34-11EB-A2A8-000C29A364EB'), type: 'collection' }), 400, 'invalid', /Bundle.type/],
      [scrPost(t, 'Bundle', upload('22222222-1F34-11EB-A2A8-000C29A364EB', undefined, '9000000001')), 400, 'invalid', /Invalid NHS number/],
      [scrPost(t, 'Bundle', upload('33333333-1F34-11EB-A2A8-000C29A364EB', undefined, '9111231130')), 400, 'invalid', /not found/],
      [scrPost(t, '$setPermission', { resourceType: 'Parameters', parameter: [{ name: 'setPermissions', part: [] }] }), 400, 'invalid', /NHS number missing/],
      [scrGet(t, 'DocumentReference?patient=9000000009').set('X-Request-ID', 'not-a-uuid'), 400, 'invalid', /X-Request-ID/],
    ];
    for (const [req, status, code, text] of cases) {
      const res = await req;
      assert.equal(res.status, status, res.text);
      const oo = res.body as OperationOutcome;
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.equal(oo.issue[0]!.severity, 'error');
      assert.equal(oo.issue[0]!.code, code, res.text);
      assert.match(issueText(res), text);
    }
    const unknown = await scrGet(t, `DocumentReference?patient=${NHS}|9000000033`);
    assert.equal(unknown.status, 200);
    assert.equal((unknown.body as Bundle).total, 0);
  });
});
