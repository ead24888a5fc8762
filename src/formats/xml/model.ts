/**
 * The element model behind the FHIR XML <-> JSON mapping (FHIR R4 xml.html "XML Representation of
 * Resources", json.html "JSON Representation of Resources", formats.html), read from the R4
 * StructureDefinitions (src/definitions/structure-definitions.ts), never written per type:
 *
 * - element order: the order of the snapshot elements of the owning type or backbone element
 *   (xml.html: "Elements must always appear in the order documented");
 * - lists: an element repeats (JSON array, repeated XML element) when its max is above 1;
 * - attributes: elements whose definition has `representation: xmlAttr` (`Element.id`, `Extension.url`,
 *   the primitives' `value`) are XML attributes; everything else is an element;
 * - primitives: a type of kind `primitive-type`; its JSON kind (string, number or boolean) is that of
 *   the System type of its root primitive's `value` (a specialisation such as positiveInt -> integer
 *   keeps its base type's JSON representation; R4 lists positiveInt.value and unsignedInt.value as
 *   System.String, their base integer's value is System.Integer); in JSON its id and extensions go in
 *   `_name` (json.html#primitive);
 * - choice elements `name[x]`: one JSON key / XML element per type, `name` + the type code with its
 *   first letter upper-cased (`valueQuantity`);
 * - resource containers: elements of type `Resource` (`contained`, `Bundle.entry.resource`,
 *   `Parameters.parameter.resource`) hold one resource (in XML: the resource element inside);
 * - XHTML: a type whose `value` has `representation: xhtml` (the narrative `div`) is XHTML in the
 *   `http://www.w3.org/1999/xhtml` namespace in XML and a string in JSON;
 * - backbone elements and content references (`Bundle.entry.link` -> `#Bundle.link`) own the children
 *   defined below their path.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { structureDefinition } from '../../definitions/structure-definitions';

export const FHIR_NS = 'http://hl7.org/fhir';
export const XHTML_NS = 'http://www.w3.org/1999/xhtml';

/** How a primitive value is written in JSON (json.html#primitive). */
export type ValueKind = 'string' | 'number' | 'boolean';

export type TypeKind = 'primitive' | 'xhtml' | 'complex' | 'resource';

/** One type of an element: for a choice element, one of its `name[x]` expansions. */
export interface Variant {
  readonly element: ElementSpec;
  /** The JSON key and XML element name, e.g. `given`, `valueQuantity`. */
  readonly key: string;
  readonly kind: TypeKind;
  /** The type code (`HumanName`, `string`, `Resource`, `BackboneElement` ...). */
  readonly type: string;
  /** primitive: how its value is written in JSON. */
  readonly valueKind: ValueKind | undefined;
  /** complex: the owner of its children (a type name, or the path of a backbone element); primitive: the primitive type. */
  readonly owner: string | undefined;
}

export interface ElementSpec {
  /** The element's path in its StructureDefinition, e.g. `Patient.name`, `Extension.value[x]`. */
  readonly path: string;
  /** The element name without `[x]`. */
  readonly name: string;
  /** Position among the owner's children (the snapshot order). */
  readonly order: number;
  readonly repeating: boolean;
  /** `representation: xmlAttr`: written as an XML attribute (id, url, value). */
  readonly attribute: boolean;
  readonly choice: boolean;
  readonly variants: readonly Variant[];
}

export interface Owner {
  /** A type name (`HumanName`, `Patient`, `string`) or the path of a backbone element (`Patient.contact`). */
  readonly key: string;
  /** Children in the documented order, attributes included. */
  readonly elements: readonly ElementSpec[];
  /** Child elements (not attributes) by JSON key / XML name (choice expansions included). */
  readonly byKey: ReadonlyMap<string, Variant>;
  /** Children written as XML attributes, by name (`id`, `url`, `value`). */
  readonly attributes: ReadonlyMap<string, ElementSpec>;
  /** Every JSON key this owner's objects may have (element keys and `_key` of primitive children). */
  readonly jsonKeys: ReadonlySet<string>;
  /** For the owner of a primitive type: how its value is written in JSON; for an xhtml type: 'string'. */
  readonly valueKind: ValueKind | undefined;
  /** True when the owner is a resource type (its objects carry `resourceType`). */
  readonly resource: boolean;
}

const owners = new Map<string, Owner | null>();
const valueKinds = new Map<string, ValueKind | null>();

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const SYSTEM_KINDS: Readonly<Record<string, ValueKind>> = {
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'number',
  'http://hl7.org/fhirpath/System.Decimal': 'number',
};

function isSystemType(code: string): boolean {
  return code.startsWith('http://hl7.org/fhirpath/System.');
}

/** The value element of a primitive type's StructureDefinition (`string.value`). */
function valueElement(sd: StructureDefinition): ElementDefinition | undefined {
  return sd.snapshot?.element.find((e) => e.path === `${sd.type}.value`);
}

/**
 * The JSON kind of a primitive type: the System type of its root primitive's value (the first type
 * up the baseDefinition chain whose base is not itself a primitive).
 */
export function primitiveValueKind(type: string): ValueKind | undefined {
  const cached = valueKinds.get(type);
  if (cached !== undefined) return cached ?? undefined;
  let kind: ValueKind | undefined;
  const start = structureDefinition(type);
  if (start?.kind === 'primitive-type') {
    let sd: StructureDefinition = start;
    const seen = new Set<string>();
    for (;;) {
      seen.add(sd.type);
      const baseType: string | undefined = sd.baseDefinition?.split('/').pop();
      const base: StructureDefinition | undefined = baseType ? structureDefinition(baseType) : undefined;
      if (!base || base.kind !== 'primitive-type' || seen.has(base.type)) break;
      sd = base;
    }
    const code = valueElement(sd)?.type?.[0]?.code ?? '';
    kind = SYSTEM_KINDS[code] ?? 'string';
  }
  valueKinds.set(type, kind ?? null);
  return kind;
}

function isXhtmlType(sd: StructureDefinition | undefined): boolean {
  return sd?.kind === 'primitive-type' && (valueElement(sd)?.representation ?? []).includes('xhtml');
}

/** The fhir-type extension of a System-typed element (`Resource.id` is a System.String of FHIR type `string`). */
function fhirTypeOf(t: NonNullable<ElementDefinition['type']>[number]): string | undefined {
  const ext = t.extension?.find((e) => e.url === 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type');
  return ext?.valueUrl ?? ext?.valueUri ?? ext?.valueString;
}

function variantOf(element: ElementSpec, code: string, t: NonNullable<ElementDefinition['type']>[number], inlineOwner: string | undefined): Variant {
  const key = element.choice ? `${element.name}${upperFirst(code)}` : element.name;
  if (isSystemType(code)) {
    // Resource.id, Element.id, Extension.url: a string (or the System type's kind) without extensions of its own.
    const fhirType = fhirTypeOf(t);
    const kind = SYSTEM_KINDS[code] ?? 'string';
    const primitive = fhirType && structureDefinition(fhirType)?.kind === 'primitive-type' ? fhirType : undefined;
    return { element, key, kind: 'primitive', type: primitive ?? code, valueKind: primitive ? primitiveValueKind(primitive) ?? kind : kind, owner: primitive };
  }
  if (inlineOwner !== undefined) return { element, key, kind: 'complex', type: code, valueKind: undefined, owner: inlineOwner };
  const sd = structureDefinition(code);
  if (sd?.kind === 'resource') return { element, key, kind: 'resource', type: code, valueKind: undefined, owner: undefined };
  if (isXhtmlType(sd)) return { element, key, kind: 'xhtml', type: code, valueKind: 'string', owner: code };
  if (sd?.kind === 'primitive-type') return { element, key, kind: 'primitive', type: code, valueKind: primitiveValueKind(code), owner: code };
  // Constraints (SimpleQuantity, MoneyQuantity) have the children of the type they constrain.
  return { element, key, kind: 'complex', type: code, valueKind: undefined, owner: sd?.type ?? code };
}

interface MutableOwner {
  key: string;
  elements: ElementSpec[];
  byKey: Map<string, Variant>;
  attributes: Map<string, ElementSpec>;
  jsonKeys: Set<string>;
  valueKind: ValueKind | undefined;
  resource: boolean;
}

/** Builds every owner of one StructureDefinition (the type itself and its backbone elements). */
function buildOwners(sd: StructureDefinition): void {
  const elements = (sd.snapshot?.element ?? []).filter((e) => !e.sliceName);
  const paths = new Set(elements.map((e) => e.path));
  const withChildren = new Set<string>();
  for (const e of elements) {
    const dot = e.path.lastIndexOf('.');
    if (dot > 0) withChildren.add(e.path.slice(0, dot));
  }
  const built = new Map<string, MutableOwner>();
  const ownerFor = (key: string): MutableOwner => {
    let o = built.get(key);
    if (!o) {
      o = { key, elements: [], byKey: new Map(), attributes: new Map(), jsonKeys: new Set(), valueKind: undefined, resource: false };
      built.set(key, o);
    }
    return o;
  };
  const root = ownerFor(sd.type);
  root.resource = sd.kind === 'resource';
  if (sd.kind === 'primitive-type') root.valueKind = isXhtmlType(sd) ? 'string' : primitiveValueKind(sd.type);
  for (const e of elements) {
    const dot = e.path.lastIndexOf('.');
    if (dot < 0) continue;
    const owner = ownerFor(e.path.slice(0, dot));
    const leaf = e.path.slice(dot + 1);
    const choice = leaf.endsWith('[x]');
    const name = choice ? leaf.slice(0, -3) : leaf;
    const max = e.max ?? '1';
    // A content reference (`#Bundle.link`) owns the children of the element it names.
    const ref = e.contentReference?.replace(/^[^#]*#/, '');
    const inlineOwner = withChildren.has(e.path) ? e.path : ref && paths.has(ref) ? ref : undefined;
    const variants: Variant[] = [];
    const spec: ElementSpec = {
      path: e.path,
      name,
      order: owner.elements.length,
      repeating: max === '*' || Number(max) > 1,
      attribute: (e.representation ?? []).includes('xmlAttr'),
      choice,
      variants,
    };
    const types = e.type ?? [];
    if (types.length === 0 && inlineOwner !== undefined) {
      variants.push({ element: spec, key: name, kind: 'complex', type: 'BackboneElement', valueKind: undefined, owner: inlineOwner });
    }
    for (const t of types) variants.push(variantOf(spec, t.code, t, types.length === 1 ? inlineOwner : undefined));
    if (max === '0') continue; // prohibited (xhtml.extension)
    owner.elements.push(spec);
    if (spec.attribute) {
      owner.attributes.set(name, spec);
      // A primitive's `value` is the JSON value itself; id and url are JSON keys.
      if (!(sd.kind === 'primitive-type' && name === 'value')) owner.jsonKeys.add(name);
      continue;
    }
    for (const v of variants) {
      owner.byKey.set(v.key, v);
      owner.jsonKeys.add(v.key);
      if (v.kind === 'primitive') owner.jsonKeys.add(`_${v.key}`);
    }
  }
  for (const o of built.values()) if (!owners.has(o.key)) owners.set(o.key, o);
}

/**
 * The owner of children named by `key`: a type name (`Patient`, `HumanName`, `string`) or a backbone
 * element path (`Patient.contact`, `Bundle.link`). Undefined when no R4 definition has it.
 */
export function ownerOf(key: string): Owner | undefined {
  const known = owners.get(key);
  if (known !== undefined) return known ?? undefined;
  const type = key.split('.', 1)[0]!;
  const sd = structureDefinition(type);
  if (sd && sd.type === type && !owners.has(type)) buildOwners(sd);
  const built = owners.get(key);
  if (built === undefined) owners.set(key, null);
  return built ?? undefined;
}

/** The owner of a resource type, or undefined when `type` is not a concrete R4 resource type. */
export function resourceOwner(type: string): Owner | undefined {
  if (!/^[A-Z][A-Za-z]{0,63}$/.test(type)) return undefined;
  const sd = structureDefinition(type);
  if (!sd || sd.kind !== 'resource' || sd.abstract || sd.type !== type) return undefined;
  return ownerOf(type);
}
