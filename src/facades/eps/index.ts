/**
 * The Electronic Prescription Service FHIR API façades (electronic-prescription-service-api.yaml,
 * fhir-prescribing.yaml, fhir-dispensing.yaml) at their real paths, one router factory for the three
 * bases, over the same engine store (ADR 25, ADR 26): a prescription ordered through
 * `/fhir-prescribing` is released through `/fhir-dispensing` and tracked through
 * `/electronic-prescriptions` — one state per prescription (src/spine/eps/state-machine.ts).
 *
 * | endpoint                      | module              |
 * | ----------------------------- | ------------------- |
 * | `POST $prepare` (prescribing)  | prepare.ts          |
 * | `POST $process-message`       | process-message.ts  |
 * | `POST Task/$release`          | release.ts          |
 * | `POST Task` (return/withdraw) | task.ts             |
 * | `GET Task` (tracker)          | tracker.ts          |
 * | `POST Claim`                  | claim.ts            |
 * | `POST $verify-signature`      | verify-signature.ts |
 * | (timer) expiry sweep          | expiry-sweep.ts     |
 *
 * `$prepare` is served on the bases whose specification has it (electronic-prescriptions and
 * fhir-prescribing, not fhir-dispensing); its digest is over FHIR XML, not HL7 v3 (ADR 34).
 * `$verify-signature` is in none of the three specifications; it is served where a dispenser
 * checks a released prescription (electronic-prescriptions and fhir-dispensing), as EPS's own
 * coordinator serves it among its dispensing routes.
 */
import type express from 'express';
import type { FhirServices } from '../../fhir/context';
import { facadeRouter, type FacadeRequest, type FacadeRoute } from '../kit';
import { postClaim } from './claim';
import { epsErrorResponse } from './errors';
import { checkEpsHeaders, epsRequestId, epsResponseHeaders } from './headers';
import { prepare } from './prepare';
import { processMessage } from './process-message';
import { releasePrescription } from './release';
import { postTask } from './task';
import { trackTasks } from './tracker';
import { verifySignature } from './verify-signature';

export const EPS_BASE_PATHS = ['/electronic-prescriptions/FHIR/R4', '/fhir-prescribing/FHIR/R4', '/fhir-dispensing/FHIR/R4'] as const;

/** The bases whose specification serves `$prepare` (electronic-prescription-service-api.yaml, fhir-prescribing.yaml). */
export const EPS_PREPARE_BASE_PATHS: readonly string[] = ['/electronic-prescriptions/FHIR/R4', '/fhir-prescribing/FHIR/R4'];

/** The bases serving `$verify-signature` (not in the specifications: the dispensing side, see above). */
export const EPS_VERIFY_SIGNATURE_BASE_PATHS: readonly string[] = ['/electronic-prescriptions/FHIR/R4', '/fhir-dispensing/FHIR/R4'];

export function epsRoutes(services: FhirServices, basePath: string = EPS_BASE_PATHS[0]): FacadeRoute[] {
  return [
    ...(EPS_PREPARE_BASE_PATHS.includes(basePath) ? [{ method: 'POST' as const, path: '$prepare', handler: (req: FacadeRequest) => prepare(services, req) }] : []),
    { method: 'POST', path: '$process-message', handler: (req) => processMessage(services, req) },
    { method: 'POST', path: 'Task/$release', handler: (req) => releasePrescription(services, req) },
    { method: 'POST', path: 'Task', handler: (req) => postTask(services, req) },
    { method: 'GET', path: 'Task', handler: (req) => trackTasks(services, req) },
    { method: 'POST', path: 'Claim', handler: (req) => postClaim(services, req) },
    ...(EPS_VERIFY_SIGNATURE_BASE_PATHS.includes(basePath) ? [{ method: 'POST' as const, path: '$verify-signature', handler: (req: FacadeRequest) => verifySignature(services, req) }] : []),
  ];
}

/** The EPS routers, one per base path, all over the same services. */
export function epsFacades(services: FhirServices): express.Router[] {
  return EPS_BASE_PATHS.map((basePath) =>
    facadeRouter(services, {
      basePath,
      routes: epsRoutes(services, basePath),
      checkRequest: checkEpsHeaders,
      renderError: epsErrorResponse,
      responseHeaders: epsResponseHeaders,
      requestId: epsRequestId,
    }),
  );
}
