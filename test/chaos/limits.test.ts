/**
 * Chaos: oversized inputs (FHIR R4 search.html, bundle.html, http.html "HTTP Status Codes": a request
 * too big or too costly is refused with a 4xx OperationOutcome, e.g. 400 / 413 / 412 `too-costly`).
 * Very many OR values, repeated parameters, `_sort` keys, `_include`s, `_elements` names, `_has` and
 * chain hops, megabyte search values, 10 000-entry transactions and batches, resources with 100 000
 * array items, 10 000 contained resources and 5 MB strings (support/oversized.ts).
 *
 * Property: the answer is a success or a 4xx OperationOutcome (never a 5xx other than 503, no
 * internals, within the hang bound), and while the request is being processed GET /metadata keeps
 * answering within a generous bound. The fixed cases run in every mode, one test each (each names
 * its reproducer); in full mode fast-check also draws kinds and sizes for its time share.
 *
 * Some of these fail on purpose until the request limits land (they document the defects).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { CHAOS, SHARES, checkProperty, note, tally, tallyStatus, timeoutFor } from './support/budget';
import { RequestTimeout, send, sendJson, type RawResponse } from './support/http-client';
import { assertNoProblems, describeResponse, problemsOf } from './support/invariants';
import { OVERSIZED_KINDS, describeOversized, oversizedRequest, type OversizedSpec } from './support/oversized';
import { startServerProcess, type ServerProcess } from './support/server-process';

const SUITE = 'oversized inputs (limits)';
const FILE = 'dist/test/chaos/limits.test.js';
/** How long an oversized request may take before it counts as a hang. */
const HANG_BOUND_MS = 180_000;
/** How long GET /metadata may take while an oversized request is being processed (generous: CI machines are slow). */
const METADATA_BOUND_MS = 30_000;

/** The fixed cases: the sizes the issue names. */
const FIXED: ReadonlyArray<[string, OversizedSpec]> = [
  ['1 000 OR values of a string parameter', { kind: 'or-string', n: 1000, preferGet: true }],
  ['1 000 OR values of a token parameter', { kind: 'or-token', n: 1000, preferGet: false }],
  ['1 000 OR values of a date parameter', { kind: 'or-date', n: 1000, preferGet: false }],
  ['1 000 OR values of a reference parameter', { kind: 'or-reference', n: 1000, preferGet: false }],
  ['1 000 repeated parameters', { kind: 'repeated-params', n: 1000, preferGet: false }],
  ['1 000 chained _sort keys', { kind: 'sort-keys-chained', n: 1000, preferGet: true }],
  ['1 000 mixed _sort keys', { kind: 'sort-keys-mixed', n: 1000, preferGet: true }],
  ['1 000 _include / _revinclude', { kind: 'includes', n: 1000, preferGet: false }],
  ['10 000 _elements names', { kind: 'elements', n: 10_000, preferGet: false }],
  ['200 nested _has', { kind: 'has-hops', n: 200, preferGet: true }],
  ['a chain of 200 hops', { kind: 'chain-hops', n: 200, preferGet: true }],
  ['a 1 MB search value', { kind: 'long-search-value', n: 1_000_000, preferGet: false }],
  ['a 10 000-entry transaction', { kind: 'transaction-entries', n: 10_000, preferGet: false }],
  ['a 10 000-entry batch', { kind: 'batch-entries', n: 10_000, preferGet: false }],
  ['a resource with 100 000 array items', { kind: 'array-items', n: 100_000, preferGet: false }],
  ['a resource with 10 000 contained resources', { kind: 'contained-resources', n: 10_000, preferGet: false }],
  ['a 5 MB string element', { kind: 'huge-string-element', n: 5_000_000, preferGet: false }],
];

/** Sends `spec` while polling /metadata; returns the problems (empty: the property holds). */
async function oversizedProblems(server: ServerProcess, spec: OversizedSpec): Promise<string[]> {
  const req = oversizedRequest(spec);
  const problems: string[] = [];
  let done = false;
  let slowest = 0;
  const poller = (async () => {
    while (!done) {
      const started = Date.now();
      try {
        const m = await send(server.origin, { method: 'GET', target: '/fhir/metadata', headers: { Accept: 'application/fhir+json' } }, METADATA_BOUND_MS);
        if (m.status !== 200) problems.push(`GET /metadata answered ${m.status} during the request`);
      } catch (e) {
        problems.push(e instanceof RequestTimeout ? `GET /metadata did not answer within ${METADATA_BOUND_MS} ms during the request` : `GET /metadata failed during the request: ${(e as Error).message}`);
        return;
      }
      slowest = Math.max(slowest, Date.now() - started);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  let res: RawResponse | undefined;
  try {
    res = await send(server.origin, req, HANG_BOUND_MS);
  } catch (e) {
    problems.push(e instanceof RequestTimeout ? `no answer within ${HANG_BOUND_MS} ms` : `the connection failed: ${(e as Error).message}${server.hasExited() ? ' (the server process exited)' : ''}`);
  }
  done = true;
  await poller;
  tally(SUITE, `${spec.kind}: cases`);
  if (res) {
    tallyStatus(SUITE, res.status);
    tally(SUITE, `${spec.kind}: status ${res.status}`);
    problems.push(...problemsOf(req, res));
    if (problems.length > 0) {
      await new Promise((r) => setTimeout(r, 200));
      const id = String(res.headers['x-request-id'] ?? '');
      const logged = server.logFor(id).map((l) => {
        try {
          const e = (JSON.parse(l) as { err?: { type?: string; message?: string; stack?: string } }).err;
          return e ? `${e.type}: ${e.message}\n      ${(e.stack ?? '').split('\n').slice(1, 4).join('\n      ')}` : '';
        } catch {
          return '';
        }
      });
      problems.push(`reproducer: ${describeOversized(spec)}`, `answer: ${describeResponse(res, 300)}`, ...logged.filter((l) => l !== '').map((l) => `server log: ${l}`));
    }
  }
  const after = await send(server.origin, { method: 'GET', target: '/fhir/metadata' }, METADATA_BOUND_MS).catch((e: Error) => ({ status: 0, text: e.message }));
  if (after.status !== 200) problems.push(`GET /metadata after the request answered ${after.status}`);
  maxSlowest = Math.max(maxSlowest, slowest);
  return problems;
}

let maxSlowest = 0;

describe('Chaos: oversized inputs answer a 4xx OperationOutcome or succeed, and the server keeps answering', function () {
  this.timeout(timeoutFor(SHARES.limits, 240_000));
  let dir: string;
  let server: ServerProcess | undefined;
  before(async function () {
    this.timeout(120_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-limits-'));
    server = await startServerProcess({ dataDir: dir, env: { REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' } });
    for (let i = 0; i < 20; i++) {
      const r = await sendJson(server.origin, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: `Limit${i}`, given: ['A'] }], birthDate: `19${String(50 + i)}-01-01`, gender: i % 2 ? 'male' : 'female' });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    if (maxSlowest > 0) note(`${SUITE}: the slowest GET /metadata during an oversized request took ${(maxSlowest / 1000).toFixed(1)} s (bound ${METADATA_BOUND_MS / 1000} s)`);
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, spec] of FIXED) {
    it(`${name}: a 4xx OperationOutcome or success, never a 5xx; /metadata keeps answering`, async () => {
      const problems = await oversizedProblems(server!, spec);
      assertNoProblems(problems, name);
    });
  }

  if (CHAOS.full) {
    it('random oversized inputs (kinds and sizes drawn by fast-check)', async () => {
      const sizes: Record<string, [number, number]> = {
        'long-search-value': [10_000, 3_000_000],
        'huge-string-element': [100_000, 9_000_000],
        'array-items': [1000, 150_000],
        'contained-resources': [100, 20_000],
        'transaction-entries': [100, 12_000],
        'batch-entries': [100, 12_000],
        'has-hops': [2, 500],
        'chain-hops': [2, 500],
      };
      const arb = fc
        .constantFrom(...OVERSIZED_KINDS)
        .chain((kind) => {
          const [min, max] = sizes[kind] ?? [10, 8000];
          // Sizes spread evenly on a log scale from min to max.
          return fc.record({ kind: fc.constant(kind), n: fc.integer({ min: Math.round(Math.log2(min) * 100), max: Math.round(Math.log2(max) * 100) }).map((e) => Math.round(2 ** (e / 100))), preferGet: fc.boolean() });
        });
      await checkProperty(
        'random oversized inputs',
        arb,
        async (spec) => {
          assertNoProblems(await oversizedProblems(server!, spec), describeOversized(spec));
        },
        { suite: SUITE, share: SHARES.limits * 0.6, shortRuns: 0, grep: 'random oversized inputs', file: FILE, show: describeOversized, signature: (m) => `${m.split(' ')[0] ?? ''}: ${/\n {2}- ([^\n]{0,60})/.exec(m)?.[1] ?? 'failure'}` },
      );
    });
  }
});
