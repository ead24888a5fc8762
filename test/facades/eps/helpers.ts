/**
 * What the EPS façade suites share (test/facades/eps): the three base paths, the staged EPS examples
 * (`../shared/external/nhs-apis/eps/examples`, skipped with a printed reason when absent), a fresh app
 * per test with the server's default configuration, and a POST with the headers EPS requires.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { OperationOutcome } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../../helpers/external-data';
import { testApp, type TestApp } from '../../helpers/test-app';

export const PRESCRIBING = '/fhir-prescribing/FHIR/R4';
export const DISPENSING = '/fhir-dispensing/FHIR/R4';
export const EPS = '/electronic-prescriptions/FHIR/R4';

/** The staged examples folder, or undefined when it is not present. */
export const EPS_EXAMPLES = existingExternalPath('nhs-apis', 'eps', 'examples');

/** An example file below the examples folder, parsed. */
export function epsExample<T = unknown>(...parts: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(EPS_EXAMPLES!, ...parts), 'utf8')) as T;
}

/** The EPS error code of an OperationOutcome's first issue. */
export function epsCode(oo: OperationOutcome): string | undefined {
  return oo.issue[0]?.details?.coding?.[0]?.code;
}

/**
 * Registers, in the calling `describe`, a skip when the examples are absent and a fresh app for each
 * test (closed after it); `use` receives each test's app.
 */
export function useEpsApp(use: (t: TestApp) => void, env: Readonly<Record<string, string>> = {}): void {
  let current: TestApp | undefined;
  before(function () {
    if (!EPS_EXAMPLES) skipWithReason(this, 'nhs-apis/eps/examples not present in /work/shared/external');
  });
  beforeEach(() => {
    current = testApp(env);
    use(current);
  });
  afterEach(() => current?.close());
}

/** A POST to an EPS façade with a fresh (or the given) X-Request-ID and, when given, an X-Correlation-ID. */
export function epsPost(t: TestApp, base: string, p: string, body: unknown, opts: { requestId?: string; correlationId?: string } = {}): request.Test {
  const r = request(t.app).post(`${base}/${p}`).set('X-Request-ID', opts.requestId ?? randomUUID()).set('Content-Type', 'application/fhir+json');
  return (opts.correlationId !== undefined ? r.set('X-Correlation-ID', opts.correlationId) : r).send(JSON.stringify(body));
}
