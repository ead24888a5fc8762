/**
 * `CodeSystem/$subsumes` (FHIR R4 codesystem-operation-subsumes.html, OperationDefinition
 * `CodeSystem-subsumes`): "Test the subsumption relationship between code/Coding A and code/Coding B
 * given the semantics of subsumption in the underlying code system (see hierarchyMeaning)", at
 * `[base]/CodeSystem/$subsumes` (with `system`) and `[base]/CodeSystem/[id]/$subsumes`, GET or POST.
 * Input: `codeA`/`codingA` and `codeB`/`codingB`, `system`, `version`. Output: `outcome`, one of
 * equivalent | subsumes | subsumed-by | not-subsumed (concept-subsumption-outcome).
 *
 * Subsumption is the code system's hierarchy (src/terminology/code-system-index.ts: nesting and the
 * parent/child/subsumedBy properties; a concept subsumes itself and everything below it): A subsumes B
 * when A is B or above it. It is used when `hierarchyMeaning` is `is-a` or absent (as the `:below`
 * search modifier does); a hierarchy that means part-of, grouped-by or classified-with is not
 * subsumption, and the operation says it cannot tell (422 not-supported). "If the server is unable to
 * determine the relationship between the codes/Codings, then it returns an error": so does a code
 * system without complete local content (SNOMED CT, dm+d, ...: 422 not-supported), a fragment (it may
 * miss the concepts in between, so only a relationship it shows is answered), a coding of another
 * system (relationships across code systems are not known here), and a code the code system does not
 * define (400).
 */
import type { CodeSystem, Coding, OperationDefinition, Parameters } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { exactlyOne, findConcept, instanceResource, systemUnavailable, type TerminologyDeps } from './terminology-support';

export const SUBSUMES_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'CodeSystem-subsumes',
  url: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes',
  version: '4.0.1',
  name: 'Subsumes',
  title: 'Subsumption Testing',
  status: 'active',
  kind: 'operation',
  description:
    'The subsumption relationship of two codes of a local code system whose hierarchy is is-a (or does not say). Code systems without complete local content (SNOMED CT, dm+d ...) answer 422 not-supported.',
  affectsState: false,
  code: 'subsumes',
  resource: ['CodeSystem'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'codeA', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The "A" code.' },
    { name: 'codeB', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The "B" code.' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system (unless invoked on a CodeSystem instance).' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the code system.' },
    { name: 'codingA', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'The "A" Coding (GET: system|code); its system must be the code system.' },
    { name: 'codingB', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'The "B" Coding.' },
    { name: 'outcome', use: 'out', min: 1, max: '1', type: 'code', documentation: 'equivalent | subsumes | subsumed-by | not-subsumed' },
  ],
};

export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export function subsumesOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const op = 'subsumes';
    const input = new OperationInput(inv, op);
    input.assertDeclared(SUBSUMES_DEFINITION);
    let given: CodeSystem | undefined;
    let system = input.string('system');
    if (inv.level === 'instance') {
      if (system !== undefined) throw new FhirError('invalid', { diagnostics: `$subsumes on CodeSystem/${inv.id}: system cannot be given as well`, expression: ['system'] });
      given = await instanceResource<CodeSystem>(ctx, inv);
      system = given.url;
    }
    const side = (x: 'A' | 'B'): Coding => {
      const [from] = exactlyOne(op, [
        [`code${x}`, input.string(`code${x}`)],
        [`coding${x}`, input.coding(`coding${x}`)],
      ]);
      if (from === `code${x}`) return { code: input.string(`code${x}`)!, ...(system !== undefined ? { system } : {}) };
      return input.coding(`coding${x}`)!;
    };
    const a = side('A');
    const b = side('B');
    system ??= a.system ?? b.system;
    if (system === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$subsumes needs the code system: system (or codings with their system)', expression: ['system'] });
    for (const [x, c] of [['A', a], ['B', b]] as const) {
      if (c.system !== undefined && c.system !== system) {
        throw new FhirError('unprocessable', { code: 'not-supported', diagnostics: `$subsumes: coding${x} is of ${c.system}, not of ${system}; relationships across code systems are not known to this server` });
      }
    }
    const version = input.string('version');
    const [ca, cb] = [await findConcept(op, deps, system, a.code!, given ? undefined : version, given), await findConcept(op, deps, system, b.code!, given ? undefined : version, given)];
    for (const [x, c, code] of [['A', ca, a.code], ['B', cb, b.code]] as const) {
      if (!c.node) throw new FhirError('invalid', { code: 'code-invalid', diagnostics: `$subsumes: code${x} ${JSON.stringify(code)} is not defined by the code system ${system}`, expression: [`code${x}`] });
    }
    const idx = ca.idx;
    const meaning = idx.hierarchyMeaning;
    if (meaning !== undefined && meaning !== 'is-a') {
      throw systemUnavailable(op, system, `its hierarchy means ${meaning}, not is-a: subsumption between its codes cannot be determined`);
    }
    const na = ca.node!;
    const nb = cb.node!;
    const above = (x: string, y: string): boolean => (idx.ancestors(y) ?? []).some((n) => n.code === x);
    const aOverB = above(na.code, nb.code);
    const bOverA = above(nb.code, na.code);
    const outcome: SubsumptionOutcome = na.code === nb.code || (aOverB && bOverA) ? 'equivalent' : aOverB ? 'subsumes' : bOverA ? 'subsumed-by' : 'not-subsumed';
    if (outcome === 'not-subsumed' && idx.content === 'fragment') {
      throw systemUnavailable(op, system, 'the local CodeSystem is a fragment: concepts between the two may be missing from it');
    }
    const out: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'outcome', valueCode: outcome }] };
    return { status: 200, resource: out };
  };
}

export function registerSubsumes(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(SUBSUMES_DEFINITION, subsumesOperation(deps));
}
