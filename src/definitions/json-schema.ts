/**
 * Generation of a JSON schema (draft-07) of the R4 JSON representation (FHIR R4 §2.6.2 "JSON
 * Representation of Resources", https://hl7.org/fhir/R4/json.html) from the filtered R4
 * StructureDefinitions (see structure-definitions.ts).
 *
 * - one definition per primitive type (the JSON value, with the R4 regex of the type's `value`
 *   element; integer types and decimal are JSON numbers), per complex type, per resource type and per
 *   backbone element (named by its element path, e.g. `Patient.contact`);
 * - `_x` siblings for primitive elements (arrays of them with `null`s, lined up by the `fhirObject`
 *   keyword), arrays for max > 1, choice elements expanded (`value[x]` -> `valueString` ...),
 *   `additionalProperties: false`, `resourceType` as const, no empty objects / arrays / strings;
 * - rules JSON schema cannot say well are carried by two custom keywords that the validator module
 *   implements: `fhirObject` (min cardinality where `_x` alone counts as present, at most one type of
 *   a choice element, null alignment of primitive arrays) and `fhirResource` (an element of type
 *   Resource: dispatch on its `resourceType` to that resource's schema);
 * - `fhirType` is an annotation naming the FHIR type (or backbone path) of each definition, used to
 *   word error messages.
 */
import type { ElementDefinition, ElementDefinitionType, StructureDefinition } from 'fhir/r4';
import { allStructureDefinitions, structureDefinition } from './structure-definitions';
import { isResourceType } from './resource-types';

export type JsonSchema = Record<string, unknown>;

/** `$id` of the generated schema; definitions are addressed as `${SCHEMA_ID}#/definitions/<name>`. */
export const SCHEMA_ID = 'urn:spine-fhir-server:r4:json-schema';

const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const SYSTEM_PREFIX = 'http://hl7.org/fhirpath/System.';

/** Value of the fhirObject keyword: per-object rules the plain schema cannot express. */
export interface FhirObjectRules {
  /** Elements with min >= 1: element name (as in FHIRPath) and the JSON keys that make it present. */
  required?: Array<{ element: string; keys: string[] }>;
  /** Choice elements: at most one of the typed names may be present. */
  choices?: Array<{ element: string; names: string[] }>;
  /** Repeating primitive elements: `name` and `_name` arrays must line up, nulls only where the other has a value. */
  primitiveArrays?: string[];
}

/**
 * Regexes replaced by an equivalent that cannot backtrack catastrophically on user input. The R4
 * base64Binary regex `(\s*([0-9a-zA-Z\+/=]){4}\s*)+` is exponential on long runs of whitespace-separated
 * groups followed by a bad character; `\s*([0-9a-zA-Z+/=]{4}\s*)+` accepts the same language.
 */
const SAFE_REGEX: Readonly<Record<string, string>> = {
  base64Binary: '\\s*(?:[0-9a-zA-Z+/=]{4}\\s*)+',
};

/** XML Schema whitespace (the R4 regexes come from XML Schema, where `\s` is `[ \t\n\r]` only). */
const XSD_SPACE = ' \\t\\n\\r';

/**
 * Translates an R4 (XML Schema) regex to an equivalent JavaScript one: `\s` / `\S` mean XML whitespace
 * (JavaScript's `\s` also matches e.g. U+00A0, which R4 strings may contain). A class mixing `\S` with
 * whitespace (`[ \r\n\t\S]`, R4 string/markdown) is any character.
 */
export function xsdRegexToJs(re: string): string {
  let out = '';
  let inClass = false;
  let classStart = 0;
  for (let i = 0; i < re.length; i++) {
    const c = re.charAt(i);
    if (c === '\\') {
      const n = re.charAt(i + 1);
      i++;
      if (n === 's') out += inClass ? XSD_SPACE : `[${XSD_SPACE}]`;
      else if (n === 'S') {
        if (!inClass) out += `[^${XSD_SPACE}]`;
        else {
          const rest = re.indexOf(']', i);
          const members = re.slice(classStart + 1, rest).replace('\\S', '');
          if (re.charAt(classStart + 1) === '^' || !/^( |\\[rnt])*$/.test(members)) throw new Error(`Unsupported \\S in a character class of ${re}`);
          out = out.slice(0, out.lastIndexOf('[')) + '[\\s\\S]';
          i = rest;
          inClass = false;
        }
      } else out += `\\${n}`;
      continue;
    }
    if (c === '[' && !inClass) {
      inClass = true;
      classStart = i;
    } else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}

const INT32 = { minimum: -2147483648, maximum: 2147483647 };

function extValue(ext: ElementDefinitionType['extension'], url: string): string | undefined {
  const e = ext?.find((x) => x.url === url);
  return e?.valueString ?? e?.valueUrl ?? e?.valueUri;
}

/** The JSON schema of one primitive type's JSON value (FHIR R4 json.html §2.6.2.1 primitive types). */
function primitiveSchema(sd: StructureDefinition, nullable: boolean): JsonSchema {
  const type = sd.type;
  const valueEl = sd.snapshot?.element.find((e) => e.path === `${type}.value`);
  const t0 = valueEl?.type?.[0];
  const regex = SAFE_REGEX[type] ?? extValue(t0?.extension, REGEX_EXT);
  const withNull = (t: string): string | string[] => (nullable ? [t, 'null'] : t);
  switch (type) {
    case 'boolean':
      return { fhirType: type, type: withNull('boolean') };
    case 'decimal':
      return { fhirType: type, type: withNull('number') };
    case 'integer':
      return { fhirType: type, type: withNull('integer'), ...INT32 };
    case 'positiveInt':
      return { fhirType: type, type: withNull('integer'), minimum: 1, maximum: INT32.maximum };
    case 'unsignedInt':
      return { fhirType: type, type: withNull('integer'), minimum: 0, maximum: INT32.maximum };
    default: {
      const s: JsonSchema = { fhirType: type, type: withNull('string'), minLength: 1 };
      // R4 datatypes.html#string: strings SHALL NOT exceed 1 MB (1024*1024 characters).
      if (type === 'string' || sd.baseDefinition === 'http://hl7.org/fhir/StructureDefinition/string') s.maxLength = 1024 * 1024;
      if (regex) s.pattern = `^(?:${xsdRegexToJs(regex)})$`;
      return s;
    }
  }
}

function ref(name: string): JsonSchema {
  return { $ref: `#/definitions/${name}` };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function isRepeating(el: ElementDefinition): boolean {
  return el.max === '*' || Number(el.max) > 1;
}

interface Ctx {
  defs: Record<string, JsonSchema>;
  primitives: ReadonlySet<string>;
}

/** The FHIR type of an element's type entry: `System.String` with an fhir-type extension -> that type. */
function fhirTypeCode(t: ElementDefinitionType, el: ElementDefinition, sd: StructureDefinition): string {
  if (!t.code.startsWith(SYSTEM_PREFIX)) return t.code;
  // The logical id of a resource is of type id (R4 resource.html#id).
  if (sd.kind === 'resource' && el.path === `${sd.type}.id`) return 'id';
  const declared = extValue(t.extension, FHIR_TYPE_EXT);
  if (declared) return declared;
  switch (t.code.slice(SYSTEM_PREFIX.length)) {
    case 'Boolean':
      return 'boolean';
    case 'Integer':
      return 'integer';
    case 'Decimal':
      return 'decimal';
    default:
      return 'string';
  }
}

/** Whether a type code denotes a resource (an element of type Resource, e.g. contained). */
function isResourceCode(code: string): boolean {
  return code === 'Resource' || code === 'DomainResource' || isResourceType(code);
}

/** Builds the object definition for the element at `basePath` of `sd` (root or backbone). */
function objectDefinition(ctx: Ctx, sd: StructureDefinition, children: Map<string, ElementDefinition[]>, basePath: string, defName: string, isResourceRoot: boolean): void {
  const properties: Record<string, JsonSchema> = {};
  const rules: FhirObjectRules = {};
  const required: NonNullable<FhirObjectRules['required']> = [];
  const choices: NonNullable<FhirObjectRules['choices']> = [];
  const primitiveArrays: string[] = [];
  const schema: JsonSchema = { fhirType: defName, type: 'object' };
  ctx.defs[defName] = schema; // registered first: recursion (Extension.extension) is by $ref
  if (isResourceRoot) properties.resourceType = { const: sd.type };

  for (const el of children.get(basePath) ?? []) {
    const name = el.path.slice(basePath.length + 1);
    const repeating = isRepeating(el);
    const wrap = (item: JsonSchema): JsonSchema => (repeating ? { type: 'array', minItems: 1, items: item } : item);
    const isChoice = name.endsWith('[x]');
    const element = isChoice ? name.slice(0, -3) : name;
    const presentKeys: string[] = [];
    const choiceNames: string[] = [];

    if (el.contentReference) {
      const target = el.contentReference.slice(el.contentReference.indexOf('#') + 1);
      properties[element] = wrap(ref(target));
      presentKeys.push(element);
    } else if (children.has(el.path)) {
      objectDefinition(ctx, sd, children, el.path, el.path, false);
      properties[element] = wrap(ref(el.path));
      presentKeys.push(element);
    } else {
      for (const t of el.type ?? []) {
        const code = fhirTypeCode(t, el, sd);
        const key = isChoice ? element + capitalise(code) : element;
        if (isChoice) choiceNames.push(key);
        presentKeys.push(key);
        if (isResourceCode(code)) {
          properties[key] = wrap({ fhirResource: true });
        } else if (ctx.primitives.has(code)) {
          properties[key] = repeating ? { type: 'array', minItems: 1, items: ref(`${code}_null`) } : ref(code);
          // Element.id and Resource.id are System.String / id without an `_id` sibling.
          if (name !== 'id') {
            properties[`_${key}`] = repeating ? { type: 'array', minItems: 1, items: { if: { type: 'null' }, else: ref('Element') } } : ref('Element');
            presentKeys.push(`_${key}`);
            if (repeating) primitiveArrays.push(key);
          }
        } else {
          properties[key] = wrap(ref(code));
        }
      }
    }
    if ((el.min ?? 0) >= 1) required.push({ element: isChoice ? name : element, keys: presentKeys });
    if (isChoice && choiceNames.length > 1) choices.push({ element: name, names: choiceNames });
  }

  if (required.length > 0) rules.required = required;
  if (choices.length > 0) rules.choices = choices;
  if (primitiveArrays.length > 0) rules.primitiveArrays = primitiveArrays;
  schema.properties = properties;
  schema.additionalProperties = false;
  schema.minProperties = 1;
  if (isResourceRoot) schema.required = ['resourceType'];
  if (Object.keys(rules).length > 0) schema.fhirObject = rules;
}

function childrenByParent(sd: StructureDefinition): Map<string, ElementDefinition[]> {
  const out = new Map<string, ElementDefinition[]>();
  for (const el of sd.snapshot?.element ?? []) {
    const dot = el.path.lastIndexOf('.');
    if (dot < 0) continue;
    const parent = el.path.slice(0, dot);
    let list = out.get(parent);
    if (!list) out.set(parent, (list = []));
    list.push(el);
  }
  return out;
}

let generated: JsonSchema | undefined;

/**
 * The generated JSON schema (draft-07) of R4 JSON (cached). `definitions` holds every primitive type
 * (`string`, and `string_null` for array items), complex type, resource type and backbone element.
 */
export function r4JsonSchema(): JsonSchema {
  if (generated) return generated;
  const sds = allStructureDefinitions().filter((sd) => sd.derivation !== 'constraint');
  const primitives = new Set(sds.filter((sd) => sd.kind === 'primitive-type').map((sd) => sd.type));
  const ctx: Ctx = { defs: {}, primitives };
  for (const sd of sds) {
    if (sd.kind === 'primitive-type') {
      ctx.defs[sd.type] = primitiveSchema(sd, false);
      ctx.defs[`${sd.type}_null`] = primitiveSchema(sd, true);
    }
  }
  for (const sd of sds) {
    if (sd.kind === 'primitive-type') continue;
    const isResource = sd.kind === 'resource';
    // Abstract types are never instantiated, except Element (the `_x` sibling of primitives).
    if (sd.abstract && sd.type !== 'Element') continue;
    if (isResource && !isResourceType(sd.type)) continue;
    objectDefinition(ctx, sd, childrenByParent(sd), sd.type, sd.type, isResource);
  }
  generated = { $schema: 'http://json-schema.org/draft-07/schema#', $id: SCHEMA_ID, definitions: ctx.defs };
  return generated;
}

/** The definition name of a type, e.g. `Patient` (for callers compiling one type). */
export function definitionRef(typeName: string): string {
  if (!structureDefinition(typeName)) throw new Error(`Unknown FHIR type ${typeName}`);
  return `${SCHEMA_ID}#/definitions/${typeName}`;
}
