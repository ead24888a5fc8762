/**
 * The server's services for an in-process import (issue 16): built exactly as the server builds them
 * (src/main.ts buildServices over openStore: DATA_DIR's SQLite store, or MongoDB when MONGODB_URI is
 * set), so validation, REQUIRED_PROFILES and the NHS rules apply. `baseValidation` (the
 * `--base-validation` flag) sets REQUIRED_PROFILES= (no required profile: base R4 validation, plus any
 * profile a resource claims) and PATIENT_ID_POLICY=server (Patients keep their ids) for the import only.
 */
import { loadConfig } from '../config/config';
import type { FhirServices } from '../fhir/context';
import { createLogger, type Logger } from '../logging';
import { buildServices, initServices, openStore } from '../main';

export const BASE_VALIDATION_ENV: Readonly<Record<string, string>> = Object.freeze({ REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' });

export interface ImportServices {
  services: FhirServices;
  /** Where the data goes, for messages. */
  describe: string;
  close(): Promise<void>;
}

export async function openImportServices(env: Readonly<Record<string, string | undefined>>, opts: { baseValidation: boolean; log?: Logger }): Promise<ImportServices> {
  const config = loadConfig({ ...env, ...(opts.baseValidation ? BASE_VALIDATION_ENV : {}) });
  // Only problems are worth a line while the progress bar runs (unless LOG_LEVEL asks otherwise).
  const log = opts.log ?? createLogger(env['LOG_LEVEL'] !== undefined ? config.logLevel : 'warn');
  const services = buildServices(config, log, await openStore(config, log));
  await initServices(services);
  const describe = config.mongodbUri !== undefined ? 'the MongoDB store of MONGODB_URI' : `the SQLite store ${config.sqlitePath}`;
  return { services, describe, close: () => services.store.close() };
}
