/**
 * `ValueSet/$expand` (FHIR R4 valueset-operation-expand.html, OperationDefinition `ValueSet-expand`):
 * `[base]/ValueSet/$expand?url=...` (or a ValueSet given as `valueSet`) and `[base]/ValueSet/[id]/$expand`,
 * GET or POST, over the local terminology (terminology-support.ts).
 *
 * The expansion is the compose of the value set evaluated over local CodeSystems
 * (src/terminology/expand.ts: include/exclude, concept lists, filters, imports), or its stored
 * expansion when that is complete. It is flat (`excludeNested` is always honoured). Parameters:
 * - `filter`: a text filter ("the interpretation of this is delegated to the server"): a concept is
 *   kept when its code starts with the filter, or every word of the filter starts a word of its
 *   display (case and accents ignored);
 * - `activeOnly`: drops concepts the code system marks inactive (status retired/inactive or
 *   `inactive: true`); codes of systems without local content are kept (nothing is known against them);
 * - `includeDesignations`: the concepts' designations from their code system;
 * - `includeDefinition`: the value set's compose is returned with the expansion;
 * - `offset` / `count`: a page of the (flat) expansion; `total` is the size of the whole expansion
 *   after `filter` and `activeOnly`; `count=0` asks for the total only.
 * A value set that needs a code system not available here (SNOMED CT, dm+d, ...), a filter the server
 * does not support, or more than 100 000 codes is an error (422 not-supported, 400 too-costly), never
 * an empty or partial expansion; an unknown `url` is 404.
 */
import { randomUUID } from 'node:crypto';
import type { OperationDefinition, ValueSet, ValueSetExpansionContains, ValueSetExpansionParameter } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { isInactive, propertyValues, type CodeSystemIndex } from '../terminology/code-system-index';
import { normalizeString, textWords } from '../search/normalize';
import type { CodeRef } from '../terminology/terminology';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { exactlyOne, expansionError, instanceResource, type TerminologyDeps } from './terminology-support';

export const MAX_EXPANSION_PAGE = 100_000;

export const EXPAND_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ValueSet-expand',
  url: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
  version: '4.0.1',
  name: 'Expand',
  title: 'Value Set Expansion',
  status: 'active',
  kind: 'operation',
  description:
    'Expands a value set over the local terminology (the R4 CodeSystems and ValueSets, profiles/, FHIR_PACKAGES and those stored here). A value set that needs a code system without local content (SNOMED CT, dm+d, LOINC ...) answers 422 not-supported, never a partial expansion.',
  affectsState: false,
  code: 'expand',
  resource: ['ValueSet'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Canonical url of the value set (optionally |version).' },
    { name: 'valueSet', use: 'in', min: 0, max: '1', type: 'ValueSet', documentation: 'The value set to expand, given in the request (POST).' },
    { name: 'valueSetVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the value set named by url.' },
    { name: 'filter', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Text filter: codes starting with it, or displays with a word starting with each of its words (case and accents ignored).' },
    { name: 'offset', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Where the page starts (default 0).' },
    { name: 'count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'How many codes to return (default all); 0: only the total.' },
    { name: 'includeDesignations', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Include the designations of each concept (from its code system).' },
    { name: 'includeDefinition', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Include the value set compose.' },
    { name: 'activeOnly', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Leave out concepts their code system marks inactive.' },
    { name: 'excludeNested', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'Expansions are always flat.' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'ValueSet', documentation: 'The value set with its expansion.' },
  ],
};

/** The value set the operation is about: the instance, the `valueSet` given, or the canonical `url`. */
export async function valueSetOf(op: string, inv: OperationInvocation, input: OperationInput, ctx: InteractionContext): Promise<{ source: string | ValueSet; label: string | undefined }> {
  if (inv.level === 'instance') {
    if (input.has('url') || input.has('valueSet')) throw new FhirError('invalid', { diagnostics: `$${op} on ValueSet/${inv.id}: url and valueSet cannot be given as well`, expression: ['url'] });
    const vs = await instanceResource<ValueSet>(ctx, inv);
    return { source: vs, label: vs.url };
  }
  const [which] = exactlyOne(op, [
    ['url', input.string('url')],
    ['valueSet', input.has('valueSet') ? true : undefined],
  ]);
  const version = input.string('valueSetVersion');
  if (which === 'valueSet') {
    if (version !== undefined) throw new FhirError('invalid', { diagnostics: `$${op}: valueSetVersion goes with url, not with valueSet`, expression: ['valueSetVersion'] });
    const vs = input.resource<ValueSet>('valueSet', 'ValueSet')!;
    return { source: vs, label: vs.url };
  }
  const url = input.string('url')!;
  if (version !== undefined && url.includes('|')) throw new FhirError('invalid', { diagnostics: `$${op}: give the version either in url (url|version) or as valueSetVersion`, expression: ['valueSetVersion'] });
  const canonical = version !== undefined ? `${url}|${version}` : url;
  return { source: canonical, label: canonical };
}

/** The codes of the value set, or the error that says why there are none. */
export async function codesOf(op: string, deps: TerminologyDeps, source: string | ValueSet, label: string | undefined): Promise<CodeRef[]> {
  const r = await deps.terminology.expandExplained(source);
  if ('problem' in r) throw expansionError(op, r.problem, typeof source === 'string' ? source : label);
  return r.codes;
}

/** Whether a concept passes the text filter (see the module comment). */
export function passesFilter(filter: string, code: string, display: string | undefined): boolean {
  const f = normalizeString(filter);
  if (f === '') return true;
  if (normalizeString(code).startsWith(f)) return true;
  if (display === undefined) return false;
  const words = textWords(display);
  const wanted = textWords(filter);
  return wanted.length > 0 && wanted.every((fw) => words.some((w) => w.startsWith(fw)));
}

/** Looks concepts up in their code systems (once per system). */
export class ConceptCache {
  private readonly indexes = new Map<string, Promise<CodeSystemIndex | undefined>>();
  constructor(private readonly deps: TerminologyDeps) {}
  async node(system: string, code: string) {
    let p = this.indexes.get(system);
    if (!p) {
      p = this.deps.terminology.codeSystemIndex(system);
      this.indexes.set(system, p);
    }
    const idx = await p;
    return idx && (idx.content === 'complete' || idx.content === 'fragment') ? idx.lookup(code) : undefined;
  }
}

export function expandOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const input = new OperationInput(inv, 'expand');
    input.assertDeclared(EXPAND_DEFINITION);
    const { source, label } = await valueSetOf('expand', inv, input, ctx);
    const filter = input.string('filter');
    const offset = input.integer('offset', MAX_EXPANSION_PAGE) ?? 0;
    const count = input.integer('count', MAX_EXPANSION_PAGE);
    const activeOnly = input.boolean('activeOnly') ?? false;
    const designations = input.boolean('includeDesignations') ?? false;
    const definition = input.boolean('includeDefinition') ?? false;
    input.boolean('excludeNested');

    const codes = await codesOf('expand', deps, source, label);
    const vs = typeof source === 'string' ? (await deps.terminology.valueSet(source))! : source;
    const concepts = new ConceptCache(deps);
    const kept: ValueSetExpansionContains[] = [];
    for (const c of codes) {
      if (filter !== undefined && !passesFilter(filter, c.code, c.display)) continue;
      const node = await concepts.node(c.system, c.code);
      const inactive = node ? isInactive(node) : false;
      if (activeOnly && inactive) continue;
      const entry: ValueSetExpansionContains = { system: c.system, code: c.code, ...(c.display !== undefined ? { display: c.display } : {}) };
      if (node && propertyValues(node, 'notSelectable').includes('true')) entry.abstract = true;
      if (inactive) entry.inactive = true;
      if (designations && node && node.designations.length > 0) entry.designation = node.designations.map((d) => ({ ...d }));
      kept.push(entry);
    }
    const page = kept.slice(offset, count === undefined ? undefined : offset + count);
    const parameter: ValueSetExpansionParameter[] = [];
    if (filter !== undefined) parameter.push({ name: 'filter', valueString: filter });
    if (activeOnly) parameter.push({ name: 'activeOnly', valueBoolean: true });
    if (designations) parameter.push({ name: 'includeDesignations', valueBoolean: true });
    if (offset > 0) parameter.push({ name: 'offset', valueInteger: offset });
    if (count !== undefined) parameter.push({ name: 'count', valueInteger: count });

    const { compose, expansion: _stored, text: _text, meta: _meta, ...head } = vs;
    const out: ValueSet = {
      ...head,
      resourceType: 'ValueSet',
      status: vs.status ?? 'unknown',
      ...(definition && compose ? { compose } : {}),
      expansion: {
        identifier: `urn:uuid:${randomUUID()}`,
        timestamp: (ctx.services.now?.() ?? new Date()).toISOString(),
        total: kept.length,
        ...(offset > 0 || count !== undefined ? { offset } : {}),
        ...(parameter.length > 0 ? { parameter } : {}),
        ...(page.length > 0 ? { contains: page } : {}),
      },
    };
    return { status: 200, resource: out };
  };
}

export function registerExpand(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(EXPAND_DEFINITION, expandOperation(deps));
}
