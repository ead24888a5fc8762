/**
 * Reporting of the FHIR R4 RESTful benchmark (http.html interactions read, create, update): a
 * Markdown-compatible table of throughput, latency percentiles, errors and CPU per (scenario,
 * target), then the throughput ratios FHIR/Express, FHIR/node and Express/node per scenario, and
 * the cost of the server defaults (SMART token check on read; NHS Number trace + allocation on create)
 * against the generic engine.
 */
import type { Measurement, ScenarioName } from './load';

const TARGET_LABEL: Record<Measurement['target'], string> = { node: 'bare node:http', express: 'bare Express 5', fhir: 'FHIR server', 'fhir-memory': 'FHIR (:memory:)', 'fhir-defaults': 'FHIR defaults' };

export function fixed(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAlign: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number): string => {
    const w = widths[i] ?? text.length;
    return rightAlign.has(i) ? text.padStart(w) : text.padEnd(w);
  };
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAlign.has(i) ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function statusText(m: Measurement): string {
  // Besides non-2xx codes, a 2xx other than the scenario's usual one is shown too (e.g. a create
  // answered 200 instead of 201; a traced duplicate is a 409 `duplicate`, counted as non-2xx).
  const usual = m.scenario === 'create' ? '201' : '200';
  const odd = Object.entries(m.statuses).filter(([code]) => code !== usual);
  const codes = odd.map(([code, n]) => `${code}×${n}`).join(' ');
  return codes ? `${m.non2xx} (${codes})` : String(m.non2xx);
}

/** Server CPU time per request in ms (server CPU share of one core / req/s), with the work the run left behind (drain). */
export function cpuMsPerRequest(m: Measurement): number {
  return m.rps > 0 && m.requests > 0 ? (10 * m.serverCpu) / m.rps + m.drainCpuMs / m.requests : Number.NaN;
}

export function formatResults(results: readonly Measurement[]): string {
  const ranged = results.some((m) => m.rpsRange !== undefined);
  const header = ['scenario', 'conns', 'target', 'req/s', ...(ranged ? ['req/s range'] : []), 'p50 ms', 'p95 ms', 'p99 ms', 'requests', 'errors', 'non-2xx / other', 'server CPU', 'CPU ms/req', 'drain s', 'loadgen CPU', 'other CPU'];
  const rows = results.map((m) => [
    m.scenario,
    String(m.connections),
    TARGET_LABEL[m.target],
    fixed(m.rps, 0),
    ...(ranged ? [m.rpsRange ? `${fixed(m.rpsRange[0], 0)}-${fixed(m.rpsRange[1], 0)}` : '-'] : []),
    fixed(m.p50, 2),
    fixed(m.p95, 2),
    fixed(m.p99, 2),
    String(m.requests),
    String(m.errors),
    statusText(m),
    `${fixed(m.serverCpu, 0)}%`,
    fixed(cpuMsPerRequest(m), 3),
    fixed(m.drainSeconds, 1),
    `${fixed(m.loadgenCpu, 0)}%`,
    `${fixed(m.otherCpu, 0)}%`,
  ]);
  const left = new Set(['scenario', 'target', 'non-2xx / other']);
  return table(header, rows, new Set(header.map((h, i) => (left.has(h) ? -1 : i))));
}

/** The (scenario, connections) pairs measured, in the order first measured. */
function runsOf(results: readonly Measurement[]): Array<{ scenario: ScenarioName; connections: number }> {
  const seen = new Map<string, { scenario: ScenarioName; connections: number }>();
  for (const m of results) seen.set(`${m.scenario} ${m.connections}`, { scenario: m.scenario, connections: m.connections });
  return [...seen.values()];
}

/** The measurement of (scenario, target) at `connections`. */
export function findMeasurement(results: readonly Measurement[], scenario: ScenarioName, target: Measurement['target'], connections: number): Measurement | undefined {
  return results.find((m) => m.scenario === scenario && m.target === target && m.connections === connections);
}

export function formatRatios(results: readonly Measurement[]): string {
  const withMemory = results.some((m) => m.target === 'fhir-memory');
  const withDefaults = results.some((m) => m.target === 'fhir-defaults');
  const pct = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const header = ['scenario', 'conns', 'FHIR / Express', ...(withDefaults ? ['defaults / Express'] : []), 'FHIR / node', 'Express / node', ...(withMemory ? ['FHIR / FHIR(:memory:)', 'FHIR(:memory:) / Express'] : [])];
  const rows = runsOf(results).map(({ scenario: s, connections: c }) => {
    const rps = (t: Measurement['target']): number => findMeasurement(results, s, t, c)?.rps ?? Number.NaN;
    return [
      s,
      String(c),
      pct(rps('fhir'), rps('express')),
      ...(withDefaults ? [pct(rps('fhir-defaults'), rps('express'))] : []),
      pct(rps('fhir'), rps('node')),
      pct(rps('express'), rps('node')),
      ...(withMemory ? [pct(rps('fhir'), rps('fhir-memory')), pct(rps('fhir-memory'), rps('express'))] : []),
    ];
  });
  return table(header, rows, new Set(header.map((_, i) => i).filter((i) => i > 1)));
}

/** One line on the read-by-id target (FHIR at least 60% of bare Express at 10 connections); informative, never fatal. */
export function readTargetLine(results: readonly Measurement[]): string {
  const fhir = findMeasurement(results, 'read', 'fhir', 10);
  const express = findMeasurement(results, 'read', 'express', 10);
  if (!fhir || !express || express.rps <= 0) return 'read-by-id target (generic engine >= 60% of bare Express at 10 connections): not measured';
  const ratio = (100 * fhir.rps) / express.rps;
  return `read-by-id target (generic engine >= 60% of bare Express at 10 connections): ${ratio.toFixed(1)}% — ${ratio >= 60 ? 'met' : 'NOT met'}`;
}

/**
 * The cost of the server defaults against the generic engine, per scenario measured on both: `read`
 * (+ SMART token verification and scope check) and `create` (+ trace and NHS Number allocation, + the
 * token check). Per request: the change in wall time per request at the measured concurrency
 * (1000/req/s, i.e. the server's service time when it is the bottleneck) and in server CPU.
 */
export function formatDefaultsCost(results: readonly Measurement[]): string {
  const rows: string[][] = [];
  for (const { scenario: s, connections: c } of runsOf(results)) {
    const g = findMeasurement(results, s, 'fhir', c);
    const d = findMeasurement(results, s, 'fhir-defaults', c);
    if (!g || !d || g.rps <= 0 || d.rps <= 0) continue;
    rows.push([
      s,
      String(c),
      fixed(g.rps, 0),
      fixed(d.rps, 0),
      `${fixed((100 * d.rps) / g.rps, 1)}%`,
      `${fixed((100 * (g.rps - d.rps)) / g.rps, 1)}%`,
      fixed(1000 / d.rps - 1000 / g.rps, 3),
      fixed(cpuMsPerRequest(d) - cpuMsPerRequest(g), 3),
    ]);
  }
  if (rows.length === 0) return 'server defaults vs generic engine: not measured';
  const header = ['scenario', 'conns', 'generic req/s', 'defaults req/s', 'defaults / generic', 'throughput lost', '+ ms/req (wall)', '+ server CPU ms/req'];
  return table(header, rows, new Set(header.map((_, i) => i).filter((i) => i > 1)));
}
