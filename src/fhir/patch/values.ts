/**
 * Placing a FHIRPath Patch value into an element (FHIR R4 fhirpatch.html: "The type of the value must
 * be correct for the place at which it will be added/inserted. Servers SHALL return an error if the
 * type is wrong"; anonymous types given as nested parts; choice elements named with their type
 * suffix, json.html#choice).
 */
import { FhirError } from '../outcome';
import { childElement, isCompatibleType, isPrimitiveType, ownerPathOf, type ElementInfo } from './fhir-model';
import { has, insertInList, listLength, writeSlot, type JsonObject } from './json-slots';
import type { PatchValue } from './parameters';

/** A value ready to write: the JSON property it goes in, its JSON, and a primitive's `_` companion. */
export interface Placed {
  key: string;
  json: unknown;
  ext: JsonObject | undefined;
}

/** Context for error messages: the operation label and the FHIRPath of the place. */
export interface Where {
  label: string;
  path: string;
}

/**
 * Checks `value` against the element `info` (named `name`, the base name for a choice element) and
 * returns what to write. Type mismatches are FhirError('unprocessable').
 */
export function placeValue(value: PatchValue, info: ElementInfo, name: string, where: Where): Placed {
  const fail = (problem: string): FhirError => new FhirError('unprocessable', { diagnostics: `${where.label}: ${problem}`, expression: [where.path] });
  switch (value.kind) {
    case 'typed': {
      let key = name;
      if (info.choiceTypes !== undefined) {
        if (!info.choiceTypes.includes(value.suffix)) throw fail(`${info.path}[x] does not allow type ${value.type} (allowed: ${info.choiceTypes.join(', ')})`);
        key = name + value.suffix;
      } else if (info.type === undefined || info.type === 'Resource' || !isCompatibleType(info.type, value.type)) {
        throw fail(`a value of type ${value.type} cannot be placed in ${info.path} (type ${info.type ?? 'unknown'})`);
      }
      return { key, json: structuredClone(value.json), ext: value.ext === undefined ? undefined : structuredClone(value.ext) };
    }
    case 'resource':
      if (info.type !== 'Resource') throw fail(`a resource cannot be placed in ${info.path} (type ${info.type ?? 'choice'})`);
      return { key: name, json: structuredClone(value.json), ext: undefined };
    case 'parts': {
      if (info.choiceTypes !== undefined) throw fail(`${info.path}[x] is a choice element: give its value as value[x], or name it with its type (e.g. ${name}${info.choiceTypes[0] ?? ''})`);
      if (info.type === undefined || info.type === 'Resource' || isPrimitiveType(info.type)) throw fail(`${info.path} (type ${info.type ?? 'unknown'}) cannot be given as parts`);
      return { key: name, json: buildFromParts(value.parts, ownerPathOf(info), where), ext: undefined };
    }
  }
}

/** Builds a complex value from nested parts, each naming a child element of `ownerPath`. */
function buildFromParts(parts: Extract<PatchValue, { kind: 'parts' }>['parts'], ownerPath: string, where: Where): JsonObject {
  const out: JsonObject = {};
  for (const part of parts) {
    const info = childElement(ownerPath, part.name);
    if (!info) throw new FhirError('unprocessable', { diagnostics: `${where.label}: ${ownerPath} has no element '${part.name}' (${part.at})`, expression: [where.path] });
    const placed = placeValue(part.value, info, part.name, where);
    if (info.repeating) {
      insertInList(out, placed.key, listLength(out, placed.key), placed.json, placed.ext);
    } else if (has(out, placed.key)) {
      throw new FhirError('unprocessable', { diagnostics: `${where.label}: ${info.path} does not repeat but is given more than once (${part.at})`, expression: [where.path] });
    } else {
      writeSlot({ holder: out, key: placed.key, index: undefined }, placed.json, placed.ext);
    }
  }
  return out;
}
