/**
 * Element facts needed by FHIRPath Patch (FHIR R4 fhirpatch.html "Operations": the type of the value
 * must be correct for the place it is added, lists vs single elements, choice elements value[x]),
 * read from fhirpath.js's generated R4 model (element types, repeating elements, choice types,
 * type inheritance), the same model the FHIRPath evaluation uses.
 */
import type { Model } from 'fhirpath';
import * as r4 from 'fhirpath/fhir-context/r4';

/** The R4 model object, as fhirpath.js's evaluate/compile accept it. */
export const R4_MODEL: Model = r4;

/** The R4 primitive data types (FHIR R4 datatypes.html#primitive), lower-camel as in StructureDefinitions. */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml',
]);

const NUMBER_TYPES: ReadonlySet<string> = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt']);

/** How a primitive is represented in FHIR JSON (json.html#primitive). */
export type JsonKind = 'string' | 'number' | 'boolean';

/** JSON kind of a primitive FHIR type, or undefined when the type is not primitive. */
export function jsonKindOf(type: string): JsonKind | undefined {
  if (type === 'boolean' || type === 'System.Boolean') return 'boolean';
  if (NUMBER_TYPES.has(type) || type === 'System.Integer' || type === 'System.Decimal') return 'number';
  if (PRIMITIVE_TYPES.has(type) || type.startsWith('System.')) return 'string';
  return undefined;
}

export function isPrimitiveType(type: string): boolean {
  return jsonKindOf(type) !== undefined;
}

/** Quantity and its R4 specialisations (datatypes.html#Quantity): interchangeable in patch values. */
const QUANTITY_TYPES: ReadonlySet<string> = new Set(['Quantity', 'Age', 'Count', 'Distance', 'Duration', 'SimpleQuantity', 'MoneyQuantity']);

export interface ElementInfo {
  /** The model path of the element, e.g. `Patient.contact` or `HumanName.given`. */
  path: string;
  /** The element's type (e.g. `HumanName`, `date`, `BackboneElement`); undefined for a choice element. */
  type: string | undefined;
  /** True when the element repeats (max > 1): a JSON array. */
  repeating: boolean;
  /** For a choice element `x[x]`: the allowed type suffixes, e.g. ['Boolean', 'DateTime']. */
  choiceTypes: readonly string[] | undefined;
}

/**
 * Looks up a child element `name` of the element or type at `ownerPath` (a fhirpath.js node path such
 * as `Patient`, `Patient.contact`, `Identifier`, `date`), following type inheritance
 * (Patient -> DomainResource -> Resource; BackboneElement -> Element).
 */
export function childElement(ownerPath: string, name: string): ElementInfo | undefined {
  const seen = new Set<string>();
  let p: string | undefined = ownerPath;
  while (p !== undefined && !seen.has(p)) {
    seen.add(p);
    const direct = `${p}.${name}`;
    const full = r4.pathsDefinedElsewhere[direct] ?? direct;
    const choiceTypes = r4.choiceTypePaths[full];
    const type = r4.path2Type[full];
    if (choiceTypes !== undefined || type !== undefined) {
      return { path: full, type, repeating: r4.path2Repeating[full] === true, choiceTypes };
    }
    p = p.includes('.') ? r4.path2Type[p] : r4.type2Parent[p];
  }
  return undefined;
}

/** The model path under which the children of an element of this path/type are defined. */
export function ownerPathOf(info: ElementInfo, typeSuffix?: string): string {
  if (info.choiceTypes !== undefined && typeSuffix !== undefined) return lowerFirstIfPrimitive(typeSuffix);
  const t = info.type;
  // BackboneElement / Element children are defined under the element path itself.
  if (t === undefined || t === 'BackboneElement' || t === 'Element') return info.path;
  return t;
}

/** `Date` -> `date`, `CodeableConcept` -> `CodeableConcept` (value[x] suffix to type name). */
export function lowerFirstIfPrimitive(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVE_TYPES.has(lower) ? lower : suffix;
}

export function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Whether a value of type `valueType` may be placed in an element of type `targetType`.
 * Primitives are compatible when they share a JSON representation (a `valueString` may set a `code`);
 * Quantity specialisations are interchangeable; otherwise the types must match.
 */
export function isCompatibleType(targetType: string, valueType: string): boolean {
  if (targetType === valueType) return true;
  const tk = jsonKindOf(targetType);
  const vk = jsonKindOf(valueType);
  if (tk !== undefined || vk !== undefined) return tk === vk;
  if (QUANTITY_TYPES.has(targetType) && QUANTITY_TYPES.has(valueType)) return true;
  return false;
}
