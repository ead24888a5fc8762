/**
 * Bulk Data 2.0 `$export` benchmark (docs/bulk-data.md): N Patients (bench/patients.ts, 2-3 KB each)
 * and M Observations written directly into a file-backed SQLite store (index entries from the
 * server's indexer), then one system-level export through HTTP (supertest over the real app): kick-off,
 * polling, downloading every file. Reports resources/s and the peak RSS seen while the job ran
 * (sampled every 20 ms), beside the RSS before the export.
 *
 *   node dist/bench/export.js [patients=10000] [observations=20000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Observation, Resource } from 'fhir/r4';
import { testApp } from '../test/helpers/test-app';
import { download, kickOff, poll } from '../test/bulk-data/client';
import { makePatient } from './patients';

async function main(): Promise<void> {
  const patients = Number(process.argv[2] ?? 10000);
  const observations = Number(process.argv[3] ?? 20000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
  const t = testApp({ REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server', SQLITE_PATH: path.join(dir, 'fhir.sqlite'), DATA_DIR: dir });
  try {
    const { store, indexer } = t.services;
    let t0 = performance.now();
    await store.withTransaction(async (tx) => {
      for (let i = 0; i < patients; i++) {
        const p = { ...makePatient(i), id: `p${i}` } as Resource;
        await tx.write({ kind: 'create', resourceType: 'Patient', id: p.id!, resource: p, index: indexer.extract(p), expectedVersion: 0 });
      }
      for (let i = 0; i < observations; i++) {
        const o: Observation = { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }, subject: { reference: `Patient/p${i % patients}` }, effectiveDateTime: '2024-01-01T10:00:00Z', valueQuantity: { value: 60 + (i % 40), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' } };
        await tx.write({ kind: 'create', resourceType: 'Observation', id: o.id!, resource: o, index: indexer.extract(o), expectedVersion: 0 });
      }
    });
    const loadS = (performance.now() - t0) / 1000;
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    t0 = performance.now();
    const { manifest } = await poll(t.app, await kickOff(t.app, '/fhir/$export'));
    const s = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const total = manifest.output.reduce((n, o) => n + o.count, 0);
    const bytes = manifest.output.reduce((n, o) => n + fs.statSync(path.join(dir, 'bulk-export', new URL(o.url).searchParams.get('_jobId')!, o.type + '.ndjson')).size, 0);
    t0 = performance.now();
    let downloaded = 0;
    for (const o of manifest.output) downloaded += (await download(t.app, o.url)).length;
    const ds = (performance.now() - t0) / 1000;
    const mb = (b: number): string => (b / 1024 / 1024).toFixed(0);
    process.stdout.write(`loaded ${patients} Patients + ${observations} Observations into the store in ${loadS.toFixed(1)} s\n`);
    process.stdout.write(`exported ${total} resources (${mb(bytes)} MB of NDJSON; kick-off to manifest) in ${s.toFixed(2)} s: ${(total / s).toFixed(0)} resources/s\n`);
    process.stdout.write(`RSS before ${mb(rssBefore)} MB, peak while the job ran ${mb(peak)} MB\n`);
    process.stdout.write(`downloaded and parsed ${downloaded} resources in ${ds.toFixed(2)} s\n`);
  } finally {
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
