/**
 * Composition root: configuration -> services -> HTTP server, with graceful shutdown.
 * The only module that chooses concrete implementations (store, validator, indexer, search parser).
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig, ConfigError, type Config } from './config/config';
import { createLogger, type Logger } from './logging';
import { createApp } from './http/app';
import { answerClientErrors } from './http/client-errors';
import { enableSmartAuth } from './auth/setup';
import { authDataDir, createAuthorizationServer, type AuthorizationServer } from './auth/server/server';
import { devUserReferences } from './auth/server/users';
import { seedDevUserRecords } from './dev-records';
import { seedOnEmpty } from './seed/on-empty';
import { AuthThrottle, throttleSettingsOf } from './auth/throttle';
import type { FhirServices } from './fhir/context';
import { OperationRegistry } from './operations/registry';
import { openSqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store';
import { openMongoStore } from './store/mongo/connect';
import { warmUp } from './validation/schema-validators';
import { completeIndex, extractIndex, extractIndexCooperatively, extractIndexWithStats } from './search/extract';
import type { ReferenceEntry } from './search/index-entry';
import { createR4SearchParameters } from './search/parameters';
import { RuntimeSearchParameters } from './search/runtime-parameters';
import { registerReindex } from './operations/reindex';
import { isSearchable, parseSearchQuery } from './search/parse';
import type { Store } from './store/store';
import type { CodeSystem, List, ValueSet } from 'fhir/r4';
import { and, type SearchExpr } from './search/ir';
import { rewriteQuery } from './search/rewrite';
import { LocalTerminology } from './terminology/local-terminology';
import { r4TerminologyResources } from './terminology/r4-content';
import { ConformanceRegistry, loadConformanceRegistry } from './definitions/conformance';
import { FhirError } from './fhir/outcome';
import { registerValidate } from './operations/validate';
import { ValidationPipeline } from './validation/pipeline';
import type { ValidationIssue } from './validation/schema-issues';
import { registerSpine } from './spine';
import { documentBundlesInterceptor } from './fhir/documents';
import { registerStandardOperations } from './operations/standard';
import { facadeRouters } from './facades';
import { closeAudit, registerAudit } from './audit';
import { startExpirySweep } from './facades/eps/expiry-sweep';

/** `_include` follows references only: the other parameters need not be evaluated. */
const REFERENCE_ONLY: ReadonlySet<string> = new Set(['reference']);

/**
 * Terminology for search modifiers (`:in`, `:not-in`, `:above`, `:below`): the R4 CodeSystems and
 * ValueSets plus those stored through the API (found by canonical url, newest version first).
 */
function storeTerminology(store: Store): LocalTerminology {
  return new LocalTerminology({
    base: r4TerminologyResources,
    loader: async (resourceType, url, version) => {
      const byUrl: SearchExpr = { op: 'uri', param: 'url', value: url, mode: 'exact' };
      const where = version === undefined ? byUrl : and(byUrl, { op: 'token', param: 'version', code: version });
      const page = await store.search({ resourceTypes: [resourceType], where, sort: [{ param: '_lastUpdated', kind: 'special', descending: true }], count: 1, offset: 0, total: 'none' });
      const v = page.entries[0];
      return v?.json ? (JSON.parse(v.json) as CodeSystem | ValueSet) : undefined;
    },
  });
}

/**
 * The conformance registry of the server: FHIR_PACKAGES, the profiles/ folder and the R4 base
 * (src/definitions/conformance.ts). Unreadable files are logged, not fatal; a missing required
 * profile is (checked by the validation pipeline).
 */
function conformanceRegistry(config: Readonly<Config>, log: Logger): ConformanceRegistry {
  const { registry, problems } = loadConformanceRegistry({ packages: config.fhirPackages, ...(config.profilesDir !== undefined ? { profilesDir: config.profilesDir } : {}) });
  for (const problem of problems) log.warn({ problem }, 'a conformance resource could not be loaded');
  return registry;
}

/** Keeps the terminology in step with the registry's (non-R4) ValueSets and CodeSystems. */
function connectTerminology(registry: ConformanceRegistry, terminology: LocalTerminology): void {
  for (const r of registry.valueSetsAndCodeSystems()) terminology.addResource(r);
  registry.onChange((change) => {
    const r = change.resource;
    if (r.resourceType !== 'ValueSet' && r.resourceType !== 'CodeSystem') return;
    if (change.kind === 'added') {
      // The registry's winner for the url (a lower-precedence source may have been added after a higher one).
      const winner = registry.resource(r.resourceType, r.url ?? '', r.version);
      if (winner) terminology.addResource(winner);
      return;
    }
    terminology.removeResource(r.version === undefined ? (r.url ?? '') : `${r.url ?? ''}|${r.version}`);
    // Whatever still defines the url (another version, or the same one from a package) answers again.
    for (const rest of registry.valueSetsAndCodeSystems()) if (rest.url === r.url) terminology.addResource(rest);
  });
}

function issuesOf(e: unknown): ValidationIssue[] {
  if (!(e instanceof FhirError)) throw e;
  return e.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics ?? '', expression: i.expression ?? [] }));
}

const runtimeParametersOf = new WeakMap<FhirServices, RuntimeSearchParameters>();
const pipelineOf = new WeakMap<FhirServices, ValidationPipeline>();

/** The embedded store's options from the configuration (SQLITE_CHECKPOINT, SQLITE_APPEND_WRITER, SQLITE_WRITES). */
export function sqliteStoreOptions(config: Readonly<Config>): SqliteStoreOptions {
  return { checkpoint: config.sqliteCheckpoint, appendWriter: config.sqliteAppendWriter, writes: config.sqliteWrites };
}

export function buildServices(config: Readonly<Config>, log: Logger, store?: Store): FhirServices {
  // One registry per server: SearchParameter resources written at run time extend this one only.
  const registry = createR4SearchParameters();
  const runtimeParameters = new RuntimeSearchParameters(registry, log);
  if (!store) {
    if (config.sqlitePath !== ':memory:') fs.mkdirSync(config.dataDir, { recursive: true });
    store = openSqliteStore(config.sqlitePath, sqliteStoreOptions(config));
  }
  if (config.cursorSecret === undefined) {
    // Only a deployment that can run several instances (the MongoDB store) needs a shared key; a
    // single instance on the embedded store is told at debug level only.
    (config.mongodbUri !== undefined ? log.warn.bind(log) : log.debug.bind(log))('CURSOR_SECRET is not set: paging links are signed with a random per-process key, so they only work on this instance until it restarts; set CURSOR_SECRET on every instance of a multi-instance deployment');
  }
  const terminology = storeTerminology(store);
  const conformance = conformanceRegistry(config, log);
  connectTerminology(conformance, terminology);
  const pipeline = new ValidationPipeline({ registry: conformance, terminology, requiredProfiles: config.requiredProfiles, unknownProfile: config.unknownProfile, unknownExtension: config.unknownExtension === 'reject' ? 'error' : 'warning', log });
  const sources = [...config.fhirPackages, ...(config.profilesDir !== undefined ? [config.profilesDir] : [])];
  pipeline.checkRequiredProfiles(sources.length > 0 ? `FHIR_PACKAGES / PROFILES_DIR (${sources.join(', ')})` : 'any loaded package (FHIR_PACKAGES and PROFILES_DIR load none)');
  const operations = new OperationRegistry();
  registerReindex(operations);
  registerValidate(operations);
  const services: FhirServices = {
    config,
    log,
    store,
    validator: {
      assertValid: async (resource, ctx) => {
        await pipeline.assertValid(resource, ctx);
        runtimeParameters.check(resource);
      },
      validate: async (resource, ctx) => {
        const report = await pipeline.validate(resource, ctx);
        if (report.envelope) return report;
        try {
          runtimeParameters.check(resource);
          return report;
        } catch (e) {
          return { envelope: false, issues: [...issuesOf(e), ...report.issues] };
        }
      },
      supportedProfiles: (type) => pipeline.supportedProfiles(type),
    },
    indexer: {
      // Writes index completely or fail (completeIndex): never a resource missing from a parameter's index.
      extract: (resource) => completeIndex(resource.resourceType, extractIndexWithStats(resource, registry, { baseUrl: config.baseUrl })),
      extractCooperatively: async (resource) => completeIndex(resource.resourceType, await extractIndexCooperatively(resource, registry, { baseUrl: config.baseUrl })),
      references: (resource) => extractIndex(resource, registry, { baseUrl: config.baseUrl, onlyTypes: REFERENCE_ONLY }).filter((e): e is ReferenceEntry => e.kind === 'reference'),
    },
    search: {
      parse: (types, params, opts) =>
        parseSearchQuery(types, params, registry, { strict: opts.strict, defaultCount: config.defaultPageSize, maxCount: config.maxPageSize, baseUrl: config.baseUrl, limits: config.limits }),
      parametersFor: (type) =>
        registry
          .forType(type)
          // What a query can use (the CapabilityStatement lists these): not _query, nor a parameter without an expression.
          .filter((p) => (p.kind !== 'special' || p.code === '_id' || p.code === '_lastUpdated') && isSearchable(p))
          .map((p) => ({ name: p.code, type: p.type, definition: p.url, ...(p.type === 'reference' ? { target: p.targets } : {}) })),
      rewrite: (query, session) =>
        rewriteQuery(query, {
          terminology,
          baseUrl: config.baseUrl,
          valueSetExists: async (url) => (await terminology.valueSet(url)) !== undefined,
          readList: async (id) => {
            const v = await session.read('List', id);
            return v && !v.deleted && v.json ? (JSON.parse(v.json) as List) : undefined;
          },
        }),
    },
    operations,
    searchParameters: registry,
    writeHooks: [
      runtimeParameters.hook,
      (e) => {
        if (e.resourceType === 'CodeSystem' || e.resourceType === 'ValueSet') terminology.invalidate();
      },
      // StructureDefinition/ValueSet/CodeSystem written through the API: usable for validation at once.
      pipeline.hook,
    ],
  };
  runtimeParametersOf.set(services, runtimeParameters);
  pipelineOf.set(services, pipeline);
  registerStandardOperations(services, { terminology, conformance });
  // FHIR documents at /Bundle (documents.html): identifier unique, immutable once stored.
  services.interceptors = [...(services.interceptors ?? []), documentBundlesInterceptor];
  registerSpine(services, config);
  registerAudit(services);
  return services;
}

/**
 * Work done once at start-up against the store: registering the stored SearchParameter resources
 * and the stored StructureDefinition/ValueSet/CodeSystem resources (profiles created through the API).
 */
export async function initServices(services: FhirServices): Promise<void> {
  const runtime = runtimeParametersOf.get(services);
  if (runtime) {
    const n = await runtime.loadStored(services.store);
    if (n > 0) services.log.info({ searchParameters: n }, 'registered stored SearchParameter resources');
  }
  const pipeline = pipelineOf.get(services);
  if (pipeline) {
    const n = await pipeline.loadStored(services.store);
    if (n > 0) services.log.info({ conformanceResources: n }, 'registered stored StructureDefinition, ValueSet and CodeSystem resources for validation');
  }
}

/** How long a shutdown waits for in-flight requests before cutting their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningServer {
  url: string;
  services: FhirServices;
  server: Server;
  /** The built-in authorization server (AUTH_MODE=smart without an external issuer). */
  auth?: AuthorizationServer;
  close(): Promise<void>;
}

/**
 * Opens the store the configuration selects: MongoDB when MONGODB_URI is set (asynchronous: connect,
 * check the server, create collections and indexes), else undefined (buildServices then opens the
 * embedded SQLite store).
 */
export async function openStore(config: Readonly<Config>, log: Logger): Promise<Store | undefined> {
  if (config.mongodbUri === undefined) return undefined;
  const store = await openMongoStore({ uri: config.mongodbUri, dbName: config.mongodbDb, transactions: config.mongodbTransactions, serverSelectionTimeoutMS: config.mongodbTimeoutMs });
  if (!config.mongodbTransactions) log.warn('MONGODB_TRANSACTIONS=off: transaction Bundles and conditional interactions answer 501');
  return store;
}

export async function startServer(config: Readonly<Config>, log: Logger = createLogger(config.logLevel), store?: Store): Promise<RunningServer> {
  const services = buildServices(config, log, store ?? (await openStore(config, log)));
  await initServices(services);
  // One set of limits for the FHIR API and the authorization server: failed authentications of an
  // address count together whichever endpoint they hit.
  const throttle = new AuthThrottle(throttleSettingsOf(config));
  // The built-in authorization server at <origin>/auth (its keys, revocations and used assertions
  // persisted in DATA_DIR), unless access control is off or tokens come from an external issuer: then
  // no key is loaded or generated.
  const auth = config.authMode === 'smart' && config.authJwksUrl === undefined ? createAuthorizationServer({ services, throttle }) : undefined;
  // The development users' Patient and Practitioner, so that their logins work on a fresh server
  // (never with SQLITE_PATH=:memory:, whose users live in memory; src/dev-records.ts).
  const authDir = authDataDir(config);
  // A fresh database gets a synthetic population first (SEED_ON_EMPTY, src/seed/on-empty.ts).
  await seedOnEmpty(services, { devUsers: auth !== undefined && authDir !== undefined });
  if (auth && authDir !== undefined) {
    const seeded = await seedDevUserRecords(services, devUserReferences(authDir));
    if (seeded.length > 0) log.info({ seeded }, 'created the FHIR resources of the development users');
  }
  // SMART on FHIR access control (AUTH_MODE=off: a loud warning, nothing installed); tokens the
  // built-in server revoked are refused.
  enableSmartAuth(services, { throttle, ...(auth ? { keys: (kid: string) => auth.keys.publicKey(kid), isRevoked: (jti: string) => auth.isRevoked(jti) } : {}) });
  // The NHS API façades at their real paths (PDS ...), beside the generic API (ADR 25).
  const app = createApp(services, { routers: [...(auth ? [auth.router] : []), ...facadeRouters(services)] });
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 hands a listen error (EADDRINUSE, EACCES ...) to this callback as well.
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
    s.once('error', reject);
    // Requests Node's parser refuses (oversized headers, malformed lines) get an OperationOutcome too.
    answerClientErrors(s);
  });
  server.keepAliveTimeout = 65_000;
  // EPS prescriptions nobody touches are stored Expired by a periodic sweep (unref'd timer; ADR 38).
  const sweep = startExpirySweep(services, config.epsExpirySweepSeconds);
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}${config.basePath}`;
  let closed = false;
  return {
    url,
    services,
    server,
    ...(auth ? { auth } : {}),
    async close() {
      if (closed) return;
      closed = true;
      // Stop accepting; in-flight requests finish (their connections close after the response);
      // connections still busy after the grace period are cut.
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      await sweep.stop();
      await closeAudit(services);
      await services.store.close();
      auth?.close();
    },
  };
}

/** A clear sentence for an address the server cannot listen on, or undefined for other errors. */
export function listenErrorMessage(e: unknown, config: Pick<Config, 'host' | 'port'>): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') return `Cannot listen on ${where}: the port is already in use (another server, or an earlier \`npm start\` still running). Stop it, or start on another port: PORT=8081 npm start`;
  if (code === 'EACCES') return `Cannot listen on ${where}: permission denied (ports below 1024 need privileges). Use another port: PORT=8080 npm start`;
  if (code === 'EADDRNOTAVAIL') return `Cannot listen on ${where}: the address is not on this machine. Set HOST to one of its addresses, or 0.0.0.0`;
  return undefined;
}

async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  // Compile the validators of every resource type once, before the first request arrives.
  const compileMs = warmUp();
  log.debug({ compileMs }, 'validators compiled');
  let running: RunningServer;
  try {
    running = await startServer(config, log);
  } catch (e) {
    // A required profile that cannot be found is a configuration error: say so and stop.
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    const listenProblem = listenErrorMessage(e, config);
    if (listenProblem !== undefined) {
      process.stderr.write(`${listenProblem}\n`);
      process.exit(1);
    }
    throw e;
  }
  log.info({ listening: running.url, baseUrl: config.baseUrl, store: running.services.store.name, database: config.mongodbUri !== undefined ? config.mongodbDb : config.sqlitePath }, `FHIR R4 server listening; base ${config.baseUrl}`);
  if (running.auth) process.stdout.write(`\nBuilt-in SMART authorization server: ${running.auth.issuer} (clients: ${running.auth.clients.source})\n${running.auth.describeDevClient()}\n\n`);
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
