/**
 * Reading a FHIRPath Patch document (FHIR R4 fhirpatch.html "Parameters" encoding): a `Parameters`
 * resource whose `parameter`s are each named `operation`, with parts `type`, `path`, `name`, `value`,
 * `index`, `source`, `destination`. A value is a `value[x]` of any Parameters datatype, a `resource`,
 * or (for anonymous and other complex types) nested `part`s naming the child elements.
 *
 * Everything here is about the shape of the request body; every problem is a FhirError('invalid', 400)
 * naming the parameter (and part) at fault.
 */
import { FhirError } from '../outcome';
import { R4_MODEL, jsonKindOf, lowerFirstIfPrimitive } from './fhir-model';

export type PatchOperationType = 'add' | 'insert' | 'delete' | 'replace' | 'move';

/** A value given in the patch document, not yet placed. */
export type PatchValue =
  /** A `value[x]`: `type` is the FHIR type (e.g. `date`, `CodeableConcept`), `suffix` the `[x]` part. */
  | { kind: 'typed'; type: string; suffix: string; json: unknown; ext: Record<string, unknown> | undefined }
  /** A `resource` part. */
  | { kind: 'resource'; json: Record<string, unknown> }
  /** Nested `part`s, each naming a child element. */
  | { kind: 'parts'; parts: NamedValue[] };

export interface NamedValue {
  name: string;
  value: PatchValue;
  /** Where it came from in the Parameters, for messages: `Parameters.parameter[0].part[3].part[1]`. */
  at: string;
}

export interface PatchOperation {
  /** 1-based operation number, as it appears to the client. */
  number: number;
  /** FHIRPath of the operation in the Parameters body: `Parameters.parameter[i]`. */
  at: string;
  type: PatchOperationType;
  path: string;
  name?: string;
  value?: PatchValue;
  index?: number;
  source?: number;
  destination?: number;
}

const TYPES: ReadonlySet<string> = new Set(['add', 'insert', 'delete', 'replace', 'move']);
const PART_NAMES: ReadonlySet<string> = new Set(['type', 'path', 'name', 'value', 'index', 'source', 'destination']);
/** FHIR element names (elementdefinition.html#path: letters and digits, starting with a letter). */
export const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

/** The value[x] suffixes Parameters.parameter allows in R4, e.g. `String`, `CodeableConcept`. */
const VALUE_SUFFIXES: ReadonlySet<string> = new Set(R4_MODEL.choiceTypePaths['Parameters.parameter.value'] ?? []);

/** Parses a FHIRPath Patch Parameters body into operations, or throws FhirError('invalid'). */
export function parsePatchParameters(body: unknown): PatchOperation[] {
  if (!isObject(body) || body.resourceType !== 'Parameters') {
    throw invalid('FHIRPath Patch: the body must be a Parameters resource', 'Parameters');
  }
  const params = body.parameter;
  if (params === undefined) return [];
  if (!Array.isArray(params)) throw invalid('FHIRPath Patch: Parameters.parameter must be an array', 'Parameters.parameter');
  return params.map((p: unknown, i) => parseOperation(p, i));
}

function parseOperation(p: unknown, i: number): PatchOperation {
  const at = `Parameters.parameter[${i}]`;
  const label = `FHIRPath Patch operation ${i + 1}`;
  if (!isObject(p)) throw invalid(`${label}: must be a JSON object`, at);
  if (p.name !== 'operation') throw invalid(`${label}: parameter name must be 'operation' (found ${JSON.stringify(p.name) ?? 'none'})`, `${at}.name`);
  if (!Array.isArray(p.part)) throw invalid(`${label}: an operation needs parts (type, path, ...)`, `${at}.part`);

  const parts = new Map<string, { part: Record<string, unknown>; at: string }>();
  p.part.forEach((part: unknown, j) => {
    const partAt = `${at}.part[${j}]`;
    if (!isObject(part) || typeof part.name !== 'string') throw invalid(`${label}: part ${j} must be an object with a string 'name'`, partAt);
    if (!PART_NAMES.has(part.name)) throw invalid(`${label}: unknown part '${part.name}' (expected ${[...PART_NAMES].join(', ')})`, partAt);
    if (parts.has(part.name)) throw invalid(`${label}: part '${part.name}' given more than once`, partAt);
    parts.set(part.name, { part, at: partAt });
  });

  const type = stringPart(parts, 'type', ['valueCode', 'valueString'], label);
  if (type === undefined) throw invalid(`${label}: missing part 'type'`, at);
  if (!TYPES.has(type)) throw invalid(`${label}: unknown type '${type}' (expected ${[...TYPES].join(', ')})`, parts.get('type')?.at ?? at);
  const path = stringPart(parts, 'path', ['valueString'], label);
  if (path === undefined || path.trim() === '') throw invalid(`${label} (${type}): missing part 'path' (a valueString FHIRPath)`, at);
  const op: PatchOperation = { number: i + 1, at, type: type as PatchOperationType, path };
  const opLabel = `${label} (${type} at '${path}')`;

  if (type === 'add') {
    const name = stringPart(parts, 'name', ['valueString', 'valueCode'], opLabel);
    if (name === undefined) throw invalid(`${opLabel}: missing part 'name'`, at);
    if (!ELEMENT_NAME.test(name)) throw invalid(`${opLabel}: '${name}' is not an element name`, parts.get('name')?.at ?? at);
    op.name = name;
  }
  if (type === 'add' || type === 'insert' || type === 'replace') {
    const v = parts.get('value');
    if (!v) throw invalid(`${opLabel}: missing part 'value'`, at);
    op.value = parseValue(v.part, v.at, opLabel, 0);
  }
  if (type === 'insert') op.index = integerPart(parts, 'index', opLabel, at);
  if (type === 'move') {
    op.source = integerPart(parts, 'source', opLabel, at);
    op.destination = integerPart(parts, 'destination', opLabel, at);
  }
  return op;
}

const MAX_DEPTH = 32;

/** The value carried by a part: one `value[x]`, a `resource`, or nested `part`s. */
function parseValue(part: Record<string, unknown>, at: string, label: string, depth: number): PatchValue {
  if (depth > MAX_DEPTH) throw invalid(`${label}: value parts nested more than ${MAX_DEPTH} deep`, at);
  const valueKeys = Object.keys(part).filter((k) => /^value[A-Z]/.test(k));
  const extKeys = Object.keys(part).filter((k) => /^_value[A-Z]/.test(k));
  const hasResource = part.resource !== undefined;
  const hasParts = part.part !== undefined;
  const count = valueKeys.length + (hasResource ? 1 : 0) + (hasParts ? 1 : 0);
  if (count !== 1) throw invalid(`${label}: a value needs exactly one of value[x], resource or part (found ${count})`, at);

  if (hasResource) {
    if (!isObject(part.resource) || typeof part.resource.resourceType !== 'string') throw invalid(`${label}: 'resource' must be a resource with a resourceType`, `${at}.resource`);
    return { kind: 'resource', json: part.resource };
  }
  if (hasParts) {
    if (!Array.isArray(part.part) || part.part.length === 0) throw invalid(`${label}: 'part' must be a non-empty array`, `${at}.part`);
    const named = part.part.map((child: unknown, j): NamedValue => {
      const childAt = `${at}.part[${j}]`;
      if (!isObject(child) || typeof child.name !== 'string') throw invalid(`${label}: part must be an object with a string 'name'`, childAt);
      if (!ELEMENT_NAME.test(child.name)) throw invalid(`${label}: '${child.name}' is not an element name`, childAt);
      return { name: child.name, value: parseValue(child, childAt, label, depth + 1), at: childAt };
    });
    return { kind: 'parts', parts: named };
  }
  const key = valueKeys[0] as string;
  const suffix = key.slice('value'.length);
  if (!VALUE_SUFFIXES.has(suffix)) throw invalid(`${label}: '${key}' is not a Parameters value type`, `${at}.${key}`);
  const type = lowerFirstIfPrimitive(suffix);
  const json = part[key];
  const kind = jsonKindOf(type);
  const kindOk = kind === undefined ? isObject(json) : kind === 'number' ? typeof json === 'number' && Number.isFinite(json) : typeof json === kind;
  if (!kindOk) throw invalid(`${label}: '${key}' must be a JSON ${kind ?? 'object'}`, `${at}.${key}`);
  if (kind === 'number' && type !== 'decimal' && !Number.isInteger(json)) throw invalid(`${label}: '${key}' must be an integer`, `${at}.${key}`);
  let ext: Record<string, unknown> | undefined;
  for (const ek of extKeys) {
    if (ek !== `_${key}`) throw invalid(`${label}: '${ek}' does not match '${key}'`, `${at}.${ek}`);
    const e = part[ek];
    if (!isObject(e)) throw invalid(`${label}: '${ek}' must be a JSON object`, `${at}.${ek}`);
    ext = e;
  }
  return { kind: 'typed', type, suffix, json, ext };
}

function stringPart(parts: Map<string, { part: Record<string, unknown>; at: string }>, name: string, keys: string[], label: string): string | undefined {
  const p = parts.get(name);
  if (!p) return undefined;
  for (const k of keys) {
    const v = p.part[k];
    if (v !== undefined) {
      if (typeof v !== 'string') throw invalid(`${label}: part '${name}' ${k} must be a string`, `${p.at}.${k}`);
      return v;
    }
  }
  throw invalid(`${label}: part '${name}' needs ${keys.join(' or ')}`, p.at);
}

function integerPart(parts: Map<string, { part: Record<string, unknown>; at: string }>, name: string, label: string, at: string): number {
  const p = parts.get(name);
  if (!p) throw invalid(`${label}: missing part '${name}'`, at);
  const v = p.part.valueInteger ?? p.part.valueUnsignedInt ?? p.part.valuePositiveInt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid(`${label}: part '${name}' needs a valueInteger >= 0`, p.at);
  return v;
}

function invalid(diagnostics: string, expression: string): FhirError {
  return new FhirError('invalid', { diagnostics, expression: [expression] });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
