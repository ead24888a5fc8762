/**
 * Issue 17's targets for the FHIR REST interactions (http.html read, create, update) with the server
 * defaults, judged on one run of bench/run.ts: each target with what was measured beside it and
 * whether it is met. Informative, never fatal (benchmarks print figures; nothing asserts them).
 * The import and `$trace` targets are printed by bench/import.ts and bench/spine.ts.
 */
import type { Measurement } from './load';
import { cpuMsPerRequest, findMeasurement, fixed, table } from './report';

export const WRITE_TARGET_RPS = 1000;
export const WRITE_TARGET_P99_MS = 30;
export const READ_TARGET_RATIO = 0.7;
export const TRACE_SHARE_TARGET = 0.2;

interface Row {
  target: string;
  measured: string;
  met: boolean | undefined;
}

function writeRow(results: readonly Measurement[], scenario: 'create' | 'update', label: string): Row {
  const m = findMeasurement(results, scenario, 'fhir-defaults', 10);
  if (!m) return { target: `${label}: >= ${WRITE_TARGET_RPS} req/s, p99 < ${WRITE_TARGET_P99_MS} ms (defaults, 10 connections)`, measured: 'not measured', met: undefined };
  return {
    target: `${label}: >= ${WRITE_TARGET_RPS} req/s, p99 < ${WRITE_TARGET_P99_MS} ms (defaults, 10 connections)`,
    measured: `${fixed(m.rps, 0)} req/s, p99 ${fixed(m.p99, 1)} ms, ${fixed(cpuMsPerRequest(m), 2)} ms CPU/req`,
    met: m.rps >= WRITE_TARGET_RPS && m.p99 < WRITE_TARGET_P99_MS && m.non2xx === 0 && m.errors === 0,
  };
}

/**
 * The share of a defaults create's server CPU spent on the duplicate-check trace and the NHS Number
 * allocation: (defaults create - generic create - the token check, measured as defaults read - generic
 * read) / defaults create, all in server CPU ms per request at 10 connections.
 */
export function traceShare(results: readonly Measurement[]): number | undefined {
  const dc = findMeasurement(results, 'create', 'fhir-defaults', 10);
  const gc = findMeasurement(results, 'create', 'fhir', 10);
  const dr = findMeasurement(results, 'read', 'fhir-defaults', 10);
  const gr = findMeasurement(results, 'read', 'fhir', 10);
  if (!dc || !gc) return undefined;
  const token = dr && gr ? Math.max(0, cpuMsPerRequest(dr) - cpuMsPerRequest(gr)) : 0;
  const extra = cpuMsPerRequest(dc) - cpuMsPerRequest(gc) - token;
  const share = extra / cpuMsPerRequest(dc);
  return Number.isFinite(share) ? Math.max(0, share) : undefined;
}

function readRow(results: readonly Measurement[], connections: number): Row {
  const d = findMeasurement(results, 'read', 'fhir-defaults', connections);
  const e = findMeasurement(results, 'read', 'express', connections);
  const target = `read by id (defaults) >= ${READ_TARGET_RATIO} of bare Express, ${connections} connections`;
  if (!d || !e || e.rps <= 0) return { target, measured: 'not measured', met: undefined };
  const ratio = d.rps / e.rps;
  return { target, measured: `${fixed(ratio, 2)} (${fixed(d.rps, 0)} vs ${fixed(e.rps, 0)} req/s)`, met: connections === 32 ? ratio >= READ_TARGET_RATIO : undefined };
}

export function formatTargets(results: readonly Measurement[]): string {
  const share = traceShare(results);
  const rows: Row[] = [
    writeRow(results, 'create', 'POST /Patient of a new person (trace + allocation)'),
    writeRow(results, 'update', 'PUT /Patient/{id}'),
    {
      target: `duplicate-check trace + allocation <= ${TRACE_SHARE_TARGET * 100}% of a defaults create's CPU`,
      measured: share === undefined ? 'not measured' : `${fixed(share * 100, 1)}%`,
      met: share === undefined ? undefined : share <= TRACE_SHARE_TARGET,
    },
    readRow(results, 32),
    readRow(results, 10),
  ];
  const verdict = (r: Row): string => (r.met === undefined ? (r.measured === 'not measured' ? '-' : 'reported') : r.met ? 'met' : 'NOT met');
  return table(['issue 17 target', 'measured', 'verdict'], rows.map((r) => [r.target, r.measured, verdict(r)]), new Set());
}
