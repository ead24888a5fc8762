/**
 * A real app over an in-memory SQLite store for HTTP-level tests (supertest drives it in-process).
 *
 * `testApp()` runs with the server's defaults, including REQUIRED_PROFILES (UK Core for Patient,
 * Composition and MedicationRequest, from the repository's profiles/ folder). Suites that load
 * generic data (the official R4 examples, Synthea, hand-written fixtures that are not UK Core) pass
 * `GENERIC_ENGINE` (no required profile), as the issue prescribes for the engine and search suites.
 *
 * Access control: `testApp()` runs with AUTH_MODE=off unless the env says otherwise, so the generic
 * engine suites need no tokens; SMART suites pass `AUTH_MODE: 'smart'` and the public keys (by `kid`)
 * of the tokens they sign (`opts.keys`), and may mount extra routers (`opts.routers`, e.g. the built-in
 * authorization server).
 */
import type express from 'express';
import { loadConfig, type Config } from '../../src/config/config';
import { createApp } from '../../src/http/app';
import { silentLogger } from '../../src/logging';
import { buildServices } from '../../src/main';
import { facadeRouters } from '../../src/facades';
import { closeAudit } from '../../src/audit';
import type { FhirServices } from '../../src/fhir/context';
import type { Store } from '../../src/store/store';
import { deferredStore, realMongo } from '../../src/store/mongo/testing/real-mongo';

/**
 * With MONGODB_URI set (`npm run test:mongo`), every test app stores into a fresh database of that
 * MongoDB server (dropped on close) instead of an in-memory SQLite database.
 */
const MONGO = realMongo();
import { enableSmartAuth } from '../../src/auth/setup';
import type { KeyLookup } from '../../src/auth/verify';

export interface TestApp {
  app: express.Express;
  services: FhirServices;
  config: Readonly<Config>;
  close(): Promise<void>;
}

export const TEST_BASE = 'http://localhost:8080/fhir';

/** Environment of the generic engine suites: no profile is required for any type. */
export const GENERIC_ENGINE: Readonly<Record<string, string>> = Object.freeze({ REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' });

/**
 * Environment of the NHS layer suites (test/spine): the server's PDS default PATIENT_ID_POLICY=nhs-number.
 * `testApp()` itself runs the generic engine's Patient rules (PATIENT_ID_POLICY=server) so the engine
 * suites' Patients keep server-assigned ids and ordinary reads.
 */
export const NHS_LAYER: Readonly<Record<string, string>> = Object.freeze({ PATIENT_ID_POLICY: 'nhs-number' });

export interface TestAppOptions {
  /** Public keys of the token issuer by `kid` (AUTH_MODE=smart). */
  keys?: KeyLookup;
  /** Routers mounted before the FHIR base (createApp `routers`). */
  routers?: express.Router[];
  /** The store to serve from (e.g. a file-backed SQLite store a test controls); default: `:memory:` (or MongoDB). */
  store?: Store;
}

export function testApp(env: Readonly<Record<string, string>> = {}, opts: TestAppOptions = {}): TestApp {
  const config = loadConfig({ SQLITE_PATH: ':memory:', BASE_URL: TEST_BASE, LOG_LEVEL: 'silent', AUTH_MODE: 'off', PATIENT_ID_POLICY: 'server', AUDIT: 'off', ...env });
  const services = buildServices(config, silentLogger(), opts.store ?? (MONGO ? deferredStore(MONGO.openStore()) : undefined));
  enableSmartAuth(services, opts.keys ? { keys: opts.keys } : {});
  // The NHS API façades are mounted as the composition root mounts them (src/main.ts).
  return { app: createApp(services, { routers: [...(opts.routers ?? []), ...facadeRouters(services)] }), services, config, close: async () => {
    await closeAudit(services);
    await services.store.close();
  } };
}

export const FHIR_JSON = 'application/fhir+json';
