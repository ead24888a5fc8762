/**
 * What a create writes to disk, per index of the SQLite schema (issue 17; docs/performance.md
 * "Write path profile", SQLite wal.html §3 and fileformat.html §1.6 B-tree pages): N generated
 * Patients are preloaded, then M more created straight through the store's write statements
 * (`applyWrite`: resource, version and index rows) in transactions of GROUP, on a durable WAL file
 * with synchronous FULL, SQLite's default automatic checkpoint and nothing else running in the
 * process. Printed: bytes passed to write(2) per create (WAL frames and checkpoint copies, from
 * /proc/self/io `wchar`) and CPU per create, for the schema as it is and for the schema with one
 * secondary index dropped at a time, so each index's share of the page writes is its difference to
 * the first row. Bytes do not depend on the machine's load; times do.
 *
 *   node dist/bench/index-pages.js [preload=2000] [creates=1500] [index ...]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Patient } from 'fhir/r4';
import { extractIndex } from '../src/search/extract';
import { migrate } from '../src/store/sqlite/schema';
import { StatementCache } from '../src/store/sqlite/connection';
import { applyWrite } from '../src/store/sqlite/writes';
import { InstantClock } from '../src/store/sqlite/rows';
import { bytesWritten } from './io';
import { makePatient } from './patients';

const GROUP = 4;

/** The secondary indexes measured by default: those a Patient create writes to. */
const DEFAULT_INDEXES = ['ix_token_code', 'ix_token_text', 'ix_token_rid', 'ix_string_norm', 'ix_string_rid', 'ix_date_low', 'ix_date_high', 'ix_date_rid', 'ix_reference_target', 'ix_reference_reverse', 'ix_reference_identifier', 'ix_reference_rid', 'resource_live_updated', 'resource_live_id', 'version_type_seq'];

/** Bytes written so far (bench/io.ts); this benchmark is nothing without them. */
function written(): number {
  const n = bytesWritten();
  if (n === undefined) throw new Error('/proc/self/io has no wchar (Linux only)');
  return n;
}

interface Result {
  variant: string;
  kbPerCreate: number;
  cpuMsPerCreate: number;
  entriesPerPatient: number;
  dbMb: number;
}

function measure(variant: string, drop: string | undefined, preload: number, creates: number): Result {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'index-pages-'));
  const file = path.join(dir, 'fhir.sqlite');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    migrate(db);
    if (drop !== undefined) db.exec(`DROP INDEX ${drop}`);
    const st = new StatementCache(db);
    const clock = new InstantClock(0);
    const patients: Patient[] = Array.from({ length: preload + creates }, (_, i) => ({ ...(makePatient(i) as Patient), id: `p${i}` }));
    const entries = patients.map((p) => extractIndex(p));
    const run = (from: number, to: number): void => {
      for (let i = from; i < to; i += GROUP) {
        db.transaction(() => {
          for (let j = i; j < Math.min(to, i + GROUP); j++) applyWrite(st, clock, { kind: 'create', resourceType: 'Patient', id: patients[j]!.id!, resource: patients[j]!, index: entries[j]!, expectedVersion: 0 });
        })();
      }
    };
    run(0, preload);
    const w0 = written();
    const c0 = process.cpuUsage();
    run(preload, preload + creates);
    const cpu = process.cpuUsage(c0);
    const bytes = written() - w0;
    return { variant, kbPerCreate: bytes / 1024 / creates, cpuMsPerCreate: (cpu.user + cpu.system) / 1000 / creates, entriesPerPatient: entries[preload]!.length, dbMb: fs.statSync(file).size / 1e6 };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const preload = Number(process.argv[2] ?? 2000);
  const creates = Number(process.argv[3] ?? 1500);
  const indexes = process.argv.length > 4 ? process.argv.slice(4) : DEFAULT_INDEXES;
  const base = measure('schema as it is', undefined, preload, creates);
  console.log(`${preload} Patients preloaded, ${creates} created in transactions of ${GROUP}; ${base.entriesPerPatient} index entries per Patient; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| variant | KB written per create | difference | CPU ms per create | database MB |');
  console.log('|---|---:|---:|---:|---:|');
  const line = (r: Result): string => `| ${r.variant} | ${r.kbPerCreate.toFixed(0)} | ${r === base ? '' : (r.kbPerCreate - base.kbPerCreate).toFixed(0)} | ${r.cpuMsPerCreate.toFixed(3)} | ${r.dbMb.toFixed(1)} |`;
  console.log(line(base));
  for (const ix of indexes) console.log(line(measure(`without ${ix}`, ix, preload, creates)));
}

main();
