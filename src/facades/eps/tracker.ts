/**
 * `GET /Task` — the EPS prescription tracker (electronic-prescription-service-api.yaml "Task"
 * tracker): by `focus:identifier` (or `identifier`, `group-identifier`) the short-form prescription
 * ID, or by `patient:identifier` / `patient` the NHS Number. Answers a searchset Bundle of tracker
 * Tasks, each with `businessStatus` (EPS-task-business-status), `for` the NHS Number and one `input`
 * per line item with its status. The search runs through the engine, so a patient-context token sees
 * only its patient's Tasks. A prescription whose validity (Task.restriction.period.end) has passed is
 * stored Expired (0004, its `expire` history entry appended, src/facades/eps/expiry-sweep.ts) before
 * it is answered, so the tracker never shows a state the store does not hold (ADR 38); the periodic
 * sweep does the same for prescriptions nobody looks at.
 */
import type { Bundle } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import type { FhirServices } from '../../fhir/context';
import { isValidNhsNumber, NHS_NUMBER_SYSTEM } from '../../spine/nhs-number';
import { epsError } from '../../spine/eps/errors';
import { PRESCRIPTION_ORDER_NUMBER_SYSTEM, prescriptionIdProblem } from '../../spine/eps/prescription-id';
import type { FacadeRequest, FacadeResponse } from '../kit';
import { epsResponseHeaders } from './headers';
import { expireDue } from './expiry-sweep';
import { searchTasks } from './records';

const BY_PRESCRIPTION = ['focus:identifier', 'identifier', 'group-identifier'];
const BY_PATIENT = ['patient:identifier', 'patient', 'for:identifier'];

function valueOf(raw: string): string {
  const bar = raw.lastIndexOf('|');
  return bar >= 0 ? raw.slice(bar + 1) : raw;
}

export async function trackTasks(services: FhirServices, req: FacadeRequest): Promise<FacadeResponse> {
  const rx = req.query.find(([k]) => BY_PRESCRIPTION.includes(k));
  const patient = req.query.find(([k]) => BY_PATIENT.includes(k));
  if (!rx && !patient) throw epsError(400, 'value', 'MISSING_VALUE', 'Search by focus:identifier (prescription ID) or patient:identifier (NHS Number).', 'focus:identifier');
  const query: Array<[string, string]> = [];
  if (rx) {
    const id = valueOf(rx[1]);
    if (prescriptionIdProblem(id)) throw epsError(400, 'value', 'INVALID_VALUE', `'${id}' is not a valid short-form prescription ID.`, rx[0]);
    query.push(['identifier', `${PRESCRIPTION_ORDER_NUMBER_SYSTEM}|${id}`]);
  }
  let nhs: string | undefined;
  if (patient) {
    nhs = valueOf(patient[1]);
    if (!isValidNhsNumber(nhs)) throw epsError(400, 'value', 'INVALID_VALUE', `'${nhs}' is not a valid NHS Number.`, patient[0]);
    query.push(['subject:identifier', `${NHS_NUMBER_SYSTEM}|${nhs}`]);
  }
  // Only tracker Tasks of prescriptions (and, by NHS Number, only that patient's) are answered.
  const tasks = (await searchTasks(services, req, query)).filter((t) => {
    if (!t.groupIdentifier || t.groupIdentifier.system !== PRESCRIPTION_ORDER_NUMBER_SYSTEM) return false;
    return nhs === undefined || (t.for?.identifier?.system === NHS_NUMBER_SYSTEM && t.for.identifier.value === nhs);
  });
  const shown = await expireDue(services, tasks);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { lastUpdated: new Date().toISOString() },
    type: 'searchset',
    total: tasks.length,
    entry: shown.map((t) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource: t, search: { mode: 'match' } })),
  };
  return { status: 200, body: bundle, headers: epsResponseHeaders(req.headers) };
}
