/**
 * A real app over an in-memory SQLite store for HTTP-level tests (supertest drives it in-process).
 */
import type express from 'express';
import { loadConfig, type Config } from '../../src/config/config';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';
import { buildServices } from '../../src/main';
import type { FhirServices } from '../../src/fhir/context';

export interface TestApp {
  app: express.Express;
  services: FhirServices;
  config: Readonly<Config>;
  close(): Promise<void>;
}

export const TEST_BASE = 'http://localhost:8080/fhir';

export function testApp(env: Record<string, string> = {}): TestApp {
  const config = loadConfig({ SQLITE_PATH: ':memory:', BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', ...env });
  const services = buildServices(config, silentLogger());
  return { app: createApp(services), services, config, close: () => services.store.close() };
}

export const FHIR_JSON = 'application/fhir+json';
