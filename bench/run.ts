/**
 * `npm run bench`: throughput and latency of the FHIR R4 RESTful read, create and update
 * interactions (http.html) on Patient, against the real server over a temporary SQLite file, next to
 * the same load against a bare `node:http` server and a bare Express 5 app answering the same bytes
 * from memory — all measured in the same run, each server in its own child process.
 *
 * Two configurations of the FHIR server (bench/fhir.ts):
 * - `FHIR server` — the generic engine: AUTH_MODE=off, PATIENT_ID_POLICY=server (every scenario);
 * - `FHIR defaults` — the server's defaults: AUTH_MODE=smart and PATIENT_ID_POLICY=nhs-number, for
 *   `read` (every request carries a SMART access token `user/*.cruds` signed by the built-in
 *   authorization server's key: token verification + scope check) and `create` (a new person without
 *   an NHS Number per request: demographic trace + NHS Number allocation, plus the token check).
 *   Compared with the generic rows of the same run in a "server defaults vs generic" table.
 *
 * Settings (environment, or `--quick` for a short smoke run):
 *   BENCH_SECONDS          measured seconds per scenario and target   (default 10; --quick 2)
 *   BENCH_WARMUP_SECONDS   discarded warm-up seconds before each run  (default 3; --quick 1)
 *   BENCH_CONNECTIONS      concurrent keep-alive connections of writes (default 10)
 *   BENCH_READ_CONNECTIONS comma-separated connection counts reads are measured at (default 10,32)
 *   BENCH_ROUNDS           rounds of every (scenario, target) run, interleaved; the best round by
 *                          req/s is reported, with the range (default 1). Best, not median: on a
 *                          shared machine interference only ever slows a run down.
 *   BENCH_PATIENTS         Patients seeded before measuring           (default 1000; --quick 200)
 *   BENCH_SCENARIOS        comma-separated subset of read,update,create (default all three)
 *   BENCH_JSON             file to write the raw measurements to as JSON (optional)
 *   BENCH_DEFAULTS=0       skip the server-defaults target (default: measured for read, create and update)
 *   BENCH_MEMORY_STORE=1   also measure the FHIR server over `:memory:` (no disk I/O: separates
 *                          the CPU cost of a write from its durability cost)
 *   AUDIT, SQLITE_CHECKPOINT, SQLITE_APPEND_WRITER, SQLITE_WRITES
 *                          passed to the FHIR servers when set (bench/fhir.ts PASSED_SETTINGS), to
 *                          compare one setting's values; the servers' defaults otherwise
 *
 * Exits non-zero only when the harness fails (a server does not start, seeding fails, a baseline
 * answers other bytes); slow figures are reported, never fatal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeBodies } from './baselines';
import { spawnTarget, type Target } from './child';
import { mintAccessToken, passedSettings, startFhirTarget } from './fhir';
import { measure, percentile, type LoadOptions, type Measurement, type Scenario, type ScenarioName } from './load';
import { formatDefaultsCost, formatRatios, formatResults, readTargetLine } from './report';
import { formatTargets } from './targets';
import { checkNhsAllocation, checkTarget, createScenario, fetchBodies, nhsCreateScenario, readScenario, seedPatients, updateScenario } from './workload';

interface Settings extends LoadOptions {
  patients: number;
  rounds: number;
  scenarios: ScenarioName[];
  jsonOut: string | undefined;
  memoryStore: boolean;
  /** Measure the server defaults (SMART + NHS Number policy) for read, create and update. */
  defaults: boolean;
  /** Connection counts the read scenario is measured at (writes use `connections`). */
  readConnections: number[];
  quick: boolean;
}

class UsageError extends Error {}

function positiveInt(name: string, def: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`${name}=${JSON.stringify(raw)} must be an integer >= ${min}`);
  return Number(raw);
}

/** The scopes of the bench's SMART access token: every interaction on every type, as a user. */
const BENCH_SCOPE = 'user/*.cruds';
/** Scenarios measured on the server defaults (update PUTs each seeded Patient under its NHS Number id). */
const DEFAULTS_SCENARIOS: readonly ScenarioName[] = ['read', 'create', 'update'];

function connectionList(name: string, def: number[]): number[] {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  const list = raw.split(',').map((x) => x.trim());
  if (list.some((x) => !/^\d+$/.test(x) || Number(x) < 1)) throw new UsageError(`${name}=${JSON.stringify(raw)} must be a comma-separated list of integers >= 1`);
  return [...new Set(list.map(Number))];
}

function flag(name: string, def: boolean): boolean {
  const raw = process.env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new UsageError(`${name}=${JSON.stringify(raw)} must be 1 or 0`);
}

function readSettings(argv: readonly string[]): Settings {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length > 0) throw new UsageError(`unknown argument(s): ${unknown.join(' ')} (only --quick is accepted)`);
  const quick = argv.includes('--quick');
  const all: ScenarioName[] = ['read', 'update', 'create'];
  const rawScenarios = process.env['BENCH_SCENARIOS']?.trim();
  const scenarios = rawScenarios ? rawScenarios.split(',').map((s) => s.trim()) : all;
  for (const s of scenarios) if (!(all as string[]).includes(s)) throw new UsageError(`BENCH_SCENARIOS: unknown scenario ${JSON.stringify(s)} (read, update, create)`);
  return {
    quick,
    seconds: positiveInt('BENCH_SECONDS', quick ? 2 : 10),
    warmupSeconds: positiveInt('BENCH_WARMUP_SECONDS', quick ? 1 : 3, 0),
    connections: positiveInt('BENCH_CONNECTIONS', 10),
    patients: positiveInt('BENCH_PATIENTS', quick ? 200 : 1000),
    rounds: positiveInt('BENCH_ROUNDS', 1),
    scenarios: scenarios as ScenarioName[],
    jsonOut: process.env['BENCH_JSON']?.trim() || undefined,
    memoryStore: flag('BENCH_MEMORY_STORE', false),
    defaults: flag('BENCH_DEFAULTS', true),
    readConnections: connectionList('BENCH_READ_CONNECTIONS', [10, 32]),
  };
}

/** The PASSED_SETTINGS this run gives the FHIR servers ("none": their defaults). */
function describePassedSettings(): string {
  const set = Object.entries(passedSettings()).map(([name, value]) => `${name}=${value}`);
  return set.length > 0 ? set.join(' ') : 'none (the defaults)';
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `node ${process.version} on ${os.type()} ${os.release()} (${os.arch()})`,
    `${os.availableParallelism()} CPU(s): ${cpus[0]?.model ?? 'unknown'}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ].join('\n');
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Latency of a 4 KiB append + fdatasync in `dir`: what one durable commit costs at least. */
function fsyncProbe(dir: string, rounds = 50): { p50: number; p90: number } {
  const file = path.join(dir, 'fsync.probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4096, 0x61);
  const times = new Float64Array(rounds);
  try {
    for (let i = 0; i < rounds; i++) {
      fs.writeSync(fd, block);
      const t0 = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  times.sort();
  return { p50: percentile(times, 50), p90: percentile(times, 90) };
}

/** Per (scenario, target), the best round by req/s, annotated with the range over the rounds. */
function bestRounds(all: readonly Measurement[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of all) {
    const key = `${m.scenario} ${m.connections} ${m.target}`;
    const g = groups.get(key) ?? [];
    g.push(m);
    groups.set(key, g);
  }
  return [...groups.values()].flatMap((g) => {
    const sorted = [...g].sort((a, b) => a.rps - b.rps);
    const best = sorted[sorted.length - 1];
    if (!best) return [];
    return [g.length > 1 ? { ...best, rpsRange: [sorted[0]?.rps ?? best.rps, best.rps] as [number, number] } : best];
  });
}

const NOISY_OTHER_CPU = 25;

function noiseWarning(results: readonly Measurement[]): string[] {
  const noisy = results.filter((m) => m.otherCpu >= NOISY_OTHER_CPU);
  if (noisy.length === 0) return [];
  return [
    '',
    `WARNING: other processes used >= ${NOISY_OTHER_CPU}% of a core during ${noisy.map((m) => `${m.scenario}/${m.target}`).join(', ')}; those rows are pessimistic (re-run on a quiet machine or with BENCH_ROUNDS=3).`,
  ];
}

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = readSettings(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      log(`bench: ${e.message}`);
      return 2;
    }
    throw e;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-bench-'));
  const sqlitePath = path.join(dir, 'fhir.sqlite');
  const targets: Target[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(targets.map((t) => t.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    log('bench: interrupted; stopping servers and removing the temporary database');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    log(machine());
    log(`settings: ${settings.seconds} s measured + ${settings.warmupSeconds} s warm-up per run, ${settings.connections} connections, ${settings.patients} seeded Patients, scenarios ${settings.scenarios.join(',')}${settings.quick ? ' (--quick)' : ''}`);
    log(`temporary database: ${sqlitePath}`);

    const fsync = fsyncProbe(dir);
    const fsyncLine = `fdatasync of 4 KiB on the database's file system (${path.dirname(sqlitePath)}): p50 ${fsync.p50.toFixed(2)} ms, p90 ${fsync.p90.toFixed(2)} ms`;
    log(fsyncLine);

    const fhir = await startFhirTarget('fhir', sqlitePath, dir);
    targets.push(fhir);
    const fhirTargets = [fhir];
    if (settings.memoryStore) {
      const mem = await startFhirTarget('fhir-memory', sqlitePath, dir);
      targets.push(mem);
      fhirTargets.push(mem);
    }
    // The server defaults get their own data directory (SQLite file, signing key, client registry).
    const headersByTarget = new Map<Target, Record<string, string>>();
    let defaults: Target | undefined;
    if (settings.defaults && settings.scenarios.some((s) => DEFAULTS_SCENARIOS.includes(s))) {
      const defaultsDir = path.join(dir, 'defaults');
      fs.mkdirSync(defaultsDir);
      const defaultsSqlite = path.join(defaultsDir, 'fhir.sqlite');
      // Minted before the server starts: this creates the key file the server then loads.
      const token = mintAccessToken(defaultsSqlite, defaultsDir, BENCH_SCOPE);
      defaults = await startFhirTarget('fhir-defaults', defaultsSqlite, defaultsDir);
      targets.push(defaults);
      fhirTargets.push(defaults);
      headersByTarget.set(defaults, { authorization: `Bearer ${token}` });
      log(`fhir-defaults: AUTH_MODE=smart, PATIENT_ID_POLICY=nhs-number; SMART access token (${BENCH_SCOPE}, RS256, ${token.length} bytes) minted with the built-in authorization server's key`);
    }
    const idsByTarget = new Map<Target, string[]>();
    let seedSeconds = 0;
    for (const t of fhirTargets) {
      log(`${t.kind} server ready at ${t.url} (pid ${t.pid}); seeding ${settings.patients} Patients...`);
      const seedStart = Date.now();
      idsByTarget.set(t, await seedPatients(t, settings.patients, 8, headersByTarget.get(t)));
      const took = (Date.now() - seedStart) / 1000;
      if (t === fhir) seedSeconds = took;
      log(`  seeded in ${took.toFixed(1)} s (${(settings.patients / took).toFixed(0)} creates/s, 8 in flight)`);
    }
    const ids = idsByTarget.get(fhir) ?? [];
    const bodies = await fetchBodies(fhir, ids);
    const sizes = [...bodies.values()].map((b) => b.length);
    const meanSize = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    log(`Patient JSON as stored: ${Math.min(...sizes)}-${Math.max(...sizes)} bytes, mean ${meanSize.toFixed(0)}`);

    const bodiesFile = path.join(dir, 'bodies.json');
    writeBodies(bodiesFile, bodies);
    const node = await spawnTarget('node', [bodiesFile]);
    targets.push(node);
    const express = await spawnTarget('express', [bodiesFile]);
    targets.push(express);
    for (const t of [node, express]) idsByTarget.set(t, ids);
    const sampleId = ids[0];
    if (sampleId === undefined) throw new Error('no Patient was seeded');
    for (const t of [node, express]) await checkTarget(t, sampleId, bodies.get(sampleId));
    for (const t of fhirTargets) await checkTarget(t, idsByTarget.get(t)?.[0] ?? sampleId, undefined, headersByTarget.get(t));
    if (defaults) {
      // A token-less read must be refused, or the defaults rows would not measure the token check.
      const res = await fetch(`${defaults.url}/Patient/${idsByTarget.get(defaults)?.[0] ?? sampleId}`);
      await res.arrayBuffer();
      if (res.status !== 401) throw new Error(`fhir-defaults: a read without a token answered ${res.status}, expected 401 (is AUTH_MODE=smart the default?)`);
      const nhs = await checkNhsAllocation(defaults, settings.patients + 2_000_000, headersByTarget.get(defaults));
      log(`fhir-defaults: POST /Patient without an NHS Number allocated ${nhs}`);
    }
    log(`baselines ready: node ${node.url}, express ${express.url}`);

    const makeScenario = (name: ScenarioName, t: Target): Scenario => {
      const tIds = idsByTarget.get(t) ?? ids;
      const headers = headersByTarget.get(t);
      if (name === 'read') return readScenario(tIds, 1, headers);
      if (name === 'update') return updateScenario(tIds, 3, headers);
      // The defaults create: new people without an NHS Number (trace + allocation on every create).
      if (t === defaults) return nhsCreateScenario(settings.patients + 1_000_000, headers);
      return createScenario(settings.patients);
    };
    // One scenario object per (scenario, target) for the whole run: the defaults create keeps
    // generating new people across warm-ups and rounds.
    const scenarios = new Map<string, Scenario>();
    const scenarioFor = (name: ScenarioName, t: Target): Scenario => {
      const key = `${name} ${t.kind}`;
      const existing = scenarios.get(key);
      if (existing) return existing;
      const made = makeScenario(name, t);
      scenarios.set(key, made);
      return made;
    };
    const targetsFor = (name: ScenarioName): Target[] => [node, express, ...fhirTargets.filter((t) => t !== defaults || DEFAULTS_SCENARIOS.includes(name))];
    const all: Measurement[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      for (const name of settings.scenarios) {
        for (const connections of name === 'read' ? settings.readConnections : [settings.connections]) {
          for (const target of targetsFor(name)) {
            log(`${settings.rounds > 1 ? `round ${round}/${settings.rounds}: ` : ''}running ${name} (${connections} connections) against ${target.kind}...`);
            const m = await measure(target, scenarioFor(name, target), { ...settings, connections });
            log(`  ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, non-2xx ${m.non2xx}, errors ${m.errors}, other CPU ${m.otherCpu.toFixed(0)}%`);
            all.push(m);
          }
        }
      }
    }
    const results = bestRounds(all);

    const dbBytes = fileSize(sqlitePath);
    const walBytes = fileSize(`${sqlitePath}-wal`);
    const out = [
      '',
      `FHIR server benchmark — ${settings.seconds} s per run after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections for writes, ${settings.readConnections.join(' and ')} for reads, ${settings.patients} seeded Patients (mean ${meanSize.toFixed(0)} bytes)`,
      machine(),
      `FHIR server settings from the environment: ${describePassedSettings()}`,
      '',
      formatResults(results),
      ...noiseWarning(results),
      '',
      'Throughput ratios (req/s):',
      formatRatios(results),
      '',
      readTargetLine(results),
      '',
      `Server defaults (AUTH_MODE=smart with a ${BENCH_SCOPE} token; PATIENT_ID_POLICY=nhs-number, create = trace + NHS Number allocation) vs the generic engine (AUTH_MODE=off, PATIENT_ID_POLICY=server):`,
      formatDefaultsCost(results),
      '',
      'Issue 17 targets (REST; the import and $trace targets: bench/import.ts, bench/spine.ts):',
      formatTargets(results),
      '',
      `seeding ${settings.patients} Patients by POST (8 in flight) took ${seedSeconds.toFixed(1)} s`,
      fsyncLine,
      `SQLite at the end: database ${(dbBytes / 2 ** 20).toFixed(1)} MiB, WAL ${(walBytes / 2 ** 20).toFixed(1)} MiB`,
      '',
    ].join('\n');
    process.stdout.write(out);
    if (settings.jsonOut) {
      fs.writeFileSync(settings.jsonOut, JSON.stringify({ settings, machine: machine(), meanPatientBytes: meanSize, seedSeconds, fsync, dbBytes, walBytes, results, allRounds: all }, null, 2));
      log(`raw measurements written to ${settings.jsonOut}`);
    }
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: harness error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
