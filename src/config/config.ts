/**
 * Server configuration: read from the environment once, validated, frozen.
 *
 * Nothing else in the code base reads `process.env` (a lint rule enforces it). Each bad value is
 * reported with the variable's name, what was given and what is allowed, and start-up stops.
 */
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  /** Public FHIR base URL without trailing slash, used in links and Location headers. */
  baseUrl: string;
  /** Path of the FHIR base on this server, derived from baseUrl (e.g. `/fhir`). */
  basePath: string;
  dataDir: string;
  /** SQLite file path, or `:memory:`. */
  sqlitePath: string;
  logLevel: LogLevel;
  maxBodyBytes: number;
  /** Conditional delete of several matches deletes at most this many; more is 412. */
  maxConditionalDelete: number;
  /** Default and maximum page sizes of search and history. */
  defaultPageSize: number;
  maxPageSize: number;
  /**
   * Key of the HMAC that signs search and history paging cursors (`_cursor`). Undefined: a random
   * per-process key is used (links then only work on the instance that issued them).
   */
  cursorSecret: string | undefined;
}

export interface ConfigVariable {
  name: string;
  default: string;
  description: string;
}

/** The documented variables (the README's configuration table is checked against this list by a test). */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  { name: 'PORT', default: '8080', description: 'TCP port to listen on (0 = any free port).' },
  { name: 'HOST', default: '127.0.0.1', description: 'Interface to bind; `0.0.0.0` to listen on all.' },
  { name: 'BASE_URL', default: 'http://localhost:PORT/fhir', description: 'Full public FHIR base URL used in links and Location headers; its path is the base path served.' },
  { name: 'DATA_DIR', default: './data', description: 'Directory of the embedded SQLite database (`fhir.sqlite`).' },
  { name: 'SQLITE_PATH', default: 'DATA_DIR/fhir.sqlite', description: 'Overrides the database file; `:memory:` keeps everything in memory (tests).' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent.' },
  { name: 'MAX_BODY_BYTES', default: '10485760', description: 'Largest accepted request body in bytes (larger: 413).' },
  { name: 'MAX_CONDITIONAL_DELETE', default: '100', description: 'Most resources one conditional delete may remove (more matches: 412).' },
  { name: 'DEFAULT_PAGE_SIZE', default: '20', description: 'Page size of search and history when `_count` is absent.' },
  { name: 'MAX_PAGE_SIZE', default: '1000', description: 'Largest `_count` honoured.' },
  {
    name: 'CURSOR_SECRET',
    default: '(random per process)',
    description: 'Key (at least 32 characters) signing the `_cursor` of search and history page links; set the same value on every instance of a multi-instance deployment.',
  },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Readonly<Config> {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${JSON.stringify(raw)} is not an integer between ${min} and ${max}`);
      return def;
    }
    return Number(raw);
  };

  const port = int('PORT', 8080, 0, 65535);
  const host = get('HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) problems.push(`HOST=${JSON.stringify(host)} is not a host name or IP address`);

  let baseUrl = get('BASE_URL') ?? `http://localhost:${port === 0 ? 8080 : port}/fhir`;
  let basePath = '/fhir';
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    if (u.search || u.hash) throw new Error('query');
    baseUrl = baseUrl.replace(/\/+$/, '');
    basePath = u.pathname.replace(/\/+$/, '');
  } catch {
    problems.push(`BASE_URL=${JSON.stringify(baseUrl)} is not an absolute http(s) URL without query or fragment (e.g. http://localhost:8080/fhir)`);
  }

  const dataDir = path.resolve(get('DATA_DIR') ?? './data');
  const sqlitePath = get('SQLITE_PATH') ?? path.join(dataDir, 'fhir.sqlite');

  const logLevelRaw = (get('LOG_LEVEL') ?? 'info').toLowerCase();
  let logLevel: LogLevel = 'info';
  if ((LOG_LEVELS as readonly string[]).includes(logLevelRaw)) logLevel = logLevelRaw as LogLevel;
  else problems.push(`LOG_LEVEL=${JSON.stringify(logLevelRaw)} is not one of ${LOG_LEVELS.join(', ')}`);

  const maxBodyBytes = int('MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024);
  const maxConditionalDelete = int('MAX_CONDITIONAL_DELETE', 100, 1, 100000);
  const maxPageSize = int('MAX_PAGE_SIZE', 1000, 1, 100000);
  const defaultPageSize = int('DEFAULT_PAGE_SIZE', 20, 1, 100000);
  if (defaultPageSize > maxPageSize) problems.push(`DEFAULT_PAGE_SIZE=${defaultPageSize} is larger than MAX_PAGE_SIZE=${maxPageSize}`);

  const cursorSecret = get('CURSOR_SECRET');
  if (cursorSecret !== undefined && cursorSecret.length < 32) problems.push('CURSOR_SECRET is shorter than 32 characters (use e.g. `openssl rand -base64 48`)');

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ port, host, baseUrl, basePath, dataDir, sqlitePath, logLevel, maxBodyBytes, maxConditionalDelete, defaultPageSize, maxPageSize, cursorSecret });
}
