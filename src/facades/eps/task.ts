/**
 * `POST /Task` of the EPS FHIR API (electronic-prescription-service-api.yaml "Return a prescription"
 * and "Withdraw a dispense notification"): `status` `rejected` returns a released prescription to the
 * spine (With Dispenser → To be Dispensed), `in-progress` withdraws the last dispense notification.
 * The prescription is `groupIdentifier`, the dispenser the ODS code of `owner` or of the contained
 * Organization. Task.status must be one of 'in-progress', 'rejected'; answered 200 with an
 * informational OperationOutcome.
 */
import type { Organization, Task } from 'fhir/r4';
import type { FhirServices } from '../../fhir/context';
import { epsError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM } from '../../spine/eps/prescription-id';
import { applyEvent } from '../../spine/eps/state-machine';
import { ODS_SYSTEM } from '../../spine/eps/task-codec';
import { parseJsonBody, type FacadeRequest, type FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { commit, findRecord, taskUpdateEntry } from './records';

function dispenserOf(t: Task): string | undefined {
  const own = t.owner?.identifier?.system === ODS_SYSTEM ? t.owner.identifier.value : undefined;
  if (own) return own;
  const org = t.contained?.find((c): c is Organization => c.resourceType === 'Organization');
  return org?.identifier?.find((i) => i.system === ODS_SYSTEM)?.value;
}

export async function postTask(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const t = parseJsonBody(services, req.rawBody) as Task | undefined;
  if (t?.resourceType !== 'Task') throw epsError(400, 'invalid', 'INVALID_VALUE', 'Request body must be a Task.', 'Task');
  if (t.status !== 'rejected' && t.status !== 'in-progress') throw epsError(400, 'value', 'INVALID_VALUE', "Task.status must be one of: 'in-progress', 'rejected'", 'Task.status');
  if (t.status === 'in-progress' && !t.code) throw epsError(400, 'value', 'MISSING_VALUE', "Task.code is required when Task.status is 'in-progress'.", 'Task.code');
  const g = t.groupIdentifier;
  if (g?.system !== PRESCRIPTION_ORDER_NUMBER_SYSTEM || typeof g.value !== 'string') throw epsError(400, 'value', 'MISSING_VALUE', 'Task.groupIdentifier must be a prescription-order-number.', 'Task.groupIdentifier');
  const dispenser = dispenserOf(t);
  if (!dispenser) throw epsError(400, 'value', 'MISSING_VALUE', 'Task.owner or a contained Organization must give the dispenser ODS code.', 'Task.owner');
  const record = await findRecord(services, req, g.value);
  if (!record) throw epsError(404, 'not-found', 'PRESCRIPTION_NOT_FOUND', `Prescription ${g.value} not found.`, 'Task.groupIdentifier');
  const nhs = t.for?.identifier?.value;
  if (nhs !== undefined && nhs !== record.nhsNumber) throw epsError(400, 'value', 'INVALID_VALUE', 'Task.for does not match the patient of the prescription.', 'Task.for');
  const r = applyEvent(record.state, { kind: t.status === 'rejected' ? 'return' : 'withdraw', dispenser, at: new Date().toISOString() });
  if (!r.ok) throw epsError(400, 'business-rule', r.code, r.diagnostics);
  await commit(services, req, [taskUpdateEntry(record, r.state)]);
  return { status: 200, body: { resourceType: 'OperationOutcome', meta: { lastUpdated: new Date().toISOString() }, issue: [{ severity: 'information', code: 'informational' }] }, headers: epsResponseHeaders(req.headers) };
}
