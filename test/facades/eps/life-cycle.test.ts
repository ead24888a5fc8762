/**
 * The EPS façades replaying the staged EPS example messages (nhs-apis/eps/examples): a prescription
 * ordered, tracked, released, dispensed, returned, withdrawn and cancelled, one state across the three
 * base paths; the errors/ examples answered with the outcomes the specification describes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, MedicationRequest, OperationOutcome, Parameters, Task } from 'fhir/r4';
import { skipWithReason } from '../../helpers/external-data';
import { testApp, type TestApp } from '../../helpers/test-app';
import { EPS_EXAMPLES, epsPost, useEpsApp } from './helpers';

const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
const DISPENSING = '/fhir-dispensing/FHIR/R4';
const EPS = '/electronic-prescriptions/FHIR/R4';
const RX = '24F5DA-A83008-7EFE6Z';
/** The NHS Number of the staged order (the dispensing examples name another patient: aligned below). */
const ORDER_NHS = '5839945242';

const dir = EPS_EXAMPLES;
function example<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(dir!, ...parts), 'utf8')) as T;
}
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];

function epsCode(oo: OperationOutcome): string | undefined {
  return oo.issue[0]?.details?.coding?.[0]?.code;
}

describe('EPS façades: the example life cycle', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown, requestId?: string): request.Test => epsPost(t, base, p, body, { ...(requestId !== undefined ? { requestId } : {}), correlationId: 'corr-1' });
  async function track(base: string, q: string): Promise<Task[]> {
    const res = await request(t.app).get(`${base}/Task?${q}`).set('X-Request-ID', randomUUID());
    assert.equal(res.status, 200, res.text);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
  }
  function status(task: Task | undefined): string | undefined {
    return task?.businessStatus?.coding?.[0]?.code;
  }
  async function order(): Promise<void> {
    const res = await post(PRESCRIBING, '$process-message', example(...ACUTE, '1-Process-Request-Send-200_OK.json'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual((res.body as OperationOutcome).issue, example<OperationOutcome>(...ACUTE, '1-Process-Response-Send-200_OK.json').issue);
    assert.equal(res.headers['x-correlation-id'], 'corr-1');
  }
  function release(owner?: string): unknown {
    const p = example<Parameters>(...ACUTE, '1-Task-Request-Release-200_OK.json');
    if (owner) (p.parameter!.find((x) => x.name === 'owner')!.resource as { identifier: Array<{ value: string }> }).identifier[0]!.value = owner;
    return p;
  }

  it('stores the order, tracks it by prescription ID and by NHS Number on every base path', async () => {
    await order();
    for (const base of [EPS, PRESCRIBING, DISPENSING]) {
      const [task] = await track(base, `focus:identifier=https://fhir.nhs.uk/Id/prescription-order-number|${RX}`);
      assert.equal(status(task), '0001');
      assert.equal(task!.for?.identifier?.value, ORDER_NHS);
      assert.equal(task!.input?.length, 4);
      assert.ok(task!.input!.every((i) => i.valueCoding?.code === '0007'));
    }
    const byPatient = await track(EPS, `patient:identifier=https://fhir.nhs.uk/Id/nhs-number|${ORDER_NHS}`);
    assert.equal(byPatient.length, 1);
    assert.equal((await track(EPS, 'patient:identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009')).length, 0);
    const mrs = await request(t.app).get('/fhir/MedicationRequest').expect(200);
    assert.equal((mrs.body as Bundle).entry?.length, 4);
    const mr = (mrs.body as Bundle).entry![0]!.resource as MedicationRequest;
    assert.equal(mr.subject.identifier?.value, ORDER_NHS);
    assert.equal(mr.subject.reference, undefined);
  });

  it('refuses the same prescription ID again with DUPLICATE_PRESCRIPTION_ID', async () => {
    await order();
    const res = await post(PRESCRIBING, '$process-message', example(...ACUTE, '1-Process-Request-Send-200_OK.json'));
    assert.equal(res.status, 400);
    assert.equal(epsCode(res.body as OperationOutcome), 'DUPLICATE_PRESCRIPTION_ID');
  });

  it('releases once, refuses another dispenser naming the holder, returns and releases again', async () => {
    await order();
    const res = await post(DISPENSING, 'Task/$release', release());
    assert.equal(res.status, 200, res.text);
    const out = res.body as Parameters;
    const passed = out.parameter?.find((p) => p.name === 'passedPrescriptions')?.resource as Bundle;
    const failed = out.parameter?.find((p) => p.name === 'failedPrescriptions')?.resource as Bundle;
    assert.equal(passed.entry?.length, 1);
    assert.equal(failed.entry?.length, 0);
    const message = passed.entry![0]!.resource as Bundle;
    assert.equal(message.entry?.filter((e) => e.resource?.resourceType === 'MedicationRequest').length, 4);
    assert.equal(status((await track(EPS, `focus:identifier=${RX}`))[0]), '0002');

    const other = await post(DISPENSING, 'Task/$release', release('FX999'));
    assert.equal(other.status, 400);
    const oo = other.body as OperationOutcome;
    assert.equal(epsCode(oo), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');
    assert.equal((oo.contained?.[0] as { identifier?: Array<{ value?: string }> }).identifier?.[0]?.value, 'VNE51');
    assert.equal(oo.extension?.[0]?.valueReference?.reference, `#${oo.contained![0]!.id!}`);

    const returnTask = example<Task>('spec', 'dispensing', 'return', 'acute-primary-example-req.json');
    returnTask.for = { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: ORDER_NHS } };
    const ret = await post(DISPENSING, 'Task', returnTask);
    assert.equal(ret.status, 200, ret.text);
    assert.equal(status((await track(EPS, `focus:identifier=${RX}`))[0]), '0001');
    const again = await post(DISPENSING, 'Task/$release', release('FX999'));
    assert.equal(again.status, 200, again.text);
    // The re-release carries the prescription again (the Task keeps its basedOn through every update).
    const rePassed = (again.body as Parameters).parameter!.find((p) => p.name === 'passedPrescriptions')!.resource as Bundle;
    assert.equal((rePassed.entry![0]!.resource as Bundle).entry?.filter((e) => e.resource?.resourceType === 'MedicationRequest').length, 4);
    const [held] = await track(EPS, `focus:identifier=${RX}`);
    assert.equal(status(held), '0002');
    assert.equal(held!.owner?.identifier?.value, 'FX999');
    const byFirst = await post(DISPENSING, 'Task', returnTask);
    assert.equal(byFirst.status, 400, byFirst.text);
    assert.equal(epsCode(byFirst.body as OperationOutcome), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');
  });

  it('dispenses (dispense-notification), withdraws it, and records every transition', async () => {
    await order();
    assert.equal((await post(DISPENSING, 'Task/$release', release())).status, 200);
    const dn = await post(DISPENSING, '$process-message', example('spec', 'dispensing', 'dispense-notification', 'acute-primary-example-03-req.json'));
    assert.equal(dn.status, 200, dn.text);
    const afterDispense = status((await track(EPS, `focus:identifier=${RX}`))[0]);
    assert.ok(afterDispense === '0003' || afterDispense === '0006', afterDispense);
    const withdraw = example<Task>('spec', 'dispensing', 'withdraw', 'acute-primary-example-req.json');
    withdraw.for = { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: ORDER_NHS } };
    const wd = await post(DISPENSING, 'Task', withdraw);
    assert.equal(wd.status, 200, wd.text);
    const [task] = await track(EPS, `focus:identifier=${RX}`);
    assert.equal(status(task), '0002');
    const events = (task!.extension ?? []).map((e) => e.extension?.find((x) => x.url === 'event')?.valueCode).filter(Boolean);
    assert.deepEqual(events, ['create', 'release', 'dispense', 'withdraw']);
    const history = await request(t.app).get(`/fhir/Task/${task!.id!}/_history`).expect(200);
    assert.equal((history.body as Bundle).total, 4);
  });

  it('claims a dispensed prescription once (Claimed 0008), refusing a claim before dispensing', async () => {
    await order();
    const claim = example<{ patient: { identifier: { value: string } } }>('spec', 'dispensing', 'claim', 'acute-primary-example-req.json');
    claim.patient.identifier.value = ORDER_NHS;
    const early = await post(DISPENSING, 'Claim', claim);
    assert.equal(early.status, 400);
    assert.equal(epsCode(early.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.equal((await post(DISPENSING, 'Task/$release', release())).status, 200);
    assert.equal((await post(DISPENSING, '$process-message', example('spec', 'dispensing', 'dispense-notification', 'acute-primary-example-03-req.json'))).status, 200);
    assert.equal(status((await track(EPS, `focus:identifier=${RX}`))[0]), '0006');
    const res = await post(DISPENSING, 'Claim', claim);
    assert.equal(res.status, 200, res.text);
    assert.equal(status((await track(EPS, `focus:identifier=${RX}`))[0]), '0008');
    const again = await post(DISPENSING, 'Claim', claim);
    assert.equal(epsCode(again.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  });

  it('answers malformed bodies with a 400 OperationOutcome, never a 500', async () => {
    for (const [p, body] of [
      ['$process-message', { resourceType: 'Bundle', type: 'message', entry: [] }],
      ['$process-message', { resourceType: 'Patient' }],
      ['$process-message', { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', eventCoding: { system: 'https://fhir.nhs.uk/CodeSystem/message-event', code: 'dispense-notification' } } }] }],
      ['Task/$release', { resourceType: 'Parameters' }],
      ['Task', { resourceType: 'Task', status: 'draft' }],
      ['Claim', { resourceType: 'Claim' }],
    ] as const) {
      const res = await post(DISPENSING, p, body);
      assert.equal(res.status, 400, `${p}: ${res.text}`);
      assert.equal((res.body as OperationOutcome).resourceType, 'OperationOutcome');
    }
  });

  it('refuses release of an unknown prescription with RESOURCE_NOT_FOUND', async () => {
    const res = await post(DISPENSING, 'Task/$release', release());
    assert.equal(res.status, 404);
    assert.equal(epsCode(res.body as OperationOutcome), example<OperationOutcome>('spec', 'errors', 'release', 'not-found-error.json').issue[0]!.details!.coding![0]!.code);
  });

  it('requires X-Request-ID', async () => {
    const res = await request(t.app).get(`${EPS}/Task?focus:identifier=${RX}`);
    assert.equal(res.status, 400);
    assert.equal((res.body as OperationOutcome).issue[0]?.expression?.[0], 'X-Request-ID');
  });
});

describe('EPS façades: cancellations replayed', function () {
  let t: TestApp;
  const CANCEL = [...ACUTE, 'cancellations'];
  useEpsApp((x) => (t = x));

  const post = (base: string, p: string, body: unknown): request.Test => epsPost(t, base, p, body);
  function rCode(b: Bundle): string | undefined {
    const mr = b.entry?.find((e) => e.resource?.resourceType === 'MedicationRequest')?.resource as MedicationRequest;
    return mr.extension?.find((e) => e.url === 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionStatusHistory')?.extension?.[0]?.valueCoding?.code;
  }

  it('cancels each example before release (R-0001), R-0006 the second time, R-0008 when the cancellation names another prescription', async () => {
    const files = fs.readdirSync(path.join(dir!, ...CANCEL)).filter((f) => /^\d+-Process-Request-Send-200_OK\.json$/.test(f));
    assert.ok(files.length > 0);
    for (const f of files) {
      const n = f.split('-')[0]!;
      const send = await post(PRESCRIBING, '$process-message', example(...CANCEL, f));
      assert.equal(send.status, 200, `${f}: ${send.text}`);
      const cancelMsg = example(...CANCEL, `${n}-Process-Request-Cancel-200_OK.json`);
      const res = await post(PRESCRIBING, '$process-message', cancelMsg);
      assert.equal(res.status, 200, `${n}: ${res.text}`);
      const b = res.body as Bundle;
      const rxOf = (m: Bundle): string | undefined => (m.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest).groupIdentifier?.value;
      if (rxOf(cancelMsg as Bundle) !== rxOf(example<Bundle>(...CANCEL, f))) {
        // Staged pair 2 cancels a prescription that was never sent.
        assert.equal(rCode(b), 'R-0008', n);
        continue;
      }
      assert.equal((b.entry?.[0]?.resource as { eventCoding?: { code?: string } }).eventCoding?.code, 'prescription-order-response');
      assert.equal(rCode(b), 'R-0001', n);
      const again = await post(PRESCRIBING, '$process-message', cancelMsg);
      assert.equal(rCode(again.body as Bundle), 'R-0006', n);
    }
  });

  it('answers R-0008 for an unknown prescription and R-0002 once released', async () => {
    const cancelMsg = example(...CANCEL, '1-Process-Request-Cancel-200_OK.json');
    assert.equal(rCode((await post(PRESCRIBING, '$process-message', cancelMsg)).body as Bundle), 'R-0008');
    assert.equal((await post(PRESCRIBING, '$process-message', example(...CANCEL, '1-Process-Request-Send-200_OK.json'))).status, 200);
    const send = example<Bundle>(...CANCEL, '1-Process-Request-Send-200_OK.json');
    const rx = (send.entry!.find((e) => e.resource?.resourceType === 'MedicationRequest')!.resource as MedicationRequest).groupIdentifier!.value!;
    const rel = example<Parameters>(...ACUTE, '1-Task-Request-Release-200_OK.json');
    rel.parameter!.find((p) => p.name === 'group-identifier')!.valueIdentifier!.value = rx;
    assert.equal((await post(DISPENSING, 'Task/$release', rel)).status, 200);
    assert.equal(rCode((await post(PRESCRIBING, '$process-message', cancelMsg)).body as Bundle), 'R-0002');
  });
});

describe('EPS façades: the errors/ examples', function () {
  let t: TestApp;
  before(function () {
    if (!dir) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
    t = testApp();
  });
  after(() => t?.close());

  for (const [req, res] of [
    ['1-Process-Request-Send-400_INVALID_CHECKSUM.json', '1-Process-Response-Send-400_INVALID_CHECKSUM.json'],
    ['2-Process-Request-Send-400_Invalid_Course_of_Therapy_mixed.json', '2-Process-Response-Send-400_Invalid_Course_of_Therapy_mixed.json'],
    ['4-Process-Request-Send-400_invalid_intent.json', '4-Process-Response-Send-400_invalid_intent.json'],
  ] as const) {
    it(`answers ${req} as ${res}`, async () => {
      const answer = await request(t.app)
        .post(`${PRESCRIBING}/$process-message`)
        .set('X-Request-ID', randomUUID())
        .set('Content-Type', 'application/fhir+json')
        .send(JSON.stringify(example('errors', req)));
      assert.equal(answer.status, 400, answer.text);
      const expected = example<OperationOutcome>('errors', res).issue[0]!;
      const got = (answer.body as OperationOutcome).issue[0]!;
      const expectedCode = expected.details?.coding?.[0]?.code;
      if (expectedCode) assert.equal(got.details?.coding?.[0]?.code, expectedCode);
      if (expected.expression) assert.deepEqual(got.expression, expected.expression);
      if (expected.diagnostics) assert.equal(got.diagnostics, expected.diagnostics);
    });
  }
});
