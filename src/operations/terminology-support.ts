/**
 * What the terminology operations share (FHIR R4 terminology-service.html; the operation pages
 * valueset-operation-expand.html, valueset-operation-validate-code.html,
 * codesystem-operation-lookup.html, codesystem-operation-validate-code.html,
 * codesystem-operation-subsumes.html, conceptmap-operation-translate.html): the local terminology they
 * answer from (src/terminology: the R4 CodeSystems and ValueSets, those of profiles/ and FHIR_PACKAGES,
 * and those stored through the API) and the ConceptMaps, and one rule for what the server does not
 * know.
 *
 * "Not available" is never "not found": a code system this server has no complete content for
 * (SNOMED CT, dm+d, LOINC, ICD-10 and every other system without a local CodeSystem of content
 * `complete`; a `fragment` for a code it does not list) is answered with 422 and issue code
 * `not-supported` naming the system ("When a server cannot correctly expand a value set because it
 * does not fully understand the code systems ... then it SHALL return an error", $expand), never with
 * a "not found", a `result: false` or an empty expansion that would be wrong.
 */
import type { CodeSystem, Coding, ConceptMap, Parameters, ParametersParameter, ValueSet } from 'fhir/r4';
import type { FhirResult } from '../fhir/types';
import type { OperationInput } from './parameters';
import type { ConformanceRegistry } from '../definitions/conformance';
import { FhirError } from '../fhir/outcome';
import type { InteractionContext } from '../fhir/context';
import type { LocalTerminology } from '../terminology/local-terminology';
import { CodeSystemIndex, type ConceptNode } from '../terminology/code-system-index';
import type { ExpansionProblem } from '../terminology/expand';
import { parseCanonical } from '../terminology/canonical';
import { assertLive } from '../fhir/interactions/read';
import type { OperationInvocation } from './registry';

export interface TerminologyDeps {
  terminology: LocalTerminology;
  /** ConceptMaps of the R4 definitions, profiles/ and FHIR_PACKAGES (stored ones are searched per request). */
  conformance: ConformanceRegistry;
}

/** Widely used code systems whose content is licensed or too large to ship (names for the messages). */
const EXTERNAL: ReadonlyArray<[prefix: string, name: string]> = [
  ['http://snomed.info/sct', 'SNOMED CT'],
  ['https://dmd.nhs.uk', 'dm+d (NHS Dictionary of Medicines and Devices)'],
  ['http://loinc.org', 'LOINC'],
  ['http://hl7.org/fhir/sid/icd-10', 'ICD-10'],
  ['http://www.nlm.nih.gov/research/umls/rxnorm', 'RxNorm'],
  ['http://unitsofmeasure.org', 'UCUM'],
  ['http://hl7.org/fhir/sid/ndc', 'NDC'],
  ['http://www.ama-assn.org/go/cpt', 'CPT'],
];

/** The name of a well-known external system a url belongs to (also its implicit value sets, `?fhir_vs`). */
export function externalSystemName(url: string): string | undefined {
  return EXTERNAL.find(([prefix]) => url === prefix || url.startsWith(`${prefix}?`) || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}|`))?.[1];
}

const TERMINOLOGY_SERVER = 'a terminology server is needed (e.g. the NHS England Terminology Server for SNOMED CT and dm+d)';

/** 422 not-supported: the server cannot answer for this code system. */
export function systemUnavailable(op: string, system: string, why?: string): FhirError {
  const name = externalSystemName(system);
  const what = name ? `${name} (${system})` : `the code system ${system}`;
  return new FhirError('unprocessable', {
    code: 'not-supported',
    diagnostics: `$${op}: ${what} is not available on this server${why ? ` (${why})` : ' (no local CodeSystem with complete content)'}; ${TERMINOLOGY_SERVER}. This is not a statement that the code does not exist.`,
  });
}

/** The answer to a value set that cannot be expanded locally. */
export function expansionError(op: string, problem: ExpansionProblem, topLevel: string | undefined): FhirError {
  switch (problem.kind) {
    case 'unknown-value-set': {
      const external = externalSystemName(problem.about);
      if (problem.about === topLevel && external === undefined) {
        return new FhirError('not-found', { code: 'not-found', diagnostics: `$${op}: the ValueSet ${problem.about} is not known to this server` });
      }
      return new FhirError('unprocessable', {
        code: 'not-supported',
        diagnostics: `$${op}: ${external ? `${external} value sets (${problem.about}) are` : `the value set ${problem.about} is`} not available on this server; ${TERMINOLOGY_SERVER}`,
      });
    }
    case 'unavailable-system':
      return systemUnavailable(op, parseCanonical(problem.about).url, problem.detail);
    case 'too-large':
      return new FhirError('too-costly', { diagnostics: `$${op}: ${problem.detail}; too costly to expand here` });
    case 'unsupported-filter':
    case 'no-definition':
    case 'cycle':
      return new FhirError('unprocessable', { code: 'not-supported', diagnostics: `$${op}: ${topLevel ?? 'the value set'} cannot be expanded by this server: ${problem.detail}` });
  }
}

/** A resource of the instance the operation is invoked on, read through the caller's view (404/410 as a read). */
export async function instanceResource<T extends ValueSet | CodeSystem | ConceptMap>(ctx: InteractionContext, inv: OperationInvocation): Promise<T> {
  const v = await ctx.session.read(inv.resourceType!, inv.id!);
  assertLive(v, inv.resourceType!, inv.id!);
  return JSON.parse(v.json) as T;
}

export type ConceptAnswer = { idx: CodeSystemIndex; node: ConceptNode } | { idx: CodeSystemIndex; node: undefined };

/**
 * A concept of a local code system: the node, or (a complete system only) `node: undefined` for a code
 * it does not define. Throws 422 not-supported when the system (or version) is not available locally,
 * its content is not-present/example, or it is a fragment that does not list the code.
 */
export async function findConcept(op: string, deps: TerminologyDeps, system: string, code: string, version?: string, given?: CodeSystem): Promise<ConceptAnswer> {
  const idx = given ? CodeSystemIndex.of(given) : await deps.terminology.codeSystemIndex(version !== undefined ? `${system}|${version}` : system);
  if (!idx) {
    if (version !== undefined && (await deps.terminology.codeSystemIndex(system))) throw systemUnavailable(op, system, `version ${version} of it is not known locally`);
    throw systemUnavailable(op, system);
  }
  if (idx.content !== 'complete' && idx.content !== 'fragment') throw systemUnavailable(op, system, `the local CodeSystem has content ${idx.content ?? '(none)'}`);
  const node = idx.lookup(code);
  if (!node && idx.content === 'fragment') throw systemUnavailable(op, system, `the local CodeSystem is a fragment that does not list ${JSON.stringify(code)}`);
  return { idx, node };
}

/** The name of the one of several alternative inputs given (R4: "one (and only one) of ..."); 400 when none or several. */
export function exactlyOne(op: string, options: ReadonlyArray<readonly [name: string, value: unknown]>): [string] {
  const given = options.filter((o) => o[1] !== undefined);
  if (given.length !== 1) {
    throw new FhirError('invalid', {
      code: given.length === 0 ? 'required' : 'invalid',
      diagnostics: `$${op} needs exactly one of ${options.map((o) => o[0]).join(', ')}${given.length > 1 ? ` (got ${given.map((g) => g[0]).join(' and ')})` : ''}`,
      expression: options.map((o) => o[0]),
    });
  }
  return [given[0]![0]];
}

/** The codings to validate: `code` (+ `system`, `systemVersion`/`version`), `coding` or `codeableConcept` (exactly one). */
export function codingsToValidate(
  op: string,
  input: OperationInput,
  opts: { versionParam: string; defaultSystem?: string },
): { codings: Coding[]; display: string | undefined; from: string } {
  const [from] = exactlyOne(op, [
    ['code', input.string('code')],
    ['coding', input.coding('coding')],
    ['codeableConcept', input.has('codeableConcept') ? true : undefined],
  ]);
  const display = input.string('display');
  const version = input.string(opts.versionParam);
  if (display !== undefined && from === 'codeableConcept') throw new FhirError('invalid', { diagnostics: `$${op}: display goes with code or coding; a codeableConcept carries its own displays`, expression: ['display'] });
  if (from === 'code') {
    const system = input.string('system') ?? opts.defaultSystem;
    if (system === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: `$${op}: a code needs its system (parameter system)`, expression: ['system'] });
    return { codings: [{ system, code: input.string('code')!, ...(version !== undefined ? { version } : {}), ...(display !== undefined ? { display } : {}) }], display, from };
  }
  if (input.has('system')) throw new FhirError('invalid', { diagnostics: `$${op}: system goes with code; a ${from} carries its own system`, expression: ['system'] });
  if (from === 'coding') {
    const c = { ...input.coding('coding')! };
    if (version !== undefined) c.version ??= version;
    if (display !== undefined) c.display = display;
    return { codings: [c], display, from };
  }
  const cc = input.codeableConcept('codeableConcept')!;
  const codings = (cc.coding ?? []).filter((c) => typeof c.code === 'string' && c.code !== '');
  if (codings.length === 0) throw new FhirError('invalid', { code: 'required', diagnostics: `$${op}: the codeableConcept has no coding with a code`, expression: ['codeableConcept'] });
  return { codings, display: undefined, from };
}

/** Whether a display is one of the concept's (its display or a designation), ignoring case. */
export function displayMatches(given: string, display: string | undefined, node: ConceptNode | undefined): boolean {
  const g = given.trim().toLowerCase();
  const known = [display, node?.display, ...(node?.designations ?? []).map((d) => d.value)].filter((x): x is string => typeof x === 'string');
  return known.some((k) => k.trim().toLowerCase() === g);
}

/** Whether anything is known about the displays of a concept (else a given display cannot be checked). */
export function displayKnown(display: string | undefined, node: ConceptNode | undefined): boolean {
  return display !== undefined || node?.display !== undefined || (node?.designations.length ?? 0) > 0;
}

/** The Parameters answer of `$validate-code`. */
export function validateCodeResult(result: boolean, messages: readonly string[], display: string | undefined): FhirResult {
  const parameter: ParametersParameter[] = [{ name: 'result', valueBoolean: result }];
  if (messages.length > 0) parameter.push({ name: 'message', valueString: messages.join('; ') });
  if (display !== undefined) parameter.push({ name: 'display', valueString: display });
  const out: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, resource: out };
}
