import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Bundle, Composition, Patient } from 'fhir/r4';
import request from 'supertest';
import { skipWithReason } from '../../helpers/external-data';
import { loadPds, PDS, storePdsPatient } from '../pds/helpers';
import { smartPdsApp, type SmartPds } from '../pds/smart';
import { loadScr, NHS, SCR_EXAMPLES, scrGet, scrPost } from './helpers';

/** The upload example for `nhs` with every id (entries, Composition, SCR id, Bundle identifier) made new. */
function uploadFor(nhs: string): { bundle: Bundle; scrId: string; compositionId: string } {
  let text = JSON.stringify(loadScr<Bundle>('UploadScrBundle.json'));
  const ids = new Set<string>(text.match(/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}/g) ?? []);
  for (const id of ids) text = text.split(id).join(randomUUID().toUpperCase());
  const bundle = JSON.parse(text) as Bundle;
  const c = bundle.entry![0]!.resource as Composition;
  delete c.relatesTo;
  (bundle.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as Patient).identifier![0]!.value = nhs;
  return { bundle, scrId: c.identifier!.value!, compositionId: c.id! };
}

describe('SCR façade and $document with SMART tokens', function () {
  let s: SmartPds;
  // Built in `before`, after the check that the examples are staged (loading them here would fail
  // the whole run where they are absent instead of skipping).
  let a: ReturnType<typeof uploadFor>;
  let b: ReturnType<typeof uploadFor>;
  const tokenA = (): string => s.patient('9000000009', 'patient/*.rs');
  const fhir = (p: string, token: string): request.Test => request(s.t.app).get(`/fhir/${p}`).set('Authorization', `Bearer ${token}`);
  before(async function () {
    if (!SCR_EXAMPLES || !PDS) skipWithReason(this, 'SCR examples or PDS sandbox records are not staged under ../shared/external/nhs-apis');
    a = uploadFor('9000000009');
    b = uploadFor('9000000017');
    s = smartPdsApp();
    const worker = s.worker();
    for (const f of ['Patient.json', 'Patient-Jayne-Smyth.json']) await storePdsPatient(s.t, loadPds<Patient>('searchResponses', f), worker);
    for (const u of [a, b]) {
      const up = await scrPost(s.t, 'Bundle', u.bundle, worker);
      assert.equal(up.status, 201, up.text);
    }
  });
  after(() => s?.t.close());

  it('a patient token sees its own summary and not another patient’s', async () => {
    const own = await scrGet(s.t, `DocumentReference?patient=${NHS}|9000000009`, tokenA());
    assert.equal(own.status, 200, own.text);
    assert.equal((own.body as Bundle).total, 1);
    const other = await scrGet(s.t, `DocumentReference?patient=${NHS}|9000000017`, tokenA());
    assert.ok(other.status === 403 || (other.status === 200 && (other.body as Bundle).total === 0), other.text);
    // The own SCR: a patient token cannot read Bundles (outside the Patient compartment), so the
    // façade assembles the summary from the stored resources the token may see.
    const ownScr = await scrGet(s.t, `Bundle?composition.identifier=${a.scrId}&composition.subject:Patient.identifier=${NHS}|9000000009`, tokenA());
    assert.equal(ownScr.status, 200, ownScr.text);
    const entries = (ownScr.body as Bundle).entry ?? [];
    assert.equal(entries[0]?.resource?.resourceType, 'Composition');
    assert.equal(entries[0]?.resource?.id, a.compositionId);
    assert.ok(entries.some((e) => e.resource?.resourceType === 'Condition'), 'the summary’s Conditions');
    assert.ok(!JSON.stringify(ownScr.body).includes(b.compositionId));
    const otherScr = await scrGet(s.t, `Bundle?composition.identifier=${b.scrId}&composition.subject:Patient.identifier=${NHS}|9000000017`, tokenA());
    assert.ok(otherScr.status === 403 || (otherScr.status === 200 && (otherScr.body as Bundle).total === 0), otherScr.text);
  });

  it('$document: the own Composition assembles, another patient’s is 404/403 (instance and type level)', async () => {
    const ownDoc = await fhir(`Composition/${a.compositionId}/$document`, tokenA());
    assert.equal(ownDoc.status, 200, ownDoc.text);
    for (const p of [`Composition/${b.compositionId}/$document`, `Composition/$document?id=${b.compositionId}`, `Composition/${b.compositionId}`]) {
      const res = await fhir(p, tokenA());
      assert.ok(res.status === 404 || res.status === 403, `${p}: ${res.status} ${res.text}`);
    }
  });

  it('another patient’s document Bundle never reaches a patient token: read, search, $everything', async () => {
    const read = await fhir(`Bundle/${b.scrId}`, tokenA());
    assert.ok(read.status === 404 || read.status === 403, read.text);
    for (const q of ['Bundle', 'Bundle?type=document', `Bundle?identifier=${encodeURIComponent(`${b.bundle.identifier!.system!}|${b.bundle.identifier!.value!}`)}`]) {
      const res = await fhir(q, tokenA());
      assert.ok(res.status === 403 || res.status === 200, res.text);
      if (res.status === 200) assert.ok(!JSON.stringify(res.body).includes(b.scrId), `${q} leaks B's document`);
    }
    const everything = await fhir('Patient/9000000009/$everything', tokenA());
    assert.equal(everything.status, 200, everything.text);
    const text = JSON.stringify(everything.body);
    assert.ok(text.includes(a.compositionId), 'own Composition in $everything');
    assert.ok(!text.includes(b.compositionId) && !text.includes(b.scrId), 'nothing of B in $everything');
    const othersEverything = await fhir('Patient/9000000017/$everything', tokenA());
    assert.ok(othersEverything.status === 404 || othersEverything.status === 403, othersEverything.text);
  });
});
