/**
 * The PDS FHIR API façade (NHS England Personal Demographics Service FHIR API,
 * personal-demographics.yaml) at its real path `/personal-demographics/FHIR/R4`, over the same engine
 * and store as `/fhir` (ADR 25). Each endpoint's module translates the PDS request into engine
 * requests and answers in PDS's wire format; docs/spine.md "PDS compatibility" lists every endpoint,
 * parameter, header and error code.
 *
 * | endpoint                          | module              |
 * | --------------------------------- | ------------------- |
 * | `GET Patient/{id}`                | read.ts             |
 * | `PATCH Patient/{id}`              | patch.ts            |
 * | `POST Patient`                    | create.ts           |
 * | `GET Patient/{id}/RelatedPerson`  | related-person.ts   |
 * | `GET Coverage`, `POST Coverage`   | coverage.ts         |
 * | `GET Patient?...` (search)        | search.ts           |
 * | `GET _ping`, `GET _status`        | status.ts           |
 */
import type express from 'express';
import type { FhirServices } from '../../fhir/context';
import { facadeRouter, type FacadeRequest, type FacadeRoute } from '../kit';
import { pdsErrorResponse } from './errors';
import { checkRequestId, pdsRequestId, pdsResponseHeaders } from './headers';
import { searchCoverage, postCoverage } from './coverage';
import { createPatient } from './create';
import { patchPatient } from './patch';
import { getPatient } from './read';
import { getRelatedPeople } from './related-person';
import { searchPatients } from './search';
import { ping, status } from './status';
import { PDS_BASE_PATH } from './view';

export { PDS_BASE_PATH, pdsBaseUrl } from './view';

/** Endpoints that need no X-Request-ID (the platform's health checks). */
const HEALTH = new Set(['_ping', '_status']);

export function pdsRoutes(services: FhirServices): FacadeRoute[] {
  return [
    { method: 'GET', path: '_ping', handler: () => Promise.resolve(ping()) },
    { method: 'GET', path: '_status', handler: () => status(services) },
    { method: 'GET', path: 'Patient/:id', handler: (req, p) => getPatient(services, req, p['id']!) },
    { method: 'PATCH', path: 'Patient/:id', handler: (req, p) => patchPatient(services, req, p['id']!) },
    { method: 'POST', path: 'Patient', handler: (req) => createPatient(services, req) },
    { method: 'GET', path: 'Patient/:id/RelatedPerson', handler: (req, p) => getRelatedPeople(services, req, p['id']!) },
    { method: 'GET', path: 'Coverage', handler: (req) => searchCoverage(services, req) },
    { method: 'POST', path: 'Coverage', handler: (req) => postCoverage(services, req) },
    { method: 'GET', path: 'Patient', handler: (req) => searchPatients(services, req) },
  ];
}

/** The Express router of the PDS façade (mounted by the composition root). */
export function pdsFacade(services: FhirServices): express.Router {
  return facadeRouter(services, {
    basePath: PDS_BASE_PATH,
    routes: pdsRoutes(services),
    checkRequest: (req: FacadeRequest) => {
      if (!HEALTH.has(req.path)) checkRequestId(req);
    },
    renderError: pdsErrorResponse,
    responseHeaders: pdsResponseHeaders,
    requestId: pdsRequestId,
  });
}
