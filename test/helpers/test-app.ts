/**
 * A real app over an in-memory SQLite store for HTTP-level tests (supertest drives it in-process).
 *
 * `testApp()` runs with the server's defaults, including REQUIRED_PROFILES (UK Core for Patient,
 * Composition and MedicationRequest, from the repository's profiles/ folder). Suites that load
 * generic data (the official R4 examples, Synthea, hand-written fixtures that are not UK Core) pass
 * `GENERIC_ENGINE` (no required profile), as the issue prescribes for the engine and search suites.
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

/** Environment of the generic engine suites: no profile is required for any type. */
export const GENERIC_ENGINE: Readonly<Record<string, string>> = Object.freeze({ REQUIRED_PROFILES: '' });

export function testApp(env: Readonly<Record<string, string>> = {}): TestApp {
  const config = loadConfig({ SQLITE_PATH: ':memory:', BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', ...env });
  const services = buildServices(config, silentLogger());
  return { app: createApp(services), services, config, close: () => services.store.close() };
}

export const FHIR_JSON = 'application/fhir+json';
