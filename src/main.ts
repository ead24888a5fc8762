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
import { defaultSearchParameters } from './search/parameters';
import { parseSearchQuery } from './search/parse';
import type { Store } from './store/store';

export function buildServices(config: Readonly<Config>, log: Logger, store?: Store): FhirServices {
  const registry = defaultSearchParameters();
  if (!store) {
    if (config.sqlitePath !== ':memory:') fs.mkdirSync(config.dataDir, { recursive: true });
    store = openSqliteStore(config.sqlitePath);
  }
  return {
    config,
    log,
    store,
    validator: { assertValid: (resource, ctx) => assertValidResource(resource, ctx) },
    indexer: { extract: (resource) => extractIndex(resource, registry) },
    search: {
      parse: (types, params, opts) => parseSearchQuery(types, params, registry, { strict: opts.strict, defaultCount: config.defaultPageSize, maxCount: config.maxPageSize }),
      parametersFor: (type) =>
        registry
          .forType(type)
          .filter((p) => p.kind !== 'special' || p.code === '_id' || p.code === '_lastUpdated')
          .map((p) => ({ name: p.code, type: p.type, definition: p.url })),
    },
    operations: new OperationRegistry(),
  };
}

export interface RunningServer {
  url: string;
  services: FhirServices;
  server: Server;
  close(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, log: Logger = createLogger(config.logLevel), store?: Store): Promise<RunningServer> {
  const services = buildServices(config, log, store);
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
