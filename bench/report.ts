/**
 * Reporting of the FHIR R4 RESTful benchmark (http.html interactions read, create, update): a
 * Markdown-compatible table of throughput, latency percentiles, errors and CPU per (scenario,
 * target), then the throughput ratios FHIR/Express, FHIR/node and Express/node per scenario.
 */
import type { Measurement, ScenarioName } from './load';

const TARGET_LABEL: Record<Measurement['target'], string> = { node: 'bare node:http', express: 'bare Express 5', fhir: 'FHIR server', 'fhir-memory': 'FHIR (:memory:)' };

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
  const odd = Object.entries(m.statuses).filter(([code]) => !code.startsWith('2'));
  const codes = odd.map(([code, n]) => `${code}×${n}`).join(' ');
  return codes ? `${m.non2xx} (${codes})` : String(m.non2xx);
}

export function formatResults(results: readonly Measurement[]): string {
  const ranged = results.some((m) => m.rpsRange !== undefined);
  const header = ['scenario', 'target', 'req/s', ...(ranged ? ['req/s range'] : []), 'p50 ms', 'p95 ms', 'p99 ms', 'requests', 'errors', 'non-2xx', 'server CPU', 'loadgen CPU', 'other CPU'];
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
    `${fixed(m.loadgenCpu, 0)}%`,
    `${fixed(m.otherCpu, 0)}%`,
  ]);
  const left = new Set(['scenario', 'target', 'non-2xx']);
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
