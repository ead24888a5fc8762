/**
 * The cost of the audit trail (src/audit, ADR 32): reads per second of `GET [base]/Patient/{id}` with
 * AUDIT=on and AUDIT=off, two servers in the same process over in-memory SQLite, measured in
 * alternating rounds of the same run so both see the same machine load. Prints one JSON line per
 * round and a summary. `npm run build && node dist/bench/audit.js [seconds per round] [concurrency]`.
 */
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/logging';
import { startServer, type RunningServer } from '../src/main';

const SECONDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const ROUNDS = 3;
const PATIENTS = 100;

async function server(audit: 'on' | 'off'): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', SQLITE_PATH: ':memory:', LOG_LEVEL: 'silent', AUTH_MODE: 'off', AUDIT: audit, REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' });
  const running = await startServer(config, silentLogger());
  for (let i = 0; i < PATIENTS; i++) {
    const res = await fetch(`${running.url}/Patient/p${i}`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', id: `p${i}`, name: [{ family: `Family${i}`, given: ['Bench'] }], gender: 'unknown', birthDate: '1970-01-01' }) });
    await res.arrayBuffer();
  }
  return running;
}

async function round(url: string): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (Date.now() < end) {
      const res = await fetch(`${url}/Patient/p${i % PATIENTS}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`read answered ${res.status}`);
      n++;
      i += CONCURRENCY;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return n / SECONDS;
}

async function main(): Promise<void> {
  const on = await server('on');
  const off = await server('off');
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
  await round(on.url); // warm-up of both
  await round(off.url);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, s] of [['off', off], ['on', on]] as const) {
      const rate = await round(s.url);
      rates[name].push(rate);
      process.stdout.write(`${JSON.stringify({ round: r + 1, audit: name, readsPerSecond: Math.round(rate) })}\n`);
    }
  }
  await on.close();
  await off.close();
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const onRate = mean(rates.on);
  const offRate = mean(rates.off);
  process.stdout.write(`${JSON.stringify({ seconds: SECONDS, concurrency: CONCURRENCY, auditOff: Math.round(offRate), auditOn: Math.round(onRate), costPercent: Math.round(((offRate - onRate) / offRate) * 1000) / 10 })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
