/**
 * Seeding on an empty server (issue 16, docs/seed.md): `npm start` on a fresh DATA_DIR writes
 * SEED_ON_EMPTY synthetic patients so the API, the façades and the development logins have real
 * records to show. Only the embedded SQLite store on disk (never `SQLITE_PATH=:memory:`, never
 * MongoDB), and only when the store has never held any resource: a restart, or a database a client
 * has written to (even everything deleted since), is left alone. With the built-in authorization
 * server the development users are part of the population (dev-patient is the first seeded
 * patient, dev-practitioner its GP; ADR 22, ADR 30).
 */
import type { FhirServices } from '../fhir/context';
import { describeSeed, seedSyntheticPopulation, storeIsEmpty, type SeedSummary } from './seed';

export async function seedOnEmpty(services: FhirServices, opts: { devUsers: boolean }): Promise<SeedSummary | undefined> {
  const { config } = services;
  if (config.seedOnEmpty === 0 || config.mongodbUri !== undefined || config.sqlitePath === ':memory:') return undefined;
  if (!(await storeIsEmpty(services))) return undefined;
  const summary = await seedSyntheticPopulation(services, { patients: config.seedOnEmpty, devUsers: opts.devUsers });
  services.log.info({ seeded: summary.byType }, describeSeed(summary));
  return summary;
}
