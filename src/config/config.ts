/**
 * Server configuration: read from the environment once, validated, frozen.
 *
 * Nothing else in the code base reads `process.env` (a lint rule enforces it). Each bad value is
 * reported with the variable's name, what was given and what is allowed, and start-up stops.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isResourceType } from '../definitions/resource-types';

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
  /** FHIR packages (directories or `.tgz` files, absolute paths) whose conformance resources are loaded at start-up. */
  fhirPackages: readonly string[];
  /** The project's own profile folder (absolute), or undefined for none. */
  profilesDir: string | undefined;
  /** Resource type -> canonical url (optionally `url|version`) of the profile every write of that type must conform to. */
  requiredProfiles: Readonly<Record<string, string>>;
  /** What a write claiming (meta.profile) a profile the server does not know gets: 422 (`reject`) or a warning (`warn`). */
  unknownProfile: UnknownProfilePolicy;
  /** What an extension whose definition the server does not know gets: an error (`reject`) or a warning (`warn`). Unknown modifier extensions are always errors. */
  unknownExtension: UnknownProfilePolicy;
}

export type UnknownProfilePolicy = 'reject' | 'warn';

/** UK Core (https://simplifier.net/hl7fhirukcorer4) for the three types the server models first. */
export const DEFAULT_REQUIRED_PROFILES =
  'Patient=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient,Composition=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Composition,MedicationRequest=https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationRequest';

/** The directory holding the package's package.json (this file runs from src/config or dist/src/config). */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
}

/** The repository's own profiles/ folder, resolved relative to the package root (not the working directory). */
export const DEFAULT_PROFILES_DIR = path.join(packageRoot(), 'profiles');

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
  {
    name: 'FHIR_PACKAGES',
    default: '(none)',
    description: 'Comma-separated FHIR NPM packages (directories or `.tgz` files) whose StructureDefinitions, ValueSets and CodeSystems are loaded at start-up; they take precedence over `PROFILES_DIR` for the same canonical url.',
  },
  {
    name: 'PROFILES_DIR',
    default: '(the repository profiles/ folder)',
    description: 'Folder of the project\'s own profiles, extensions, ValueSets and CodeSystems (read recursively); the empty string loads none.',
  },
  {
    name: 'REQUIRED_PROFILES',
    default: DEFAULT_REQUIRED_PROFILES,
    description:
      'Comma-separated `Type=url` pairs: every write of `Type` must conform to the profile `url` (which may name a version, as canonical references do); the default is UK Core for Patient, Composition and MedicationRequest; the empty string requires none. A profile not found at start-up stops the server.',
  },
  {
    name: 'UNKNOWN_PROFILE',
    default: 'warn',
    description: '`reject` or `warn`: whether a write claiming in `meta.profile` a profile the server does not know is refused (422) or accepted with a warning (the profile is then not checked).',
  },
  {
    name: 'UNKNOWN_EXTENSION',
    default: 'warn',
    description: '`reject` or `warn`: whether an extension whose definition the server does not know is an error (422) or a warning; unknown `modifierExtension`s are always errors.',
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

  const fhirPackages = Object.freeze(parsePackages(get('FHIR_PACKAGES'), problems));
  const profilesDir = parseProfilesDir(env.PROFILES_DIR, problems);
  const requiredProfiles = Object.freeze(parseRequiredProfiles(env.REQUIRED_PROFILES === undefined ? DEFAULT_REQUIRED_PROFILES : env.REQUIRED_PROFILES, problems));

  const unknownProfileRaw = (get('UNKNOWN_PROFILE') ?? 'warn').toLowerCase();
  let unknownProfile: UnknownProfilePolicy = 'warn';
  if (unknownProfileRaw === 'reject' || unknownProfileRaw === 'warn') unknownProfile = unknownProfileRaw;
  else problems.push(`UNKNOWN_PROFILE=${JSON.stringify(unknownProfileRaw)} is not one of reject, warn`);
  const unknownExtensionRaw = (get('UNKNOWN_EXTENSION') ?? 'warn').toLowerCase();
  let unknownExtension: UnknownProfilePolicy = 'warn';
  if (unknownExtensionRaw === 'reject' || unknownExtensionRaw === 'warn') unknownExtension = unknownExtensionRaw;
  else problems.push(`UNKNOWN_EXTENSION=${JSON.stringify(unknownExtensionRaw)} is not one of reject, warn`);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    baseUrl,
    basePath,
    dataDir,
    sqlitePath,
    logLevel,
    maxBodyBytes,
    maxConditionalDelete,
    defaultPageSize,
    maxPageSize,
    cursorSecret,
    fhirPackages,
    profilesDir,
    requiredProfiles,
    unknownProfile,
    unknownExtension,
  });
}

function parsePackages(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (item === '') {
      problems.push(`FHIR_PACKAGES=${JSON.stringify(raw)} has an empty item (write comma-separated paths without empty entries)`);
      continue;
    }
    const abs = path.resolve(item);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(abs);
    } catch {
      stat = undefined;
    }
    if (!stat) problems.push(`FHIR_PACKAGES: ${JSON.stringify(item)} does not exist (resolved to ${abs})`);
    else if (!stat.isDirectory() && !/\.(tgz|tar\.gz)$/i.test(abs)) problems.push(`FHIR_PACKAGES: ${JSON.stringify(item)} is neither a directory nor a .tgz package`);
    else out.push(abs);
  }
  return out;
}

function parseProfilesDir(raw: string | undefined, problems: string[]): string | undefined {
  if (raw === undefined) return fs.existsSync(DEFAULT_PROFILES_DIR) ? DEFAULT_PROFILES_DIR : undefined;
  if (raw.trim() === '') return undefined;
  const abs = path.resolve(raw.trim());
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) {
    problems.push(`PROFILES_DIR=${JSON.stringify(raw.trim())} is not a directory (resolved to ${abs})`);
    return undefined;
  }
  return abs;
}

/** `Type=url` pairs; the empty string means none. Every bad pair is reported. */
export function parseRequiredProfiles(raw: string, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw.trim() === '') return out;
  for (const item of raw.split(',').map((s) => s.trim())) {
    const where = `REQUIRED_PROFILES item ${JSON.stringify(item)}`;
    const eq = item.indexOf('=');
    if (item === '' || eq < 0) {
      problems.push(`${where} is not a \`Type=url\` pair (e.g. Patient=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient); use the empty string for none`);
      continue;
    }
    const type = item.slice(0, eq).trim();
    const url = item.slice(eq + 1).trim();
    if (!/^[A-Z][A-Za-z]*$/.test(type) || !isResourceType(type)) {
      problems.push(`${where}: ${JSON.stringify(type)} is not an R4 resource type`);
      continue;
    }
    if (!/^(https?:\/\/[^\s|,]+|urn:[^\s|,]+)(\|[^\s|,]+)?$/.test(url)) {
      problems.push(`${where}: ${JSON.stringify(url)} is not a canonical url (absolute http(s) or urn, optionally |version)`);
      continue;
    }
    if (out[type] !== undefined) {
      problems.push(`${where}: ${type} is given more than once (one required profile per type)`);
      continue;
    }
    out[type] = url;
  }
  return out;
}
