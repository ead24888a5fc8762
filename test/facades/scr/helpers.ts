/**
 * Helpers of the SCR façade suites: the app with the server's default configuration (UK Core
 * profiles, PATIENT_ID_POLICY=nhs-number), the staged SCR examples
 * (../shared/external/nhs-apis/scr/specification/components/examples) and the PDS sandbox patients.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { existingExternalPath } from '../../helpers/external-data';
import { FHIR_JSON, type TestApp } from '../../helpers/test-app';

export const SCR_EXAMPLES = existingExternalPath('nhs-apis', 'scr', 'specification', 'components', 'examples');
export const SCR = '/summary-care-record/FHIR/R4';
export const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

export function loadScr<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(SCR_EXAMPLES!, name), 'utf8')) as T;
}

export function scrGet(t: TestApp, p: string, token?: string): request.Test {
  const r = request(t.app).get(`${SCR}/${p}`).set('X-Request-ID', randomUUID()).set('X-Correlation-ID', 'corr-1');
  return token ? r.set('Authorization', `Bearer ${token}`) : r;
}

export function scrPost(t: TestApp, p: string, body: unknown, token?: string): request.Test {
  const r = request(t.app).post(`${SCR}/${p}`).set('X-Request-ID', randomUUID()).set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
  return token ? r.set('Authorization', `Bearer ${token}`) : r;
}
