/**
 * `_summary` and `_elements` (FHIR R4 §3.1.1.5.8-9 search.html#summary, #elements; they apply to
 * read as well). Summary elements come from the R4 StructureDefinitions' `isSummary` flags; a
 * subsetted resource is tagged SUBSETTED (http://terminology.hl7.org/CodeSystem/v3-ObservationValue).
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import { loadR4Bundle } from '../definitions/r4-package';
import { FhirError } from './outcome';

export type SummaryMode = 'true' | 'false' | 'text' | 'data' | 'count';

interface TypeInfo {
  summary: Set<string>;
  mandatory: Set<string>;
  /** Element names (choice elements as their prefix, e.g. `deceased`). */
  elements: Set<string>;
  choices: string[];
}

let infos: Map<string, TypeInfo> | undefined;

function typeInfo(resourceType: string): TypeInfo | undefined {
  if (!infos) {
    infos = new Map();
    for (const e of loadR4Bundle('profiles-resources.json').entry ?? []) {
      const sd = e.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource') continue;
      const info: TypeInfo = { summary: new Set(['id', 'meta', 'implicitRules']), mandatory: new Set(['id', 'meta']), elements: new Set(), choices: [] };
      for (const el of (sd.snapshot?.element ?? []) as ElementDefinition[]) {
        const parts = el.path.split('.');
        if (parts.length !== 2) continue;
        let name = parts[1]!;
        if (name.endsWith('[x]')) {
          name = name.slice(0, -3);
          info.choices.push(name);
        }
        info.elements.add(name);
        if (el.isSummary) info.summary.add(name);
        if ((el.min ?? 0) > 0) info.mandatory.add(name);
      }
      infos.set(sd.type, info);
    }
  }
  return infos.get(resourceType);
}

function elementName(info: TypeInfo, key: string): string {
  const k = key.startsWith('_') ? key.slice(1) : key;
  for (const c of info.choices) if (k.startsWith(c) && k.length > c.length && /[A-Z]/.test(k[c.length]!)) return c;
  return k;
}

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED', display: 'subsetted' };

function tagSubsetted(r: Record<string, unknown>): void {
  const meta = { ...((r['meta'] as Record<string, unknown> | undefined) ?? {}) };
  const tags = Array.isArray(meta['tag']) ? [...(meta['tag'] as unknown[])] : [];
  tags.push(SUBSETTED);
  meta['tag'] = tags;
  r['meta'] = meta;
}

export function parseSummary(value: string | undefined): SummaryMode | undefined {
  if (value === undefined) return undefined;
  if (['true', 'false', 'text', 'data', 'count'].includes(value)) return value as SummaryMode;
  throw new FhirError('invalid', { code: 'value', diagnostics: `_summary=${JSON.stringify(value)} is not one of true, false, text, data, count`, expression: ['_summary'] });
}

export function parseElements(values: string[]): string[] | undefined {
  if (values.length === 0) return undefined;
  const out = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const e of out) {
    if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(e)) {
      throw new FhirError('invalid', { code: 'value', diagnostics: `_elements: ${JSON.stringify(e)} is not an element name`, expression: ['_elements'] });
    }
  }
  return out;
}

/** Applies _summary / _elements to one resource (returns a new object; the input is not changed). */
export function subsetResource(resource: Record<string, unknown>, summary: SummaryMode | undefined, elements: string[] | undefined): Record<string, unknown> {
  const type = resource['resourceType'];
  if (typeof type !== 'string') return resource;
  const info = typeInfo(type);
  if (!info) return resource;
  if (elements) {
    const keep = new Set(elements.map((e) => e.split('.')[0]!));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(resource)) {
      if (k === 'resourceType' || k === 'id' || k === 'meta' || keep.has(elementName(info, k))) out[k] = v;
    }
    tagSubsetted(out);
    return out;
  }
  switch (summary) {
    case undefined:
    case 'false':
    case 'count':
      return resource;
    case 'data': {
      const { text: _text, ...rest } = resource;
      if (_text === undefined) return resource;
      tagSubsetted(rest);
      return rest;
    }
    case 'text': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(resource)) {
        const n = elementName(info, k);
        if (k === 'resourceType' || n === 'text' || n === 'id' || n === 'meta' || info.mandatory.has(n)) out[k] = v;
      }
      tagSubsetted(out);
      return out;
    }
    case 'true': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(resource)) {
        if (k === 'resourceType' || info.summary.has(elementName(info, k))) out[k] = v;
      }
      tagSubsetted(out);
      return out;
    }
  }
}
