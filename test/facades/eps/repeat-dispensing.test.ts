/**
 * EPS electronic repeat dispensing over HTTP with the server's default configuration, replaying the
 * staged eRD examples (spec/prescribing/prescription-order, spec/dispensing/{release,
 * dispense-notification,claim,return}/eRD-primary-example-*: one prescription,
 * 24F5DA-A83008-7EFE6Z, `numberOfRepeatsAllowed` 6) issue by issue, and the repeat-dispensing
 * orders of primary-care/repeat-dispensing, with the outcomes of the examples' response files.
 * The example's issues last 10 days (`expectedSupplyDuration`), so each next issue is releasable 3
 * days (10 − the 7-day tolerance) after the previous one was dispensed: the replay moves the
 * prescription clock on by ISSUE_INTERVAL_DAYS before releasing it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, Claim, Extension, MedicationRequest, OperationOutcome, Organization, Parameters, Task } from 'fhir/r4';

import { type TestApp } from '../../helpers/test-app';
import { advanceExampleClock, EPS_EXAMPLES, epsPost, useEpsApp } from './helpers';

const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
const DISPENSING = '/fhir-dispensing/FHIR/R4';
const EPS = '/electronic-prescriptions/FHIR/R4';
const RX = '24F5DA-A83008-7EFE6Z';
const REPEAT_INFO = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation';
const UKCORE_REPEAT = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation';
/** The eRD example's expectedSupplyDuration (10 days) less the early-release tolerance (7 days). */
const ISSUE_INTERVAL_DAYS = 3;
const DIN = ['primary-care', 'repeat-dispensing', 'nominated-pharmacy', 'medical-prescriber', 'author', 'gmc', 'responsible-party', 'medication-list'];

const dir = EPS_EXAMPLES;
function example<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(dir!, ...parts), 'utf8')) as T;
}
function epsCode(oo: OperationOutcome): string | undefined {
  return oo.issue[0]?.details?.coding?.[0]?.code;
}
function sub(e: Extension | undefined, url: string): Extension | undefined {
  return e?.extension?.find((x) => x.url === url);
}

describe('EPS façades: repeat dispensing replayed', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);
  async function tracker(): Promise<Task> {
    const res = await request(t.app).get(`${EPS}/Task?focus:identifier=${RX}`).set('X-Request-ID', randomUUID());
    assert.equal(res.status, 200, res.text);
    const tasks = ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
    assert.equal(tasks.length, 1);
    return tasks[0]!;
  }
  async function issueOf(): Promise<{ status?: string; allowed?: number; issued?: number; past: Record<string, string | undefined> }> {
    const task = await tracker();
    const info = task.extension?.find((e) => e.url === REPEAT_INFO);
    const past: Record<string, string | undefined> = {};
    for (const p of info?.extension?.filter((e) => e.url === 'issue') ?? []) past[String(sub(p, 'number')?.valueInteger)] = sub(p, 'status')?.valueCoding?.code;
    return { status: task.businessStatus?.coding?.[0]?.code, allowed: sub(info, 'numberOfRepeatsAllowed')?.valueInteger, issued: sub(info, 'numberOfRepeatsIssued')?.valueInteger, past };
  }
  const dispenseExample = (): Bundle => example<Bundle>('spec', 'dispensing', 'dispense-notification', 'eRD-primary-example-req.json');
  /** The dispenser of the eRD dispense notification example (the release example names another pharmacy). */
  const DISPENSER = 'VNE51';
  function releaseExample(owner = DISPENSER): Parameters {
    const p = example<Parameters>('spec', 'dispensing', 'release', 'eRD-primary-example-req.json');
    p.parameter!.find((x) => x.name === 'group-identifier')!.valueIdentifier!.value = RX;
    ((p.parameter!.find((x) => x.name === 'owner')!.resource as Organization).identifier![0]!).value = owner;
    return p;
  }
  /** The dispense example with only the MedicationDispenses `keep` (indexes), the item types replaced by `types`. */
  function dispense(keep: number[], types: Record<number, string> = {}): Bundle {
    const b = dispenseExample();
    let n = -1;
    b.entry = b.entry!.filter((e) => {
      if (e.resource?.resourceType !== 'MedicationDispense') return true;
      n++;
      const md = e.resource;
      if (types[n]) md.type!.coding![0]!.code = types[n];
      return keep.includes(n);
    });
    return b;
  }
  async function released(owner?: string): Promise<MedicationRequest[]> {
    const res = await post(DISPENSING, 'Task/$release', releaseExample(owner));
    assert.equal(res.status, 200, res.text);
    const passed = (res.body as Parameters).parameter!.find((p) => p.name === 'passedPrescriptions')!.resource as Bundle;
    const message = passed.entry![0]!.resource as Bundle;
    return message.entry!.map((e) => e.resource!).filter((r): r is MedicationRequest => r.resourceType === 'MedicationRequest');
  }
  function issuedOn(mr: MedicationRequest): number | undefined {
    return sub(mr.extension?.find((e) => e.url === UKCORE_REPEAT), 'numberOfPrescriptionsIssued')?.valueUnsignedInt;
  }

  it('orders, releases and dispenses issue by issue; the tracker Task shows which issue; past issues are claimed by number', async () => {
    const order = await post(PRESCRIBING, '$process-message', example('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json'));
    assert.equal(order.status, 200, order.text);
    assert.deepEqual((order.body as OperationOutcome).issue, example<OperationOutcome>('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-res.json').issue);
    assert.deepEqual(await issueOf(), { status: '0001', allowed: 6, issued: 1, past: {} });

    // Issue 1: released, partly dispensed (the example: two dispensed, one owing, one cancelled), then finished.
    const mrs1 = await released();
    assert.equal(mrs1.length, 4);
    assert.deepEqual(mrs1.map(issuedOn), [1, 1, 1, 1]);
    const dn = await post(DISPENSING, '$process-message', dispenseExample());
    assert.equal(dn.status, 200, dn.text);
    assert.deepEqual((dn.body as OperationOutcome).issue, example<OperationOutcome>('spec', 'dispensing', 'dispense-notification', 'eRD-primary-example-res.json').issue);
    assert.equal((await issueOf()).status, '0003');
    assert.equal((await post(DISPENSING, '$process-message', dispense([2], { 2: '0001' }))).status, 200);
    assert.deepEqual(await issueOf(), { status: '0001', allowed: 6, issued: 2, past: { 1: '0006' } });
    const task = await tracker();
    assert.deepEqual(task.input?.map((i) => i.valueCoding?.code), ['0007', '0007', '0007', '0005']);
    assert.equal(task.owner, undefined);

    // Issue 2: the cancelled item stays cancelled; claiming issue 3 before it exists is refused.
    advanceExampleClock(t, ISSUE_INTERVAL_DAYS);
    assert.deepEqual((await released()).map(issuedOn), [2, 2, 2, 2]);
    const again = await post(DISPENSING, '$process-message', dispense([0, 1, 2, 3], { 2: '0001' }));
    assert.equal(again.status, 400, again.text);
    assert.equal(epsCode(again.body as OperationOutcome), 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION');
    assert.equal((await post(DISPENSING, '$process-message', dispense([0, 1, 2], { 2: '0001' }))).status, 200);
    assert.deepEqual(await issueOf(), { status: '0001', allowed: 6, issued: 3, past: { 1: '0006', 2: '0006' } });

    // The claim example names issue 2 of 5 repeats; this prescription has 6 (the staged examples disagree).
    const claim = example<Claim>('spec', 'dispensing', 'claim', 'eRD-primary-example-req.json');
    const mismatch = await post(DISPENSING, 'Claim', claim);
    assert.equal(mismatch.status, 400, mismatch.text);
    assert.equal(epsCode(mismatch.body as OperationOutcome), 'MISMATCH_AUTHORISED_REPEAT_COUNTS');
    const setRepeat = (c: Claim, allowed: number, issued: number): Claim => {
      const copy = structuredClone(c);
      for (const item of copy.item ?? []) {
        for (const holder of [item, ...(item.detail ?? [])]) {
          const info = holder.extension?.find((e) => e.url === REPEAT_INFO);
          if (!info) continue;
          sub(info, 'numberOfRepeatsAllowed')!.valueInteger = allowed;
          sub(info, 'numberOfRepeatsIssued')!.valueInteger = issued;
        }
      }
      return copy;
    };
    const claimed = await post(DISPENSING, 'Claim', setRepeat(claim, 6, 2));
    assert.equal(claimed.status, 200, claimed.text);
    assert.deepEqual((claimed.body as OperationOutcome).issue, example<OperationOutcome>('spec', 'dispensing', 'claim', 'eRD-primary-example-res.json').issue);
    assert.deepEqual((await issueOf()).past, { 1: '0006', 2: '0008' });
    assert.equal(epsCode((await post(DISPENSING, 'Claim', setRepeat(claim, 6, 2))).body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.equal(epsCode((await post(DISPENSING, 'Claim', setRepeat(claim, 6, 3))).body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.equal((await post(DISPENSING, 'Claim', setRepeat(claim, 6, 1))).status, 200);
    assert.deepEqual((await issueOf()).past, { 1: '0008', 2: '0008' });

    // Issue 3: returned (the return example), then released to another pharmacy.
    advanceExampleClock(t, ISSUE_INTERVAL_DAYS);
    assert.deepEqual((await released()).map(issuedOn), [3, 3, 3, 3]);
    const ret = await post(DISPENSING, 'Task', example('spec', 'dispensing', 'return', 'eRD-primary-example-req.json'));
    assert.equal(ret.status, 200, ret.text);
    assert.deepEqual(await issueOf(), { status: '0001', allowed: 6, issued: 3, past: { 1: '0008', 2: '0008' } });
    assert.deepEqual((await released('FX999')).map(issuedOn), [3, 3, 3, 3]);
    assert.equal((await tracker()).owner?.identifier?.value, 'FX999');

    // Every transition is in the history with its issue.
    const events = (await tracker()).extension!.filter((e) => e.url.endsWith('PrescriptionStatusHistory')).map((e) => `${sub(e, 'event')?.valueCode}@${sub(e, 'issue')?.valueInteger ?? ''}`);
    assert.deepEqual(events, ['create@1', 'release@', 'dispense@1', 'dispense@1', 'issue@2', 'release@', 'dispense@2', 'issue@3', 'claim@2', 'claim@1', 'release@', 'return@', 'release@']);
  });

  it('finishes after the last issue: Dispensed, then Claimed', async () => {
    const order = example<Bundle>('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json');
    for (const e of order.entry!) if (e.resource?.resourceType === 'MedicationRequest') e.resource.dispenseRequest!.numberOfRepeatsAllowed = 1;
    assert.equal((await post(PRESCRIBING, '$process-message', order)).status, 200);
    for (const issue of [1, 2]) {
      if (issue > 1) advanceExampleClock(t, ISSUE_INTERVAL_DAYS);
      assert.deepEqual((await released()).map(issuedOn), [issue, issue, issue, issue]);
      const res = await post(DISPENSING, '$process-message', dispense([0, 1, 2, 3], { 2: '0001', 3: '0002' }));
      assert.equal(res.status, 200, res.text);
    }
    const state = await issueOf();
    assert.deepEqual(state, { status: '0006', allowed: 1, issued: 2, past: { 1: '0006' } });
    const claim = example<Claim>('spec', 'dispensing', 'claim', 'eRD-primary-example-req.json');
    for (const item of claim.item ?? []) for (const h of [item, ...(item.detail ?? [])]) {
      const info = h.extension?.find((e) => e.url === REPEAT_INFO);
      if (info) {
        sub(info, 'numberOfRepeatsAllowed')!.valueInteger = 1;
        sub(info, 'numberOfRepeatsIssued')!.valueInteger = 2;
      }
    }
    // The claim gives the line statuses as dispensed here (the example's fourth item was cancelled; here it was not dispensed).
    claim.item![0]!.detail![3]!.modifier![0]!.coding![0]!.code = '0002';
    const claimed = await post(DISPENSING, 'Claim', claim);
    assert.equal(claimed.status, 200, claimed.text);
    assert.equal((await issueOf()).status, '0008');
    const over = await post(DISPENSING, 'Task/$release', releaseExample());
    assert.equal(over.status, 400);
    assert.equal(epsCode(over.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  });

  it('accepts the repeat-dispensing orders of primary-care/repeat-dispensing with their repeat counts; refuses differing counts', async () => {
    for (const variant of ['din', 'spurious-code']) {
      const res = await post(PRESCRIBING, '$process-message', example(...DIN, variant, '1-Process-Request-Send-200_OK.json'));
      assert.equal(res.status, 200, `${variant}: ${res.text}`);
    }
    const tasks = await request(t.app).get('/fhir/Task').expect(200);
    const infos = ((tasks.body as Bundle).entry ?? []).map((e) => (e.resource as Task).extension?.find((x) => x.url === REPEAT_INFO));
    assert.deepEqual(infos.map((i) => [sub(i, 'numberOfRepeatsAllowed')?.valueInteger, sub(i, 'numberOfRepeatsIssued')?.valueInteger]), [[5, 1], [5, 1]]);
    const bad = example<Bundle>('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json');
    (bad.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest).dispenseRequest!.numberOfRepeatsAllowed = 2;
    const refused = await post(PRESCRIBING, '$process-message', bad);
    assert.equal(refused.status, 400, refused.text);
    assert.deepEqual((refused.body as OperationOutcome).issue[0]?.expression, ['Bundle.entry.resource.ofType(MedicationRequest).dispenseRequest.numberOfRepeatsAllowed']);
    assert.equal((await request(t.app).get('/fhir/Task').expect(200)).body.entry?.length, 2);
  });
});
