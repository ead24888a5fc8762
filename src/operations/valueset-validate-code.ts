/**
 * `ValueSet/$validate-code` (FHIR R4 valueset-operation-validate-code.html, OperationDefinition
 * `ValueSet-validate-code`): "Validate that a coded value is in the set of codes allowed by a value
 * set", at `[base]/ValueSet/$validate-code` (with `url` or `valueSet`) and `[base]/ValueSet/[id]/$validate-code`,
 * GET or POST. One of `code` (+ `system`, `systemVersion`), `coding` or `codeableConcept`; `display`
 * optional. Output: `result`, `message`, `display` (the concept's display).
 *
 * Membership is decided against the value set's local expansion (valueset-expand.ts): a value set
 * that cannot be expanded here (it needs SNOMED CT, dm+d or another system without local content, an
 * unsupported filter, or an unknown value set) is an error (422 not-supported; an unknown `url` 404),
 * never a `result: false`. A code is in the value set when its system and code are (the code compared
 * case-insensitively when its code system says `caseSensitive: false`); a codeableConcept is valid
 * when one of its codings is. A given display must be the concept's display or one of its
 * designations (case ignored), else the result is false with a message; with nothing known about the
 * displays it is not checked (and the message says so). A `systemVersion` (or Coding.version) that a
 * local CodeSystem of the system does not have is 422 not-supported.
 */
import type { Coding, OperationDefinition } from 'fhir/r4';
import type { InteractionContext } from '../fhir/context';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { CodeRef } from '../terminology/terminology';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { codingsToValidate, displayKnown, displayMatches, systemUnavailable, validateCodeResult, type TerminologyDeps } from './terminology-support';
import { codesOf, ConceptCache, valueSetOf } from './valueset-expand';

export const VALUESET_VALIDATE_CODE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ValueSet-validate-code',
  url: 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code',
  version: '4.0.1',
  name: 'ValidateCode',
  title: 'Value Set based Validation',
  status: 'active',
  kind: 'operation',
  description:
    'Whether a code, Coding or CodeableConcept is in a value set, decided against its local expansion. A value set that cannot be expanded here (SNOMED CT, dm+d and other systems without local content) answers 422 not-supported, never result=false.',
  affectsState: false,
  code: 'validate-code',
  resource: ['ValueSet'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Canonical url of the value set (optionally |version).' },
    { name: 'valueSet', use: 'in', min: 0, max: '1', type: 'ValueSet', documentation: 'The value set, given in the request (POST).' },
    { name: 'valueSetVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the value set named by url.' },
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to validate (with system).' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The system of code.' },
    { name: 'systemVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the system of code.' },
    { name: 'display', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The display to check (with code or coding).' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'A Coding to validate (GET: system|code).' },
    { name: 'codeableConcept', use: 'in', min: 0, max: '1', type: 'CodeableConcept', documentation: 'A CodeableConcept: valid when one of its codings is (POST).' },
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'Whether the code is in the value set (and the display, if given, is right).' },
    { name: 'message', use: 'out', min: 0, max: '1', type: 'string', documentation: 'Why not, or hints.' },
    { name: 'display', use: 'out', min: 0, max: '1', type: 'string', documentation: 'The display of the concept.' },
  ],
};

const key = (system: string, code: string): string => `${system}\u0000${code}`;

export function valueSetValidateCodeOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const op = 'validate-code';
    const input = new OperationInput(inv, op);
    input.assertDeclared(VALUESET_VALIDATE_CODE_DEFINITION);
    const { source, label } = await valueSetOf(op, inv, input, ctx);
    const { codings } = codingsToValidate(op, input, { versionParam: 'systemVersion' });
    const codes = await codesOf(op, deps, source, label);
    const members = new Map<string, CodeRef>(codes.map((c) => [key(c.system, c.code), c]));
    const concepts = new ConceptCache(deps);
    const name = label ?? 'the value set';
    const messages: string[] = [];
    let valid = false;
    let display: string | undefined;
    for (const c of codings as Coding[]) {
      if (c.system === undefined || c.system === '') {
        messages.push(`the coding ${c.code ?? ''} has no system`);
        continue;
      }
      const idx = await deps.terminology.codeSystemIndex(c.system);
      if (c.version !== undefined && idx && !(await deps.terminology.codeSystemIndex(`${c.system}|${c.version}`))) {
        throw systemUnavailable(op, c.system, `version ${c.version} of it is not known locally`);
      }
      // A case-insensitive code system matches the code in its own spelling.
      const spelled = idx && !idx.caseSensitive ? (idx.lookup(c.code!)?.code ?? c.code!) : c.code!;
      const member = members.get(key(c.system, spelled));
      if (!member) {
        messages.push(`the code ${c.system}|${c.code} is not in the value set ${name}`);
        continue;
      }
      const node = await concepts.node(c.system, spelled);
      display ??= member.display ?? node?.display;
      if (c.display !== undefined) {
        if (!displayKnown(member.display, node)) messages.push(`the display of ${c.system}|${spelled} cannot be checked (no display is known locally)`);
        else if (!displayMatches(c.display, member.display, node)) {
          messages.push(`the display ${JSON.stringify(c.display)} is not a display of ${c.system}|${spelled} (it is ${JSON.stringify(member.display ?? node?.display)})`);
          continue;
        }
      }
      valid = true;
    }
    return validateCodeResult(valid, messages, display);
  };
}

export function registerValueSetValidateCode(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(VALUESET_VALIDATE_CODE_DEFINITION, valueSetValidateCodeOperation(deps));
}
