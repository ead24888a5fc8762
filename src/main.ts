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
import type { FhirServices } from './fhir/context';
import { OperationRegistry } from './operations/registry';
import { openSqliteStore } from './store/sqlite/sqlite-store';
import { assertValidResource } from './validation/base-validator';
import { warmUp } from './validation/schema-validators';
import { extractIndex } from './search/extract';
import { createR4SearchParameters } from './search/parameters';
import { RuntimeSearchParameters } from './search/runtime-parameters';
import { registerReindex } from './operations/reindex';
import { parseSearchQuery } from './search/parse';
import type { Store } from './store/store';
import type { CodeSystem, List, ValueSet } from 'fhir/r4';
import { and, type SearchExpr } from './search/ir';
import { rewriteQuery } from './search/rewrite';
import { LocalTerminology } from './terminology/local-terminology';
import { r4TerminologyResources } from './terminology/r4-content';

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

const runtimeParametersOf = new WeakMap<FhirServices, RuntimeSearchParameters>();

export function buildServices(config: Readonly<Config>, log: Logger, store?: Store): FhirServices {
  // One registry per server: SearchParameter resources written at run time extend this one only.
  const registry = createR4SearchParameters();
  const runtimeParameters = new RuntimeSearchParameters(registry, log);
  if (!store) {
    if (config.sqlitePath !== ':memory:') fs.mkdirSync(config.dataDir, { recursive: true });
    store = openSqliteStore(config.sqlitePath);
  }
  if (config.cursorSecret === undefined) {
    log.warn('CURSOR_SECRET is not set: paging links are signed with a random per-process key, so they only work on this instance until it restarts; set CURSOR_SECRET on every instance of a multi-instance deployment');
  }
  const terminology = storeTerminology(store);
  const operations = new OperationRegistry();
  registerReindex(operations);
  const services: FhirServices = {
    config,
    log,
    store,
    validator: {
      assertValid: (resource, ctx) => {
        assertValidResource(resource, ctx);
        runtimeParameters.check(resource);
      },
    },
    indexer: { extract: (resource) => extractIndex(resource, registry) },
    search: {
      parse: (types, params, opts) => parseSearchQuery(types, params, registry, { strict: opts.strict, defaultCount: config.defaultPageSize, maxCount: config.maxPageSize }),
      parametersFor: (type) =>
        registry
          .forType(type)
          .filter((p) => p.kind !== 'special' || p.code === '_id' || p.code === '_lastUpdated')
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
    writeHooks: [
      runtimeParameters.hook,
      (e) => {
        if (e.resourceType === 'CodeSystem' || e.resourceType === 'ValueSet') terminology.invalidate();
      },
    ],
  };
  runtimeParametersOf.set(services, runtimeParameters);
  return services;
}

/** Work done once at start-up against the store: registering the stored SearchParameter resources. */
export async function initServices(services: FhirServices): Promise<void> {
  const runtime = runtimeParametersOf.get(services);
  if (!runtime) return;
  const n = await runtime.loadStored(services.store);
  if (n > 0) services.log.info({ searchParameters: n }, 'registered stored SearchParameter resources');
}

export interface RunningServer {
  url: string;
  services: FhirServices;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, log: Logger = createLogger(config.logLevel), store?: Store): Promise<RunningServer> {
  const services = buildServices(config, log, store);
  await initServices(services);
  const app = createApp(services);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}${config.basePath}`;
  let closed = false;
  return {
    url,
    services,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await services.store.close();
    },
  };
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
  const running = await startServer(config, log);
  log.info({ listening: running.url, baseUrl: config.baseUrl, store: running.services.store.name, database: config.sqlitePath }, `FHIR R4 server listening; base ${config.baseUrl}`);
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
