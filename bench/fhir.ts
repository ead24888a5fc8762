/**
 * The FHIR R4 server under test (http.html RESTful API), started with the real composition root
 * (`startServer` from src/main.ts) over a temporary SQLite file, so WAL writes, fsync policy and
 * indexing costs are all included in the figures.
 *
 * Two configurations are measured:
 * - `fhir` (and `fhir-memory`): the GENERIC engine — `AUTH_MODE=off`, `PATIENT_ID_POLICY=server`:
 *   no token check, Patient ids assigned like any other resource's, no demographic trace.
 * - `fhir-defaults`: the server DEFAULTS — `AUTH_MODE=smart` (every request carries a SMART access
 *   token, app-launch.html "Access token", verified RS256 + scope-checked) and
 *   `PATIENT_ID_POLICY=nhs-number` (PDS behaviour: `POST /Patient` without an NHS Number runs a
 *   demographic trace and allocates one). Its tokens are minted here with the built-in authorization
 *   server's own signing keys (`DATA_DIR/auth-keys.json`, src/auth/server/keys.ts) and its token
 *   format (src/auth/server/tokens.ts `accessToken`), exactly what `/auth/token` issues.
 *
 * It runs in a child process, not in the benchmark's own process: autocannon generating load and the
 * server answering it would otherwise share one event loop (and one core of the two this machine
 * has), and every figure would measure their sum. The same holds for the two baselines.
 */
import { loadConfig, type Config } from '../src/config/config';
import { loadSigningKeys } from '../src/auth/server/keys';
import { accessToken } from '../src/auth/server/tokens';
import { startServer } from '../src/main';
import { serveParent, spawnTarget, type Target, type TargetKind } from './child';

export type FhirTargetKind = Extract<TargetKind, 'fhir' | 'fhir-memory' | 'fhir-defaults'>;

/** Server settings a bench run may set from its own environment, for before/after comparisons. */
export const PASSED_SETTINGS = ['AUDIT', 'SQLITE_CHECKPOINT', 'SQLITE_APPEND_WRITER', 'SQLITE_WRITES'] as const;

/** Those of `PASSED_SETTINGS` set in this process's environment. */
export function passedSettings(): Record<string, string> {
  return Object.fromEntries(PASSED_SETTINGS.flatMap((name) => (process.env[name] !== undefined ? [[name, process.env[name]!]] : [])));
}

/**
 * The environment the server of `kind` is configured from (only bench plumbing besides the mode, and
 * those of `PASSED_SETTINGS` set in the bench's own environment).
 */
export function fhirEnvironment(kind: FhirTargetKind, sqlitePath: string, dataDir: string): Record<string, string> {
  const common = { ...passedSettings(), PORT: '0', HOST: '127.0.0.1', SQLITE_PATH: kind === 'fhir-memory' ? ':memory:' : sqlitePath, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  // fhir-defaults leaves AUTH_MODE and PATIENT_ID_POLICY unset: the server's defaults (smart, nhs-number).
  return kind === 'fhir-defaults' ? common : { ...common, AUTH_MODE: 'off', PATIENT_ID_POLICY: 'server' };
}

function fhirConfig(kind: FhirTargetKind, sqlitePath: string, dataDir: string): Config {
  return loadConfig(fhirEnvironment(kind, sqlitePath, dataDir));
}

/**
 * Parent side: starts the FHIR server of `kind` in a child process over `sqlitePath` (inside
 * `dataDir`); `fhir-memory` uses `:memory:` instead — the same code without any disk I/O, an
 * optional diagnostic that separates CPU cost from durability cost.
 */
export function startFhirTarget(kind: FhirTargetKind, sqlitePath: string, dataDir: string): Promise<Target> {
  return spawnTarget(kind, [kind === 'fhir-memory' ? ':memory:' : sqlitePath, dataDir]);
}

/**
 * Parent side: a SMART access token for the `fhir-defaults` server over `dataDir`, signed with the
 * built-in authorization server's key (created in `dataDir/auth-keys.json` when absent, so call this
 * before starting the server, which then loads the same key), with that server's issuer and audience.
 * Valid for `seconds` (default 6 h: longer than any run).
 */
export function mintAccessToken(sqlitePath: string, dataDir: string, scope: string, seconds = 6 * 3600): string {
  const config = fhirConfig('fhir-defaults', sqlitePath, dataDir);
  if (config.authMode !== 'smart') throw new Error(`the server defaults are expected to be AUTH_MODE=smart, got ${config.authMode}`);
  const keys = loadSigningKeys(dataDir);
  const settings = {
    issuer: config.authIssuer,
    audience: config.authAudience,
    baseUrl: config.baseUrl,
    accessTokenSeconds: seconds,
    refreshTokenSeconds: config.authRefreshTokenSeconds,
    onlineRefreshTokenSeconds: config.authRefreshTokenSeconds,
  };
  return accessToken(keys, settings, { clientId: 'bench', sub: 'bench', scope }, Math.floor(Date.now() / 1000)).token;
}

/** Child side: starts the server and serves the parent's IPC requests until told to stop. */
export async function serveFhir(kind: FhirTargetKind, sqlitePath: string, dataDir: string): Promise<void> {
  const running = await startServer(fhirConfig(kind, sqlitePath, dataDir));
  serveParent(running.url, () => running.close());
}
