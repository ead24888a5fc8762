/**
 * Import benchmark (issue 17's import target, issue 16's `npm run import`): in one run, on fresh
 * temporary data directories, the Synthea transaction Bundles (FHIR R4 http.html#transaction) loaded
 *   (a) raw: every entry's resource JSON inserted into a SQLite table `doc(id, type, json)` (WAL,
 *       synchronous=FULL, one transaction per Bundle): the storage floor;
 *   (b) through the importer with base validation (`npm run import -- --base-validation`'s path, in
 *       process: src/import/services.ts + engineTarget + runImport);
 *   (c) through the importer with its full default validation (UK Core required profiles: many
 *       Synthea resources are refused, which is expected and shown);
 *   (d) `probe`: (b) again while plain creates (`POST /Patient`) are sent one after another through
 *       the same engine, with their latency: how long a write waits behind the import's Bundles.
 * Prints a Markdown table of wall seconds, resources/s, process CPU seconds and CPU ms per resource,
 * and whether the 3 000 resources/s target (base validation) is met.
 *
 *   node dist/bench/import.js [dir] [--quick [N]] [--runs raw,base,default,probe]
 *     (or IMPORT_BENCH_DIR=dir, IMPORT_BENCH_QUICK=N: the first N Bundles, IMPORT_BENCH_RUNS=...)
 *
 * The default source is ../shared/external/synthea beside the repository (test/helpers/external-data);
 * where it is absent the benchmark prints why and exits 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { Bundle } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { topLevelContext, type FhirServices } from '../src/fhir/context';
import { route } from '../src/fhir/router';
import { runImport, type ImportSummary } from '../src/import/run';
import { openImportServices } from '../src/import/services';
import { listSources } from '../src/import/sources';
import { engineTarget } from '../src/import/target';
import { existingExternalPath } from '../test/helpers/external-data';

/** Bundles `--quick` loads when no number follows it. */
const QUICK_DEFAULT = 8;
const TARGET_RPS = 3000;

interface Row {
  run: 'raw' | 'base' | 'default' | 'probe';
  what: string;
  seconds: number;
  cpuSeconds: number;
  loaded: number;
  rejected: number;
}

async function timed(fn: () => Promise<{ loaded: number; rejected: number }>): Promise<Omit<Row, 'run' | 'what'>> {
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ...r, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** (a) The raw floor: the entries' resources as JSON text into one SQLite table, a transaction per Bundle. */
async function rawSqlite(files: readonly string[], dir: string): Promise<{ loaded: number; rejected: number }> {
  const db = new Database(path.join(dir, 'raw.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE doc(id TEXT PRIMARY KEY, type TEXT, json TEXT)');
  const insert = db.prepare('INSERT OR REPLACE INTO doc(id, type, json) VALUES (?, ?, ?)');
  let loaded = 0;
  const bundleTx = db.transaction((bundle: Bundle) => {
    for (const [i, e] of (bundle.entry ?? []).entries()) {
      const r = e.resource;
      if (!r) continue;
      insert.run(r.id ?? e.fullUrl ?? `${i}`, r.resourceType, JSON.stringify(r));
      loaded++;
    }
  });
  for (const file of files) bundleTx(JSON.parse(await fs.promises.readFile(file, 'utf8')) as Bundle);
  db.close();
  return { loaded, rejected: 0 };
}

/** Latencies (ms) of plain `POST /Patient` creates sent one after another through `services` until `done()`. */
async function probeCreates(services: FhirServices, done: () => boolean): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; !done(); i++) {
    const t0 = performance.now();
    const res = await route(
      { method: 'POST', path: 'Patient', query: [], headers: { prefer: 'return=minimal' }, body: { resourceType: 'Patient', name: [{ family: 'Probe', given: [`P${i}`] }], birthDate: '1990-01-01' }, contentType: 'application/fhir+json', requestId: randomUUID() },
      topLevelContext(services),
    );
    if (res.status !== 201) throw new Error(`the probe's create answered ${res.status}`);
    ms.push(performance.now() - t0);
  }
  return ms;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * (b), (c) The importer in process, as `npm run import` runs it (no progress bar); opening the store
 * is not timed. `probe`: meanwhile, plain creates one after another (how long a write waits behind
 * the import's Bundles).
 */
async function importer(files: readonly string[], dir: string, baseValidation: boolean, probe = false): Promise<Omit<Row, 'run' | 'what'> & { reasons: ImportSummary['reasons']; probe?: number[] }> {
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dir, SQLITE_PATH: path.join(dir, 'fhir.sqlite') };
  delete env['MONGODB_URI'];
  const opened = await openImportServices(env, { baseValidation });
  let reasons: ImportSummary['reasons'] = [];
  let finished = false;
  let probed: Promise<number[]> | undefined;
  try {
    const r = await timed(async () => {
      if (probe) probed = probeCreates(opened.services, () => finished);
      const s = await runImport({
        inputs: [...files],
        target: engineTarget(opened.services, opened.describe),
        reportDir: dir,
        restart: true,
        requiredProfileUrls: Object.values(opened.services.config.requiredProfiles),
      });
      reasons = s.reasons;
      return { loaded: s.loaded, rejected: s.rejected };
    });
    finished = true;
    return { ...r, reasons, ...(probed ? { probe: await probed } : {}) };
  } finally {
    finished = true;
    await probed?.catch(() => undefined);
    await opened.close();
  }
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean' }, runs: { type: 'string' } } });
  const runs = new Set((values.runs ?? process.env['IMPORT_BENCH_RUNS'] ?? 'raw,base,default,probe').split(','));
  const sourceArg = positionals.find((p) => !/^\d+$/.test(p)) ?? process.env['IMPORT_BENCH_DIR'];
  const quickN = values.quick ? Number(positionals.find((p) => /^\d+$/.test(p)) ?? process.env['IMPORT_BENCH_QUICK'] ?? QUICK_DEFAULT) : process.env['IMPORT_BENCH_QUICK'] !== undefined ? Number(process.env['IMPORT_BENCH_QUICK']) : undefined;
  const source = sourceArg !== undefined ? (fs.existsSync(sourceArg) ? path.resolve(sourceArg) : undefined) : existingExternalPath('synthea');
  if (source === undefined) {
    process.stdout.write(`import bench skipped: no Synthea material at ${sourceArg ?? '../shared/external/synthea'} (see /work/shared/external/README.md)\n`);
    return;
  }
  let files = (await listSources(source)).filter((f) => f.endsWith('.json'));
  if (quickN !== undefined) files = files.slice(0, quickN);
  if (files.length === 0) {
    process.stdout.write(`import bench skipped: no *.json Bundles in ${source}\n`);
    return;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
  const rows: Row[] = [];
  let reasons: ImportSummary['reasons'] = [];
  let probe: number[] | undefined;
  try {
    const rawDir = path.join(root, 'raw');
    fs.mkdirSync(rawDir);
    if (runs.has('raw')) rows.push({ run: 'raw', what: 'raw SQLite insert (baseline)', ...(await timed(() => rawSqlite(files, rawDir))) });
    for (const [run, what, base] of [
      ['base', 'import, base validation', true],
      ['default', 'import, default validation (UK Core)', false],
      ['probe', 'import, base validation, with plain creates one at a time meanwhile', true],
    ] as const) {
      if (!runs.has(run)) continue;
      const dir = path.join(root, run);
      fs.mkdirSync(dir);
      const r = await importer(files, dir, base, run === 'probe');
      if (run === 'default') reasons = r.reasons;
      if (r.probe) probe = [...r.probe].sort((a, b) => a - b);
      rows.push({ run, what, seconds: r.seconds, cpuSeconds: r.cpuSeconds, loaded: r.loaded, rejected: r.rejected });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const out = (line: string): boolean => process.stdout.write(line + '\n');
  out(`Import of ${files.length} Synthea Bundles from ${source} (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ${os.cpus().length} CPUs)`);
  out('');
  out('| run | resources | loaded | rejected | wall s | resources/s | CPU s | CPU ms/resource |');
  out('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const n = r.loaded + r.rejected;
    out(`| ${r.what} | ${n} | ${r.loaded} | ${r.rejected} | ${fmt(r.seconds, 2)} | ${fmt(n / r.seconds, 0)} | ${fmt(r.cpuSeconds, 2)} | ${fmt((1000 * r.cpuSeconds) / n, 3)} |`);
  }
  const raw = rows.find((r) => r.run === 'raw');
  const base = rows.find((r) => r.run === 'base');
  if (base) {
    const baseRps = (base.loaded + base.rejected) / base.seconds;
    out('');
    out(`target >= ${TARGET_RPS} resources/s (base validation): ${baseRps >= TARGET_RPS && base.rejected === 0 ? 'met' : 'NOT met'} (${fmt(baseRps, 0)} resources/s, ${base.rejected} rejected${raw ? `; raw floor ${fmt(raw.loaded / raw.seconds, 0)} resources/s` : ''})`);
  }
  if (probe) {
    out('');
    out(`plain creates during the probe run (one at a time, POST /Patient in process): ${probe.length}, p50 ${fmt(percentile(probe, 50), 1)} ms, p95 ${fmt(percentile(probe, 95), 1)} ms, p99 ${fmt(percentile(probe, 99), 1)} ms, max ${fmt(probe[probe.length - 1] ?? NaN, 1)} ms`);
  }
  for (const r of reasons.slice(0, 3)) out(`  default validation rejected ${r.resources}: ${r.reason.length > 160 ? r.reason.slice(0, 160) + '…' : r.reason}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`import bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
