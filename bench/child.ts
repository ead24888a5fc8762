/**
 * Benchmark harness plumbing (no FHIR section: it serves the FHIR R4 http.html measurements).
 *
 * Every measured server runs in its own child process so the load generator (autocannon, in the
 * parent) and the server never share an event loop: on a 2-core machine each gets a core. The child
 * reports its URL over the IPC channel, answers CPU-usage queries, and exits when told to stop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type TargetKind = 'node' | 'express' | 'fhir' | 'fhir-memory' | 'fhir-defaults';

/** Messages from parent to child. */
export type ToChild = { type: 'cpu'; seq: number } | { type: 'stop' };

/** Messages from child to parent. */
export type FromChild =
  | { type: 'ready'; url: string; pid: number }
  | { type: 'cpu'; seq: number; user: number; system: number }
  | { type: 'failed'; message: string };

/** A server running in a child process. */
export interface Target {
  kind: TargetKind;
  /** Base URL of the FHIR endpoint, e.g. `http://127.0.0.1:40123/fhir`. */
  url: string;
  pid: number;
  /** CPU time (user + system, microseconds) the child has used so far. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;

/**
 * `BENCH_PROFILE_DIR=dir`: the FHIR servers run with `--cpu-prof` into `dir` (one `.cpuprofile` per
 * thread, written when the child stops; read them with bench/cpu-profile-summary.ts).
 */
function profileArgs(kind: TargetKind): string[] {
  const dir = process.env['BENCH_PROFILE_DIR']?.trim();
  return dir && kind.startsWith('fhir') ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Forks `bench/target-process.js` with the given arguments and waits for its `ready` message. */
export function spawnTarget(kind: TargetKind, args: readonly string[]): Promise<Target> {
  const entry = path.join(__dirname, 'target-process.js');
  const child = fork(entry, [kind, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: profileArgs(kind) });
  return new Promise<Target>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} target did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      reject(new Error(`${kind} target exited before it was ready (code ${String(code)}, signal ${String(signal)})`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('message', (raw: unknown) => {
      const msg = raw as FromChild;
      if (msg.type === 'ready') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(makeTarget(kind, child, msg.url, msg.pid));
      } else if (msg.type === 'failed') {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${kind} target failed to start: ${msg.message}`));
      }
    });
  });
}

function makeTarget(kind: TargetKind, child: ChildProcess, url: string, pid: number): Target {
  let seq = 0;
  let exited = child.exitCode !== null;
  child.once('exit', () => {
    exited = true;
  });
  return {
    kind,
    url,
    pid,
    cpuMicros() {
      const mine = ++seq;
      return new Promise<number>((resolve, reject) => {
        if (exited) {
          reject(new Error(`${kind} target has exited`));
          return;
        }
        const onMessage = (raw: unknown): void => {
          const msg = raw as FromChild;
          if (msg.type === 'cpu' && msg.seq === mine) {
            child.off('message', onMessage);
            resolve(msg.user + msg.system);
          }
        };
        child.on('message', onMessage);
        child.send({ type: 'cpu', seq: mine } satisfies ToChild);
      });
    },
    stop() {
      return new Promise<void>((resolve) => {
        if (exited) {
          resolve();
          return;
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: 'stop' } satisfies ToChild);
      });
    },
  };
}

/** Child side: announce readiness, answer CPU queries, run `close` and exit on `stop`. */
export function serveParent(url: string, close: () => Promise<void>): void {
  const send = (msg: FromChild): void => {
    process.send?.(msg);
  };
  process.on('message', (raw: unknown) => {
    const msg = raw as ToChild;
    if (msg.type === 'cpu') {
      const u = process.cpuUsage();
      send({ type: 'cpu', seq: msg.seq, user: u.user, system: u.system });
    } else if (msg.type === 'stop') {
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`bench target: error while closing: ${String(err)}\n`);
          process.exit(1);
        },
      );
    }
  });
  // The parent died: do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', url, pid: process.pid });
}

/** Child side: report a start-up failure and exit. */
export function reportFailure(err: unknown): void {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.send?.({ type: 'failed', message } satisfies FromChild);
  process.stderr.write(`bench target failed: ${message}\n`);
  // Give the IPC message a chance to flush.
  setTimeout(() => process.exit(1), 100);
}
