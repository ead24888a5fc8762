import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MedicationRequest } from 'fhir/r4';
import { expireIfDue, hasExpired, prescriptionExpiry } from './expiry';
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
    assert.equal(prescriptionExpiry([mr(undefined, '2021-04-20T09:00:00+00:00')]), '2021-10-20T09:00:00.000Z');
    assert.equal(prescriptionExpiry([mr(undefined)]), undefined);
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { end: 'not a date' } })]), undefined);
    assert.equal(prescriptionExpiry([mr({ validityPeriod: { start: '+275760-09-13T00:00:00Z' } })]), undefined, 'beyond the last representable instant');
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
