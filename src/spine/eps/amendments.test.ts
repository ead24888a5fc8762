import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEvent, newPrescription, type LineItemStatus, type PrescriptionEvent, type PrescriptionState, type TransitionResult } from './state-machine';
import { stateToTask, taskToState } from './task-codec';

const AT = '2026-01-01T00:00:00Z';
function ok(r: TransitionResult): PrescriptionState {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.diagnostics}`);
  return r.state;
}
function code(r: TransitionResult): string | undefined {
  return r.ok ? undefined : r.code;
}
const D = 'FA565';
function dispensed(items: Record<string, LineItemStatus>, message = 'dn-1'): PrescriptionState {
  const s = ok(applyEvent(newPrescription('24F5DA-A83008-7EFE6Z', ['a', 'b'], AT), { kind: 'release', dispenser: D, at: AT }));
  return ok(applyEvent(s, { kind: 'dispense', dispenser: D, at: AT, items, message }));
}
const amend = (items: Record<string, LineItemStatus>, replaces: string, message?: string): PrescriptionEvent => ({ kind: 'amend', dispenser: D, at: AT, items, replaces, ...(message ? { message } : {}) });

describe('EPS dispense notification and claim amendments', () => {
  it('an amendment replaces the latest notification: its statuses take the place of the replaced ones', () => {
    const s = dispensed({ a: '0001', b: '0001' });
    assert.equal(s.status, '0006');
    const a = ok(applyEvent(s, amend({ a: '0001', b: '0004' }, 'dn-1', 'dn-2')));
    assert.equal(a.status, '0003');
    assert.deepEqual(a.items, { a: '0001', b: '0004' });
    const last = a.history.at(-1)!;
    assert.deepEqual([last.event, last.from, last.to, last.message, last.items], ['amend', '0002', '0003', 'dn-2', { a: ['0008', '0001'], b: ['0008', '0004'] }]);
    // The replaced notification cannot be amended again; the amendment can; a withdrawal undoes it all.
    assert.equal(code(applyEvent(a, amend({ a: '0001' }, 'dn-1'))), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    // An amendment replaces the whole notification: items it does not name go back to before the replaced one.
    assert.equal(ok(applyEvent(a, amend({ b: '0001' }, 'dn-2', 'dn-3'))).status, '0003');
    assert.equal(ok(applyEvent(a, amend({ a: '0001', b: '0001' }, 'dn-2', 'dn-3'))).status, '0006');
    const w = ok(applyEvent(a, { kind: 'withdraw', dispenser: D, at: AT }));
    assert.equal(w.status, '0002');
    assert.deepEqual(w.items, { a: '0008', b: '0008' });
    assert.equal(code(applyEvent(w, amend({ a: '0001' }, 'dn-2'))), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
    const again = ok(applyEvent(w, { kind: 'dispense', dispenser: D, at: AT, items: { a: '0003' }, message: 'dn-4' }));
    assert.equal(code(applyEvent(again, amend({ a: '0001' }, 'dn-2'))), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    assert.equal(ok(applyEvent(again, amend({ a: '0001' }, 'dn-4'))).items.a, '0001');
  });

  it('refuses an amendment by another dispenser, before any notification, or of items not on the prescription', () => {
    const s = dispensed({ a: '0003' });
    assert.equal(code(applyEvent(s, { ...amend({ a: '0001' }, 'dn-1'), dispenser: 'FX999' } as PrescriptionEvent)), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');
    assert.equal(code(applyEvent(s, amend({ zz: '0001' }, 'dn-1'))), 'ITEM_NOT_FOUND');
    const released = ok(applyEvent(newPrescription('24F5DA-A83008-7EFE6Z', ['a'], AT), { kind: 'release', dispenser: D, at: AT }));
    assert.equal(code(applyEvent(released, amend({ a: '0001' }, 'dn-1'))), 'PRESCRIPTION_INVALID_STATE_TRANSITION');
  });

  it('a claim amendment names the latest claim on record', () => {
    let s = ok(applyEvent(dispensed({ a: '0001', b: '0001' }), { kind: 'claim', dispenser: D, at: AT, message: 'claim-1' }));
    assert.equal(code(applyEvent(s, { kind: 'claim-amend', dispenser: D, at: AT, replaces: 'claim-0' })), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    assert.equal(code(applyEvent(s, { kind: 'claim-amend', dispenser: 'FX999', at: AT, replaces: 'claim-1' })), 'PRESCRIPTION_WITH_ANOTHER_DISPENSER');
    s = ok(applyEvent(s, { kind: 'claim-amend', dispenser: D, at: AT, replaces: 'claim-1', message: 'claim-2' }));
    assert.equal(s.status, '0008');
    assert.deepEqual([s.history.at(-1)!.event, s.history.at(-1)!.message], ['claim-amend', 'claim-2']);
    assert.equal(code(applyEvent(s, { kind: 'claim-amend', dispenser: D, at: AT, replaces: 'claim-1' })), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
    assert.deepEqual(taskToState(stateToTask(s, '9449304130', AT, 'x')), s);
  });

  it('refuses every identifier but the latest notification, leaving the state as it was', () => {
    const s = dispensed({ a: '0001', b: '0003' });
    const snapshot = JSON.stringify(s);
    fc.assert(
      fc.property(fc.string().filter((x) => x !== 'dn-1'), fc.boolean(), (replaces, claim) => {
        const r = claim ? applyEvent(s, { kind: 'claim-amend', dispenser: D, at: AT, replaces }) : applyEvent(s, amend({ b: '0001' }, replaces));
        assert.equal(code(r), 'DISPENSE_AMEND_IDENTIFIER_MISMATCH');
        assert.equal(JSON.stringify(s), snapshot);
      }),
    );
  });
});
