/**
 * What the EPS façade suites share (test/facades/eps): the three base paths, the staged EPS examples
 * (`../shared/external/nhs-apis/eps/examples`, skipped with a printed reason when absent), a fresh app
 * per test with the server's default configuration, and a POST with the headers EPS requires.
 *
 * The staged examples are dated (validity periods of 2021-2024, long past), so each test app's
 * prescription-expiry clock (src/facades/eps/clock.ts) follows the examples: a `prescription-order`
 * sent with `epsPost` sets it to that order's `authoredOn` (else its validity start), the time the
 * example was written. The server clock (signatures, tokens, idempotency) is not moved. Expiry tests
 * set their own clock with `setPrescriptionClock`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { OperationOutcome } from 'fhir/r4';
import { existingExternalPath, skipWithReason } from '../../helpers/external-data';
import { testApp, type TestApp } from '../../helpers/test-app';
import { setPrescriptionClock } from '../../../src/facades/eps/clock';

/** Each test app's example time (see the header). */
const exampleTimes = new WeakMap<TestApp, { at?: Date }>();

/** The time a prescription-order message was written (its authoredOn, else its validity start), or undefined. */
function orderTime(body: unknown): Date | undefined {
  const b = body as { resourceType?: string; entry?: Array<{ resource?: { resourceType?: string; eventCoding?: { code?: string }; authoredOn?: string; dispenseRequest?: { validityPeriod?: { start?: string } } } }> };
  if (b?.resourceType !== 'Bundle' || b.entry?.[0]?.resource?.eventCoding?.code !== 'prescription-order') return undefined;
  const mr = b.entry.find((e) => e.resource?.resourceType === 'MedicationRequest')?.resource;
  const at = mr?.authoredOn ?? mr?.dispenseRequest?.validityPeriod?.start;
  const d = at ? new Date(at) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
}

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
    const time: { at?: Date } = {};
    exampleTimes.set(current, time);
    setPrescriptionClock(current.services, () => time.at ?? new Date());
    use(current);
  });
  afterEach(() => current?.close());
}

/**
 * Moves a test app's example time (the prescription clock, see the header) on by `days`: what a
 * replay of a repeat-dispensing example does before releasing the next issue, which is not
 * releasable before its date (src/spine/eps/repeat-dispensing.ts).
 */
export function advanceExampleClock(t: TestApp, days: number): Date {
  const time = exampleTimes.get(t);
  if (!time) throw new Error('not an EPS test app (useEpsApp)');
  time.at = new Date((time.at ?? new Date()).getTime() + days * 86_400_000);
  return time.at;
}

/** A POST to an EPS façade with a fresh (or the given) X-Request-ID and, when given, an X-Correlation-ID. */
export function epsPost(t: TestApp, base: string, p: string, body: unknown, opts: { requestId?: string; correlationId?: string } = {}): request.Test {
  const time = exampleTimes.get(t);
  const at = p === '$process-message' ? orderTime(body) : undefined;
  if (time && at) time.at = at;
  const r = request(t.app).post(`${base}/${p}`).set('X-Request-ID', opts.requestId ?? randomUUID()).set('Content-Type', 'application/fhir+json');
  return (opts.correlationId !== undefined ? r.set('X-Correlation-ID', opts.correlationId) : r).send(JSON.stringify(body));
}
