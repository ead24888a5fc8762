/**
 * The Summary Care Record FHIR API façade (NHS England summary-care-record.yaml) at its real path
 * `/summary-care-record/FHIR/R4`, over the same engine and store as `/fhir` (ADR 25, ADR 27).
 * docs/scr.md and docs/spine.md "SCR compatibility" list the behaviour.
 *
 * | endpoint                   | module                 |
 * | -------------------------- | ---------------------- |
 * | `POST Bundle`              | upload.ts              |
 * | `GET Bundle?...`           | bundle.ts              |
 * | `GET DocumentReference?...`| document-reference.ts  |
 * | `POST $setPermission`      | permission.ts          |
 * | `POST AuditEvent`          | audit-event.ts         |
 */
import type express from 'express';
import type { FhirServices } from '../../fhir/context';
import { facadeRouter, type FacadeRoute } from '../kit';
import { postAlert } from './audit-event';
import { getScr } from './bundle';
import { getScrId } from './document-reference';
import { scrErrorResponse } from './errors';
import { checkScrHeaders, scrRequestId, scrResponseHeaders } from './headers';
import { setPermission } from './permission';
import { uploadScr } from './upload';
import { SCR_BASE_PATH } from './view';

export { SCR_BASE_PATH } from './view';

export function scrRoutes(services: FhirServices): FacadeRoute[] {
  return [
    { method: 'POST', path: 'Bundle', handler: (req) => uploadScr(services, req) },
    { method: 'GET', path: 'Bundle', handler: (req) => getScr(services, req) },
    { method: 'GET', path: 'DocumentReference', handler: (req) => getScrId(services, req) },
    { method: 'POST', path: '$setPermission', handler: (req) => setPermission(services, req) },
    { method: 'POST', path: 'AuditEvent', handler: (req) => postAlert(services, req) },
  ];
}

/** The Express router of the SCR façade (mounted by the composition root). */
export function scrFacade(services: FhirServices): express.Router {
  return facadeRouter(services, {
    basePath: SCR_BASE_PATH,
    routes: scrRoutes(services),
    checkRequest: checkScrHeaders,
    renderError: scrErrorResponse,
    responseHeaders: scrResponseHeaders,
    requestId: scrRequestId,
  });
}
