/**
 * Search-parameter extraction benchmark (FHIR R4 §3.1.1 search.html, SearchParameter.expression;
 * src/search/extract.ts): microseconds of one core per resource to compute its index entries, warm,
 * for the resources every write indexes:
 *
 * - the AuditEvent of a `GET [base]/Patient/{id}` read, as the audit trail builds it for every
 *   request (src/audit/audit-event.ts), and that build itself (`buildAuditEvent`, which finds the
 *   patients of the result's stored text);
 * - 2.4 KB UK Core Patients (bench/patients.ts, the REST benchmark's bodies);
 * - the resources of the first Synthea Bundles (../shared/external/synthea; skipped, with the reason
 *   printed, when absent).
 *
 * Each is measured with the default extraction (compiled expressions, src/search/compiled-expression.ts)
 * and beside it, in the same run, with every expression evaluated by fhirpath.js (`fhirpathOnly`, the
 * reference behaviour). Rounds are interleaved; the median round is printed with the range.
 *
 *   node dist/bench/extract.js [--rounds=N] [--seconds=S]   (default 5 rounds of 1 s per measurement)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle, Resource } from 'fhir/r4';
import { buildAuditEvent } from '../src/audit/audit-event';
import type { AuditRecord } from '../src/audit/record';
import { extractIndexWithStats } from '../src/search/extract';
import { serialiseWithMeta } from '../src/store/sqlite/writes';
import { existingExternalPath } from '../test/helpers/external-data';
import { makePatient } from './patients';

interface Measurement {
  name: string;
  /** Inputs per pass. */
  count: number;
  /** Handles the i-th input. */
  run(i: number): unknown;
}

const SOURCE = { baseUrl: 'http://localhost:8080/fhir', issuer: 'http://localhost:8080/auth' };

/** The audit record of a read of the stored Patient `p` by a user token, as the HTTP edge fills it. */
function readRecord(p: Resource, n: number): AuditRecord {
  const id = `p${n}`;
  return {
    requestId: `0193a1b2-c3d4-7e5f-8a9b-${String(n).padStart(12, '0')}`,
    method: 'GET',
    path: `/fhir/Patient/${id}`,
    query: '',
    api: 'fhir',
    pathInteraction: 'read',
    pathType: 'Patient',
    clientAddress: '::ffff:127.0.0.1',
    interaction: { kind: 'read', level: 'instance', resourceType: 'Patient', id },
    principal: { client_id: 'bench', sub: 'bench', scope: 'user/*.cruds' },
    status: 200,
    result: { status: 200, json: serialiseWithMeta(p, id, 1, '2026-12-08T00:00:00.000Z') },
    recorded: new Date('2026-12-08T00:00:01.000Z'),
  };
}

function syntheaResources(): Resource[] | string {
  const dir = existingExternalPath('synthea');
  if (dir === undefined) return 'no ../shared/external/synthea beside the repository';
  const out: Resource[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort().slice(0, 4)) {
    const b = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Bundle;
    for (const e of b.entry ?? []) if (e.resource) out.push(e.resource);
  }
  return out;
}

/** Microseconds per resource over `seconds` of repeated passes. */
function perResource(m: Measurement, seconds: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let i = 0; i < m.count; i++) m.run(i);
    n += m.count;
    t = performance.now();
  }
  return ((t - t0) * 1000) / n;
}

function main(): void {
  const { values } = parseArgs({ options: { rounds: { type: 'string' }, seconds: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 5);
  const seconds = Number(values.seconds ?? 1);
  const patients = Array.from({ length: 200 }, (_, i) => makePatient(i) as Resource);
  const records = patients.map(readRecord);
  const auditEvents = records.map((rec, i) => ({ ...buildAuditEvent(rec, SOURCE), id: `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '1')}` }) as Resource);
  const sets: Array<[string, readonly Resource[]]> = [
    ['AuditEvent of a Patient read', auditEvents],
    ['UK Core Patient, 2.4 KB', patients],
  ];
  const synthea = syntheaResources();
  if (typeof synthea === 'string') console.log(`Synthea resources skipped: ${synthea}`);
  else sets.push([`Synthea resources (${synthea.length}, 4 Bundles)`, synthea]);

  const measurements: Measurement[] = [{ name: 'buildAuditEvent of a Patient read (patients from the stored text)', count: records.length, run: (i) => buildAuditEvent(records[i]!, SOURCE) }];
  for (const [name, resources] of sets) {
    measurements.push({ name: `${name}: extraction (compiled, the default)`, count: resources.length, run: (i) => extractIndexWithStats(resources[i]!) });
    measurements.push({ name: `${name}: extraction, fhirpath.js only (reference)`, count: resources.length, run: (i) => extractIndexWithStats(resources[i]!, undefined, { fhirpathOnly: true }) });
  }
  for (const m of measurements) perResource(m, Math.min(0.5, seconds)); // warm-up
  const figures = measurements.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) measurements.forEach((m, i) => figures[i]!.push(perResource(m, seconds)));

  console.log(`Search-parameter extraction, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${rounds} rounds of ${seconds} s, median (range)\n`);
  console.log('| measurement | µs per input |\n|---|---:|');
  measurements.forEach((m, i) => {
    const f = [...figures[i]!].sort((a, b) => a - b);
    console.log(`| ${m.name} | ${f[f.length >> 1]!.toFixed(1)} (${f[0]!.toFixed(1)}-${f[f.length - 1]!.toFixed(1)}) |`);
  });
}

main();
