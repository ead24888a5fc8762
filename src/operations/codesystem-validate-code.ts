/**
 * `CodeSystem/$validate-code` (FHIR R4 codesystem-operation-validate-code.html, OperationDefinition
 * `CodeSystem-validate-code`): "Validate that a coded value is in the code system", at
 * `[base]/CodeSystem/$validate-code` (with `url`, or the system of a `coding`) and
 * `[base]/CodeSystem/[id]/$validate-code`, GET or POST. One of `code`, `coding` or `codeableConcept`;
 * `version` and `display` optional. Output: `result`, `message`, `display`.
 *
 * Over local CodeSystems only: a code system without complete local content (SNOMED CT, dm+d, LOINC,
 * any system the server has no CodeSystem for, one with content not-present or example, a version
 * not known here) is an error (422 not-supported), never `result: false`; a `fragment` answers for
 * the codes it lists and is 422 for the others. A code a complete code system does not define is
 * `result: false`. Codes are compared as the system says (`caseSensitive: false`: case ignored). A
 * given display must be the concept's display or one of its designations (case ignored). A coding of
 * another system than the one validated against is a 400 ("The system must match"); in a
 * codeableConcept, codings of other systems are not considered.
 */
import type { CodeSystem, OperationDefinition } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { codingsToValidate, displayKnown, displayMatches, findConcept, instanceResource, validateCodeResult, type TerminologyDeps } from './terminology-support';

export const CODESYSTEM_VALIDATE_CODE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'CodeSystem-validate-code',
  url: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code',
  version: '4.0.1',
  name: 'ValidateCode',
  title: 'Code System based Validation',
  status: 'active',
  kind: 'operation',
  description:
    'Whether a code is defined by a local code system. Code systems without complete local content (SNOMED CT, dm+d, LOINC ...) answer 422 not-supported, never result=false.',
  affectsState: false,
  code: 'validate-code',
  resource: ['CodeSystem'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system url (or give a coding with its system).' },
    { name: 'codeSystem', use: 'in', min: 0, max: '1', type: 'CodeSystem', documentation: 'The code system, given in the request (POST).' },
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to validate.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the code system.' },
    { name: 'display', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The display to check.' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'A Coding to validate (GET: system|code).' },
    { name: 'codeableConcept', use: 'in', min: 0, max: '1', type: 'CodeableConcept', documentation: 'Valid when one of its codings of the code system is (POST).' },
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'Whether the code is in the code system (and the display, if given, is right).' },
    { name: 'message', use: 'out', min: 0, max: '1', type: 'string', documentation: 'Why not, or hints.' },
    { name: 'display', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The display of the concept.' },
  ],
};

/** The code system validated against: the instance, the `codeSystem` given, `url`, or the coding's system. */
async function codeSystemOf(inv: OperationInvocation, input: OperationInput, ctx: InteractionContext): Promise<{ url: string; given?: CodeSystem }> {
  if (inv.level === 'instance') {
    if (input.has('url') || input.has('codeSystem')) throw new FhirError('invalid', { diagnostics: `$validate-code on CodeSystem/${inv.id}: url and codeSystem cannot be given as well`, expression: ['url'] });
    const cs = await instanceResource<CodeSystem>(ctx, inv);
    return { url: cs.url ?? `CodeSystem/${inv.id}`, given: cs };
  }
  if (input.has('codeSystem')) {
    if (input.has('url')) throw new FhirError('invalid', { diagnostics: '$validate-code: give url or codeSystem, not both', expression: ['url'] });
    const cs = input.resource<CodeSystem>('codeSystem', 'CodeSystem')!;
    return { url: cs.url ?? 'the codeSystem given', given: cs };
  }
  const url = input.string('url') ?? input.coding('coding')?.system;
  if (url === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$validate-code on CodeSystem needs url (or codeSystem, or a coding with a system)', expression: ['url'] });
  return { url };
}

export function codeSystemValidateCodeOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const op = 'validate-code';
    const input = new OperationInput(inv, op);
    input.assertDeclared(CODESYSTEM_VALIDATE_CODE_DEFINITION);
    const { url, given } = await codeSystemOf(inv, input, ctx);
    const { codings, from } = codingsToValidate(op, input, { versionParam: 'version', defaultSystem: url });
    const relevant = codings.filter((c) => c.system === url);
    if (from !== 'codeableConcept' && relevant.length === 0) {
      throw new FhirError('invalid', { code: 'invalid', diagnostics: `$validate-code: the coding's system ${codings[0]?.system ?? '(none)'} is not the code system validated against (${url})`, expression: ['coding'] });
    }
    if (relevant.length === 0) return validateCodeResult(false, [`the codeableConcept has no coding of the code system ${url}`], undefined);
    const messages: string[] = [];
    let valid = false;
    let display: string | undefined;
    for (const c of relevant) {
      const version = c.version ?? input.string('version');
      const { idx, node } = await findConcept(op, deps, url, c.code!, given ? undefined : version, given);
      if (given && version !== undefined && idx.version !== version) throw new FhirError('invalid', { diagnostics: `$validate-code: the code system given has version ${idx.version ?? '(none)'}, not ${version}`, expression: ['version'] });
      if (!node) {
        messages.push(`the code ${JSON.stringify(c.code)} is not defined by the code system ${url}${idx.version ? ` (version ${idx.version})` : ''}`);
        continue;
      }
      display ??= node.display;
      if (c.display !== undefined) {
        if (!displayKnown(undefined, node)) messages.push(`the display of ${url}|${node.code} cannot be checked (the code system gives none)`);
        else if (!displayMatches(c.display, undefined, node)) {
          messages.push(`the display ${JSON.stringify(c.display)} is not a display of ${url}|${node.code} (it is ${JSON.stringify(node.display)})`);
          continue;
        }
      }
      valid = true;
    }
    return validateCodeResult(valid, messages, display);
  };
}

export function registerCodeSystemValidateCode(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(CODESYSTEM_VALIDATE_CODE_DEFINITION, codeSystemValidateCodeOperation(deps));
}
