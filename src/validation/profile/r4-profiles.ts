/**
 * The StructureDefinitions published with FHIR R4 (https://hl7.org/fhir/R4/profilelist.html and
 * extensibility-registry.html) that have snapshots: the base types and resources (filtered to R4,
 * see structure-definitions.ts), the core extension definitions (`extension-definitions.json`) and
 * the core profiles (`profiles-others.json`: vitalsigns, bp, bmi, ...), by canonical url. A default
 * `resolveProfile` until the conformance registry supplies one (and a fallback behind it).
 */
import type { StructureDefinition } from 'fhir/r4';
import { loadR4Bundle } from '../../definitions/r4-package';
import { allStructureDefinitions } from '../../definitions/structure-definitions';

let byUrl: Map<string, StructureDefinition> | undefined;

function index(): Map<string, StructureDefinition> {
  if (byUrl) return byUrl;
  const m = new Map<string, StructureDefinition>();
  for (const sd of allStructureDefinitions()) m.set(sd.url, sd);
  for (const file of ['extension-definitions.json', 'profiles-others.json']) {
    for (const e of loadR4Bundle(file).entry ?? []) {
      const r = e.resource;
      if (r?.resourceType === 'StructureDefinition' && r.snapshot && !m.has(r.url)) m.set(r.url, r);
    }
  }
  byUrl = m;
  return m;
}

/** An R4 StructureDefinition with snapshot by canonical url (`url` or `url|version`). */
export function r4Profile(url: string): StructureDefinition | undefined {
  const bar = url.indexOf('|');
  return index().get(bar < 0 ? url : url.slice(0, bar));
}
