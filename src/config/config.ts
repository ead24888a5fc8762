/**
 * Server configuration: read from the environment once, validated, frozen.
 *
 * Nothing else in the code base reads `process.env` (a lint rule enforces it). Each bad value is
 * reported with the variable's name, what was given and what is allowed, and start-up stops.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isResourceType } from '../definitions/resource-types';
import { parsePemBundle } from '../formats/pem';
import { CHECKPOINT_MODES } from '../store/sqlite/checkpointer';
import { WRITER_MODES } from '../store/sqlite/writer-thread';

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
  /** Seconds a finished bulk export's files are kept (Bulk Data 2.0 `$export`). */
  bulkExportExpirySeconds: number;
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
  /** SMART on FHIR access control (`smart`, the default) or none at all (`off`: a loud warning at start-up). */
  authMode: AuthMode;
  /** The issuer (`iss`) whose access tokens are accepted; default the built-in authorization server `<origin of BASE_URL>/auth`. */
  authIssuer: string;
  /** JWKS URL of an external issuer; undefined: the built-in authorization server's keys. */
  authJwksUrl: string | undefined;
  /** The audience (`aud`) access tokens must carry; default BASE_URL. */
  authAudience: string;
  /** Client registry file of the built-in authorization server; undefined: in memory (no data directory, `SQLITE_PATH=:memory:`). */
  authClientsFile: string | undefined;
  /** Lifetime in seconds of access tokens issued by the built-in authorization server. */
  authAccessTokenSeconds: number;
  /** Lifetime in seconds of its `offline_access` refresh tokens (rotation keeps the first expiry). */
  authRefreshTokenSeconds: number;
  /** FHIR API requests per minute per client (`client_id`) and per user (`sub`) of a verified token; 0: unlimited. */
  rateLimitFhirPerMinute: number;
  /** Requests per minute per client at the authorization server's token, introspection, revocation and launch endpoints; 0: unlimited. */
  rateLimitAuthPerMinute: number;
  /** Failed authentications (bad tokens, codes, refresh tokens, assertions, passwords) within a minute from one source address that block it. */
  authFailuresPerMinute: number;
  /** Failed authentications within a minute naming one registered client, from all addresses together, that block it. */
  authClientFailuresPerMinute: number;
  /** How long a source address or client over the failure limit is refused (seconds). */
  authFailureBlockSeconds: number;
  /** Consecutive failed sign-ins of a user name before its login is locked. */
  loginLockoutThreshold: number;
  /** The first login lockout (seconds); doubled with each further failure. */
  loginLockoutSeconds: number;
  /** The longest login lockout (seconds). */
  loginLockoutMaxSeconds: number;
  /** Reverse proxies in front of the server whose `X-Forwarded-For` gives the client address (Express `trust proxy` hop count); 0: the socket peer. */
  trustProxy: number;
  /** NHS layer: `nhs-number` (a Patient carrying an NHS Number is stored with it as id; creates without one are allocated one) or `server` (ids as the generic engine assigns them). */
  patientIdPolicy: PatientIdPolicy;
  /** NHS layer: the inclusive range new NHS Numbers are allocated from (10-digit strings, low <= high). */
  nhsNumberRange: Readonly<{ low: string; high: string }>;
  /** NHS layer: the scope (or true token claim) that may see restricted patients in full; empty: nobody. */
  sensitiveScope: string;
  /** NHS layer: how long the response to a write is kept for replay under its X-Request-ID, in seconds. */
  idempotencyTtlSeconds: number;
  /** Synthetic patients seeded at start-up into an empty file store (SEED_ON_EMPTY; 0: none). */
  seedOnEmpty: number;
  /** MongoDB connection string; set: the MongoDB store is used instead of SQLite. */
  mongodbUri: string | undefined;
  /** MongoDB database name. */
  mongodbDb: string;
  /** Multi-document transactions on MongoDB (`on` needs a replica set; `off`: no transaction Bundles or conditional interactions). */
  mongodbTransactions: boolean;
  /** SQLITE_CHECKPOINT: who runs the WAL checkpoints of the SQLite file (src/store/sqlite/checkpointer.ts). */
  sqliteCheckpoint: 'inline' | 'background';
  /** SQLITE_APPEND_WRITER: who writes the audit trail's batches into the SQLite file (src/store/sqlite/writer-thread.ts). */
  sqliteAppendWriter: 'worker' | 'inline';
  /** SQLITE_WRITES: who writes the creates, updates and deletes of requests into the SQLite file (ADR 0045). */
  sqliteWrites: 'worker' | 'inline';
  /** AUDIT: an AuditEvent for every API request (src/audit). */
  audit: boolean;
  /** How long a MongoDB operation waits for a usable server before the request fails with 503 (ms). */
  mongodbTimeoutMs: number;
  /** EPS_SIGNATURE_VERIFICATION: `on` verifies prescription-order signatures (src/spine/eps/signature.ts); `off` checks presence and form only. */
  epsSignatureVerification: 'on' | 'off';
  /** EPS_EXPIRY_SWEEP_SECONDS: how often the EPS expiry sweep stores the expiry of untouched prescriptions (src/facades/eps/expiry-sweep.ts); 0 never. */
  epsExpirySweepSeconds: number;
  /** EPS_SIGNATURE_TRUSTED_CA: absolute path of a PEM bundle of CA certificates a prescription's signing certificate must chain to; undefined: the issuer is not checked. */
  epsSignatureTrustedCa: string | undefined;
  /** What one request may ask of the server (docs/limits.md); beyond them it answers 413 or 400 `too-costly`. */
  limits: Readonly<RequestLimits>;
}

/**
 * The limits that keep one request from freezing the server (docs/limits.md, ADR 14). Content limits
 * (a request body over them answers 413 `too-costly`) and query limits (400 `too-costly`).
 */
export interface RequestLimits {
  /** Entries of one batch or transaction Bundle (MAX_BUNDLE_ENTRIES). */
  maxBundleEntries: number;
  /** Items of any one JSON array of a resource (MAX_ARRAY_LENGTH). */
  maxArrayLength: number;
  /** JSON values (objects, arrays and primitives) of one resource (MAX_RESOURCE_ELEMENTS). */
  maxResourceElements: number;
  /** Keys of `_sort`, all `_sort` parameters together (MAX_SORT_KEYS). */
  maxSortKeys: number;
  /** Comma-separated values of one search parameter (MAX_OR_VALUES). */
  maxOrValues: number;
  /** Occurrences of one search parameter in a query (MAX_PARAMETER_REPEATS). */
  maxParameterRepeats: number;
  /** Parameters of one search query, every occurrence counted (MAX_QUERY_PARAMETERS). */
  maxQueryParameters: number;
  /** Values of one search query, the comma-separated values of all its parameters together (MAX_QUERY_VALUES). */
  maxQueryValues: number;
  /** Words of one `_text` or `_content` parameter, all its values together (MAX_TEXT_TERMS). */
  maxTextTerms: number;
  /** Parameters of conditional criteria: If-None-Exist, conditional update/patch/delete, conditional references (MAX_CONDITIONAL_PARAMETERS). */
  maxConditionalParameters: number;
}

export type PatientIdPolicy = 'nhs-number' | 'server';

export type AuthMode = 'smart' | 'off';

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
  { name: 'SQLITE_CHECKPOINT', default: 'background', description: 'Who copies the SQLite WAL into the database file: `background` (a worker thread with its own connection, told after every commit, checkpointing at most every 500 ms so that pages several commits rewrote are copied once; the write connection checkpoints itself only past 16 000 WAL pages) or `inline` (SQLite\'s automatic checkpoint inside the commit that crosses 1 000 pages). See docs/performance.md.' },
  { name: 'SQLITE_APPEND_WRITER', default: 'worker', description: 'Who writes the audit trail\'s batches of AuditEvents into the SQLite file: `worker` (a worker thread with its own connection, while the store\'s writes wait for it, so the rows and the commit run on another core) or `inline` (the store\'s own connection, on the event loop). Nothing else differs: the same rows, all or nothing per batch, durable before acknowledged. See docs/decisions/0044-append-writer-thread.md.' },
  { name: 'SQLITE_WRITES', default: 'worker', description: 'Who writes the creates, updates and deletes of requests into the SQLite file: `worker` (written on the same worker thread as the audit trail while the event loop validates and indexes the next requests: a write is handed over as soon as it is ready, and the writes waiting for the thread share one transaction, each in its own savepoint) or `inline` (group commits on the store\'s own connection). The same rows, each write acknowledged after its commit. Transaction Bundles whose entries are all plain creates are written the same way, as one all-or-nothing batch; other transactions run on the store\'s connection. See docs/decisions/0045-writes-on-the-writer-thread.md, 0047-staged-transactions.md and 0049-pipelined-writer-thread-sessions.md.' },
  { name: 'LOG_LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent.' },
  { name: 'MAX_BODY_BYTES', default: '10485760', description: 'Largest accepted request body in bytes (larger: 413).' },
  { name: 'MAX_CONDITIONAL_DELETE', default: '100', description: 'Most resources one conditional delete may remove (more matches: 412).' },
  { name: 'MAX_BUNDLE_ENTRIES', default: '5000', description: 'Most entries of one batch or transaction Bundle (more: 413 `too-costly`; see docs/limits.md).' },
  { name: 'MAX_ARRAY_LENGTH', default: '10000', description: 'Most items of any one JSON array of a resource, e.g. `Patient.name` (more: 413 `too-costly`).' },
  { name: 'MAX_RESOURCE_ELEMENTS', default: '100000', description: 'Most JSON values (objects, arrays and primitives) of one resource, each Bundle entry\'s resource counted on its own (more: 413 `too-costly`).' },
  { name: 'MAX_SORT_KEYS', default: '10', description: 'Most `_sort` keys of one search (more: 400 `too-costly`).' },
  { name: 'MAX_OR_VALUES', default: '100', description: 'Most comma-separated (OR) values of one search parameter (more: 400 `too-costly`).' },
  { name: 'MAX_PARAMETER_REPEATS', default: '20', description: 'Most times one search parameter may be repeated (AND) in a query (more: 400 `too-costly`).' },
  { name: 'MAX_QUERY_PARAMETERS', default: '50', description: 'Most parameters of one search query, every occurrence counted (more: 400 `too-costly`).' },
  { name: 'MAX_QUERY_VALUES', default: '500', description: 'Most values of one search query, the comma-separated values of all its parameters together (more: 400 `too-costly`).' },
  { name: 'MAX_TEXT_TERMS', default: '20', description: 'Most words of one `_text` or `_content` parameter, all its values together (more: 400 `too-costly`).' },
  { name: 'MAX_CONDITIONAL_PARAMETERS', default: '10', description: 'Most search parameters of conditional criteria: `If-None-Exist`, conditional update, patch and delete, conditional references (in transactions and in any other write) (more: 400 `too-costly`).' },
  { name: 'DEFAULT_PAGE_SIZE', default: '20', description: 'Page size of search and history when `_count` is absent.' },
  { name: 'MAX_PAGE_SIZE', default: '1000', description: 'Largest `_count` honoured.' },
  { name: 'BULK_EXPORT_EXPIRY_SECONDS', default: '3600', description: 'Seconds a finished bulk `$export` job and its NDJSON files are kept (docs/bulk-data.md).' },
  {
    name: 'CURSOR_SECRET',
    default: '(random per process)',
    description: 'Key (at least 32 characters) signing the `_cursor` of search and history page links; set the same value on every instance of a multi-instance deployment (with `MONGODB_URI` and no key, the server warns at start).',
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
  { name: 'AUTH_MODE', default: 'smart', description: '`smart`: every FHIR request except `/metadata` and `/.well-known/smart-configuration` needs a SMART access token; `off`: no access control at all (a loud warning is logged at start-up; never expose such a server).' },
  { name: 'AUTH_ISSUER', default: '(origin of BASE_URL)/auth', description: 'The issuer (`iss`) whose access tokens are accepted: the built-in authorization server by default, or an external one (then set `AUTH_JWKS_URL`).' },
  { name: 'AUTH_JWKS_URL', default: '(none)', description: 'JWKS URL of an external issuer (keys cached, rate-limited, refetched for an unknown `kid`); unset: the built-in authorization server\'s keys.' },
  { name: 'AUTH_AUDIENCE', default: 'BASE_URL', description: 'The audience (`aud`) every access token must carry.' },
  { name: 'AUTH_CLIENTS_FILE', default: 'DATA_DIR/clients.json', description: 'Client registry of the built-in authorization server (JSON, see docs/smart.md); created with a development public client when absent; in memory when `SQLITE_PATH=:memory:` and unset.' },
  { name: 'AUTH_ACCESS_TOKEN_LIFETIME', default: '3600', description: 'Seconds an access token of the built-in authorization server is valid.' },
  { name: 'AUTH_REFRESH_TOKEN_LIFETIME', default: '2592000', description: 'Seconds an `offline_access` refresh token of the built-in authorization server is valid (30 days; `online_access`: at most 8 hours).' },
  { name: 'RATE_LIMIT_FHIR_PER_MINUTE', default: '600000', description: 'FHIR API requests per minute per client (`client_id`) and, separately, per user (`sub`) of a verified access token; more: 429 `throttled` with `Retry-After`. 0: unlimited. The default is a ceiling no single legitimate client reaches on one instance; size it to your clients.' },
  { name: 'RATE_LIMIT_AUTH_PER_MINUTE', default: '6000', description: 'Requests per minute per registered client at the built-in authorization server\'s token, introspection, revocation and launch endpoints; more: 429 `slow_down` with `Retry-After`. 0: unlimited.' },
  { name: 'AUTH_FAILURES_PER_MINUTE', default: '30', description: 'Failed authentications (invalid bearer tokens on the FHIR API and /auth; bad codes, refresh tokens, client assertions and passwords at /auth) within one minute from one source address (IPv6: one /64) after which that address is blocked (429, valid credentials included) for `AUTH_FAILURE_BLOCK_SECONDS`.' },
  { name: 'AUTH_CLIENT_FAILURES_PER_MINUTE', default: '100', description: 'Failed authentications at /auth within one minute naming one registered client, from all addresses together (a distributed attack on one client), after which authentication of that client is blocked (429) for `AUTH_FAILURE_BLOCK_SECONDS`.' },
  { name: 'AUTH_FAILURE_BLOCK_SECONDS', default: '60', description: 'How long a source address or client blocked by `AUTH_FAILURES_PER_MINUTE` or `AUTH_CLIENT_FAILURES_PER_MINUTE` is refused, valid credentials included.' },
  { name: 'LOGIN_LOCKOUT_THRESHOLD', default: '5', description: 'Consecutive failed sign-ins of one user name on the login page (whether or not the user exists) after which the login is locked, even with the right password.' },
  { name: 'LOGIN_LOCKOUT_SECONDS', default: '60', description: 'The first login lockout; every further failed sign-in of the user name doubles it (up to `LOGIN_LOCKOUT_MAX_SECONDS`); a successful sign-in resets the count.' },
  { name: 'LOGIN_LOCKOUT_MAX_SECONDS', default: '3600', description: 'The longest login lockout.' },
  { name: 'TRUST_PROXY', default: '0', description: 'Number of reverse proxies in front of the server whose `X-Forwarded-For` entry is trusted as the client address (for per-address throttling); 0: the TCP peer address. Set it behind a TLS-terminating proxy, or every client shares the proxy\'s address.' },
  { name: 'PATIENT_ID_POLICY', default: 'nhs-number', description: '`nhs-number`: a Patient with an NHS Number is stored with the NHS Number as its id, `POST /Patient` without one allocates one, and no Patient is created under an id that is not an NHS Number; `server`: Patient ids are assigned as for any other type (NHS Numbers are still checked).' },
  { name: 'NHS_NUMBER_RANGE', default: '9990000000-9999999999', description: 'Inclusive range `low-high` of 10-digit numbers new NHS Numbers are allocated from (default: the test range, never issued to real people).' },
  { name: 'SENSITIVE_SCOPE', default: 'nhs-sensitive-records', description: 'Scope (or true token claim) whose holders see restricted patients in full; others get them without address, telecom, contact, generalPractitioner and the pharmacy and birth place extensions. Empty: nobody.' },
  { name: 'SEED_ON_EMPTY', default: '50', description: 'Synthetic UK patients (with GP practices, GPs, encounters, observations and prescriptions; docs/seed.md) written at start-up when the SQLite database file holds no resource at all; `0` disables.' },
  { name: 'IDEMPOTENCY_TTL_SECONDS', default: '86400', description: 'How long the response to a write is kept and replayed to a retry with the same `X-Request-ID`.' },
  { name: 'MONGODB_URI', default: '(none)', description: 'MongoDB connection string (`mongodb://` or `mongodb+srv://`); set: resources are stored in MongoDB instead of the embedded SQLite database (see "Production with MongoDB").' },
  { name: 'MONGODB_DB', default: 'fhir', description: 'Name of the MongoDB database.' },
  { name: 'MONGODB_TRANSACTIONS', default: 'on', description: '`on`: every write is a multi-document transaction (needs a replica set or sharded cluster); `off`: single writes only, for a standalone server (transaction Bundles and conditional interactions answer 501).' },
  { name: 'AUDIT', default: 'on', description: '`on`: every request on the FHIR API and the NHS façades is recorded as an AuditEvent (IHE BALP; searchable `AuditEvent?patient=`, read with an AuditEvent scope; see docs/audit.md); `off`: none is recorded.' },
  { name: 'MONGODB_TIMEOUT_MS', default: '5000', description: 'How long a MongoDB operation waits for a usable server (server selection) before the request fails with 503.' },
  { name: 'EPS_SIGNATURE_VERIFICATION', default: 'off', description: '`off`: an EPS prescription-order\'s Provenance signature must be present and an XML-DSig Signature (real NHS smartcard signatures cannot be checked here); `on`: its SignedInfo must be the one `$prepare` gives for the prescription and its SignatureValue must verify against the KeyInfo certificate (docs/eps.md).' },
  { name: 'EPS_EXPIRY_SWEEP_SECONDS', default: '60', description: 'Seconds between two runs of the EPS expiry sweep, which stores Expired (0004) every prescription whose validity has passed though no message touched it (docs/eps.md "Nomination and expiry"); `0`: no sweep (prescriptions then expire when touched or tracked).' },
  {
    name: 'EPS_SIGNATURE_TRUSTED_CA',
    default: '(none)',
    description:
      'Path of a PEM bundle of trusted CA certificates (read at start-up; must hold at least one certificate). Set: a prescription signature\'s certificate (EPS `$process-message` with `EPS_SIGNATURE_VERIFICATION=on`, and `$verify-signature`) must chain to one of them and every certificate of the chain be within its validity, else 400 INVALID_VALUE "Signature is invalid."; unset: the issuer is not checked. NHS smartcard CAs are not shipped (docs/eps.md).',
  },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const ON_OFF: readonly ('on' | 'off')[] = ['on', 'off'];

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
  /** One of `choices` (case-insensitive), `def` when unset or not one of them (a problem then). */
  const oneOf = <T extends string>(name: string, def: T, choices: readonly T[]): T => {
    const raw = (get(name) ?? def).toLowerCase();
    const found = choices.find((c) => c === raw);
    if (found === undefined) problems.push(`${name}=${JSON.stringify(raw)} is not one of ${choices.join(', ')}`);
    return found ?? def;
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

  const logLevel = oneOf<LogLevel>('LOG_LEVEL', 'info', LOG_LEVELS);

  const maxBodyBytes = int('MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024);
  const maxConditionalDelete = int('MAX_CONDITIONAL_DELETE', 100, 1, 100000);
  const maxPageSize = int('MAX_PAGE_SIZE', 1000, 1, 100000);
  const bulkExportExpirySeconds = int('BULK_EXPORT_EXPIRY_SECONDS', 3600, 1, 30 * 24 * 3600);
  const defaultPageSize = int('DEFAULT_PAGE_SIZE', 20, 1, 100000);
  if (defaultPageSize > maxPageSize) problems.push(`DEFAULT_PAGE_SIZE=${defaultPageSize} is larger than MAX_PAGE_SIZE=${maxPageSize}`);

  const cursorSecret = get('CURSOR_SECRET');
  if (cursorSecret !== undefined && cursorSecret.length < 32) problems.push('CURSOR_SECRET is shorter than 32 characters (use e.g. `openssl rand -base64 48`)');

  const fhirPackages = Object.freeze(parsePackages(get('FHIR_PACKAGES'), problems));
  const profilesDir = parseProfilesDir(env.PROFILES_DIR, problems);
  const requiredProfiles = Object.freeze(parseRequiredProfiles(env.REQUIRED_PROFILES === undefined ? DEFAULT_REQUIRED_PROFILES : env.REQUIRED_PROFILES, problems));

  const unknownProfile = oneOf<UnknownProfilePolicy>('UNKNOWN_PROFILE', 'warn', ['reject', 'warn']);
  const unknownExtension = oneOf<UnknownProfilePolicy>('UNKNOWN_EXTENSION', 'warn', ['reject', 'warn']);

  const authMode = oneOf<AuthMode>('AUTH_MODE', 'smart', ['smart', 'off']);
  const httpUrl = (name: string, raw: string | undefined): string | undefined => {
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return raw;
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)} is not an absolute http(s) URL`);
      return undefined;
    }
  };
  const origin = (() => {
    try {
      return new URL(baseUrl).origin;
    } catch {
      return 'http://localhost';
    }
  })();
  const authIssuer = (httpUrl('AUTH_ISSUER', get('AUTH_ISSUER')) ?? `${origin}/auth`).replace(/\/+$/, '');
  const authJwksUrl = httpUrl('AUTH_JWKS_URL', get('AUTH_JWKS_URL'));
  if (authJwksUrl !== undefined && get('AUTH_ISSUER') === undefined) problems.push('AUTH_JWKS_URL is set but AUTH_ISSUER is not: name the external issuer whose keys AUTH_JWKS_URL serves');
  const authAudience = httpUrl('AUTH_AUDIENCE', get('AUTH_AUDIENCE')) ?? baseUrl;
  const clientsFileRaw = get('AUTH_CLIENTS_FILE');
  const authClientsFile = clientsFileRaw !== undefined ? path.resolve(clientsFileRaw) : sqlitePath === ':memory:' ? undefined : path.join(dataDir, 'clients.json');
  const authAccessTokenSeconds = int('AUTH_ACCESS_TOKEN_LIFETIME', 3600, 30, 86400);
  const authRefreshTokenSeconds = int('AUTH_REFRESH_TOKEN_LIFETIME', 30 * 86400, 60, 365 * 86400);

  const rateLimitFhirPerMinute = int('RATE_LIMIT_FHIR_PER_MINUTE', 600_000, 0, 100_000_000);
  const rateLimitAuthPerMinute = int('RATE_LIMIT_AUTH_PER_MINUTE', 6000, 0, 100_000_000);
  const authFailuresPerMinute = int('AUTH_FAILURES_PER_MINUTE', 30, 1, 100_000_000);
  const authClientFailuresPerMinute = int('AUTH_CLIENT_FAILURES_PER_MINUTE', 100, 1, 100_000_000);
  const authFailureBlockSeconds = int('AUTH_FAILURE_BLOCK_SECONDS', 60, 1, 86400);
  const loginLockoutThreshold = int('LOGIN_LOCKOUT_THRESHOLD', 5, 1, 1000);
  const loginLockoutSeconds = int('LOGIN_LOCKOUT_SECONDS', 60, 1, 86400);
  const loginLockoutMaxSeconds = int('LOGIN_LOCKOUT_MAX_SECONDS', 3600, 1, 7 * 86400);
  if (loginLockoutMaxSeconds < loginLockoutSeconds) problems.push(`LOGIN_LOCKOUT_MAX_SECONDS=${loginLockoutMaxSeconds} is shorter than LOGIN_LOCKOUT_SECONDS=${loginLockoutSeconds}`);
  const trustProxy = int('TRUST_PROXY', 0, 0, 10);

  const patientIdPolicy = oneOf<PatientIdPolicy>('PATIENT_ID_POLICY', 'nhs-number', ['nhs-number', 'server']);
  const nhsNumberRange = Object.freeze(parseNhsNumberRange(get('NHS_NUMBER_RANGE') ?? '9990000000-9999999999', problems));
  const sensitiveScope = env.SENSITIVE_SCOPE === undefined ? 'nhs-sensitive-records' : env.SENSITIVE_SCOPE.trim();
  const idempotencyTtlSeconds = int('IDEMPOTENCY_TTL_SECONDS', 86400, 1, 31 * 86400);
  const epsExpirySweepSeconds = int('EPS_EXPIRY_SWEEP_SECONDS', 60, 0, 86400);

  const mongodbUri = get('MONGODB_URI');
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\/\S+$/.test(mongodbUri)) problems.push('MONGODB_URI is not a MongoDB connection string (mongodb://host:port/... or mongodb+srv://...)');
  const mongodbDb = get('MONGODB_DB') ?? 'fhir';
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongodbDb)) problems.push(`MONGODB_DB=${JSON.stringify(mongodbDb)} is not a database name (letters, digits, _ and -, at most 63)`);
  const mongodbTransactions = oneOf('MONGODB_TRANSACTIONS', 'on', ON_OFF) === 'on';
  const sqliteCheckpoint = oneOf('SQLITE_CHECKPOINT', 'background', CHECKPOINT_MODES);
  const sqliteAppendWriter = oneOf('SQLITE_APPEND_WRITER', 'worker', WRITER_MODES);
  const sqliteWrites = oneOf('SQLITE_WRITES', 'worker', WRITER_MODES);
  const audit = oneOf('AUDIT', 'on', ON_OFF) === 'on';
  const mongodbTimeoutMs = int('MONGODB_TIMEOUT_MS', 5000, 100, 600000);
  const epsSignatureVerification = oneOf('EPS_SIGNATURE_VERIFICATION', 'off', ON_OFF);
  const trustedCaRaw = get('EPS_SIGNATURE_TRUSTED_CA');
  const epsSignatureTrustedCa = trustedCaRaw === undefined ? undefined : path.resolve(trustedCaRaw);
  if (epsSignatureTrustedCa !== undefined) {
    try {
      parsePemBundle(fs.readFileSync(epsSignatureTrustedCa, 'utf8'));
    } catch (e) {
      problems.push(`EPS_SIGNATURE_TRUSTED_CA=${JSON.stringify(trustedCaRaw)} is not a readable PEM bundle of CA certificates: ${(e as Error).message}`);
    }
  }

  // Upper bounds keep every query within SQLite's own limits (e.g. 2000 ORDER BY terms): see docs/limits.md.
  const limits: RequestLimits = Object.freeze({
    maxBundleEntries: int('MAX_BUNDLE_ENTRIES', 5000, 1, 1_000_000),
    maxArrayLength: int('MAX_ARRAY_LENGTH', 10_000, 1, 10_000_000),
    maxResourceElements: int('MAX_RESOURCE_ELEMENTS', 100_000, 100, 100_000_000),
    maxSortKeys: int('MAX_SORT_KEYS', 10, 1, 100),
    maxOrValues: int('MAX_OR_VALUES', 100, 1, 10_000),
    maxParameterRepeats: int('MAX_PARAMETER_REPEATS', 20, 1, 1000),
    maxQueryParameters: int('MAX_QUERY_PARAMETERS', 50, 1, 10_000),
    maxQueryValues: int('MAX_QUERY_VALUES', 500, 1, 1_000_000),
    maxTextTerms: int('MAX_TEXT_TERMS', 20, 1, 1000),
    maxConditionalParameters: int('MAX_CONDITIONAL_PARAMETERS', 10, 1, 1000),
  });

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
    bulkExportExpirySeconds,
    cursorSecret,
    fhirPackages,
    profilesDir,
    requiredProfiles,
    unknownProfile,
    unknownExtension,
    authMode,
    authIssuer,
    authJwksUrl,
    authAudience,
    authClientsFile,
    authAccessTokenSeconds,
    authRefreshTokenSeconds,
    rateLimitFhirPerMinute,
    rateLimitAuthPerMinute,
    authFailuresPerMinute,
    authClientFailuresPerMinute,
    authFailureBlockSeconds,
    loginLockoutThreshold,
    loginLockoutSeconds,
    loginLockoutMaxSeconds,
    trustProxy,
    patientIdPolicy,
    nhsNumberRange,
    sensitiveScope,
    idempotencyTtlSeconds,
    seedOnEmpty: int('SEED_ON_EMPTY', 50, 0, 100_000),
    mongodbUri,
    mongodbDb,
    mongodbTransactions,
    audit,
    sqliteCheckpoint,
    sqliteAppendWriter,
    sqliteWrites,
    mongodbTimeoutMs,
    epsSignatureVerification,
    epsExpirySweepSeconds,
    epsSignatureTrustedCa,
    limits,
  });
}

/** `low-high`, two 10-digit numbers with low <= high. */
function parseNhsNumberRange(raw: string, problems: string[]): { low: string; high: string } {
  const m = /^(\d{10})\s*-\s*(\d{10})$/.exec(raw);
  if (!m || m[1]! > m[2]!) {
    problems.push(`NHS_NUMBER_RANGE=${JSON.stringify(raw)} is not a range of two 10-digit numbers low-high (e.g. 9990000000-9999999999)`);
    return { low: '9990000000', high: '9999999999' };
  }
  return { low: m[1]!, high: m[2]! };
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
