/**
 * Reporting of the FHIR R4 RESTful benchmark (http.html interactions read, create, update): a
 * Markdown-compatible table of throughput, latency percentiles, errors and CPU per (scenario,
 * target), then the throughput ratios FHIR/Express, FHIR/node and Express/node per scenario, and
 * the cost of the server defaults (SMART token check on read; NHS Number trace + allocation on create)
 * against the generic engine.
 */
import type { Measurement, ScenarioName } from './load';

const TARGET_LABEL: Record<Measurement['target'], string> = { node: 'bare node:http', express: 'bare Express 5', fhir: 'FHIR server', 'fhir-memory': 'FHIR (:memory:)', 'fhir-defaults': 'FHIR defaults' };

function fixed(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAlign: ReadonlySet<number>): string {
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

/** Server CPU time per request in ms (server CPU share of one core / req/s). */
export function cpuMsPerRequest(m: Measurement): number {
  return m.rps > 0 ? (10 * m.serverCpu) / m.rps : Number.NaN;
}

export function formatResults(results: readonly Measurement[]): string {
  const ranged = results.some((m) => m.rpsRange !== undefined);
  const header = ['scenario', 'target', 'req/s', ...(ranged ? ['req/s range'] : []), 'p50 ms', 'p95 ms', 'p99 ms', 'requests', 'errors', 'non-2xx / other', 'server CPU', 'CPU ms/req', 'loadgen CPU', 'other CPU'];
  const rows = results.map((m) => [
    m.scenario,
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
    `${fixed(m.loadgenCpu, 0)}%`,
    `${fixed(m.otherCpu, 0)}%`,
  ]);
  const left = new Set(['scenario', 'target', 'non-2xx / other']);
  return table(header, rows, new Set(header.map((h, i) => (left.has(h) ? -1 : i))));
}

export function formatRatios(results: readonly Measurement[]): string {
  const scenarios = [...new Set(results.map((m) => m.scenario))];
  const withMemory = results.some((m) => m.target === 'fhir-memory');
  const rps = (s: ScenarioName, t: Measurement['target']): number => results.find((m) => m.scenario === s && m.target === t)?.rps ?? Number.NaN;
  const pct = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '-');
  const header = ['scenario', 'FHIR / Express', 'FHIR / node', 'Express / node', ...(withMemory ? ['FHIR / FHIR(:memory:)', 'FHIR(:memory:) / Express'] : [])];
  const rows = scenarios.map((s) => [
    s,
    pct(rps(s, 'fhir'), rps(s, 'express')),
    pct(rps(s, 'fhir'), rps(s, 'node')),
    pct(rps(s, 'express'), rps(s, 'node')),
    ...(withMemory ? [pct(rps(s, 'fhir'), rps(s, 'fhir-memory')), pct(rps(s, 'fhir-memory'), rps(s, 'express'))] : []),
  ]);
  return table(header, rows, new Set(header.map((_, i) => i).filter((i) => i > 0)));
}

/** One line on the read-by-id target (FHIR at least 60% of bare Express); informative, never fatal. */
export function readTargetLine(results: readonly Measurement[]): string {
  const fhir = results.find((m) => m.scenario === 'read' && m.target === 'fhir');
  const express = results.find((m) => m.scenario === 'read' && m.target === 'express');
  if (!fhir || !express || express.rps <= 0) return 'read-by-id target (>= 60% of bare Express): not measured';
  const ratio = (100 * fhir.rps) / express.rps;
  return `read-by-id target (>= 60% of bare Express): ${ratio.toFixed(1)}% — ${ratio >= 60 ? 'met' : 'NOT met'}`;
}

/**
 * The cost of the server defaults against the generic engine, per scenario measured on both: `read`
 * (+ SMART token verification and scope check) and `create` (+ trace and NHS Number allocation, + the
 * token check). Per request: the change in wall time per request at the measured concurrency
 * (1000/req/s, i.e. the server's service time when it is the bottleneck) and in server CPU.
 */
export function formatDefaultsCost(results: readonly Measurement[]): string {
  const find = (s: ScenarioName, t: Measurement['target']): Measurement | undefined => results.find((m) => m.scenario === s && m.target === t);
  const rows: string[][] = [];
  for (const s of ['read', 'create'] as const) {
    const g = find(s, 'fhir');
    const d = find(s, 'fhir-defaults');
    if (!g || !d || g.rps <= 0 || d.rps <= 0) continue;
    rows.push([
      s,
      fixed(g.rps, 0),
      fixed(d.rps, 0),
      `${fixed((100 * d.rps) / g.rps, 1)}%`,
      `${fixed((100 * (g.rps - d.rps)) / g.rps, 1)}%`,
      fixed(1000 / d.rps - 1000 / g.rps, 3),
      fixed(cpuMsPerRequest(d) - cpuMsPerRequest(g), 3),
    ]);
  }
  if (rows.length === 0) return 'server defaults vs generic engine: not measured';
  const header = ['scenario', 'generic req/s', 'defaults req/s', 'defaults / generic', 'throughput lost', '+ ms/req (wall)', '+ server CPU ms/req'];
  return table(header, rows, new Set(header.map((_, i) => i).filter((i) => i > 0)));
}
