/**
 * The R4 resource types (FHIR R4 §2.1.0 resourcelist.html): every concrete resource type defined by
 * the specification, derived from the R4 StructureDefinitions, never from a hand-written list.
 */
import type { StructureDefinition } from 'fhir/r4';
import { fhirpathR4Model, loadR4Bundle } from './r4-package';

let types: ReadonlySet<string> | undefined;

export function resourceTypes(): ReadonlySet<string> {
  if (!types) {
    const model = fhirpathR4Model();
    const out = new Set<string>();
    for (const e of loadR4Bundle('profiles-resources.json').entry ?? []) {
      const sd = e.resource as StructureDefinition | undefined;
      if (!sd || sd.resourceType !== 'StructureDefinition') continue;
      if (sd.kind !== 'resource' || sd.abstract || sd.derivation !== 'specialization') continue;
      // Only types the R4 model knows (drops definitions a packager added that are not R4).
      if (!(`${sd.type}.id` in model.path2Type) && !(`${sd.type}.meta` in model.path2Type)) continue;
      out.add(sd.type);
    }
    types = out;
  }
  return types;
}

export function isResourceType(name: string): boolean {
  return resourceTypes().has(name);
}
