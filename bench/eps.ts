/**
 * EPS benchmark (electronic-prescription-service-api.yaml `$process-message` prescription-order,
 * `Task/$release`, `$process-message` dispense-notification): prescription-order throughput with the
 * full validation, and the latency of a release + dispense cycle, each printed beside a baseline
 * measured in the same run on the same server so both see the same machine load.
 *
 * 1. Orders: N distinct prescriptions (the staged EPS example with a fresh prescription ID and line
 *    item ids each) POSTed by C concurrent clients to `$process-message` → messages/s.
 *    - validation only: `validatePrescriptionOrder` in process over the same messages (calls/s);
 *    - baseline: the same MedicationRequests as generic `POST /fhir` transaction Bundles (the engine's
 *      writes without the EPS rules, the duplicate check and the tracker Task);
 *    - EPS_SIGNATURE_VERIFICATION=on: a second server, the messages `$prepare`d and signed with a test
 *      key before timing (the verification cost).
 * 2. Cycle: for M of the stored prescriptions, sequentially `Task/$release` then a dispense
 *    notification → p50/p95/p99 ms; baseline: two `GET /fhir/Task/{id}` reads (HTTP + engine floor).
 *
 * Needs /work/shared/external/nhs-apis/eps/examples (exits with a reason when absent).
 * Usage: `node dist/bench/eps.js [--quick]`; BENCH_EPS_ORDERS (default 1000; --quick 200),
 * BENCH_EPS_CLIENTS (8), BENCH_EPS_CYCLES (200; --quick 50). Slow figures are reported, never fatal.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, BundleEntry, MedicationRequest, Parameters, Provenance } from 'fhir/r4';
import { loadConfig } from '../src/config/config';
import { silentLogger } from '../src/logging';
import { startServer, type RunningServer } from '../src/main';
import { newPrescriptionId } from '../src/spine/eps/prescription-id';
import { validatePrescriptionOrder } from '../src/spine/eps/prescription-order';
import { existingExternalPath } from '../test/helpers/external-data';
import { signDigest, testSigner } from '../test/helpers/eps-signing';

const RX = '24F5DA-A83008-7EFE6Z';
const ACUTE = ['primary-care', 'acute', 'nominated-pharmacy', 'medical-prescriber'];
const ITEM_SYSTEM = 'https://fhir.nhs.uk/Id/prescription-order-item-number';

function intSetting(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return def;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new Error(`${name}=${JSON.stringify(raw)} must be a positive integer`);
  return Number(raw);
}

interface Templates {
  order: string;
  prepare: string;
  release: string;
  dispense: string;
  items: string[];
}

/**
 * The example's MedicationRequests valid from today: its validity start (2022-10-21, no end) expired
 * six months later (docs/eps.md "Nomination and expiry"), and an expired prescription is not released.
 */
function validFromToday(message: string): string {
  const b = JSON.parse(message) as Bundle;
  const today = new Date().toISOString().slice(0, 10);
  for (const e of b.entry ?? []) {
    const mr = e.resource as MedicationRequest | undefined;
    if (mr?.resourceType === 'MedicationRequest' && mr.dispenseRequest) mr.dispenseRequest.validityPeriod = { ...mr.dispenseRequest.validityPeriod, start: today };
  }
  return JSON.stringify(b);
}

function templates(dir: string): Templates {
  const read = (...p: string[]): string => fs.readFileSync(path.join(dir, ...p), 'utf8');
  const order = validFromToday(read(...ACUTE, '1-Process-Request-Send-200_OK.json'));
  const items = (JSON.parse(order) as Bundle).entry!.filter((e) => e.resource?.resourceType === 'MedicationRequest').map((e) => (e.resource as MedicationRequest).identifier!.find((i) => i.system === ITEM_SYSTEM)!.value!);
  return { order, prepare: validFromToday(read(...ACUTE, '1-Prepare-Request-200_OK.json')), release: read(...ACUTE, '1-Task-Request-Release-200_OK.json'), dispense: read('spec', 'dispensing', 'dispense-notification', 'acute-primary-example-03-req.json'), items };
}

/** One prescription's messages: the templates with a new prescription ID and new line item ids. */
interface Prescription {
  id: string;
  order: string;
  prepare: string;
  release: string;
  dispense: string;
}

function prescription(t: Templates): Prescription {
  const id = newPrescriptionId('A83008', randomBytes(6).toString('hex').slice(0, 11));
  const swaps: Array<[string, string]> = [[RX, id], ...t.items.map((i): [string, string] => [i, randomUUID()])];
  const swap = (s: string): string => swaps.reduce((acc, [a, b]) => acc.split(a).join(b), s);
  return { id, order: swap(t.order), prepare: swap(t.prepare), release: swap(t.release), dispense: swap(t.dispense) };
}

async function server(verification: 'on' | 'off'): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', SQLITE_PATH: ':memory:', LOG_LEVEL: 'silent', AUTH_MODE: 'off', AUDIT: 'off', PATIENT_ID_POLICY: 'server', EPS_SIGNATURE_VERIFICATION: verification });
  return startServer(config, silentLogger());
}

function headers(): Record<string, string> {
  return { 'Content-Type': 'application/fhir+json', 'X-Request-ID': randomUUID() };
}

async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: headers(), body });
  return { status: res.status, text: await res.text() };
}

/** Runs `bodies` through `send` with `clients` in flight; messages/s and the statuses seen. */
async function throughput(bodies: readonly string[], clients: number, send: (body: string) => Promise<{ status: number; text: string }>): Promise<{ perSecond: number; statuses: Record<number, number>; firstError?: string }> {
  let next = 0;
  const statuses: Record<number, number> = {};
  let firstError: string | undefined;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const b = bodies[next++];
        if (b === undefined) return;
        const r = await send(b);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status >= 300 && firstError === undefined) firstError = r.text.slice(0, 300);
      }
    }),
  );
  return { perSecond: bodies.length / ((performance.now() - t0) / 1000), statuses, ...(firstError ? { firstError } : {}) };
}

function line(name: string, r: { perSecond: number; statuses: Record<number, number>; firstError?: string }): void {
  console.log(`  ${name.padEnd(44)} ${r.perSecond.toFixed(0).padStart(6)} messages/s  statuses ${JSON.stringify(r.statuses)}${r.firstError ? `  first refusal: ${r.firstError}` : ''}`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function latency(name: string, times: number[]): void {
  const s = [...times].sort((a, b) => a - b);
  console.log(`  ${name.padEnd(44)} n=${s.length}  p50 ${percentile(s, 50).toFixed(1)} ms  p95 ${percentile(s, 95).toFixed(1)} ms  p99 ${percentile(s, 99).toFixed(1)} ms`);
}

/** The generic-engine equivalent of an order: its MedicationRequests in one transaction Bundle. */
function baselineTransaction(order: string): string {
  const b = JSON.parse(order) as Bundle;
  const entry: BundleEntry[] = b.entry!.filter((e) => e.resource?.resourceType === 'MedicationRequest').map((e) => {
    const { id: _id, ...mr } = e.resource as MedicationRequest;
    void _id;
    return { fullUrl: `urn:uuid:${randomUUID()}`, resource: { ...mr, subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '5839945242' } }, requester: { display: 'prescriber' } } as MedicationRequest, request: { method: 'POST', url: 'MedicationRequest' } };
  });
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry });
}

async function signedOrders(base: string, ps: readonly Prescription[]): Promise<string[]> {
  const signer = await testSigner();
  const out: string[] = [];
  for (const p of ps) {
    const r = await post(`${base}/$prepare`, p.prepare);
    if (r.status !== 200) throw new Error(`$prepare answered ${r.status}: ${r.text.slice(0, 300)}`);
    const params = JSON.parse(r.text) as Parameters;
    const value = (n: string): string => params.parameter!.find((x) => x.name === n)!.valueString!;
    const order = JSON.parse(p.order) as Bundle;
    const prov = order.entry!.find((e) => e.resource?.resourceType === 'Provenance')!.resource as Provenance;
    prov.signature![0] = { ...prov.signature![0]!, when: value('timestamp'), data: signDigest(value('digest'), signer) };
    out.push(JSON.stringify(order));
  }
  return out;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const orders = intSetting('BENCH_EPS_ORDERS', quick ? 200 : 1000);
  const clients = intSetting('BENCH_EPS_CLIENTS', 8);
  const cycles = Math.min(orders, intSetting('BENCH_EPS_CYCLES', quick ? 50 : 200));
  const dir = existingExternalPath('nhs-apis', 'eps', 'examples');
  console.log(`EPS bench on ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, Node ${process.version}`);
  if (!dir) {
    console.log('  skipped: nhs-apis/eps/examples not present in /work/shared/external');
    return;
  }
  const t = templates(dir);
  const ps = Array.from({ length: orders }, () => prescription(t));
  const warm = Array.from({ length: 20 }, () => prescription(t));

  console.log(`Prescription-order throughput: ${orders} distinct prescriptions (4 line items), ${clients} concurrent clients`);
  const t0 = performance.now();
  for (const p of ps) validatePrescriptionOrder(JSON.parse(p.order));
  console.log(`  ${'validation only (in process, JSON.parse + rules)'.padEnd(44)} ${(orders / ((performance.now() - t0) / 1000)).toFixed(0).padStart(6)} messages/s`);

  const off = await server('off');
  const on = await server('on');
  try {
    const base = (s: RunningServer): string => `${new URL(s.url).origin}/fhir-prescribing/FHIR/R4`;
    await throughput(warm.map((p) => p.order), clients, (b) => post(`${base(off)}/$process-message`, b));
    await throughput(warm.map((p) => baselineTransaction(p.order)), clients, (b) => post(off.url, b));
    line('baseline: POST /fhir transaction (same MRs)', await throughput(ps.map((p) => baselineTransaction(p.order)), clients, (b) => post(off.url, b)));
    line('$process-message prescription-order', await throughput(ps.map((p) => p.order), clients, (b) => post(`${base(off)}/$process-message`, b)));
    const signed = await signedOrders(base(on), ps);
    line('  … with EPS_SIGNATURE_VERIFICATION=on', await throughput(signed, clients, (b) => post(`${base(on)}/$process-message`, b)));

    console.log(`Release + dispense cycle: ${cycles} prescriptions, one client, sequential`);
    const dispensing = `${new URL(off.url).origin}/fhir-dispensing/FHIR/R4`;
    const taskIds = ((await (await fetch(`${off.url}/Task?_count=${cycles}&_elements=id`)).json()) as Bundle).entry?.map((e) => e.resource!.id!) ?? [];
    const floor: number[] = [];
    for (let i = 0; i < cycles; i++) {
      const id = taskIds[i % Math.max(1, taskIds.length)];
      const s = performance.now();
      for (let k = 0; k < 2; k++) await (await fetch(`${off.url}/Task/${id}`)).arrayBuffer();
      floor.push(performance.now() - s);
    }
    latency('baseline: two GET /fhir/Task/{id}', floor);
    const times: number[] = [];
    const failures: Record<string, number> = {};
    for (const p of ps.slice(0, cycles)) {
      const s = performance.now();
      const rel = await post(`${dispensing}/Task/$release`, p.release);
      const dn = rel.status === 200 ? await post(`${dispensing}/$process-message`, p.dispense) : rel;
      const ms = performance.now() - s;
      if (rel.status === 200 && dn.status === 200) times.push(ms);
      else failures[`${rel.status}/${dn.status}`] = (failures[`${rel.status}/${dn.status}`] ?? 0) + 1;
    }
    latency('Task/$release + dispense-notification', times);
    if (Object.keys(failures).length) console.log(`  refused cycles: ${JSON.stringify(failures)}`);
  } finally {
    await off.close();
    await on.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
