/**
 * The NHS API façades (ADR 25), mounted by the composition root (src/main.ts) beside the generic
 * FHIR API: each is an Express router at its API's real path. The engine never imports them.
 */
import type express from 'express';
import type { FhirServices } from '../fhir/context';
import { epsFacades } from './eps';
import { pdsFacade } from './pds';
import { scrFacade } from './scr';
import { bulkDataRouter } from '../bulk-data/router';

export function facadeRouters(services: FhirServices): express.Router[] {
  return [pdsFacade(services), ...epsFacades(services), scrFacade(services), bulkDataRouter(services)];
}
