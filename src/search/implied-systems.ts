/**
 * Implied code systems of `code` elements (FHIR R4 §3.1.1.4.10 search.html "token": "the system
 * ... is implied by the element's binding"; terminologies.html §4.1.5 "required" bindings).
 *
 * A bare `code` element bound (strength `required`) to a value set whose codes all come from one
 * code system (e.g. Patient.gender -> http://hl7.org/fhir/administrative-gender) is indexed with that
 * system, so `gender=http://hl7.org/fhir/administrative-gender|male` matches as well as `gender=male`.
 * The binding comes from the R4 StructureDefinitions, the value set from the R4 `valuesets.json`;
 * each element path is resolved once.
 */
import type { ValueSet } from 'fhir/r4';
import { loadR4Bundle } from '../definitions/r4-package';
import { structureDefinition } from '../definitions/structure-definitions';

const bySystemPath = new Map<string, string | null>();
let valueSets: Map<string, ValueSet> | undefined;

function valueSet(url: string): ValueSet | undefined {
  if (!valueSets) {
    valueSets = new Map();
    for (const e of loadR4Bundle('valuesets.json').entry ?? []) {
      const r = e.resource;
      if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
    }
  }
  return valueSets.get(url);
}

/** The one code system of a value set's compose (includes only, no nested value sets), or null. */
function singleSystem(vs: ValueSet): string | null {
  const systems = new Set<string>();
  for (const inc of vs.compose?.include ?? []) {
    if (!inc.system || (inc.valueSet?.length ?? 0) > 0) return null;
    systems.add(inc.system);
  }
  return systems.size === 1 ? [...systems][0]! : null;
}

/**
 * The implied system of the `code` element at `elementPath` (`Patient.gender`, `Address.use`,
 * `Patient.contact.gender`), or null when the element has no required binding to a single system.
 */
export function impliedCodeSystem(elementPath: string): string | null {
  const cached = bySystemPath.get(elementPath);
  if (cached !== undefined) return cached;
  let system: string | null = null;
  const typeName = elementPath.split('.')[0]!;
  const el = structureDefinition(typeName)?.snapshot?.element.find((x) => x.path === elementPath);
  const binding = el?.binding;
  if (binding?.strength === 'required' && binding.valueSet && el?.type?.length === 1 && el.type[0]?.code === 'code') {
    const vs = valueSet(binding.valueSet.split('|')[0]!);
    if (vs) system = singleSystem(vs);
  }
  bySystemPath.set(elementPath, system);
  return system;
}
