/**
 * The in-process cost of writing the audit trail (src/audit/audit-log.ts, IHE BALP AuditEvents, ADR 32):
 * CPU milliseconds per AuditEvent written through AuditLog (index extraction, the store's rows, the
 * commit) into a durable file store, for the AuditEvents of `GET [base]/Patient/{id}` reads as the
 * server records them (audit-event.ts): the process's CPU (every thread) and the main thread's busy
 * time (its event-loop utilisation: what requests wait for). Several rounds; the first warms up.
 * Prints one JSON line per round and the medians of the others. `SQLITE_APPEND_WRITER=inline|worker`
 * chooses who writes the batches, as do bench/fhir.ts's other PASSED_SETTINGS (the server's defaults
 * otherwise; ADR 0044); the log writes the events itself, so the server's own audit trail is off.
 *
 *   npm run build && node dist/bench/audit-write.js [events per round=1500] [rounds=4]
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/logging';
import { buildServices, initServices } from '../src/main';
import { AuditLog } from '../src/audit/audit-log';
import { buildAuditEvent } from '../src/audit/audit-event';
import type { AuditRecord } from '../src/audit/record';
import { passedSettings } from './fhir';

const EVENTS = Number(process.argv[2] ?? 1500);
const ROUNDS = Number(process.argv[3] ?? 4);
const PATIENTS = 50;
const BASE = 'http://localhost:8099/fhir';

function readRecord(patientId: string): AuditRecord {
  return {
    requestId: randomUUID(),
    method: 'GET',
    path: `/Patient/${patientId}`,
    query: '',
    api: 'fhir',
    pathInteraction: 'read',
    pathType: 'Patient',
    clientAddress: '127.0.0.1',
    interaction: { kind: 'read', level: 'instance', resourceType: 'Patient', id: patientId },
    status: 200,
    recorded: new Date(),
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-write-'));
  const services = buildServices(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', AUTH_MODE: 'off', SEED_ON_EMPTY: '0', BASE_URL: BASE, ...passedSettings(), AUDIT: 'off' }), silentLogger());
  await initServices(services);
  const log = new AuditLog(services, { flushMs: 200, maxBatch: 100 });
  const patients = Array.from({ length: PATIENTS }, () => randomUUID());
  const source = { baseUrl: BASE, issuer: BASE };
  const perEvent: number[] = [];
  const mainPerEvent: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const events = Array.from({ length: EVENTS }, (_, i) => buildAuditEvent(readRecord(patients[i % PATIENTS]!), source));
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const t0 = performance.now();
      for (const e of events) log.add(e);
      await log.flush();
      const cpu = process.cpuUsage(cpu0);
      const ms = (cpu.user + cpu.system) / 1000 / EVENTS;
      const mainMs = performance.eventLoopUtilization(elu0).active / EVENTS;
      if (r > 0) {
        perEvent.push(ms);
        mainPerEvent.push(mainMs);
      }
      console.log(JSON.stringify({ round: r, events: EVENTS, cpuMsPerEvent: Number(ms.toFixed(3)), mainThreadMsPerEvent: Number(mainMs.toFixed(3)), wallMsPerEvent: Number(((performance.now() - t0) / EVENTS).toFixed(3)), load: os.loadavg()[0]!.toFixed(2) }));
    }
    const median = (xs: number[]): number => Number([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(3));
    console.log(JSON.stringify({ appendWriter: services.config.sqliteAppendWriter, medianCpuMsPerEvent: median(perEvent), medianMainThreadMsPerEvent: median(mainPerEvent), written: log.written }));
  } finally {
    await services.store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
