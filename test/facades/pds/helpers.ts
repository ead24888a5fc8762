/**
 * Helpers of the PDS façade suites: the app with the server's default configuration (UK Core profiles
 * required, PATIENT_ID_POLICY=nhs-number), requests with the headers PDS requires, and the PDS
 * sandbox's records (../shared/external/nhs-apis/pds/searchResponses) stored as the façade stores
 * them (shapes.ts `toStored`), through `/fhir` with validation on.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { OperationOutcome, Patient } from 'fhir/r4';
import { existingExternalPath } from '../../helpers/external-data';
import { FHIR_JSON, NHS_LAYER, TEST_BASE, testApp, type TestApp } from '../../helpers/test-app';
import { SPINE_ERROR_SYSTEM } from '../../../src/spine/errors';
import { toStored } from '../../../src/facades/pds/shapes';

export const PDS = existingExternalPath('nhs-apis', 'pds');
export const BASE = '/personal-demographics/FHIR/R4';

/** The server's default configuration (profiles on), as `npm start` runs it. */
export function pdsApp(env: Readonly<Record<string, string>> = {}, opts: Parameters<typeof testApp>[1] = {}): TestApp {
  return testApp({ ...NHS_LAYER, ...env }, opts);
}

export function loadPds<T>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(PDS!, ...parts), 'utf8')) as T;
}

/** A request to the façade with a fresh X-Request-ID (and a token when given). */
export function pds(t: TestApp, method: 'get' | 'post' | 'patch', p: string, opts: { token?: string; requestId?: string } = {}): request.Test {
  const r = request(t.app)[method](`${BASE}/${p}`).set('X-Request-ID', opts.requestId ?? randomUUID());
  return opts.token ? r.set('Authorization', `Bearer ${opts.token}`) : r;
}

/** Stores a PDS-shaped Patient (under its id) the way the façade stores records: UK Core shapes, validated. */
export async function storePdsPatient(t: TestApp, patient: Patient, token?: string): Promise<void> {
  const { meta, ...rest } = patient;
  const body = toStored({ ...rest, ...(meta?.security ? { meta: { security: meta.security } } : {}) });
  const r = request(t.app).put(`/fhir/Patient/${patient.id}`).set('Content-Type', FHIR_JSON).send(body);
  const res = await (token ? r.set('Authorization', `Bearer ${token}`) : r);
  assert.ok(res.status === 201 || res.status === 200, `${patient.id}: ${res.status} ${res.text}`);
}

/** The sandbox's records: 9000000009 (Jane Smith), 9000000017 (Jayne Smyth), 9000000033 (minimal), 9000000025 (restricted, held in full). */
export async function storeSandboxRecords(t: TestApp): Promise<Patient[]> {
  const full = loadPds<Patient>('searchResponses', 'Patient.json');
  const sensitive = loadPds<Patient>('searchResponses', 'Sensitive_Patient.json');
  const records = [
    full,
    loadPds<Patient>('searchResponses', 'Patient-Jayne-Smyth.json'),
    loadPds<Patient>('searchResponses', 'Minimal_Patient.json'),
    { ...sensitive, address: full.address, telecom: full.telecom, generalPractitioner: full.generalPractitioner, contact: full.contact },
  ];
  for (const p of records) await storePdsPatient(t, p);
  return records;
}

/** Asserts a PDS error: status, Spine code (system, version, display as PDS's errorResponses give them when present). */
export function assertPdsError(res: request.Response, status: number, code: string): OperationOutcome {
  assert.equal(res.status, status, `${res.status} ${res.text}`);
  const body = res.body as OperationOutcome;
  assert.equal(body.resourceType, 'OperationOutcome', res.text);
  const coding = body.issue[0]?.details?.coding?.[0];
  assert.equal(coding?.system, SPINE_ERROR_SYSTEM, res.text);
  assert.equal(coding?.code, code, res.text);
  assert.equal(coding?.version, '1');
  const file = PDS ? path.join(PDS, 'errorResponses', `${code}.json`) : undefined;
  if (file && fs.existsSync(file)) {
    const expected = (JSON.parse(fs.readFileSync(file, 'utf8')) as OperationOutcome).issue[0]!;
    // Some stubs are templates (`#(display)`): only literal values are compared.
    const display = expected.details?.coding?.[0]?.display;
    if (display !== undefined && !display.startsWith('#(')) assert.equal(coding?.display, display, `${code}: display`);
    assert.equal(body.issue[0]!.severity, expected.severity, `${code}: severity`);
    assert.equal(body.issue[0]!.code, expected.code, `${code}: issue code`);
  }
  return body;
}

/** The default configuration with SMART on (AUTH_MODE=smart) and a signer of tokens the app trusts. */
export function smartPdsApp(env: Readonly<Record<string, string>> = {}): { t: TestApp; token: (scope: string, claims?: Record<string, unknown>) => string } {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const t = pdsApp({ AUTH_MODE: 'smart', ...env }, { keys: (kid) => (kid === 'pds-k1' ? rsa.publicKey : undefined) });
  const token = (scope: string, claims: Record<string, unknown> = {}): string =>
    jwt.sign({ client_id: 'pds-client', sub: String(claims['patient'] ?? 'pds-user'), jti: randomUUID(), scope, ...claims }, rsa.privateKey, {
      algorithm: 'RS256',
      keyid: 'pds-k1',
      issuer: 'http://localhost:8080/auth',
      audience: TEST_BASE,
      expiresIn: 600,
    });
  return { t, token };
}
