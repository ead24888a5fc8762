/**
 * The real server as a child process (`node dist/src/main.js`, the composition root of src/main.ts)
 * for the chaos suites: started on a data directory with an environment, its address read from the
 * "listening" log line, its log lines kept (so a 500's request id can be matched to the logged
 * error), killed with SIGKILL or stopped with SIGTERM. Running the server out of process means a
 * request that hangs or a synchronous loop that blocks the server's event loop shows up as a client
 * timeout here instead of freezing the test runner, and `kill -9` is a real process death.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** dist/src/main.js, from dist/test/chaos/support. */
export const MAIN_JS = path.resolve(__dirname, '..', '..', '..', 'src', 'main.js');

/** The BASE_URL every chaos server is configured with (tokens' audience); requests go to `origin` instead. */
export const CHAOS_BASE_URL = 'http://localhost:8080/fhir';

export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` of the listening server. */
  origin: string;
  /** `origin` + the FHIR base path (`/fhir`). */
  base: string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether the process has exited. */
  hasExited(): boolean;
  /** Every output line so far (stdout and stderr, newest last, at most the last 5 000). */
  lines(): string[];
  /** Logged lines (JSON) that mention the request id. */
  logFor(requestId: string): string[];
  /** Logged lines at level error or fatal (pino 50 / 60) and anything written to stderr. */
  errors(): string[];
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful shutdown) and wait for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  /** Extra environment (AUTH_MODE, REQUIRED_PROFILES, ...); PORT, HOST, BASE_URL, DATA_DIR are set here. */
  env?: Record<string, string>;
  /** How long start-up may take (default 60 s: the machine is shared). */
  startTimeoutMs?: number;
}

const MAX_LINES = 5000;

/** Starts the server and resolves once it is listening (rejects with its output if it exits first). */
export function startServerProcess(opts: StartOptions): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LOG_LEVEL: 'info',
      AUTH_MODE: 'off',
      CURSOR_SECRET: 'chaos-suite-cursor-secret-0123456789abcdef',
      // The chaos suites count their own writes: no synthetic population (docs/seed.md).
      SEED_ON_EMPTY: '0',
      ...opts.env,
      PORT: '0',
      HOST: '127.0.0.1',
      BASE_URL: CHAOS_BASE_URL,
      DATA_DIR: opts.dataDir,
    };
    const child = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const stderr: string[] = [];
    let exitedFlag = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => {
        exitedFlag = true;
        r({ code, signal });
      }),
    );
    const push = (l: string, isErr: boolean): void => {
      lines.push(l);
      if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
      if (isErr) stderr.push(l);
    };
    const splitter = (isErr: boolean): ((d: Buffer) => void) => {
      let partial = '';
      return (d: Buffer) => {
        partial += d.toString('utf8');
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) if (p.trim() !== '') push(p, isErr);
      };
    };
    let started = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${opts.startTimeoutMs ?? 60_000} ms:\n${lines.slice(-30).join('\n')}`));
    }, opts.startTimeoutMs ?? 60_000);
    const onOut = splitter(false);
    child.stdout!.on('data', (d: Buffer) => {
      onOut(d);
      if (started) return;
      for (const l of lines) {
        const m = /"listening":"(http:\/\/[^"]+?)(\/fhir)?"/.exec(l);
        if (m) {
          started = true;
          clearTimeout(timer);
          const origin = m[1]!;
          const server: ServerProcess = {
            child,
            origin,
            base: `${origin}/fhir`,
            exited,
            hasExited: () => exitedFlag,
            lines: () => [...lines],
            logFor: (id) => lines.filter((x) => x.includes(id)),
            errors: () => [...stderr, ...lines.filter((x) => /"level":(50|60)\b/.test(x))],
            kill9: async () => {
              if (!exitedFlag) child.kill('SIGKILL');
              await exited;
            },
            stop: async (graceMs = 15_000) => {
              if (exitedFlag) return;
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
              await exited;
              clearTimeout(t);
            },
          };
          resolve(server);
          return;
        }
      }
    });
    child.stderr!.on('data', splitter(true));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`the server exited (${code ?? signal}) before listening:\n${lines.slice(-30).join('\n')}`));
    });
  });
}
