import assert from 'node:assert/strict';
import type { Bundle, Composition, Patient } from 'fhir/r4';
import request from 'supertest';
import { skipWithReason } from '../../helpers/external-data';
import { loadPds, PDS, storePdsPatient } from '../pds/helpers';
import { smartPdsApp, type SmartPds } from '../pds/smart';
import { loadScr, NHS, SCR_EXAMPLES, scrGet, scrPost } from './helpers';

describe('SCR façade and $document with SMART tokens', function () {
  let s: SmartPds;
  const scrId = 'FA60BE64-1F34-11EB-A2A8-000C29A364EB';
  before(async function () {
    if (!SCR_EXAMPLES || !PDS) skipWithReason(this, 'SCR examples or PDS sandbox records are not staged under ../shared/external/nhs-apis');
    s = smartPdsApp();
    const worker = s.worker();
    for (const f of ['Patient.json', 'Patient-Jayne-Smyth.json']) await storePdsPatient(s.t, loadPds<Patient>('searchResponses', f), worker);
    const b = loadScr<Bundle>('UploadScrBundle.json');
    const c = b.entry![0]!.resource as Composition;
    c.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: scrId };
    delete c.relatesTo;
    const up = await scrPost(s.t, 'Bundle', b, worker);
    assert.equal(up.status, 201, up.text);
  });
  after(() => s?.t.close());

  it('a patient token sees its own summary and not another patient’s', async () => {
    const own = await scrGet(s.t, `DocumentReference?patient=${NHS}|9000000009`, s.patient('9000000009', 'patient/*.rs'));
    assert.equal(own.status, 200, own.text);
    assert.equal((own.body as Bundle).total, 1);
    const other = await scrGet(s.t, `DocumentReference?patient=${NHS}|9000000009`, s.patient('9000000017', 'patient/*.rs'));
    assert.ok(other.status === 403 || (other.status === 200 && (other.body as Bundle).total === 0), other.text);
    const compositionId = 'BF4180FD-C403-4EF7-A4AB-E07303AF5477';
    const ownDoc = await request(s.t.app).get(`/fhir/Composition/${compositionId}/$document`).set('Authorization', `Bearer ${s.patient('9000000009', 'patient/*.rs')}`);
    assert.equal(ownDoc.status, 200, ownDoc.text);
    const otherDoc = await request(s.t.app).get(`/fhir/Composition/${compositionId}/$document`).set('Authorization', `Bearer ${s.patient('9000000017', 'patient/*.rs')}`);
    assert.ok(otherDoc.status === 404 || otherDoc.status === 403, otherDoc.text);
  });
});
