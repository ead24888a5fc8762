/**
 * The PDS access mode of a façade request (personal-demographics.yaml "Access modes"), learnt before
 * the request's own engine call: an empty `batch` Bundle is sent to the engine with the caller's
 * `Authorization` (SMART App Launch 2.0.0; FHIR R4 http.html#transaction), so the engine authenticates
 * the caller (401 for a missing or invalid token) and an innermost layer reads the verified grants
 * (access-mode.ts) and answers without running anything. Endpoints whose refusals must come before
 * any domain rule runs (a create's trace) ask this first. The probe carries no X-Request-ID, so it
 * never takes the place of the request in the idempotency record.
 */
import type { FhirServices } from '../../fhir/context';
import { callEngine, engineRequest, type FacadeRequest } from '../kit';
import { pdsAccessMode, type PdsAccessMode } from './access-mode';

export interface PdsCaller {
  mode: PdsAccessMode;
  /** The patient in the token's launch context (patient access), if any. */
  patient?: string;
  /** Whether the server verified a token at all (false with AUTH_MODE=off). */
  authenticated: boolean;
}

/** The caller of `req` as the engine verifies it (throws the engine's 401 for a bad token). */
export async function pdsCaller(services: FhirServices, req: FacadeRequest): Promise<PdsCaller> {
  let caller: PdsCaller = { mode: 'healthcare-worker', authenticated: false };
  const probe = engineRequest(req, { method: 'POST', path: '', body: { resourceType: 'Bundle', type: 'batch' }, contentType: 'application/fhir+json', headers: { 'x-request-id': undefined, 'if-match': undefined, prefer: undefined } });
  await callEngine(services, probe, (_r, _i, ctx) => {
    caller = { mode: pdsAccessMode(ctx), authenticated: ctx.access !== undefined, ...patientOf(ctx.access?.principal) };
    return Promise.resolve({ status: 200 });
  });
  return caller;
}

function patientOf(principal: Readonly<Record<string, unknown>> | undefined): { patient?: string } {
  const p = principal?.['patient'];
  return typeof p === 'string' && p !== '' ? { patient: p } : {};
}
