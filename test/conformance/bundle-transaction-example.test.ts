/**
 * The official R4 example `Bundle-bundle-transaction` (hl7.fhir.r4.examples#4.0.1; FHIR R4
 * http.html#transaction, bundle.html "Transaction processing rules") processed as far as the rules
 * allow. As published it cannot succeed as a transaction ("If any resource ... fail, the entire
 * transaction fails"): it is refused as a whole, naming the first failing entry, and stores nothing.
 * Each entry's own outcome is then shown by processing the same entries one by one (as a batch), with
 * the reason for each refusal; and the transaction without the entries the rules refuse succeeds.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, BundleEntry, OperationOutcome } from 'fhir/r4';
import { FHIR_JSON, GENERIC_ENGINE, testApp, type TestApp } from '../helpers/test-app';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';

const EXAMPLES = existingExternalPath('hl7-r4-examples');
const FILE = 'Bundle-bundle-transaction.json';
const ABSENT = `the R4 example ${FILE} (../shared/external/hl7-r4-examples) is absent`;

/** What each entry comes to on its own, and why a refused one is refused. */
const EXPECTED: ReadonlyArray<{ request: string; status: number; reason?: RegExp; why?: string }> = [
  { request: 'POST Patient', status: 201 },
  { request: 'POST Patient', status: 201, why: 'ifNoneExist matches nothing: created' },
  { request: 'PUT Patient/123', status: 201, why: 'update as create with the client id' },
  { request: 'PUT Patient?identifier=http:/example.org/fhir/ids|456456', status: 201, why: 'conditional update with no match: created' },
  { request: 'PUT Patient/123a', status: 412, reason: /version 2|If-Match|precondition/i, why: 'ifMatch W/"2" of a resource that does not exist (version-aware update)' },
  { request: 'DELETE Patient/234', status: 204, why: 'deleting an absent resource is not an error' },
  { request: 'DELETE Patient?identifier=123456', status: 204, why: 'conditional delete with no match' },
  { request: 'POST ValueSet/$lookup', status: 404, reason: /\$lookup cannot be invoked on type ValueSet \(it is defined at the type level of CodeSystem\)/, why: '$lookup is a CodeSystem operation (codesystem-operation-lookup.html)' },
  { request: 'GET Patient?name=peter', status: 200 },
  { request: 'GET Patient/12334', status: 404, reason: /Patient\/12334 is not known/, why: 'the example reads a resource no server has' },
];

const post = (t: TestApp, b: Bundle) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(b));
const status = (e: BundleEntry | undefined): number => Number(e?.response?.status?.split(' ')[0]);
const diagnostics = (e: BundleEntry | undefined): string => ((e?.response?.outcome as OperationOutcome | undefined)?.issue ?? []).map((i) => i.diagnostics ?? '').join(' ');

describe(`Conformance: the R4 example ${FILE}, as far as the rules allow`, function () {
  let t: TestApp | undefined;
  let bundle: Bundle;
  before(function () {
    if (!EXAMPLES) return;
    bundle = JSON.parse(fs.readFileSync(path.join(EXAMPLES, FILE), 'utf8')) as Bundle;
    t = testApp(GENERIC_ENGINE);
  });
  after(() => t?.close());

  it('as published it is refused as a whole (entry 7, POSTed first among the failing ones, named with its reason) and stores nothing', async function () {
    if (!t) skipWithReason(this, ABSENT);
    assert.equal(bundle.entry?.length, EXPECTED.length);
    const res = await post(t, bundle);
    assert.equal(res.status, 404, res.text);
    const oo = res.body as OperationOutcome;
    assert.equal(oo.resourceType, 'OperationOutcome');
    assert.deepEqual(oo.issue[0]?.expression, ['Bundle.entry[7]']);
    assert.match(oo.issue[0]?.diagnostics ?? '', EXPECTED[7]!.reason!);
    const count = await request(t.app).get('/fhir/Patient?_summary=count');
    assert.equal(count.body.total, 0, 'nothing of the transaction was stored');
  });

  it('each entry on its own: the outcome the rules give it, with the reason for each refusal; the entries the rules allow succeed as one transaction', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const res = await post(t, { ...bundle, type: 'batch' });
    assert.equal(res.status, 200, res.text);
    const answered = (res.body as Bundle).entry ?? [];
    assert.equal(answered.length, EXPECTED.length);
    EXPECTED.forEach((x, i) => {
      const r = bundle.entry![i]!.request!;
      assert.equal(`${r.method} ${r.url}`, x.request);
      assert.equal(status(answered[i]), x.status, `entry ${i} ${x.request} (${x.why ?? ''}): ${JSON.stringify(answered[i]?.response)}`);
      if (x.reason) assert.match(diagnostics(answered[i]), x.reason, `entry ${i}: the reason`);
    });
    // Without the entries the rules refuse (4, 7, 9), the transaction succeeds: every entry 2xx.
    const kept = (bundle.entry ?? []).filter((_e, i) => EXPECTED[i]!.status < 400);
    // On a server of its own, as the example assumes an empty one.
    const fresh = testApp(GENERIC_ENGINE);
    try {
      const tx = await post(fresh, { ...bundle, entry: kept });
      assert.equal(tx.status, 200, tx.text);
      assert.deepEqual(((tx.body as Bundle).entry ?? []).map(status), EXPECTED.filter((x) => x.status < 400).map((x) => x.status));
      const count = await request(fresh.app).get('/fhir/Patient?_summary=count');
      assert.equal(count.body.total, 4, 'the four Patients created');
    } finally {
      await fresh.close();
    }
  });

  it('entry 7 sent to CodeSystem, where $lookup is defined: LOINC is not available here (422 not-supported), not "not found"', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const entry = bundle.entry![7]!;
    const res = await post(t, { resourceType: 'Bundle', type: 'batch', entry: [{ ...entry, request: { ...entry.request!, url: 'CodeSystem/$lookup' } }] });
    const answer = (res.body as Bundle).entry?.[0];
    assert.equal(status(answer), 422, JSON.stringify(answer));
    assert.match(diagnostics(answer), /LOINC \(http:\/\/loinc\.org\) is not available on this server/);
  });
});
