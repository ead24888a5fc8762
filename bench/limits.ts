/**
 * `npm run bench:limits`: does long work freeze the server? (FHIR R4 http.html "transaction"
 * and "create"; the limits of docs/limits.md.) Over real HTTP, against the real server in a child
 * process over a temporary SQLite file, a prober sends `GET [base]/metadata` one request at a time
 * (a pause of `BENCH_PROBE_GAP_MS` between answers) and records each latency:
 *
 * 1. baseline: no other load, for `BENCH_BASELINE_SECONDS`;
 * 2. during a maximal allowed transaction: one transaction Bundle of `MAX_BUNDLE_ENTRIES` entries
 *    (one Patient and Observations referring to it by `urn:uuid`, as Synthea writes them), probing
 *    from the moment it is sent until it is answered;
 * 3. during a maximal allowed single resource: one `POST /Patient` with `MAX_ARRAY_LENGTH` names,
 *    as close to `MAX_RESOURCE_ELEMENTS` JSON values as the names allow.
 *
 * The sizes are the server's defaults (src/config/config.ts), so the figures describe what any
 * client may make the server do; `BENCH_LIMITS_ENTRIES`, `BENCH_LIMITS_NAMES`, `BENCH_LIMITS_GIVEN`
 * override them (e.g. to measure a server without limits). Each round (`BENCH_LIMITS_ROUNDS`,
 * default 2) runs each write twice: alone (its duration without probes competing for the server's
 * CPU: each `GET /metadata` builds the CapabilityStatement, about 10 ms of CPU), then probed; every
 * round's figures are printed. The prober and the server each have their
 * own process (and core): a stall of the prober's answers is the server's event loop blocking.
 *
 * Exits non-zero only when the harness fails (server does not start, a write is not answered 2xx).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, BundleEntry, Observation, Patient } from 'fhir/r4';
import { loadConfig } from '../src/config/config';
import type { Target } from './child';
import { startFhirTarget } from './fhir';
import { percentile } from './load';
import { makePatient } from './patients';

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

function positiveInt(name: string, def: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${name}=${JSON.stringify(raw)} must be an integer >= ${min}`);
  return Number(raw);
}

interface Settings {
  entries: number;
  names: number;
  given: number;
  rounds: number;
  baselineSeconds: number;
  probeGapMs: number;
}

/** The number of JSON values (objects, arrays, primitives) of a parsed JSON document. */
function jsonValues(v: unknown): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    n++;
    if (Array.isArray(x)) for (const c of x) stack.push(c);
    else if (x !== null && typeof x === 'object') for (const c of Object.values(x)) stack.push(c);
  }
  return n;
}

function readSettings(): Settings {
  // The server's default limits (the bench server runs with them: bench/fhir.ts sets none).
  const { limits } = loadConfig({});
  const names = positiveInt('BENCH_LIMITS_NAMES', limits.maxArrayLength);
  // Each name is { use, family, given: [g1..gk] }: 4 + k values; the rest of the Patient about 300.
  const fit = Math.floor((limits.maxResourceElements - 400) / names) - 4;
  return {
    entries: positiveInt('BENCH_LIMITS_ENTRIES', limits.maxBundleEntries),
    names,
    given: positiveInt('BENCH_LIMITS_GIVEN', Math.max(1, fit)),
    rounds: positiveInt('BENCH_LIMITS_ROUNDS', 2),
    baselineSeconds: positiveInt('BENCH_BASELINE_SECONDS', 5),
    probeGapMs: positiveInt('BENCH_PROBE_GAP_MS', 5, 0),
  };
}

/** A transaction of one Patient and `entries - 1` Observations referring to it by urn:uuid. */
export function maximalTransaction(entries: number): Bundle {
  const patientUrl = 'urn:uuid:0b7e4a52-0000-4000-8000-000000000000';
  const out: BundleEntry[] = [{ fullUrl: patientUrl, resource: makePatient(1), request: { method: 'POST', url: 'Patient' } }];
  for (let i = 1; i < entries; i++) {
    const obs: Observation = {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
      subject: { reference: patientUrl },
      effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
      issued: new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString(),
      valueQuantity: { value: 50 + (i % 60), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    out.push({ fullUrl: `urn:uuid:0b7e4a52-0000-4000-8000-${String(i).padStart(12, '0')}`, resource: obs, request: { method: 'POST', url: 'Observation' } });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry: out };
}

/** The bench Patient with `names` names of `given` given names each. */
export function maximalPatient(names: number, given: number): Patient {
  const p = makePatient(2);
  const official = p.name![0]!;
  p.name = [official, ...Array.from({ length: names - 1 }, (_, i) => ({ use: 'old' as const, family: `Former${i}`, given: Array.from({ length: given }, (_, g) => `Given${i}x${g}`) }))];
  return p;
}

interface ProbeStats {
  probes: number;
  p50: number;
  p99: number;
  max: number;
}

/** Probes GET /metadata one at a time until `until` resolves (or `seconds` pass); returns the latencies. */
async function probe(target: Target, gapMs: number, until: Promise<unknown> | number): Promise<ProbeStats> {
  const latencies: number[] = [];
  let done = false;
  const stop = typeof until === 'number' ? new Promise<void>((r) => setTimeout(r, until * 1000)) : until.then(() => undefined, () => undefined);
  void stop.then(() => {
    done = true;
  });
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(`${target.url}/metadata`, { headers: { accept: 'application/fhir+json' } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET /metadata answered ${res.status}`);
    latencies.push(performance.now() - t0);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  const sorted = Float64Array.from(latencies).sort();
  return { probes: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

async function post(target: Target, pathBelowBase: string, body: string, expected: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${target.url}${pathBelowBase}`, { method: 'POST', headers: JSON_HEADERS, body });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`POST ${pathBelowBase} answered ${res.status} (expected ${expected}): ${text.slice(0, 1500)}`);
  return performance.now() - t0;
}

const fx = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');

function row(label: string, s: ProbeStats, writeMs?: number): string {
  return `| ${label} | ${s.probes} | ${fx(s.p50)} | ${fx(s.p99)} | ${fx(s.max)} | ${writeMs === undefined ? '-' : fx(writeMs)} |`;
}

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

async function main(): Promise<number> {
  const settings = readSettings();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-limits-'));
  let target: Target | undefined;
  const cleanup = async (): Promise<void> => {
    await target?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const cpus = os.cpus();
    log(`node ${process.version}; ${os.availableParallelism()} CPU(s): ${cpus[0]?.model ?? 'unknown'}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    target = await startFhirTarget('fhir', path.join(dir, 'fhir.sqlite'), dir);
    const bundle = JSON.stringify(maximalTransaction(settings.entries));
    const patient = maximalPatient(settings.names, settings.given);
    const patientJson = JSON.stringify(patient);
    log(`transaction: ${settings.entries} entries, ${(bundle.length / 1e6).toFixed(2)} MB; Patient: ${settings.names} names x ${settings.given} given, ${jsonValues(patient)} JSON values, ${(patientJson.length / 1e6).toFixed(2)} MB`);
    // Warm-up: the first requests compile validators and prepare statements.
    await post(target, '', JSON.stringify(maximalTransaction(10)), 200);
    await post(target, '/Patient', JSON.stringify(makePatient(3)), 201);
    await probe(target, settings.probeGapMs, 1);

    const lines = ['| GET /metadata latency (ms) | probes | p50 | p99 | max | write took (ms) |', '|---|---:|---:|---:|---:|---:|'];
    lines.push(row('baseline (no load)', await probe(target, settings.probeGapMs, settings.baselineSeconds)));
    const none: ProbeStats = { probes: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
    for (let round = 1; round <= settings.rounds; round++) {
      // The write alone first (no probes competing for the server's CPU), then the same write probed.
      lines.push(row(`${settings.entries}-entry transaction alone (round ${round})`, none, await post(target, '', bundle, 200)));
      const tx = post(target, '', bundle, 200);
      const txStats = await probe(target, settings.probeGapMs, tx);
      lines.push(row(`during a ${settings.entries}-entry transaction (round ${round})`, txStats, await tx));
      lines.push(row(`${settings.names}-name Patient create alone (round ${round})`, none, await post(target, '/Patient', patientJson, 201)));
      const one = post(target, '/Patient', patientJson, 201);
      const oneStats = await probe(target, settings.probeGapMs, one);
      lines.push(row(`during a ${settings.names}-name Patient create (round ${round})`, oneStats, await one));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await cleanup();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`bench:limits failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
