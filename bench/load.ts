/**
 * Load generation for the FHIR R4 RESTful interactions measured (http.html#read, #create, #update):
 * one autocannon run per (scenario, target), preceded by a discarded warm-up run, with a fixed
 * duration and connection count. Latencies of 2xx responses are recorded one by one so exact
 * p50/p95/p99 can be computed (autocannon's own histogram has no p95); CPU time of the server
 * child and of this process (the load generator) is sampled around the measured run.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import type { Target } from './child';

export type ScenarioName = 'read' | 'create' | 'update';

/** One request of a scenario; `path` is relative to the FHIR base (e.g. `/Patient/123`). */
export interface ScenarioRequest {
  path: string;
  body?: Buffer;
}

export interface Scenario {
  name: ScenarioName;
  method: 'GET' | 'POST' | 'PUT';
  /** Extra headers on every request (e.g. `authorization: Bearer …` for a SMART server). */
  headers?: Readonly<Record<string, string>>;
  /** Called once per request; must be cheap (it runs in the load generator's event loop). */
  next(): ScenarioRequest;
}

export interface LoadOptions {
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

export interface Measurement {
  scenario: ScenarioName;
  target: Target['kind'];
  seconds: number;
  connections: number;
  requests: number;
  /** Completed requests per second over the measured run. */
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Count per status code, e.g. { "200": 1234 }. */
  statuses: Record<string, number>;
  /** CPU used by the server process, as a percentage of one core. */
  serverCpu: number;
  /** CPU used by the load generator (this process), as a percentage of one core. */
  loadgenCpu: number;
  /**
   * CPU used by everything else on the machine during the run (machine-wide busy time minus the
   * two above), as a percentage of one core: a noise indicator — a high value means another
   * process competed for the cores and the figures of this row are pessimistic.
   */
  otherCpu: number;
  /**
   * After the run, how long the server stayed busy with work the run left behind (the audit trail
   * writes its events after the responses), and the CPU that took: counted in the CPU per request,
   * and waited out before the next run starts, so it is neither hidden nor billed to the next target.
   */
  drainSeconds: number;
  drainCpuMs: number;
  /** With several rounds: the lowest and highest req/s seen (the reported row is the best round). */
  rpsRange?: [number, number];
}

/** Machine-wide busy CPU time (all cores, milliseconds) from the kernel's counters. */
function machineBusyMs(): number {
  let busy = 0;
  for (const c of os.cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return busy;
}

/** Nearest-rank percentile of sorted values; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

class LatencyLog {
  private values = new Float64Array(1 << 16);
  private size = 0;
  add(v: number): void {
    if (this.size === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.size++] = v;
  }
  sorted(): Float64Array {
    return this.values.slice(0, this.size).sort();
  }
}

function runOnce(target: Target, scenario: Scenario, seconds: number, connections: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  const base = new URL(target.url);
  const prefix = base.pathname.replace(/\/+$/, '');
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base.origin,
        connections,
        duration: seconds,
        timeout: 30,
        headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json', ...scenario.headers },
        requests: [
          {
            method: scenario.method,
            setupRequest: (req) => {
              const r = scenario.next();
              req.path = prefix + r.path;
              if (r.body) req.body = r.body;
              return req;
            },
          },
        ],
      },
      (err: unknown, result) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(result);
      },
    );
    if (onLatency) {
      instance.on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) onLatency(ms);
      });
    }
  });
}

/** Warms up, then measures one scenario against one target. */
export async function measure(target: Target, scenario: Scenario, opts: LoadOptions): Promise<Measurement> {
  if (opts.warmupSeconds > 0) await runOnce(target, scenario, opts.warmupSeconds, opts.connections);
  const log = new LatencyLog();
  const serverBefore = await target.cpuMicros();
  const loadBefore = process.cpuUsage();
  const machineBefore = machineBusyMs();
  const wallBefore = process.hrtime.bigint();
  const result = await runOnce(target, scenario, opts.seconds, opts.connections, (ms) => log.add(ms));
  const wallMicros = Number(process.hrtime.bigint() - wallBefore) / 1000;
  const loadUsed = process.cpuUsage(loadBefore);
  const machineUsedMicros = (machineBusyMs() - machineBefore) * 1000;
  const serverUsed = (await target.cpuMicros()) - serverBefore;
  const drained = await drain(target);
  const sorted = log.sorted();
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = (stat as { count?: number }).count ?? 0;
  const requests = result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
  return {
    scenario: scenario.name,
    target: target.kind,
    seconds: result.duration,
    connections: opts.connections,
    requests,
    rps: requests / result.duration,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
    errors: result.errors,
    non2xx: result.non2xx,
    statuses,
    serverCpu: (100 * serverUsed) / wallMicros,
    loadgenCpu: (100 * (loadUsed.user + loadUsed.system)) / wallMicros,
    otherCpu: Math.max(0, (100 * (machineUsedMicros - serverUsed - loadUsed.user - loadUsed.system)) / wallMicros),
    drainSeconds: drained.seconds,
    drainCpuMs: drained.cpuMicros / 1000,
  };
}

/** A server is idle once it uses less than this share of one core over a sampling interval. */
const IDLE_SHARE = 0.05;
const DRAIN_SAMPLE_MS = 250;
const DRAIN_LIMIT_MS = 60_000;

/** Waits until the target is idle (or DRAIN_LIMIT_MS have passed); the time and CPU that took. */
async function drain(target: Target): Promise<{ seconds: number; cpuMicros: number }> {
  const started = performance.now();
  const first = await target.cpuMicros();
  let last = first;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_SAMPLE_MS));
    const now = await target.cpuMicros();
    const busy = now - last;
    last = now;
    if (busy < IDLE_SHARE * DRAIN_SAMPLE_MS * 1000 || performance.now() - started > DRAIN_LIMIT_MS) break;
  }
  // The last interval was idle (or the limit was reached): the drain ended where it began.
  return { seconds: Math.max(0, (performance.now() - started - DRAIN_SAMPLE_MS) / 1000), cpuMicros: last - first };
}
