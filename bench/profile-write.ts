/**
 * Where a write's CPU goes (issue 17; docs/performance.md "Write path profile"): N Patients are
 * stored (directly, indexed as on write) in a durable SQLite file, then M writes run through the
 * engine's router in process, 10 at a time, with the server's DEFAULT configuration (UK Core
 * validation, PATIENT_ID_POLICY=nhs-number, group commit on a file; the HTTP layer and the token
 * check are measured by bench/run.ts, not here). Writes: `create` of a new person without an NHS
 * Number (duplicate trace + allocation) or `update` of a stored Patient. A baseline is measured in
 * the same run: the same creates with `PATIENT_ID_POLICY=server` and `REQUIRED_PROFILES=` (no
 * trace, no allocation, base validation only), so the table shows what the NHS rules and UK Core
 * cost beside the engine itself. BENCH_BASELINE=0 / BENCH_DEFAULTS=0 run one side only (for a
 * profile of it).
 *
 * Run under the V8 profiler to see the functions:
 *   BENCH_BASELINE=0 node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile-write.js [stored=1000] [writes=1000] [create|update]
 *   node dist/bench/cpu-profile-summary.js /tmp/prof/*.cpuprofile
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { Patient, Resource } from 'fhir/r4';
import { loadConfig } from '../src/config/config';
import { topLevelContext, type FhirServices } from '../src/fhir/context';
import { route } from '../src/fhir/router';
import { silentLogger } from '../src/logging';
import { buildServices, initServices } from '../src/main';
import { passedSettings } from './fhir';
import { bytesWritten } from './io';
import { makePatient } from './patients';
import { patientWithoutNhsNumber } from './workload';

const CONCURRENCY = 10;

interface Run {
  label: string;
  /** Commits during the run: the group commit's (src/store/sqlite/group-commit.ts) and the writer thread's batches (ADR 0045). */
  groups?: { groups: number; units: number; batches: number };
  writes: number;
  ms: number;
  cpuMs: number;
  /** Time the main thread's event loop was busy (event-loop utilisation), the rest ran on other threads. */
  mainMs: number;
  statuses: Map<number, number>;
  latencies: number[];
  /** Bytes this process passed to write system calls during the run (WAL, checkpoints), when Linux tells. */
  writtenBytes?: number;
}

async function open(dir: string, env: Record<string, string>): Promise<FhirServices> {
  // The server settings of bench/fhir.ts PASSED_SETTINGS from the environment (the server's defaults otherwise; AUDIT off unless set).
  const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', AUTH_MODE: 'off', SEED_ON_EMPTY: '0', AUDIT: 'off', ...passedSettings(), ...env });
  const services = buildServices(config, silentLogger());
  await initServices(services);
  return services;
}

/** N stored Patients under their NHS Numbers, written straight to the store (indexed as on write). */
async function preload(services: FhirServices, n: number): Promise<string[]> {
  const ids: string[] = [];
  const { store, indexer } = services;
  for (let start = 0; start < n; start += 1000) {
    await store.withTransaction(async (tx) => {
      for (let i = start; i < Math.min(n, start + 1000); i++) {
        const p = makePatient(i) as Patient;
        const id = p.identifier![0]!.value!;
        const r = { ...p, id, meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] } } as Resource;
        if (ids.includes(id)) continue;
        ids.push(id);
        await tx.write({ kind: 'create', resourceType: 'Patient', id, resource: r, index: indexer.extract(r), expectedVersion: 0 });
      }
    });
  }
  return ids;
}

const WARM_UP = 200;

async function drive(services: FhirServices, label: string, writes: number, next: (k: number) => { method: 'POST' | 'PUT'; path: string; body: unknown }): Promise<Run> {
  // Warm-up (JIT, caches), not counted: the writes after the measured ones' inputs.
  for (let w = 0; w < WARM_UP; w++) {
    const req = next(writes + w);
    await route({ method: req.method, path: req.path, query: [], headers: {}, body: req.body, contentType: 'application/fhir+json', requestId: randomUUID() }, topLevelContext(services));
  }
  const statuses = new Map<number, number>();
  const latencies: number[] = [];
  let k = 0;
  const w0 = bytesWritten();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (k < writes) {
      const req = next(k++);
      const s = performance.now();
      const result = await route({ method: req.method, path: req.path, query: [], headers: {}, body: req.body, contentType: 'application/fhir+json', requestId: randomUUID() }, topLevelContext(services));
      latencies.push(performance.now() - s);
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    }
  };
  const commits = (): { groups: number; units: number; batches: number } | undefined => {
    const store = services.store as { groupStats?: { groups: number; units: number }; writerThreadBatches?: number };
    return store.groupStats ? { groups: store.groupStats.groups, units: store.groupStats.units, batches: store.writerThreadBatches ?? 0 } : undefined;
  };
  const g0 = commits();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainMs = performance.eventLoopUtilization(elu0).active;
  const w1 = bytesWritten();
  const g1 = commits();
  const groups = g0 && g1 ? { groups: g1.groups - g0.groups, units: g1.units - g0.units, batches: g1.batches - g0.batches } : undefined;
  return { label, writes, ms, cpuMs: (cpu.user + cpu.system) / 1000, mainMs, statuses, latencies, ...(groups ? { groups } : {}), ...(w0 !== undefined && w1 !== undefined ? { writtenBytes: w1 - w0 } : {}) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function row(r: Run): string {
  const st = [...r.statuses].map(([s, n]) => `${s}×${n}`).join(' ');
  const g = r.groups ? `${r.groups.groups} groups (${(r.groups.units / Math.max(1, r.groups.groups)).toFixed(2)} units each), ${r.groups.batches} thread batches` : '-';
  const kb = r.writtenBytes !== undefined ? (r.writtenBytes / 1024 / r.writes).toFixed(0) : '-';
  return `| ${r.label} | ${r.writes} | ${((r.writes / r.ms) * 1000).toFixed(0)} | ${pct(r.latencies, 50).toFixed(2)} | ${pct(r.latencies, 99).toFixed(2)} | ${(r.cpuMs / r.writes).toFixed(3)} | ${(r.mainMs / r.writes).toFixed(3)} | ${kb} | ${g} | ${st} |`;
}

async function main(): Promise<void> {
  const stored = Number(process.argv[2] ?? 1000);
  const writes = Number(process.argv[3] ?? 1000);
  const kind = process.argv[4] === 'update' ? 'update' : 'create';
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'profile-write-'));
  const runs: Run[] = [];
  try {
    // The baseline first: the engine alone (no NHS rules, base validation). BENCH_BASELINE=0 skips it
    // (a CPU profile of the defaults alone).
    if (process.env['BENCH_BASELINE'] !== '0') {
      const baseDir = path.join(root, 'base');
      fs.mkdirSync(baseDir);
      const base = await open(baseDir, { PATIENT_ID_POLICY: 'server', REQUIRED_PROFILES: '' });
      await preload(base, stored);
      runs.push(await drive(base, 'baseline: create, engine only (PATIENT_ID_POLICY=server, base validation)', writes, (k) => ({ method: 'POST', path: 'Patient', body: patientWithoutNhsNumber(stored + k, 1) })));
      await base.store.close();
    }

    if (process.env['BENCH_DEFAULTS'] === '0') return;
    const defDir = path.join(root, 'defaults');
    fs.mkdirSync(defDir);
    const defaults = await open(defDir, {});
    const ids = await preload(defaults, stored);
    if (kind === 'create') {
      runs.push(await drive(defaults, 'create of a new person, defaults (trace + allocation, UK Core)', writes, (k) => ({ method: 'POST', path: 'Patient', body: patientWithoutNhsNumber(stored + k, 1) })));
    } else {
      runs.push(await drive(defaults, 'update of a stored Patient, defaults (UK Core)', writes, (k) => {
        const n = k % ids.length;
        const p = { ...makePatient(n), id: ids[n]!, meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] } } as Patient;
        p.telecom = [{ system: 'phone', value: `0113 ${String(100000 + k).slice(-6)}`, use: 'home' }];
        return { method: 'PUT', path: `Patient/${ids[n]!}`, body: p };
      }));
    }
    await defaults.store.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    print(stored, writes, runs);
  }
}

function print(stored: number, writes: number, runs: readonly Run[]): void {
  console.log(`stored Patients: ${stored}; writes per run: ${writes}; ${CONCURRENCY} in flight; in process (no HTTP, no token); settings ${JSON.stringify(passedSettings())}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| run | writes | writes/s | p50 ms | p99 ms | CPU ms/write | main-thread ms/write | KB written/write | commits | statuses |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of runs) console.log(row(r));
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
