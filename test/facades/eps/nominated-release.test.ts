/**
 * Nominated release (`Task/$release` without `group-identifier`, electronic-prescription-service-api.yaml
 * "download up to 25 prescriptions (per request) nominated to a dispenser using the dispenser's ODS
 * code"; the request is spec/dispense/Nominated-Pharmacy-Request-Release-200_OK.json) and expiry by
 * validity period (0004 Expired: release refused, cancellation R-0005, tracker shows it), over
 * supertest with the prescription clock set by the test.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Bundle, MedicationRequest, OperationOutcome, Parameters, Task } from 'fhir/r4';
import type { TestApp } from '../../helpers/test-app';
import { setPrescriptionClock } from '../../../src/facades/eps/clock';
import { newPrescriptionId } from '../../../src/spine/eps/prescription-id';
import { DISPENSING, epsCode, epsExample, epsPost, PRESCRIBING, useEpsApp } from './helpers';

const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

function mrsOf(b: Bundle): MedicationRequest[] {
  return (b.entry ?? []).map((e) => e.resource).filter((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest');
}

/** The staged acute order as a new prescription (fresh ID) nominated to `pharmacy`, valid until `end`. */
function order(pharmacy: string, end = '2021-05-18T23:59:59Z'): { body: Bundle; rx: string } {
  const body = epsExample<Bundle>(...ACUTE, '1-Process-Request-Send-200_OK.json');
  const rx = newPrescriptionId('A83008', randomBytes(6).toString('hex').slice(0, 11));
  body.identifier = { system: 'https://tools.ietf.org/html/rfc4122', value: randomUUID() };
  for (const mr of mrsOf(body)) {
    mr.groupIdentifier!.value = rx;
    mr.dispenseRequest!.performer = { identifier: { system: ODS, value: pharmacy } };
    mr.authoredOn = '2021-04-20T09:00:00+00:00';
    mr.dispenseRequest!.validityPeriod = { start: '2021-04-20', end };
  }
  return { body, rx };
}

function nominatedRelease(pharmacy: string): Parameters {
  const p = epsExample<Parameters>('spec', 'dispense', 'Nominated-Pharmacy-Request-Release-200_OK.json');
  const owner = p.parameter!.find((x) => x.name === 'owner')!.resource as { identifier: Array<{ value: string }> };
  owner.identifier[0]!.value = pharmacy;
  return p;
}

function bundleOf(p: Parameters, name: string): Bundle {
  return p.parameter!.find((x) => x.name === name)!.resource as Bundle;
}

/** The prescription IDs of a release answer's passed (or failed) messages. */
function released(p: Parameters, name = 'passedPrescriptions'): string[] {
  return (bundleOf(p, name).entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is Bundle => r?.resourceType === 'Bundle')
    .map((m) => mrsOf(m)[0]!.groupIdentifier!.value!)
    .sort();
}

describe('EPS nominated release (no group-identifier)', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));
  const at = (iso: string): void => setPrescriptionClock(t.services, () => new Date(iso));

  it("releases exactly the pharmacy's nominated prescriptions To be Dispensed, once", async () => {
    at('2021-04-25T10:00:00Z');
    const a1 = order('FA565');
    const a2 = order('FA565');
    const b1 = order('FCG71');
    for (const o of [a1, a2, b1]) { const r = await epsPost(t, PRESCRIBING, '$process-message', o.body); assert.equal(r.status, 200, r.text); }
    at('2021-04-25T10:00:00Z');

    const first = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'));
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(released(first.body as Parameters), [a1.rx, a2.rx].sort());
    assert.equal(bundleOf(first.body as Parameters, 'passedPrescriptions').total, 2);
    assert.equal(bundleOf(first.body as Parameters, 'failedPrescriptions').total, 0);

    const second = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'));
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(released(second.body as Parameters), []);
    assert.equal(bundleOf(second.body as Parameters, 'passedPrescriptions').total, 0);

    const other = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FCG71'));
    assert.deepEqual(released(other.body as Parameters), [b1.rx]);

    // A's prescriptions are now With Dispenser FA565; B cannot take one by ID.
    const tracked = await request(t.app).get(`${DISPENSING}/Task`).query({ 'focus:identifier': a1.rx }).set('X-Request-ID', randomUUID());
    const task = (tracked.body as Bundle).entry![0]!.resource as Task;
    assert.equal(task.businessStatus?.coding?.[0]?.code, '0002');
    assert.equal(task.owner?.identifier?.value, 'FA565');
  });

  it('answers a retried nominated release (same X-Request-ID) with the prescriptions it released', async () => {
    at('2021-04-25T10:00:00Z');
    const a1 = order('FA565');
    const a2 = order('FA565');
    for (const o of [a1, a2]) assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    const requestId = randomUUID();
    const first = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'), { requestId });
    assert.deepEqual(released(first.body as Parameters), [a1.rx, a2.rx].sort());
    const retry = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'), { requestId });
    assert.equal(retry.status, 200, retry.text);
    assert.deepEqual(released(retry.body as Parameters), [a1.rx, a2.rx].sort());
    assert.deepEqual(released((await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'))).body as Parameters), [], 'a new request gets none');
  });

  it('does not release a prescription to a pharmacy it is not nominated to; releases it to its own', async () => {
    at('2021-04-25T10:00:00Z');
    const a = order('FA565');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', a.body)).status, 200);
    assert.deepEqual(released((await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FCG71'))).body as Parameters), []);
    assert.deepEqual(released((await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'))).body as Parameters), [a.rx]);
  });

  it('releases at most 25 per request (the specification\'s limit), the oldest first; the next request gets the rest', async function () {
    this.timeout(120000);
    at('2021-04-25T10:00:00Z');
    const rxs: string[] = [];
    for (let i = 0; i < 26; i++) {
      const o = order('FA565');
      for (const m of mrsOf(o.body)) m.authoredOn = new Date(Date.UTC(2021, 3, 20, 9, i)).toISOString();
      const r = await epsPost(t, PRESCRIBING, '$process-message', o.body);
      assert.equal(r.status, 200, r.text);
      rxs.push(o.rx);
    }
    const first = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'));
    assert.deepEqual(released(first.body as Parameters), rxs.slice(0, 25).sort());
    assert.equal(bundleOf(first.body as Parameters, 'passedPrescriptions').total, 25);
    assert.deepEqual(released((await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'))).body as Parameters), [rxs[25]!]);
  });

  it('answers an expired nominated prescription in failedPrescriptions (OperationOutcome and message) and stores it Expired', async () => {
    at('2021-04-25T10:00:00Z');
    const live = order('FA565', '2021-06-30T23:59:59Z');
    const old = order('FA565', '2021-05-18T23:59:59Z');
    for (const o of [live, old]) assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-06-01T09:00:00Z');
    const res = await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(released(res.body as Parameters), [live.rx]);
    const failed = bundleOf(res.body as Parameters, 'failedPrescriptions');
    assert.equal(failed.total, 2);
    assert.equal((failed.entry![0]!.resource as OperationOutcome).issue[0]!.details?.coding?.[0]?.code, 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.deepEqual(released(res.body as Parameters, 'failedPrescriptions'), [old.rx]);
    // Stored Expired: the next nominated release finds nothing.
    assert.deepEqual(released((await epsPost(t, DISPENSING, 'Task/$release', nominatedRelease('FA565'))).body as Parameters), []);
  });
});

describe('EPS prescription expiry (validityPeriod.end)', function () {
  let t: TestApp;
  useEpsApp((x) => (t = x));
  const at = (iso: string): void => setPrescriptionClock(t.services, () => new Date(iso));
  const track = async (rx: string): Promise<Task> =>
    (await request(t.app).get(`${DISPENSING}/Task`).query({ 'focus:identifier': rx }).set('X-Request-ID', randomUUID())).body.entry[0].resource as Task;
  const releaseById = (rx: string): Parameters => {
    const p = epsExample<Parameters>(...ACUTE, '1-Task-Request-Release-200_OK.json');
    p.parameter!.find((x) => x.name === 'group-identifier')!.valueIdentifier!.value = rx;
    return p;
  };

  it('refuses to release an expired prescription, shows it Expired (0004), and answers its cancellation R-0005', async () => {
    at('2021-04-25T10:00:00Z');
    const o = order('FA565', '2021-05-18T23:59:59Z');
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-05-18T23:59:59Z');
    assert.equal((await track(o.rx)).businessStatus?.coding?.[0]?.code, '0001', 'valid through its last second');
    at('2021-05-19T00:00:01Z');
    const tracked = await track(o.rx);
    assert.equal(tracked.businessStatus?.coding?.[0]?.code, '0004');
    assert.equal(tracked.status, 'failed');

    const rel = await epsPost(t, DISPENSING, 'Task/$release', releaseById(o.rx));
    assert.equal(rel.status, 400, rel.text);
    assert.equal(epsCode(rel.body as OperationOutcome), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    assert.equal((rel.body as OperationOutcome).issue[0]!.diagnostics, 'Prescription has expired.');

    const cancelMsg = epsExample<Bundle>(...ACUTE, 'cancellations', '1-Process-Request-Cancel-200_OK.json');
    for (const mr of mrsOf(cancelMsg)) mr.groupIdentifier!.value = o.rx;
    mrsOf(cancelMsg)[0]!.identifier = mrsOf(o.body)[0]!.identifier;
    const cancel = await epsPost(t, PRESCRIBING, '$process-message', cancelMsg);
    const mr = mrsOf(cancel.body as Bundle)[0]!;
    const code = mr.extension?.find((e) => e.url === 'https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionStatusHistory')?.extension?.[0]?.valueCoding?.code;
    assert.equal(code, 'R-0005', cancel.text);
    // The expiry was stored (the /fhir Task), with its history entry.
    const stored = (await request(t.app).get('/fhir/Task').query({ identifier: `https://fhir.nhs.uk/Id/prescription-order-number|${o.rx}` })).body.entry[0].resource as Task;
    assert.equal(stored.businessStatus?.coding?.[0]?.code, '0004');
  });

  it('expires a prescription without validityPeriod.end six months after its validity start', async () => {
    at('2021-04-25T10:00:00Z');
    const o = order('FA565');
    for (const m of mrsOf(o.body)) delete m.dispenseRequest!.validityPeriod!.end;
    assert.equal((await epsPost(t, PRESCRIBING, '$process-message', o.body)).status, 200);
    at('2021-10-20T12:00:00Z');
    assert.equal((await track(o.rx)).businessStatus?.coding?.[0]?.code, '0001');
    at('2021-10-21T00:00:01Z');
    assert.equal((await track(o.rx)).businessStatus?.coding?.[0]?.code, '0004');
  });
});
