/**
 * Helpers of the NHS layer HTTP suites (PDS FHIR API behaviour): an app with the NHS defaults and
 * Patient builders.
 */
import type { Identifier, Patient } from 'fhir/r4';
import request from 'supertest';
import type { Response } from 'supertest';
import { FHIR_JSON, type TestApp } from '../helpers/test-app';
import { NHS_NUMBER_SYSTEM } from '../../src/spine/nhs-number';
import { SPINE_ERROR_SYSTEM } from '../../src/spine/errors';
import { CONFIDENTIALITY_SYSTEM } from '../../src/spine/restricted';

export function nhsIdentifier(value: string): Identifier {
  return { system: NHS_NUMBER_SYSTEM, value };
}

export function patient(nhs: string | undefined, extra: Partial<Patient> = {}): Patient {
  return {
    resourceType: 'Patient',
    ...(nhs !== undefined ? { id: nhs, identifier: [nhsIdentifier(nhs)] } : {}),
    name: [{ use: 'usual', family: 'Smith', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1980-01-01',
    ...extra,
  };
}

export function restricted(p: Patient): Patient {
  return { ...p, meta: { security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R', display: 'restricted' }] } };
}

export async function put(t: TestApp, p: Patient): Promise<Response> {
  return request(t.app).put(`/fhir/Patient/${p.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(p));
}

export async function post(t: TestApp, p: Patient, headers: Record<string, string> = {}): Promise<Response> {
  return request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set(headers).send(JSON.stringify(p));
}

/** The Spine code of the first issue of an OperationOutcome body. */
export function spineCode(body: unknown): string | undefined {
  const issues = (body as { issue?: Array<{ details?: { coding?: Array<{ system?: string; code?: string }> } }> }).issue ?? [];
  for (const i of issues) {
    const c = i.details?.coding?.find((x) => x.system === SPINE_ERROR_SYSTEM);
    if (c?.code) return c.code;
  }
  return undefined;
}
