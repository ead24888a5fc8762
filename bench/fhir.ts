/**
 * The FHIR R4 server under test (http.html RESTful API), started with the real composition root
 * (`startServer` from src/main.ts) over a temporary SQLite file, so WAL writes, fsync policy and
 * indexing costs are all included in the figures.
 *
 * It runs in a child process, not in the benchmark's own process: autocannon generating load and the
 * server answering it would otherwise share one event loop (and one core of the two this machine
 * has), and every figure would measure their sum. The same holds for the two baselines.
 */
import { loadConfig } from '../src/config/config';
import { startServer } from '../src/main';
import { serveParent, spawnTarget, type Target } from './child';

/**
 * Parent side: starts the FHIR server in a child process over `sqlitePath` (inside `dataDir`).
 * `memory` starts it over `:memory:` instead (kind `fhir-memory`): the same code without any disk
 * I/O, an optional diagnostic that separates CPU cost from durability cost.
 */
export function startFhirTarget(sqlitePath: string, dataDir: string, memory = false): Promise<Target> {
  return memory ? spawnTarget('fhir-memory', [':memory:', dataDir]) : spawnTarget('fhir', [sqlitePath, dataDir]);
}

/** Child side: starts the server and serves the parent's IPC requests until told to stop. */
export async function serveFhir(sqlitePath: string, dataDir: string): Promise<void> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', SQLITE_PATH: sqlitePath, DATA_DIR: dataDir, LOG_LEVEL: 'silent', AUTH_MODE: 'off' });
  const running = await startServer(config);
  serveParent(running.url, () => running.close());
}
