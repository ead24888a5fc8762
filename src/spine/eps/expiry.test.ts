import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MedicationRequest } from 'fhir/r4';
import { controlledDrugSchedule, CONTROLLED_DRUG_EXTENSION, CONTROLLED_DRUG_SYSTEM, expireIfDue, hasExpired, isTwentyEightDayControlledDrug, prescriptionExpiry } from './expiry';
import { applyEvent, newPrescription } from './state-machine';

const mr = (dispenseRequest: MedicationRequest['dispenseRequest'], authoredOn?: string): MedicationRequest => ({
  resourceType: 'MedicationRequest',
  status: 'active',
  intent: 'order',
  subject: {},
  ...(authoredOn ? { authoredOn } : {}),
  ...(dispenseRequest ? { dispenseRequest } : {}),
});

describe('EPS prescription expiry', () => {
  it('is the earliest validityPeriod.end; a date means the end of that day', () => {
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { end: '2021-06-04T23:59:59Z' } }), mr({ validityPeriod: { end: '2021-05-18T23:59:59Z' } })]), '2021-05-18T23:59:59.000Z');
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { end: '2021-05-18' } })]), '2021-05-18T23:59:59.000Z');
  });

  it('defaults to six months after the validity start, else authoredOn; undefined without dates', () => {
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { start: '2022-10-21' } })]), '2023-04-21T23:59:59.000Z');
    assert.equal(prescriptionExpiry([mr(undefined, '2021-04-20T09:00:00+00:00')]), '2021-10-20T23:59:59.000Z', 'the end of that day');
    assert.equal(prescriptionExpiry([mr(undefined)]), undefined);
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { end: 'not a date' } })]), undefined);
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { start: '+275760-09-13T00:00:00Z' } })]), undefined, 'beyond the last representable instant');
  });

  const erd = (dispenseRequest: MedicationRequest['dispenseRequest']): MedicationRequest => ({
    ...mr(dispenseRequest),
    courseOfTherapyType: { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/medicationrequest-course-of-therapy', code: 'continuous-repeat-dispensing' }] },
  });
  const cd = (schedule: string, dispenseRequest: MedicationRequest['dispenseRequest'], authoredOn?: string): MedicationRequest => ({
    ...mr(dispenseRequest, authoredOn),
    extension: [{ url: CONTROLLED_DRUG_EXTENSION, extension: [{ url: 'quantityWords', valueString: 'twenty eight' }, { url: 'schedule', valueCoding: { system: CONTROLLED_DRUG_SYSTEM, code: schedule, display: `Schedule ${schedule.slice(2)}` } }] }],
  });

  it('caps a repeat-dispensing prescription at 12 months after its start; its default without an end is 12 months', () => {
    assert.equal(prescriptionExpiry([erd({ validityPeriod: { start: '2022-10-21', end: '2024-10-21T23:59:59Z' } })]), '2023-10-21T23:59:59.000Z');
    assert.equal(prescriptionExpiry([erd({ validityPeriod: { start: '2022-10-21', end: '2022-11-21T23:59:59Z' } })]), '2022-11-21T23:59:59.000Z', 'an earlier end stands');
    assert.equal(prescriptionExpiry([erd({ validityPeriod: { start: '2022-10-21' } })]), '2023-10-21T23:59:59.000Z');
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { start: '2022-10-21', end: '2024-10-21T23:59:59Z' } })]), '2024-10-21T23:59:59.000Z', 'acute: not capped here');
  });

  it('gives Schedule 2, 3 and 4 controlled drugs 28 days from the later of signing and start; not Schedule 5', () => {
    for (const s of ['CD2', 'CD3', 'CD4']) {
      assert.ok(isTwentyEightDayControlledDrug([cd(s, undefined)]));
      assert.equal(prescriptionExpiry([cd(s, { validityPeriod: { start: '2021-04-20' } }, '2021-04-20T09:00:00Z')]), '2021-05-18T23:59:59.000Z', s);
    }
    assert.equal(controlledDrugSchedule(cd('CD5', undefined)), 'CD5');
    assert.equal(isTwentyEightDayControlledDrug([cd('CD5', undefined)]), false);
    assert.equal(prescriptionExpiry([cd('CD5', { validityPeriod: { start: '2021-04-20' } })]), '2021-10-20T23:59:59.000Z');
    // Signed before a later start date: 28 days from the start; signed after it: from the signing date.
    assert.equal(prescriptionExpiry([cd('CD2', { validityPeriod: { start: '2021-05-01' } }, '2021-04-20T09:00:00Z')]), '2021-05-29T23:59:59.000Z');
    assert.equal(prescriptionExpiry([cd('CD3', { validityPeriod: { start: '2021-04-01' } }, '2021-04-20T09:00:00Z')]), '2021-05-18T23:59:59.000Z');
    // An earlier validityPeriod.end stands; a later one is cut to 28 days; one CD item governs the prescription.
    assert.equal(prescriptionExpiry([cd('CD2', { validityPeriod: { start: '2021-04-20', end: '2021-05-01T23:59:59Z' } })]), '2021-05-01T23:59:59.000Z');
    assert.equal(prescriptionExpiry([cd('CD2', { validityPeriod: { start: '2021-04-20', end: '2021-10-01T23:59:59Z' } }), mr({ validityPeriod: { start: '2021-04-20' } })]), '2021-05-18T23:59:59.000Z');
    // A schedule of another code system is not a controlled-drug schedule.
    const other = cd('CD2', undefined);
    other.extension![0]!.extension![1]!.valueCoding!.system = 'http://example.org';
    assert.equal(controlledDrugSchedule(other), undefined);
  });

  it('expires 0001-0003 once the expiry has passed, never at the expiry itself, never a finished prescription', () => {
    const s = newPrescription('24F5DA-A83008-7EFE6Z', ['a', 'b'], '2021-04-20T09:00:00Z');
    const end = '2021-05-18T23:59:59.000Z';
    assert.equal(expireIfDue(s, end, new Date(end)), s);
    const expired = expireIfDue(s, end, new Date('2021-05-19T00:00:00Z'));
    assert.equal(expired.status, '0004');
    assert.deepEqual(Object.values(expired.items), ['0006', '0006']);
    assert.equal(expired.history.at(-1)?.event, 'expire');
    const released = applyEvent(s, { kind: 'release', dispenser: 'FA565', at: '2021-04-21T09:00:00Z' });
    assert.ok(released.ok);
    assert.equal(expireIfDue(released.state, end, new Date('2021-06-01T00:00:00Z')).status, '0004');
    const cancelled = applyEvent(s, { kind: 'cancel', prescriber: 'X', at: '2021-04-21T09:00:00Z' });
    assert.ok(cancelled.ok);
    assert.equal(expireIfDue(cancelled.state, end, new Date('2021-06-01T00:00:00Z')), cancelled.state);
    assert.equal(expireIfDue(s, undefined, new Date('2099-01-01T00:00:00Z')), s);
  });

  it('never throws on arbitrary dates, and an expiry it gives is a date no earlier than every start', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ start: fc.option(fc.string()), end: fc.option(fc.string()), authoredOn: fc.option(fc.string()) }), { maxLength: 4 }), fc.date({ noInvalidDate: true }), (rows, now) => {
        const mrs = rows.map((r) => mr({ validityPeriod: { ...(r.start !== null ? { start: r.start } : {}), ...(r.end !== null ? { end: r.end } : {}) } }, r.authoredOn ?? undefined));
        const e = prescriptionExpiry(mrs);
        if (e !== undefined) assert.ok(!Number.isNaN(Date.parse(e)));
        assert.equal(typeof hasExpired(e, now), 'boolean');
      }),
    );
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }), (start) => {
        const iso = start.toISOString();
        const e = prescriptionExpiry([mr({ validityPeriod: { start: iso } })]);
        assert.ok(e !== undefined && Date.parse(e) > start.getTime());
      }),
    );
  });
});
