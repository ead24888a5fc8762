/**
 * AuditEvents reported by a client rather than recorded by the server (FHIR R4 auditevent.html
 * "AuditEvent as a record of an event reported by a system"): the SCR privacy alert
 * (summary-care-record.yaml `POST /AuditEvent`, docs/scr.md). The API refuses AuditEvent writes
 * (interceptor.ts); a façade that has checked the report and the caller's access to the patient stores
 * it here: validated as any write, indexed and committed before the caller is answered (not buffered
 * as the server's own events are, so an acknowledged alert is never lost).
 */
import { newId } from '../fhir/new-id';
import type { AuditEvent } from 'fhir/r4';
import type { FhirServices } from '../fhir/context';

/** Stores the reported event under a new id; resolves with the id once committed. */
export async function storeReportedAuditEvent(services: FhirServices, event: AuditEvent): Promise<string> {
  const { id: _id, meta: _meta, ...content } = event;
  const resource: AuditEvent = { ...content, id: newId() };
  await services.validator.assertValid(resource, { expectedType: 'AuditEvent' });
  const index = services.indexer.extract(resource);
  await services.store.withTransaction(async (tx) => {
    await tx.write({ kind: 'create', resourceType: 'AuditEvent', id: resource.id!, resource, index, expectedVersion: 0 });
  });
  return resource.id!;
}
