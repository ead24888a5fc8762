/**
 * Fixtures of the audit trail tests (src/audit, docs/audit.md): a minimal BALP-shaped AuditEvent, and
 * a store whose batch writes (`appendCreates`) wait until the test lets them through.
 */
import type { AuditEvent } from 'fhir/r4';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store';

/** An AuditEvent about `Patient/p0` (even `i`) or `Patient/p1` (odd `i`). */
export const auditEvent = (i: number): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  action: 'R',
  recorded: '2026-12-07T02:00:00.000Z',
  outcome: '0',
  agent: [{ requestor: false }],
  source: { observer: { display: 'FHIR server' } },
  entity: [{ what: { reference: `Patient/p${i % 2}` }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' } }],
});

/**
 * Holds every `appendCreates` of `store` until `release` is called (once; later batches pass);
 * `reached` resolves when the first batch arrives at the gate.
 */
export function holdAppendCreates(store: SqliteStore): { release: () => void; reached: Promise<void> } {
  const append = store.appendCreates.bind(store);
  let release = (): void => {};
  let arrived = (): void => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  store.appendCreates = async (ops) => {
    arrived();
    await gate;
    return append(ops);
  };
  return { release: () => release(), reached };
}
