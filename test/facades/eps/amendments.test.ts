/**
 * EPS amendments over HTTP with the server's default configuration, replaying the staged homecare
 * life cycles of secondary-care/homecare/acute/nominated-pharmacy/clinical-practitioner: 5 (send,
 * release, dispense, dispense amendment) and 6 (send, release, dispense, claim, claim amendment);
 * an amendment naming anything but the latest notification / claim is refused
 * DISPENSE_AMEND_IDENTIFIER_MISMATCH and changes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, Claim, MessageHeader, OperationOutcome, Task } from 'fhir/r4';

import { type TestApp } from '../../helpers/test-app';
import { EPS_EXAMPLES, epsPost, useEpsApp } from './helpers';

const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
const DISPENSING = '/fhir-dispensing/FHIR/R4';
const EPS = '/electronic-prescriptions/FHIR/R4';
const HOMECARE = ['secondary-care', 'homecare', 'acute', 'nominated-pharmacy', 'clinical-practitioner'];
const REPLACEMENT_OF = 'https://fhir.nhs.uk/StructureDefinition/Extension-replacementOf';

const dir = EPS_EXAMPLES;
function example<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(dir!, ...HOMECARE, file), 'utf8')) as T;
}
function epsCode(oo: OperationOutcome): string | undefined {
  return oo.issue[0]?.details?.coding?.[0]?.code;
}
/** The homecare dispense examples are sent by "NHS Digital Spine" (X2601); the pharmacy the release names (VNE51) sends them here. */
function fromPharmacy(b: Bundle): Bundle {
  const copy = structuredClone(b);
  (copy.entry![0]!.resource as MessageHeader).sender = { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'VNE51' } };
  return copy;
}

describe('EPS façades: amendments replayed', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);
  async function tracker(rx: string): Promise<Task> {
    const res = await request(t.app).get(`${EPS}/Task?focus:identifier=${rx}`).set('X-Request-ID', randomUUID());
    assert.equal(res.status, 200, res.text);
    return (res.body as Bundle).entry![0]!.resource as Task;
  }
  function events(task: Task): string[] {
    return (task.extension ?? []).filter((e) => e.url.endsWith('PrescriptionStatusHistory')).map((e) => e.extension!.find((x) => x.url === 'event')!.valueCode!);
  }
  async function dispensed(n: number): Promise<void> {
    for (const [base, file] of [[PRESCRIBING, `${n}-Process-Request-Send-200_OK.json`], [DISPENSING, `${n}-Task-Request-Release-200_OK.json`]] as const) {
      const res = await post(base, file.includes('Task') ? 'Task/$release' : '$process-message', example(file));
      assert.equal(res.status, 200, `${file}: ${res.text}`);
    }
    const dn = await post(DISPENSING, '$process-message', fromPharmacy(example(`${n}-Process-Request-Dispense-200_OK.json`)));
    assert.equal(dn.status, 200, dn.text);
  }

  it('5: the dispense amendment names the notification it replaces and takes its place', async () => {
    const rx = '5EA56C-Z6EA5E-710A1O';
    await dispensed(5);
    assert.equal((await tracker(rx)).businessStatus?.coding?.[0]?.code, '0006');
    const amendment = fromPharmacy(example<Bundle>('5-Process-Request-DispenseAmend-200_OK.json'));
    const header = amendment.entry![0]!.resource as MessageHeader;
    assert.equal(header.extension?.find((e) => e.url === REPLACEMENT_OF)?.valueIdentifier?.value, example<Bundle>('5-Process-Request-Dispense-200_OK.json').identifier?.value);

    const unknown = structuredClone(amendment);
    (unknown.entry![0]!.resource as MessageHeader).extension![0]!.valueIdentifier!.value = randomUUID();
    const refused = await post(DISPENSING, '$process-message', unknown);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(epsCode(refused.body as OperationOutcome), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    assert.deepEqual((refused.body as OperationOutcome).issue[0]?.expression, [`MessageHeader.extension("${REPLACEMENT_OF}")`]);
    assert.deepEqual(events(await tracker(rx)), ['create', 'release', 'dispense']);

    const res = await post(DISPENSING, '$process-message', amendment);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.body as OperationOutcome).issue, [{ severity: 'information', code: 'informational' }]);
    const task = await tracker(rx);
    assert.deepEqual(events(task), ['create', 'release', 'dispense', 'amend']);
    assert.equal(task.businessStatus?.coding?.[0]?.code, '0006');
    // Replaced once: the original notification cannot be amended again.
    const twice = await post(DISPENSING, '$process-message', amendment);
    assert.equal(epsCode(twice.body as OperationOutcome), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    // Another pharmacy cannot amend it.
    const other = structuredClone(amendment);
    (other.entry![0]!.resource as MessageHeader).sender!.identifier!.value = 'FX999';
    (other.entry![0]!.resource as MessageHeader).extension![0]!.valueIdentifier!.value = amendment.identifier!.value!;
    assert.equal(epsCode((await post(DISPENSING, '$process-message', other)).body as OperationOutcome), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');
  });

  it('6: the claim amendment names the claim it replaces', async () => {
    const rx = '40E709-A99968-280C0X';
    await dispensed(6);
    const amendment = example<Claim>('6-Claim-Request-Amend-200_OK.json');
    const early = await post(DISPENSING, 'Claim', amendment);
    assert.equal(early.status, 400, early.text);
    assert.equal(epsCode(early.body as OperationOutcome), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    const claim = await post(DISPENSING, 'Claim', example('6-Claim-Request-200_OK.json'));
    assert.equal(claim.status, 200, claim.text);
    const wrong = structuredClone(amendment);
    wrong.extension!.find((e) => e.url === REPLACEMENT_OF)!.valueIdentifier!.value = randomUUID();
    const refused = await post(DISPENSING, 'Claim', wrong);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(epsCode(refused.body as OperationOutcome), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    assert.deepEqual((refused.body as OperationOutcome).issue[0]?.expression, [`Claim.extension("${REPLACEMENT_OF}")`]);
    const res = await post(DISPENSING, 'Claim', amendment);
    assert.equal(res.status, 200, res.text);
    const task = await tracker(rx);
    assert.equal(task.businessStatus?.coding?.[0]?.code, '0008');
    assert.deepEqual(events(task), ['create', 'release', 'dispense', 'claim', 'claim-amend']);
    assert.equal(epsCode((await post(DISPENSING, 'Claim', amendment)).body as OperationOutcome), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
  });
});
