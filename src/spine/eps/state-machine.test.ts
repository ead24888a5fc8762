import { expect } from 'chai';
import { applyEvent, newPrescription, type PrescriptionEvent, type PrescriptionState, type TransitionResult } from './state-machine';

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
    expect(s.status).to.equal('0001');
    expect(s.items).to.deep.equal({ a: '0007', b: '0007' });
    s = ok(applyEvent(s, release));
    expect(s.status).to.equal('0002');
    expect(s.items).to.deep.equal({ a: '0008', b: '0008' });
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }));
    expect(s.status).to.equal('0003');
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    expect(s.status).to.equal('0006');
    s = ok(applyEvent(s, { kind: 'claim', dispenser: 'FA565', at: AT }));
    expect(s.status).to.equal('0008');
    expect(s.history.map((h) => `${h.event}:${h.from}>${h.to}`)).to.deep.equal(['create:0001>0001', 'release:0001>0002', 'dispense:0002>0003', 'dispense:0003>0006', 'claim:0006>0008']);
  });

  it('all items not dispensed makes the prescription Not Dispensed, claimed as No-Claimed', () => {
    let s = ok(applyEvent(fresh(), release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0002', b: '0002' } }));
    expect(s.status).to.equal('0007');
    expect(ok(applyEvent(s, { kind: 'claim', dispenser: 'FA565', at: AT })).status).to.equal('0009');
  });

  it('refuses a second release by another dispenser, naming the holder', () => {
    const s = ok(applyEvent(fresh(), release));
    const r = applyEvent(s, { kind: 'release', dispenser: 'FX111', at: AT });
    expect(r).to.include({ ok: false, code: 'PRESCRIPTION_WITH_ANOTHER_DISPENSER', holder: 'FA565' });
  });

  it('return puts the prescription back to To be Dispensed; withdraw undoes the last dispense', () => {
    let s = ok(applyEvent(fresh(), release));
    s = ok(applyEvent(s, { kind: 'return', dispenser: 'FA565', at: AT }));
    expect(s.status).to.equal('0001');
    expect(s.dispenser).to.equal(undefined);
    s = ok(applyEvent(s, release));
    s = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    s = ok(applyEvent(s, { kind: 'withdraw', dispenser: 'FA565', at: AT }));
    expect(s.status).to.equal('0002');
    expect(s.items).to.deep.equal({ a: '0008', b: '0008' });
  });

  it('refuses invalid transitions with the EPS codes', () => {
    expect(applyEvent(fresh(), { kind: 'claim', dispenser: 'FA565', at: AT })).to.include({ ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    expect(applyEvent(fresh(), { kind: 'return', dispenser: 'FA565', at: AT })).to.include({ ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    const s = ok(applyEvent(fresh(), release));
    expect(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { zz: '0001' } })).to.include({ ok: false, code: 'ITEM_NOT_FOUND' });
    const done = ok(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001' } }));
    expect(applyEvent(done, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } })).to.include({ ok: false, code: 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION' });
    expect(applyEvent(s, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0007' } })).to.include({ ok: false, code: 'PRESCRIPTION_INVALID_LINE_STATE_TRANSITION' });
  });

  it('answers cancellations with R-0001 ... R-0010', () => {
    const c: PrescriptionEvent = { kind: 'cancel', prescriber: 'A83008', at: AT };
    const r1 = applyEvent(fresh(), c);
    expect(r1).to.include({ ok: true, cancellation: 'R-0001' });
    const cancelled = ok(r1);
    expect(cancelled.status).to.equal('0005');
    expect(applyEvent(cancelled, c)).to.include({ ok: false, cancellation: 'R-0006' });
    expect(applyEvent(cancelled, release)).to.include({ ok: false, code: 'PRESCRIPTION_INVALID_STATE_TRANSITION' });
    const withDispenser = ok(applyEvent(fresh(), release));
    expect(applyEvent(withDispenser, c)).to.include({ ok: true, cancellation: 'R-0002' });
    expect(applyEvent(ok(applyEvent(withDispenser, c)), { ...c, prescriber: 'B00000' })).to.include({ ok: false, cancellation: 'R-0007' });
    const active = ok(applyEvent(withDispenser, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0003' } }));
    expect(applyEvent(active, c)).to.include({ ok: true, cancellation: 'R-0003' });
    const dispensed = ok(applyEvent(withDispenser, { kind: 'dispense', dispenser: 'FA565', at: AT, items: { a: '0001', b: '0001' } }));
    expect(applyEvent(dispensed, c)).to.include({ ok: false, cancellation: 'R-0004' });
    const expired = ok(applyEvent(fresh(), { kind: 'expire', at: AT }));
    expect(applyEvent(expired, c)).to.include({ ok: false, cancellation: 'R-0005' });
    const part = ok(applyEvent(fresh(), { ...c, items: ['a'] }));
    expect(part.status).to.equal('0001');
    expect(part.items).to.deep.equal({ a: '0005', b: '0007' });
    expect(applyEvent(fresh(), { ...c, items: ['zz'] })).to.include({ ok: false, code: 'ITEM_NOT_FOUND' });
  });

  it('never mutates the state it is given', () => {
    const s = fresh();
    const copy = JSON.parse(JSON.stringify(s)) as unknown;
    ok(applyEvent(s, release));
    expect(s).to.deep.equal(copy);
  });
});
