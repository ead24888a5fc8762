/**
 * The trace layer of the NHS Spine model (PDS FHIR API "Search for a patient"; FHIR R4 Patient
 * `$match`): registers the trace SearchParameters, the Patient index wrapper that adds their entries,
 * and the `Patient/$trace` and `Patient/$match` operations. Called once per FhirServices by
 * src/spine/index.ts `registerSpine`; existing Patients get the new entries with `$reindex`.
 */
import type { Patient, Resource } from 'fhir/r4';
import type { Config } from '../../config/config';
import type { FhirServices } from '../../fhir/context';
import { pause } from '../../cooperative';
import { matchOperation, MATCH_DEFINITION, traceOperation, TRACE_DEFINITION } from './operations';
import { spineIndexEntries, spineIndexEntriesCooperatively, TRACE_SEARCH_PARAMETERS } from './search-keys';

export { traceFromResource, queryOfPatient } from './operations';
export { runTrace, type ScoredMatch } from './engine';
export type { MatchGrade } from './score';
export { spineIndexEntries, TRACE_SEARCH_PARAMETERS } from './search-keys';

const registered = new WeakSet<FhirServices>();

export function registerTrace(services: FhirServices, _config?: Readonly<Config>): void {
  if (registered.has(services)) return;
  registered.add(services);
  for (const sp of TRACE_SEARCH_PARAMETERS) services.searchParameters?.register(sp);
  const base = services.indexer;
  services.indexer = {
    extract: (resource: Resource) => (resource.resourceType === 'Patient' ? [...base.extract(resource), ...spineIndexEntries(resource as Patient, services.now?.())] : base.extract(resource)),
    extractCooperatively: async (resource: Resource) => {
      const entries = base.extractCooperatively ? await base.extractCooperatively(resource) : base.extract(resource);
      if (resource.resourceType !== 'Patient') return entries;
      await pause();
      return [...entries, ...(await spineIndexEntriesCooperatively(resource as Patient, services.now?.()))];
    },
    references: (resource: Resource) => base.references(resource),
  };
  services.operations.register(TRACE_DEFINITION, traceOperation);
  services.operations.register(MATCH_DEFINITION, matchOperation);
}
