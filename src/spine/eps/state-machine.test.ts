import assert from 'node:assert/strict';
import { applyEvent, newPrescription, type PrescriptionEvent, type PrescriptionState, type TransitionResult } from './state-machine';

function assertIncludes(actual: unknown, expected: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(expected)) assert.deepEqual((actual as Record<string, unknown>)[k], v, `${k} of ${JSON.stringify(actual)}`);
}

const AT = '2026-01-01T00:00:00Z';
function ok(r: TransitionResult): PrescriptionState {
  if (!r.ok) throw new Error(`refused: ${r.code} ${r.diagnostics}`);
  return r.state;
}
function fresh(): PrescriptionState {
  return newPrescription('24F5DA-A83008-7EFE6Z', ['a', 'b'], AT, 'A83008');
}
const release: PrescriptionEvent = { kind: 'release', dispenser: 'FA565', at: AT };

describe('EPS prescription state machine', () => {
  it('runs order → release → dispense → claim with every transition in the history', () => {
    let s = fresh();
    assert.equal(s.status, '0001');
    assert.deepEqual(s.items, { a: '0007', b: '0007' });
    s = ok(applyEvent(s, release));
    assert.equal(s.status, '0002');
    assert.deepEqual(s.items, { a: '0008', b: '0008' });
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }));
    assert.equal(s.status, '0003');
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    assert.equal(s.status, '0006');
    s = ok(applyEvent(s, { kind: 'claim', dispenser: 'FA565', at: AT }));
    assert.equal(s.status, '0008');
    assert.deepEqual(s.history.map((h) => `${h.event}:${h.from}>${h.to}`), ['create:0001>0001', 'release:0001>0002', 'dispense:0002>0003', 'dispense:0003>0006', 'claim:0006>0008']);
  });

  it('all items not dispensed makes the prescription Not Dispensed, claimed as No-Claimed', () => {
    let s = ok(applyEvent(fresh(), release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0002', b: '0002' } }));
    assert.equal(s.status, '0007');
    assert.equal(ok(applyEvent(s, { kind: 'claim', dispenser: 'FA565', at: AT })).status, '0009');
  });

  it('refuses a second release by another dispenser, naming the holder', () => {
    const s = ok(applyEvent(fresh(), release));
    const r = applyEvent(s, { kind: 'release', dispenser: 'FX111', at: AT });
    assertIncludes(r, { ok: false, code: 'PRESCRIPTION_WITH_ANOTHER_DISPENSER', holder: 'FA565' });
  });

  it('return puts the prescription back to To be Dispensed; withdraw undoes the last dispense', () => {
    let s = ok(applyEvent(fresh(), release));
    s = ok(applyEvent(s, { kind: 'return', dispenser: 'FA565', at: AT }));
    assert.equal(s.status, '0001');
    assert.equal(s.dispenser, undefined);
    s = ok(applyEvent(s, release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    s = ok(applyEvent(s, { kind: 'withdraw', dispenser: 'FA565', at: AT }));
    assert.equal(s.status, '0002');
    assert.deepEqual(s.items, { a: '0008', b: '0008' });
  });

  it('refuses invalid transitions with the EPS codes', () => {
    assertIncludes(applyEvent(fresh(), { kind: 'claim', dispenser: 'FA565', at: AT }), { ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    assertIncludes(applyEvent(fresh(), { kind: 'return', dispenser: 'FA565', at: AT }), { ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    const s = ok(applyEvent(fresh(), release));
    assertIncludes(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { zz: '0001' } }), { ok: false, code: 'ITEM_NOT_FOUND' });
    const done = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001' } }));
    assertIncludes(applyEvent(done, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }), { ok: false, code: 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION' });
    assertIncludes(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0007' } }), { ok: false, code: 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION' });
  });

  it('answers cancellations with R-0001 ... R-0010', () => {
    const c: PrescriptionEvent = { kind: 'cancel', prescriber: 'A83008', at: AT };
    const r1 = applyEvent(fresh(), c);
    assertIncludes(r1, { ok: true, cancellation: 'R-0001' });
    const cancelled = ok(r1);
    assert.equal(cancelled.status, '0005');
    assertIncludes(applyEvent(cancelled, c), { ok: false, cancellation: 'R-0006' });
    assertIncludes(applyEvent(cancelled, release), { ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    const withDispenser = ok(applyEvent(fresh(), release));
    assertIncludes(applyEvent(withDispenser, c), { ok: true, cancellation: 'R-0002' });
    assertIncludes(applyEvent(ok(applyEvent(withDispenser, c)), { ...c, prescriber: 'B00000' }), { ok: false, cancellation: 'R-0007' });
    const active = ok(applyEvent(withDispenser, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }));
    assertIncludes(applyEvent(active, c), { ok: true, cancellation: 'R-0003' });
    const dispensed = ok(applyEvent(withDispenser, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    assertIncludes(applyEvent(dispensed, c), { ok: false, cancellation: 'R-0004' });
    const expired = ok(applyEvent(fresh(), { kind: 'expire', at: AT }));
    assertIncludes(applyEvent(expired, c), { ok: false, cancellation: 'R-0005' });
    const part = ok(applyEvent(fresh(), { ...c, items: ['a'] }));
    assert.equal(part.status, '0001');
    assert.deepEqual(part.items, { a: '0005', b: '0007' });
    assertIncludes(applyEvent(fresh(), { ...c, items: ['zz'] }), { ok: false, code: 'ITEM_NOT_FOUND' });
  });

  it('never mutates the state it is given', () => {
    const s = fresh();
    const copy = JSON.parse(JSON.stringify(s)) as unknown;
    ok(applyEvent(s, release));
    assert.deepEqual(s, copy);
  });
});

describe('EPS tracker Task codec', () => {
  it('round-trips a prescription state through its Task', async () => {
    const { stateToTask, taskToState } = await import('./task-codec');
    let s = ok(applyEvent(fresh(), release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }));
    s = ok(applyEvent(s, { kind: 'cancel', prescriber: 'A83008', at: AT }));
    const t = stateToTask(s, '9449304130', AT);
    assert.equal(t.businessStatus?.coding?.[0]?.code, '0003');
    assert.equal(t.for?.identifier?.value, '9449304130');
    assert.deepEqual(taskToState(t), s);
  });
});
