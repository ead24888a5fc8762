/**
 * `npm run bench`: throughput and latency of the FHIR R4 RESTful read, create and update
 * interactions (http.html) on Patient, against the real server over a temporary SQLite file, next to
 * the same load against a bare `node:http` server and a bare Express 5 app answering the same bytes
 * from memory — all measured in the same run, each server in its own child process.
 *
 * Settings (environment, or `--quick` for a short smoke run):
 *   BENCH_SECONDS          measured seconds per scenario and target   (default 10; --quick 2)
 *   BENCH_WARMUP_SECONDS   discarded warm-up seconds before each run  (default 3; --quick 1)
 *   BENCH_CONNECTIONS      concurrent keep-alive connections          (default 10)
 *   BENCH_PATIENTS         Patients seeded before measuring           (default 1000; --quick 200)
 *   BENCH_SCENARIOS        comma-separated subset of read,update,create (default all three)
 *   BENCH_JSON             file to write the raw measurements to as JSON (optional)
 *
 * Exits non-zero only when the harness fails (a server does not start, seeding fails, a baseline
 * answers other bytes); slow figures are reported, never fatal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeBodies } from './baselines';
import { spawnTarget, type Target } from './child';
import { startFhirTarget } from './fhir';
import { measure, type LoadOptions, type Measurement, type Scenario, type ScenarioName } from './load';
import { formatRatios, formatResults, readTargetLine } from './report';
import { checkTarget, createScenario, fetchBodies, readScenario, seedPatients, updateScenario } from './workload';

interface Settings extends LoadOptions {
  patients: number;
  scenarios: ScenarioName[];
  jsonOut: string | undefined;
  quick: boolean;
}

class UsageError extends Error {}

function positiveInt(name: string, def: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`${name}=${JSON.stringify(raw)} must be an integer >= ${min}`);
  return Number(raw);
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
    scenarios: scenarios as ScenarioName[],
    jsonOut: process.env['BENCH_JSON']?.trim() || undefined,
  };
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `node ${process.version} on ${os.type()} ${os.release()} (${os.arch()})`,
    `${os.availableParallelism()} CPU(s): ${cpus[0]?.model ?? 'unknown'}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  ].join('\n');
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
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

    const fhir = await startFhirTarget(sqlitePath, dir);
    targets.push(fhir);
    log(`FHIR server ready at ${fhir.url} (pid ${fhir.pid}); seeding ${settings.patients} Patients...`);
    const seedStart = Date.now();
    const ids = await seedPatients(fhir, settings.patients);
    const seedSeconds = (Date.now() - seedStart) / 1000;
    const bodies = await fetchBodies(fhir, ids);
    const sizes = [...bodies.values()].map((b) => b.length);
    const meanSize = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    log(`seeded in ${seedSeconds.toFixed(1)} s (${(settings.patients / seedSeconds).toFixed(0)} creates/s, 8 in flight); Patient JSON ${Math.min(...sizes)}-${Math.max(...sizes)} bytes, mean ${meanSize.toFixed(0)}`);

    const bodiesFile = path.join(dir, 'bodies.json');
    writeBodies(bodiesFile, bodies);
    const node = await spawnTarget('node', [bodiesFile]);
    targets.push(node);
    const express = await spawnTarget('express', [bodiesFile]);
    targets.push(express);
    const sampleId = ids[0];
    if (sampleId === undefined) throw new Error('no Patient was seeded');
    for (const t of [node, express]) await checkTarget(t, sampleId, bodies.get(sampleId));
    await checkTarget(fhir, sampleId);
    log(`baselines ready: node ${node.url}, express ${express.url}`);

    const scenarios: Record<ScenarioName, () => Scenario> = {
      read: () => readScenario(ids),
      update: () => updateScenario(ids),
      create: () => createScenario(settings.patients),
    };
    const results: Measurement[] = [];
    for (const name of settings.scenarios) {
      for (const target of [node, express, fhir]) {
        log(`running ${name} against ${target.kind}...`);
        const m = await measure(target, scenarios[name](), settings);
        log(`  ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, non-2xx ${m.non2xx}, errors ${m.errors}`);
        results.push(m);
      }
    }

    const dbBytes = fileSize(sqlitePath) + fileSize(`${sqlitePath}-wal`);
    const out = [
      '',
      `FHIR server benchmark — ${settings.seconds} s per run after ${settings.warmupSeconds} s warm-up, ${settings.connections} connections, ${settings.patients} seeded Patients (mean ${meanSize.toFixed(0)} bytes)`,
      machine(),
      '',
      formatResults(results),
      '',
      'Throughput ratios (req/s):',
      formatRatios(results),
      '',
      readTargetLine(results),
      `SQLite database + WAL at the end: ${(dbBytes / 2 ** 20).toFixed(1)} MiB`,
      '',
    ].join('\n');
    process.stdout.write(out);
    if (settings.jsonOut) {
      fs.writeFileSync(settings.jsonOut, JSON.stringify({ settings, machine: machine(), meanPatientBytes: meanSize, seedSeconds, results }, null, 2));
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
