/**
 * `npm run seed -- --patients N [--seed S] [--data-dir D | --url http://host/fhir] [--token T]`:
 * writes a synthetic UK population (docs/seed.md, src/seed/) either straight into the SQLite store of
 * a data directory (through the engine, with the server's configuration from the environment) or to
 * a running server's FHIR base as transaction Bundles (FHIR R4 http.html#transaction), with a
 * progress bar and a summary in resources per second. Re-running with the same seed rewrites the
 * same ids (new versions), never duplicates.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { Bundle, OperationOutcome } from 'fhir/r4';
import { loadConfig, ConfigError } from '../src/config/config';
import { createLogger } from '../src/logging';
import { buildServices, initServices } from '../src/main';
import { authDataDir } from '../src/auth/server/server';
import { describeSeed, engineSink, SeedError, seedInto, type BundleSink } from '../src/seed/seed';

const USAGE = 'usage: npm run seed -- --patients N [--seed S] [--data-dir D | --url http://host/fhir [--token BEARER]] [--batch P]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(name: string, raw: string | undefined, def?: number): number {
  if (raw === undefined) {
    if (def === undefined) fail(`--${name} is required`);
    return def;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < 1) fail(`--${name} must be a positive integer, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** A sink posting each Bundle to a server's FHIR base. */
function httpSink(base: string, token: string | undefined): BundleSink {
  return async (bundle) => {
    const res = await fetch(base.replace(/\/+$/, ''), {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json', ...(token !== undefined ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(bundle),
    });
    if (!res.ok) {
      const text = await res.text();
      let outcome: OperationOutcome | undefined;
      try {
        outcome = JSON.parse(text) as OperationOutcome;
      } catch {
        outcome = undefined;
      }
      throw new SeedError(`${base} refused a seed transaction (${res.status}): ${outcome?.issue?.map((i) => i.diagnostics ?? i.code).join('; ') ?? text.slice(0, 500)}`, outcome);
    }
    return (await res.json()) as Bundle;
  };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({ options: { patients: { type: 'string' }, seed: { type: 'string' }, 'data-dir': { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, batch: { type: 'string' } }, strict: true });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = args.values;
  const patients = positiveInt('patients', v.patients);
  const seed = v.seed === undefined ? undefined : /^\d+$/.test(v.seed) ? Number(v.seed) : fail(`--seed must be a non-negative integer, not ${JSON.stringify(v.seed)}`);
  const batchPatients = positiveInt('batch', v.batch, 25);
  if (v.url !== undefined && v['data-dir'] !== undefined) fail('give --data-dir or --url, not both');

  let sink: BundleSink;
  let done: () => Promise<void> = async () => {};
  let devUsers = false;
  let target: string;
  if (v.url !== undefined) {
    if (!/^https?:\/\//.test(v.url)) fail(`--url must be an http(s) FHIR base URL, not ${JSON.stringify(v.url)}`);
    sink = httpSink(v.url, v.token);
    target = v.url;
  } else {
    let config;
    try {
      config = loadConfig({ LOG_LEVEL: 'warn', ...process.env, ...(v['data-dir'] !== undefined ? { DATA_DIR: v['data-dir'] } : {}) });
    } catch (e) {
      if (e instanceof ConfigError) fail(e.message);
      throw e;
    }
    const services = buildServices(config, createLogger(config.logLevel));
    await initServices(services);
    // As at start-up: with the built-in authorization server, dev-patient and dev-practitioner are seeded records.
    devUsers = config.authMode === 'smart' && config.authJwksUrl === undefined && authDataDir(config) !== undefined;
    sink = engineSink(services);
    done = () => services.store.close();
    target = config.mongodbUri !== undefined ? `MongoDB ${config.mongodbDb}` : config.sqlitePath;
  }

  const bar = new cliProgress.SingleBar({ format: 'seeding {bar} {percentage}% | {value}/{total} patients | {resources} resources | {rate} resources/s', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  const t0 = performance.now();
  bar.start(patients, 0, { resources: 0, rate: 0 });
  try {
    const summary = await seedInto(sink, {
      patients,
      devUsers,
      batchPatients,
      ...(seed !== undefined ? { seed } : {}),
      onProgress: (p) => bar.update(p.patients, { resources: p.resources, rate: Math.round(p.resources / ((performance.now() - t0) / 1000)) }),
    });
    bar.stop();
    process.stdout.write(`${describeSeed(summary)} into ${target}: ${Math.round(summary.resources / (summary.ms / 1000))} resources/s\n`);
  } catch (e) {
    bar.stop();
    if (e instanceof Error) {
      process.stderr.write(`seed failed: ${e.message}\n`);
      process.exitCode = 1;
    } else throw e;
  } finally {
    await done();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
