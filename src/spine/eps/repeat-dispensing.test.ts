import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MedicationRequest } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import { DEFAULT_SUPPLY_DAYS, EARLY_RELEASE_TOLERANCE_DAYS, expectedSupplyDays, nextIssueNotBefore, releasedForIssue, repeatsAllowed, UKCORE_REPEAT_INFORMATION_EXTENSION } from './repeat-dispensing';
import { applyEvent, issueNotBefore, issuesAllowed, newPrescription, type LineItemStatus, type PrescriptionEvent, type PrescriptionState, type TransitionResult } from './state-machine';
import { stateToTask, taskToState } from './task-codec';

const AT = '2026-01-01T00:00:00Z';
const RX = '24F5DA-A83008-7EFE6Z';
function ok(r: TransitionResult): PrescriptionState {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.diagnostics}`);
  return r.state;
}
const release: PrescriptionEvent = { kind: 'release', dispenser: 'FA565', at: AT };
const dispenseAll = (st: LineItemStatus = '0001'): PrescriptionEvent => ({ kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: st, b: st } });
const claim = (extra: { issue?: number; repeatsAllowed?: number } = {}): PrescriptionEvent => ({ kind: 'claim', dispenser: 'FA565', at: AT, ...extra });

/** A repeat-dispensing prescription of weekly issues: with the 7-day tolerance each issue is releasable as soon as the previous one is finished. */
function erd(repeats: number, supplyDays = 7): PrescriptionState {
  return newPrescription(RX, ['a', 'b'], AT, 'A83008', repeats, supplyDays);
}
function mr(extra: Partial<MedicationRequest>): MedicationRequest {
  return { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: {}, courseOfTherapyType: { coding: [{ code: 'continuous-repeat-dispensing' }] }, ...extra };
}

describe('EPS repeat dispensing', () => {
  it('dispenses issue by issue: each finished issue makes the next one To be Dispensed, the last one stays Dispensed', () => {
    let s = erd(2);
    assert.equal(issuesAllowed(s.repeat!), 3);
    for (const issue of [1, 2]) {
      assert.equal(s.repeat!.issue, issue);
      s = ok(applyEvent(s, release));
      s = ok(applyEvent(s, dispenseAll()));
      assert.equal(s.status, '0001', `after issue ${issue}`);
      assert.deepEqual(s.items, { a: '0007', b: '0007' });
      assert.equal(s.dispenser, undefined);
      assert.deepEqual(s.repeat!.past[String(issue)], { status: '0006', dispenser: 'FA565', finished: AT });
    }
    assert.equal(s.repeat!.issue, 3);
    s = ok(applyEvent(s, release));
    s = ok(applyEvent(s, dispenseAll('0002')));
    assert.equal(s.status, '0007');
    assert.equal(s.repeat!.issue, 3);
    assert.deepEqual(
      s.history.map((h) => `${h.event}:${h.from}>${h.to}@${h.issue}`),
      ['create:0001>0001@1', 'release:0001>0002@undefined', 'dispense:0002>0006@1', 'issue:0006>0001@2', 'release:0001>0002@undefined', 'dispense:0002>0006@2', 'issue:0006>0001@3', 'release:0001>0002@undefined', 'dispense:0002>0007@3'],
    );
  });

  it('claims past issues by number (or the latest unclaimed), once, and the current finished one', () => {
    let s = erd(2);
    s = ok(applyEvent(ok(applyEvent(s, release)), dispenseAll()));
    s = ok(applyEvent(ok(applyEvent(s, release)), dispenseAll('0002')));
    assert.equal(s.repeat!.issue, 3);
    const latest = ok(applyEvent(s, claim()));
    assert.equal(latest.repeat!.past['2']!.status, '0009');
    assert.equal(latest.status, '0001');
    s = ok(applyEvent(s, claim({ issue: 1, repeatsAllowed: 2 })));
    assert.equal(s.repeat!.past['1']!.status, '0008');
    assert.equal(s.history.at(-1)!.issue, 1);
    assert.deepEqual([applyEvent(s, claim({ issue: 1 }))].map((r) => !r.ok && r.code), ['PRESCRIPTION_INVALID_STATE_TRANSITION']);
    assert.deepEqual([applyEvent(s, claim({ issue: 3 }))].map((r) => !r.ok && r.code), ['PRESCRIPTION_INVALID_STATE_TRANSITION']);
    assert.deepEqual([applyEvent(s, claim({ issue: 4 }))].map((r) => !r.ok && r.code), ['MISMATCH_AUTHORISED_REPEAT_COUNTS']);
    assert.deepEqual([applyEvent(s, claim({ issue: 2, repeatsAllowed: 5 }))].map((r) => !r.ok && r.code), ['MISMATCH_AUTHORISED_REPEAT_COUNTS']);
    assert.deepEqual([applyEvent(s, { kind: 'claim', dispenser: 'FX999', at: AT, issue: 2 })].map((r) => !r.ok && r.code), ['PRESCRIPTION_WITH_ANOTHER_DISPENSER']);
    s = ok(applyEvent(ok(applyEvent(s, release)), dispenseAll()));
    assert.equal(s.status, '0006');
    assert.equal(ok(applyEvent(s, claim())).status, '0008');
  });

  it('a partly dispensed issue stays active; returns, cancelled items and cancellation of the remaining issues', () => {
    let s = ok(applyEvent(erd(1), release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0004' } }));
    assert.equal(s.status, '0003');
    assert.equal(s.repeat!.issue, 1);
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { b: '0005' } }));
    assert.equal(s.repeat!.issue, 2);
    assert.deepEqual(s.items, { a: '0007', b: '0005' });
    s = ok(applyEvent(ok(applyEvent(s, release)), { kind: 'return', dispenser: 'FA565', at: AT }));
    assert.equal(s.status, '0001');
    const c = applyEvent(s, { kind: 'cancel', prescriber: 'A83008', at: AT });
    assert.ok(c.ok && c.state.status === '0005' && c.cancellation === 'R-0001');
  });

  it('does not release the next issue before the previous dispense date + supply duration − 7 days; records the dates', () => {
    let s = erd(2, 28);
    assert.equal(issueNotBefore(s), undefined, 'issue 1: at once');
    s = ok(applyEvent(s, { ...release, at: '2026-01-01T10:00:00Z' }));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: '2026-01-02T10:00:00Z', items: { a: '0001', b: '0001' } }));
    assert.equal(s.repeat!.issue, 2);
    assert.equal(s.repeat!.past['1']!.finished, '2026-01-02T10:00:00Z');
    assert.equal(issueNotBefore(s), '2026-01-23T10:00:00.000Z', '28 − 7 = 21 days after the dispense');
    assert.equal(s.history.at(-1)!.notBefore, '2026-01-23T10:00:00.000Z');
    const early = applyEvent(s, { ...release, at: '2026-01-23T09:59:59Z' });
    assert.ok(!early.ok && early.code === 'PRESCRIPTION_INVALID_STATE_TRANSITION' && early.notBefore === '2026-01-23T10:00:00.000Z');
    assert.match(!early.ok ? early.diagnostics : '', /Issue 2 .* cannot be released before 2026-01-23T10:00:00.000Z/);
    s = ok(applyEvent(s, { ...release, at: '2026-01-23T10:00:00Z' }));
    assert.equal(s.status, '0002');
    // Returned: still issue 2, still due (the date does not move).
    s = ok(applyEvent(s, { kind: 'return', dispenser: 'FA565', at: '2026-01-24T10:00:00Z' }));
    assert.equal(issueNotBefore(s), '2026-01-23T10:00:00.000Z');
    assert.deepEqual(taskToState(stateToTask(s, '9449304130', AT, 'x')), s, 'the dates round-trip through the tracker Task');
  });

  it('reads the issue length from expectedSupplyDuration (the shortest; weeks allowed), defaulting to 28 days', () => {
    const d = (value: number, code = 'd'): MedicationRequest => mr({ dispenseRequest: { expectedSupplyDuration: { value, unit: code === 'd' ? 'day' : 'week', system: 'http://unitsofmeasure.org', code } } });
    assert.equal(expectedSupplyDays([d(10)]), 10);
    assert.equal(expectedSupplyDays([d(30), d(14)]), 14);
    assert.equal(expectedSupplyDays([d(4, 'wk')]), 28);
    assert.equal(expectedSupplyDays([mr({})]), DEFAULT_SUPPLY_DAYS);
    assert.equal(expectedSupplyDays([d(-3), d(Number.NaN)]), DEFAULT_SUPPLY_DAYS);
    assert.equal(expectedSupplyDays([{ ...d(10), courseOfTherapyType: { coding: [{ code: 'acute' }] } }]), undefined);
    assert.equal(nextIssueNotBefore('2026-01-01T00:00:00Z', 10), '2026-01-04T00:00:00.000Z');
    assert.equal(nextIssueNotBefore('2026-01-01T00:00:00Z', 3), '2026-01-01T00:00:00.000Z', 'never before the dispense itself');
    assert.equal(nextIssueNotBefore('not a date'), undefined);
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2090-01-01'), noInvalidDate: true }), fc.integer({ min: 1, max: 400 }), (at, days) => {
        const nb = nextIssueNotBefore(at.toISOString(), days)!;
        assert.equal(Date.parse(nb) - at.getTime(), Math.max(0, days - EARLY_RELEASE_TOLERANCE_DAYS) * 86_400_000);
      }),
    );
  });

  it('an acute prescription has no issues; its claim ignores repeat information', () => {
    const s = newPrescription(RX, ['a'], AT);
    assert.equal(s.repeat, undefined);
    const done = ok(applyEvent(ok(applyEvent(s, release)), { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001' } }));
    assert.equal(done.status, '0006');
    assert.equal(ok(applyEvent(done, claim({ issue: 7, repeatsAllowed: 3 }))).status, '0008');
  });

  it('keeps its invariants and round-trips through the tracker Task over any sequence of events', () => {
    const items = fc.constantFrom<LineItemStatus>('0001', '0002', '0003', '0004', '0005', '0007');
    const event: fc.Arbitrary<PrescriptionEvent> = fc.oneof(
      fc.constantFrom('FA565', 'FX999').map((d): PrescriptionEvent => ({ kind: 'release', dispenser: d, at: AT })),
      fc.constant<PrescriptionEvent>({ kind: 'return', dispenser: 'FA565', at: AT }),
      fc.constant<PrescriptionEvent>({ kind: 'withdraw', dispenser: 'FA565', at: AT }),
      fc.record({ a: items, b: items }, { requiredKeys: [] }).map((i): PrescriptionEvent => ({ kind: 'dispense', dispenser: 'FA565', at: AT, items: i })),
      fc.option(fc.integer({ min: -2, max: 8 }), { nil: undefined }).map((issue): PrescriptionEvent => ({ kind: 'claim', dispenser: 'FA565', at: AT, ...(issue === undefined ? {} : { issue }) })),
      fc.constant<PrescriptionEvent>({ kind: 'cancel', prescriber: 'A83008', at: AT }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.array(event, { maxLength: 40 }), (repeats, events) => {
        let s = erd(repeats);
        for (const e of events) {
          const r = applyEvent(s, e);
          if (!r.ok) continue;
          const before = s.repeat!;
          s = r.state;
          const after = s.repeat!;
          assert.ok(after.issue >= before.issue && after.issue <= before.issue + 1);
          assert.ok(after.issue >= 1 && after.issue <= issuesAllowed(after));
          assert.equal(Object.keys(after.past).length, after.issue - 1);
          for (const p of Object.values(after.past)) assert.ok(['0006', '0007', '0008', '0009'].includes(p.status));
          assert.equal(s.history.filter((h) => h.event === 'issue').length, after.issue - 1);
          if (after.issue < issuesAllowed(after)) assert.ok(s.status !== '0006' && s.status !== '0007' && s.status !== '0008' && s.status !== '0009');
        }
        assert.deepEqual(taskToState(stateToTask(s, '9449304130', AT, 'x')), s);
      }),
    );
  });
});

describe('EPS repeat dispensing: the order', () => {
  it('reads numberOfRepeatsAllowed from dispenseRequest, else from basedOn Extension-EPS-RepeatInformation', () => {
    assert.equal(repeatsAllowed([mr({ dispenseRequest: { numberOfRepeatsAllowed: 6 } }), mr({ dispenseRequest: { numberOfRepeatsAllowed: 6 } })]), 6);
    const based = mr({ basedOn: [{ reference: 'urn:uuid:x', extension: [{ url: 'https://fhir.nhs.uk/StructureDefinition/Extension-EPS-RepeatInformation', extension: [{ url: 'numberOfRepeatsAllowed', valueInteger: 5 }] }] }] });
    assert.equal(repeatsAllowed([based]), 5);
    assert.equal(repeatsAllowed([{ ...mr({}), courseOfTherapyType: { coding: [{ code: 'acute' }] } }]), undefined);
  });

  it('refuses a missing, differing or out-of-range count with a 400 naming the field', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.oneof(fc.integer({ min: -5, max: 150 }), fc.double({ noNaN: true })), { nil: undefined }), { minLength: 1, maxLength: 4 }), (counts) => {
        const mrs = counts.map((n) => mr(n === undefined ? {} : { dispenseRequest: { numberOfRepeatsAllowed: n } }));
        const valid = counts.every((n) => n === counts[0]) && Number.isInteger(counts[0]) && counts[0]! >= 0 && counts[0]! <= 99;
        try {
          // === (not assert.equal's Object.is): a -0 count is the count 0, as JSON writes it.
          const got = repeatsAllowed(mrs);
          assert.ok(got === counts[0], `repeatsAllowed ${String(got)} for ${String(counts[0])}`);
          assert.ok(valid);
        } catch (e) {
          if (!(e instanceof FhirError)) throw e;
          assert.ok(!valid);
          assert.equal(e.status, 400);
          assert.equal(e.issues[0]?.expression?.[0], 'Bundle.entry.resource.ofType(MedicationRequest).dispenseRequest.numberOfRepeatsAllowed');
        }
      }),
    );
  });

  it('marks a released MedicationRequest with its issue number, keeping the other repeat information', () => {
    const m = mr({ extension: [{ url: UKCORE_REPEAT_INFORMATION_EXTENSION, extension: [{ url: 'authorisationExpiryDate', valueDateTime: '2023-04-07' }, { url: 'numberOfPrescriptionsIssued', valueUnsignedInt: 1 }] }] });
    const r = releasedForIssue(m, 3);
    assert.deepEqual(r.extension, [{ url: UKCORE_REPEAT_INFORMATION_EXTENSION, extension: [{ url: 'authorisationExpiryDate', valueDateTime: '2023-04-07' }, { url: 'numberOfPrescriptionsIssued', valueUnsignedInt: 3 }] }]);
    assert.equal(m.extension![0]!.extension!.length, 2);
  });
});
