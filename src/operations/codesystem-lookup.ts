/**
 * `CodeSystem/$lookup` (FHIR R4 codesystem-operation-lookup.html, OperationDefinition
 * `CodeSystem-lookup`): "Given a code/system, or a Coding, get additional details about the concept,
 * including definition, status, designations, and properties", at `[base]/CodeSystem/$lookup`, GET or
 * POST. Input: `code` + `system` (+ `version`) or `coding`; `property` (repeatable) names what to
 * return. Output: `name` (the code system's title or name), `version`, `display`, `designation`
 * (parts `language`, `use`, `value`) and `property` (parts `code`, `value`, and `description` for a
 * code value).
 *
 * Properties: `parent` and `child` (the hierarchy: nesting and the parent/child/subsumedBy concept
 * properties), `definition`, `inactive` (boolean, from status/inactive properties) and every property
 * the concept carries. Without `property` all of them are returned; with it, only those named (the
 * R4 names `version`, `designation` and `lang.X` select those outputs; `name` and `display` are
 * always returned, being 1..1).
 * Over local CodeSystems only: SNOMED CT, dm+d and every system without complete local content answer
 * 422 not-supported ("not available"), never "not found"; a code a complete local code system does not
 * define is 404 (R4: "If the code is not found, the server returns an OperationOutcome").
 */
import type { OperationDefinition, Parameters, ParametersParameter } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { isInactive, type ConceptNode } from '../terminology/code-system-index';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { exactlyOne, findConcept, type TerminologyDeps } from './terminology-support';

export const LOOKUP_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'CodeSystem-lookup',
  url: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
  version: '4.0.1',
  name: 'Lookup',
  title: 'Concept Look Up & Decomposition',
  status: 'active',
  kind: 'operation',
  description:
    'Details of a concept of a local code system: display, designations, definition, hierarchy and properties. Code systems without complete local content (SNOMED CT, dm+d, LOINC ...) answer 422 not-supported, never "not found".',
  affectsState: false,
  code: 'lookup',
  resource: ['CodeSystem'],
  system: false,
  type: true,
  instance: false,
  parameter: [
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to look up (with system).' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system of code.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the code system.' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'A Coding to look up (GET: system|code).' },
    { name: 'property', use: 'in', min: 0, max: '*', type: 'code', documentation: 'What to return: parent, child, definition, inactive, version, designation, lang.X, or a property of the code system (default: all).' },
    { name: 'name', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The name of the code system.' },
    { name: 'version', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The version of the code system.' },
    { name: 'display', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The display of the concept.' },
    {
      name: 'designation',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'Other representations of the concept.',
      part: [
        { name: 'language', use: 'out', min: 0, max: '1', type: 'code' },
        { name: 'use', use: 'out', min: 0, max: '1', type: 'Coding' },
        { name: 'value', use: 'out', min: 1, max: '1', type: 'string' },
      ],
    },
    {
      name: 'property',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'Properties of the concept (parent, child, definition, inactive and those of the code system).',
      part: [
        { name: 'code', use: 'out', min: 1, max: '1', type: 'code' },
        { name: 'value', use: 'out', min: 0, max: '1', type: 'Element', documentation: 'code | Coding | string | integer | boolean | dateTime | decimal' },
        { name: 'description', use: 'out', min: 0, max: '1', type: 'string' },
      ],
    },
  ],
};

const VALUE_KEYS = ['valueCode', 'valueCoding', 'valueString', 'valueInteger', 'valueBoolean', 'valueDateTime', 'valueDecimal'] as const;

function propertiesOf(node: ConceptNode, displayOf: (code: string) => string | undefined): ParametersParameter[] {
  const out: ParametersParameter[] = [];
  const codeProperty = (code: string, value: string): ParametersParameter => {
    const description = displayOf(value);
    return { name: 'property', part: [{ name: 'code', valueCode: code }, { name: 'value', valueCode: value }, ...(description !== undefined ? [{ name: 'description', valueString: description }] : [])] };
  };
  for (const p of [...node.parents].sort()) out.push(codeProperty('parent', p));
  for (const c of [...node.children].sort()) out.push(codeProperty('child', c));
  if (node.definition !== undefined) out.push({ name: 'property', part: [{ name: 'code', valueCode: 'definition' }, { name: 'value', valueString: node.definition }] });
  out.push({ name: 'property', part: [{ name: 'code', valueCode: 'inactive' }, { name: 'value', valueBoolean: isInactive(node) }] });
  for (const p of node.properties) {
    if (p.code === 'parent' || p.code === 'child') continue; // folded into the hierarchy above
    const part: ParametersParameter[] = [{ name: 'code', valueCode: p.code }];
    for (const k of VALUE_KEYS) {
      const v = (p as unknown as Record<string, unknown>)[k];
      if (v !== undefined) part.push({ name: 'value', [k]: v } as ParametersParameter);
    }
    out.push({ name: 'property', part });
  }
  return out;
}

export function lookupOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, _ctx: InteractionContext): Promise<FhirResult> => {
    const op = 'lookup';
    const input = new OperationInput(inv, op);
    input.assertDeclared(LOOKUP_DEFINITION);
    const [from] = exactlyOne(op, [
      ['code', input.string('code')],
      ['coding', input.coding('coding')],
    ]);
    let system: string | undefined;
    let code: string;
    let version = input.string('version');
    if (from === 'code') {
      system = input.string('system');
      code = input.string('code')!;
    } else {
      if (input.has('system')) throw new FhirError('invalid', { diagnostics: '$lookup: system goes with code; a coding carries its own system', expression: ['system'] });
      const c = input.coding('coding')!;
      system = c.system;
      code = c.code!;
      if (c.version !== undefined) version = c.version;
    }
    if (system === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$lookup needs the system of the code ("a client SHALL provide both a system and a code")', expression: [from === 'code' ? 'system' : 'coding'] });
    const { idx, node } = await findConcept(op, deps, system, code, version);
    if (!node) {
      throw new FhirError('not-found', { code: 'not-found', diagnostics: `$lookup: the code ${JSON.stringify(code)} is not defined by the code system ${system}${idx.version ? ` (version ${idx.version})` : ''} (its content is complete)` });
    }
    const wanted = input.has('property') ? new Set(input.strings('property')) : undefined;
    const want = (name: string): boolean => wanted === undefined || wanted.has(name);
    const parameter: ParametersParameter[] = [{ name: 'name', valueString: idx.name || system }];
    if (idx.version !== undefined && want('version')) parameter.push({ name: 'version', valueString: idx.version });
    parameter.push({ name: 'display', valueString: node.display ?? node.code });
    for (const d of node.designations) {
      const lang = d.language !== undefined ? `lang.${d.language}` : undefined;
      if (wanted !== undefined && !wanted.has('designation') && !(lang !== undefined && wanted.has(lang))) continue;
      parameter.push({
        name: 'designation',
        part: [...(d.language !== undefined ? [{ name: 'language', valueCode: d.language }] : []), ...(d.use ? [{ name: 'use', valueCoding: d.use }] : []), { name: 'value', valueString: d.value }],
      });
    }
    const displayOf = (c: string): string | undefined => idx.lookup(c)?.display;
    for (const p of propertiesOf(node, displayOf)) {
      const pcode = p.part?.[0]?.valueCode;
      if (pcode !== undefined && want(pcode)) parameter.push(p);
    }
    const out: Parameters = { resourceType: 'Parameters', parameter };
    return { status: 200, resource: out };
  };
}

export function registerLookup(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(LOOKUP_DEFINITION, lookupOperation(deps));
}
