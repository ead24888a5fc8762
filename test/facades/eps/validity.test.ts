/**
 * Prescription validity over HTTP with the server's default configuration (docs/eps.md "Repeat
 * dispensing", "Nomination and expiry"; ADR 38), the prescription clock set by the test:
 *
 * - repeat-dispensing issue dates: issue n + 1 is not releasable before issue n's dispense date plus
 *   `expectedSupplyDuration` less 7 days (PRESCRIPTION_INVALID_STATE_TRANSITION), the dates in the
 *   tracker Task; the eRD as a whole capped at 12 months;
 * - expiry of prescriptions nobody touches: the sweep stores them Expired (0004, `expire` history
 *   entry), found by `/fhir/Task?business-status=0004` and `status=failed`; the tracker (by
 *   prescription ID and by NHS Number, on the three façades) stores a due expiry before answering;
 *   the sweep's timer with an injected scheduler; the sweep under SMART access control;
 * - the 28-day rule of Schedule 2, 3 and 4 controlled drugs (Extension-DM-ControlledDrug).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, Extension, MedicationRequest, OperationOutcome, Parameters, Task } from 'fhir/r4';
import { testApp, type TestApp } from '../../helpers/test-app';
import { setPrescriptionClock } from '../../../src/facades/eps/clock';
import { startExpirySweep, sweepExpiredPrescriptions, type SweepScheduler } from '../../../src/facades/eps/expiry-sweep';
import { newPrescriptionId } from '../../../src/spine/eps/prescription-id';
import { DISPENSING, EPS, epsCode, epsExample, epsPost, PRESCRIBING, useEpsApp } from './helpers';

const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const RX_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-number';
const HISTORY = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-PrescriptionStatusHistory';
const REPEAT_INFO = 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation';
const STATUS_HISTORY = 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionStatusHistory';
const ERD_RX = '24F5DA-A83008-7EFE6Z';

function mrsOf(b: Bundle): MedicationRequest[] {
  return (b.entry ?? []).map((e) => e.resource).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');
}
function sub(e: Extension | undefined, url: string): Extension | undefined {
  return e?.extension?.find((x) => x.url === url);
}
const statusOf = (t: Task): string | undefined => t.businessStatus?.coding?.[0]?.code;

/** The staged acute order as a new prescription (fresh ID), signed 2021-04-20, valid from then until `end`. */
function acuteOrder(end = '2021-10-20T23:59:59Z', schedule?: string): { body: Bundle; rx: string; nhs: string } {
  const body = epsExample<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json');
  const rx = newPrescriptionId('A83008', randomBytes(6).toString('hex').slice(0, 11));
  body.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() };
  for (const mr of mrsOf(body)) {
    mr.groupIdentifier!.value = rx;
    mr.authoredOn = '2021-04-20T09:00:00+00:00';
    mr.dispenseRequest!.validityPeriod = { start: '2021-04-20', end };
    if (schedule) {
      mr.extension = [...(mr.extension ?? []), {
        url: 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-ControlledDrug',
        extension: [{ url: 'quantityWords', valueString: 'twenty eight' }, { url: 'schedule', valueCoding: { system: 'https://fhir.nhs.uk/CodeSystem/medicationrequest-controlled-drug', code: schedule, display: `Schedule ${schedule.slice(2)}` } }],
      }];
    }
  }
  const patient = body.entry!.find((e) => e.resource?.resourceType === 'Patient')!.resource as { identifier: Array<{ system: string; value: string }> };
  const nhs = patient.identifier.find((i) => i.system === 'https://fhir.nhs.uk/Id/nhs-number')!.value;
  return { body, rx, nhs };
}

function releaseById(rx: string, owner?: string): Parameters {
  const p = epsExample<Parameters>(...ACUTE, '1-Task-Request-Release-200_OK.json');
  p.parameter!.find((x) => x.name === 'group-identifier')!.valueIdentifier!.value = rx;
  if (owner) ((p.parameter!.find((x) => x.name === 'owner')!.resource as { identifier: Array<{ value: string }> }).identifier[0]!).value = owner;
  return p;
}

function cancellation(o: { body: Bundle; rx: string }): Bundle {
  const msg = epsExample<Bundle>(...ACUTE, 'cancellations', '1-Process-Request-Cancel-200_OK.json');
  for (const mr of mrsOf(msg)) mr.groupIdentifier!.value = o.rx;
  mrsOf(msg)[0]!.identifier = mrsOf(o.body)[0]!.identifier;
  return msg;
}
function cancellationCode(b: Bundle): string | undefined {
  return mrsOf(b)[0]?.extension?.find((e) => e.url === STATUS_HISTORY)?.extension?.[0]?.valueCoding?.code;
}

async function storedTasks(t: TestApp, query: Record<string, string>): Promise<Task[]> {
  const res = await request(t.app).get('/fhir/Task').query(query);
  assert.equal(res.status, 200, res.text);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
}
async function storedTask(t: TestApp, rx: string): Promise<Task> {
  const [task] = await storedTasks(t, { identifier: `${RX_SYSTEM}|${rx}` });
  assert.ok(task, `no Task for ${rx}`);
  return task;
}
async function tracked(t: TestApp, base: string, query: Record<string, string>): Promise<Task[]> {
  const res = await request(t.app).get(`${base}/Task`).query(query).set('X-Request-ID', randomUUID());
  assert.equal(res.status, 200, res.text);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Task);
}
const events = (task: Task): string[] => (task.extension ?? []).filter((e) => e.url === HISTORY).map((e) => sub(e, 'event')!.valueCode!);

describe('EPS repeat dispensing: issue dates and the validity of the whole eRD', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));
  const at = (iso: string): void => setPrescriptionClock(t.services, () => new Date(iso));
  const releaseErd = (): Parameters => {
    const p = epsExample<Parameters>('spec', 'dispensing', 'release', 'eRD-primary-example-req.json');
    p.parameter!.find((x) => x.name === 'group-identifier')!.valueIdentifier!.value = ERD_RX;
    ((p.parameter!.find((x) => x.name === 'owner')!.resource as { identifier: Array<{ value: string }> }).identifier[0]!).value = 'VNE51';
    return p;
  };
  /** The eRD dispense example with every item dispensed: finishes the issue. */
  const dispenseAll = (): Bundle => {
    const b = epsExample<Bundle>('spec', 'dispensing', 'dispense-notification', 'eRD-primary-example-req.json');
    for (const e of b.entry!) if (e.resource?.resourceType === 'MedicationDispense') e.resource.type!.coding![0]!.code = '0001';
    return b;
  };

  it('refuses to release the next issue before the dispense date + expectedSupplyDuration (10 days) − 7 days (by ID or nomination), then releases it', async () => {
    const order = epsExample<Bundle>('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', order)).status, 200);
    at('2022-10-21T10:00:00Z');
    assert.equal((await epsPost(t, DISPENSING, 'Task/$release', releaseErd())).status, 200, 'issue 1 at once');
    at('2022-10-22T10:00:00Z');
    const dn = await epsPost(t, DISPENSING, '$process-message', dispenseAll());
    assert.equal(dn.status, 200, dn.text);

    const [task] = await tracked(t, EPS, { 'focus:identifier': ERD_RX });
    const info = task!.extension!.find((e) => e.url === REPEAT_INFO);
    assert.equal(sub(info, 'numberOfRepeatsIssued')?.valueInteger, 2);
    assert.equal(sub(info, 'expectedSupplyDuration')?.valueDuration?.value, 10);
    const past = info!.extension!.find((e) => e.url === 'issue');
    assert.equal(sub(past, 'finished')?.valueDateTime, '2022-10-22T10:00:00.000Z', 'issue 1 finished: its dispense date');
    const issueEntry = task!.extension!.filter((e) => e.url === HISTORY).find((e) => sub(e, 'event')?.valueCode === 'issue');
    assert.equal(sub(issueEntry, 'notBefore')?.valueDateTime, '2022-10-25T10:00:00.000Z');

    at('2022-10-25T09:59:59Z');
    const early = await epsPost(t, DISPENSING, 'Task/$release', releaseErd());
    assert.equal(early.status, 400, early.text);
    assert.equal(epsCode(early.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.match((early.body as OperationOutcome).issue[0]!.diagnostics!, /Issue 2 .*cannot be released before 2022-10-25T10:00:00.000Z/);
    assert.deepEqual((early.body as OperationOutcome).issue[0]!.expression, ['Parameters.parameter("group-identifier")']);
    assert.equal(statusOf((await tracked(t, EPS, { 'focus:identifier': ERD_RX }))[0]!), '0001', 'still To be Dispensed');
    // The nominated release (the order names VNE51) leaves it, in neither Bundle.
    const nominated = (): Parameters => {
      const p = epsExample<Parameters>('spec', 'dispense', 'Nominated-Pharmacy-Request-Release-200_OK.json');
      ((p.parameter!.find((x) => x.name === 'owner')!.resource as { identifier: Array<{ value: string }> }).identifier[0]!).value = 'VNE51';
      return p;
    };
    const totals = (p: Parameters): number[] => ['passedPrescriptions', 'failedPrescriptions'].map((n) => (p.parameter!.find((x) => x.name === n)!.resource as Bundle).total!);
    const none = await epsPost(t, DISPENSING, 'Task/$release', nominated());
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(totals(none.body as Parameters), [0, 0]);

    at('2022-10-25T10:00:00Z');
    const due = await epsPost(t, DISPENSING, 'Task/$release', nominated());
    assert.equal(due.status, 200, due.text);
    assert.deepEqual(totals(due.body as Parameters), [1, 0], 'due: released by nomination');
    assert.equal(statusOf((await tracked(t, EPS, { 'focus:identifier': ERD_RX }))[0]!), '0002');
  });

  it('expires the whole eRD at validityPeriod.end, capped at 12 months after its start', async () => {
    const order = epsExample<Bundle>('spec', 'prescribing', 'prescription-order', 'eRD-primary-example-req.json');
    for (const mr of mrsOf(order)) mr.dispenseRequest!.validityPeriod = { start: '2022-10-21', end: '2024-10-21T23:59:59Z' };
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', order)).status, 200);
    assert.equal((await storedTask(t, ERD_RX)).restriction?.period?.end, '2023-10-21T23:59:59.000Z');
    at('2023-10-21T23:59:59Z');
    assert.equal(statusOf((await tracked(t, EPS, { 'focus:identifier': ERD_RX }))[0]!), '0001');
    at('2023-10-22T00:00:01Z');
    assert.equal(statusOf((await tracked(t, EPS, { 'focus:identifier': ERD_RX }))[0]!), '0004');
    const rel = await epsPost(t, DISPENSING, 'Task/$release', releaseErd());
    assert.equal(rel.status, 400, rel.text);
    assert.equal((rel.body as OperationOutcome).issue[0]!.diagnostics, 'Prescription has expired.');
  });
});

describe('EPS expiry of prescriptions nobody touches', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));
  const at = (iso: string): void => setPrescriptionClock(t.services, () => new Date(iso));

  it('the sweep stores a due prescription Expired (0004, expire history), found by /fhir/Task?business-status=0004 and status=failed, once', async () => {
    at('2021-04-25T10:00:00Z');
    const old = acuteOrder('2021-05-18T23:59:59Z');
    const live = acuteOrder('2021-06-30T23:59:59Z');
    for (const o of [old, live]) assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-05-20T03:00:00Z');
    // Nothing touched it: the store still says To be Dispensed, and /fhir answers what is stored.
    assert.equal(statusOf(await storedTask(t, old.rx)), '0001');
    assert.deepEqual(await storedTasks(t, { 'business-status': '0004' }), []);

    const swept = await sweepExpiredPrescriptions(t.services, 1);
    assert.deepEqual(swept.expired, [old.rx]);
    assert.equal(swept.examined, 2, 'paged one Task at a time');
    const stored = await storedTask(t, old.rx);
    assert.equal(statusOf(stored), '0004');
    assert.equal(stored.status, 'failed');
    assert.deepEqual(events(stored), ['create', 'expire']);
    assert.deepEqual(stored.input?.map((i) => i.valueCoding?.code), stored.input?.map(() => '0006'), 'items Expired');
    assert.equal(stored.meta?.versionId, '2', 'one new version');
    assert.deepEqual((await storedTasks(t, { 'business-status': '0004' })).map((x) => x.groupIdentifier?.value), [old.rx]);
    assert.deepEqual((await storedTasks(t, { status: 'failed' })).map((x) => x.groupIdentifier?.value), [old.rx]);
    assert.equal(statusOf(await storedTask(t, live.rx)), '0001');

    // A second sweep has nothing to do; the tracker answers the stored state.
    assert.deepEqual((await sweepExpiredPrescriptions(t.services)).expired, []);
    assert.equal((await storedTask(t, old.rx)).meta?.versionId, '2');
    assert.equal(statusOf((await tracked(t, DISPENSING, { 'focus:identifier': old.rx }))[0]!), '0004');
    // Its cancellation is R-0005.
    assert.equal(cancellationCode((await epsPost(t, PRESCRIBING, '$process-message', cancellation(old))).body as Bundle), 'R-0005');
  });

  it('the tracker (by prescription ID, and by NHS Number on the three façades) stores a due expiry before answering it', async () => {
    at('2021-04-25T10:00:00Z');
    const o = acuteOrder('2021-05-18T23:59:59Z');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-05-19T00:00:01Z');
    for (const base of [EPS, PRESCRIBING, DISPENSING]) {
      const mine = (await tracked(t, base, { 'patient:identifier': `https://fhir.nhs.uk/Id/nhs-number|${o.nhs}` })).filter((x) => x.groupIdentifier?.value === o.rx);
      assert.equal(mine.length, 1, base);
      assert.equal(statusOf(mine[0]!), '0004', base);
      // What the tracker answered is what is stored: one expire transition, whatever the number of reads.
      const stored = await storedTask(t, o.rx);
      assert.equal(statusOf(stored), '0004');
      assert.deepEqual(events(stored), ['create', 'expire']);
      assert.equal(mine[0]!.meta?.versionId, stored.meta?.versionId);
    }
    assert.deepEqual((await storedTasks(t, { 'business-status': '0004' })).map((x) => x.groupIdentifier?.value), [o.rx]);
  });

  it('runs the sweep at start and on each tick of its scheduler, never on its own when EPS_EXPIRY_SWEEP_SECONDS=0', async () => {
    at('2021-04-25T10:00:00Z');
    const a = acuteOrder('2021-05-18T23:59:59Z');
    const b = acuteOrder('2021-06-30T23:59:59Z');
    for (const o of [a, b]) assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    const ticks: Array<() => void> = [];
    let every: number | undefined;
    let cancelled = false;
    const scheduler: SweepScheduler = { every: (ms, run) => { every = ms; ticks.push(run); return { cancel: () => { cancelled = true; } }; } };
    assert.equal(t.config.epsExpirySweepSeconds, 60, 'the default');
    const sweep = startExpirySweep(t.services, t.config.epsExpirySweepSeconds, scheduler);
    assert.equal(every, 60_000);
    await sweep.settled();
    assert.equal(statusOf(await storedTask(t, a.rx)), '0001', 'the start-up run: nothing due yet');
    at('2021-05-20T00:00:00Z');
    ticks[0]!();
    await sweep.settled();
    assert.equal(statusOf(await storedTask(t, a.rx)), '0004', 'the tick: due, stored Expired');
    assert.equal(statusOf(await storedTask(t, b.rx)), '0001');
    await sweep.stop();
    assert.ok(cancelled);
    let scheduled = false;
    await startExpirySweep(t.services, 0, { every: () => { scheduled = true; return { cancel: () => undefined }; } }).stop();
    assert.equal(scheduled, false);
  });

  it('sweeps under SMART access control (the server\'s own transition), where an unauthenticated search is refused', async () => {
    at('2021-04-25T10:00:00Z');
    const o = acuteOrder('2021-05-18T23:59:59Z');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    const smart = testApp({ AUTH_MODE: 'smart' }, { store: t.services.store, keys: () => undefined });
    setPrescriptionClock(smart.services, () => new Date('2021-05-20T00:00:00Z'));
    assert.equal((await request(smart.app).get('/fhir/Task')).status, 401);
    assert.deepEqual((await sweepExpiredPrescriptions(smart.services)).expired, [o.rx]);
    assert.equal(statusOf(await storedTask(t, o.rx)), '0004');
  });
});

describe('EPS controlled drugs: 28 days for Schedules 2, 3 and 4', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));
  const at = (iso: string): void => setPrescriptionClock(t.services, () => new Date(iso));

  it('a Schedule 2 order expires 28 days after it was signed: release refused, cancellation R-0005', async () => {
    at('2021-04-20T10:00:00Z');
    const o = acuteOrder('2021-10-20T23:59:59Z', 'CD2');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    assert.equal((await storedTask(t, o.rx)).restriction?.period?.end, '2021-05-18T23:59:59.000Z');
    at('2021-05-18T23:59:59Z');
    assert.equal(statusOf((await tracked(t, DISPENSING, { 'focus:identifier': o.rx }))[0]!), '0001', 'valid through day 28');
    at('2021-05-19T00:00:01Z');
    const rel = await epsPost(t, DISPENSING, 'Task/$release', releaseById(o.rx));
    assert.equal(rel.status, 400, rel.text);
    assert.equal(epsCode(rel.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.equal((rel.body as OperationOutcome).issue[0]!.diagnostics, 'Prescription has expired.');
    assert.equal(cancellationCode((await epsPost(t, PRESCRIBING, '$process-message', cancellation(o))).body as Bundle), 'R-0005');
    assert.equal(statusOf(await storedTask(t, o.rx)), '0004');
  });

  it('Schedules 3 and 4 too; Schedule 5 and a non-controlled drug keep the six months', async () => {
    at('2021-04-20T10:00:00Z');
    const orders = { CD3: acuteOrder(undefined, 'CD3'), CD4: acuteOrder(undefined, 'CD4'), CD5: acuteOrder(undefined, 'CD5'), none: acuteOrder() };
    for (const o of Object.values(orders)) assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-05-19T00:00:01Z');
    for (const [k, o] of Object.entries(orders)) {
      const rel = await epsPost(t, DISPENSING, 'Task/$release', releaseById(o.rx, 'FA565'));
      assert.equal(rel.status, k === 'CD3' || k === 'CD4' ? 400 : 200, `${k}: ${rel.text}`);
    }
    assert.equal(statusOf(await storedTask(t, orders.CD5.rx)), '0002');
    assert.equal(statusOf(await storedTask(t, orders.none.rx)), '0002');
  });
});
