/**
 * `$validate` (FHIR R4 §2.40 resource-operation-validate.html, OperationDefinition
 * `Resource-validate`): validates a resource against the server's rules without storing it, at type
 * (`[base]/[type]/$validate`) and instance level (`[base]/[type]/[id]/$validate`), GET or POST.
 *
 * Input: `resource` (a parameter of a Parameters body, or the body itself when it is a resource),
 * `mode` (resource-validation-mode: create | update | delete | profile) and `profile` (a canonical
 * url). The answer is always 200 with an OperationOutcome holding every issue (an information issue
 * "no issues" when there is none); only a request that cannot be understood (bad mode, no resource)
 * is a 400, and an instance that does not exist a 404.
 *
 * - no mode, `create`: what a create would check (JSON shape, base rules, claimed profiles, the
 *   type's required profile) plus `profile`;
 * - `update`: the same, and the id must match the instance (instance level) or be present;
 * - `delete`: the resource must exist (instance level only); nothing else prevents a delete here;
 * - `profile`: base rules and the given `profile` only (the required profile is not applied).
 * At instance level without a resource, the stored current version is validated.
 */
import type { OperationDefinition, OperationOutcome, OperationOutcomeIssue, ParametersParameter } from 'fhir/r4';
import type { InteractionContext, ValidationReport, ValidationRequest } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { ValidationIssue } from '../validation/schema-issues';
import type { OperationInvocation, OperationRegistry } from './registry';

export const VALIDATE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Resource-validate',
  url: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  version: '4.0.1',
  name: 'Validate',
  title: 'Validate a resource',
  status: 'active',
  kind: 'operation',
  description:
    'Validates a resource against the R4 base definitions, the profiles it claims in meta.profile, the profile this server requires for its type (REQUIRED_PROFILES) and the profile given as parameter, without storing it. Answers 200 with an OperationOutcome listing every issue.',
  affectsState: false,
  code: 'validate',
  resource: ['Resource'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'resource', use: 'in', min: 0, max: '1', type: 'Resource', documentation: 'The resource to validate (or send the resource itself as the POST body). Absent at instance level: the stored resource.' },
    {
      name: 'mode',
      use: 'in',
      min: 0,
      max: '1',
      type: 'code',
      binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/resource-validation-mode|4.0.1' },
      documentation: 'create | update | delete | profile: validate for that interaction; `profile` checks only the base rules and the given profile.',
    },
    { name: 'profile', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'A profile (canonical url, optionally |version) to validate against in addition; unknown profiles are errors.' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'OperationOutcome', documentation: 'Every issue found; one information issue when there is none.' },
  ],
};

const MODES = ['create', 'update', 'delete', 'profile'] as const;
type Mode = (typeof MODES)[number];

function params(inv: OperationInvocation, name: string): ParametersParameter[] {
  return (inv.parameters.parameter ?? []).filter((p) => p.name === name);
}

/** The single string value of a primitive parameter (GET gives valueString; POST a typed value). */
function single(inv: OperationInvocation, name: string): string | undefined {
  const list = params(inv, name);
  if (list.length > 1) throw new FhirError('invalid', { code: 'invalid', diagnostics: `$validate: parameter ${name} may be given at most once`, expression: [name] });
  const p = list[0];
  if (!p) return undefined;
  const v = p.valueCode ?? p.valueUri ?? p.valueCanonical ?? p.valueUrl ?? p.valueString;
  if (typeof v !== 'string' || v.trim() === '') throw new FhirError('invalid', { code: 'value', diagnostics: `$validate: parameter ${name} needs a value`, expression: [name] });
  return v.trim();
}

function modeOf(inv: OperationInvocation): Mode | undefined {
  const raw = single(inv, 'mode');
  if (raw === undefined) return undefined;
  if (!(MODES as readonly string[]).includes(raw)) {
    throw new FhirError('invalid', { code: 'code-invalid', diagnostics: `$validate: mode ${JSON.stringify(raw)} is not one of ${MODES.join(', ')}`, expression: ['mode'] });
  }
  return raw as Mode;
}

function toOutcome(issues: readonly ValidationIssue[]): OperationOutcome {
  if (issues.length === 0) return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }] };
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i): OperationOutcomeIssue => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics, ...(i.expression.length > 0 ? { expression: i.expression } : {}) })),
  };
}

async function validateDelete(inv: OperationInvocation, ctx: InteractionContext): Promise<ValidationIssue[]> {
  if (inv.level !== 'instance' || !inv.resourceType || !inv.id) {
    throw new FhirError('invalid', { code: 'required', diagnostics: '$validate with mode=delete names the resource to delete: invoke it as [type]/[id]/$validate', expression: ['mode'] });
  }
  const v = await ctx.session.read(inv.resourceType, inv.id);
  if (!v || v.deleted) {
    return [{ severity: 'error', code: 'not-found', diagnostics: `${inv.resourceType}/${inv.id} ${v ? 'is already deleted' : 'does not exist'}: there is nothing to delete`, expression: [inv.resourceType] }];
  }
  return [{ severity: 'information', code: 'informational', diagnostics: `${inv.resourceType}/${inv.id} exists and can be deleted (this server does not enforce referential integrity on delete)`, expression: [inv.resourceType] }];
}

/** The resource to validate: the `resource` parameter, the body resource, or (instance level) the stored one. */
async function subject(inv: OperationInvocation, ctx: InteractionContext): Promise<unknown> {
  const list = params(inv, 'resource');
  if (list.length > 1) throw new FhirError('invalid', { code: 'invalid', diagnostics: '$validate: parameter resource may be given at most once', expression: ['resource'] });
  const p = list[0];
  if (p) {
    if (p.resource === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$validate: parameter resource must carry a resource (parameter.resource)', expression: ['resource'] });
    return p.resource;
  }
  if (inv.bodyResource !== undefined) return inv.bodyResource;
  if (inv.level === 'instance' && inv.resourceType && inv.id) {
    const v = await ctx.session.read(inv.resourceType, inv.id);
    if (!v || v.deleted || !v.json) throw new FhirError(v?.deleted ? 'gone' : 'not-found', { diagnostics: `${inv.resourceType}/${inv.id} ${v?.deleted ? 'is deleted' : 'is not known'}: give the resource to validate` });
    return JSON.parse(v.json) as unknown;
  }
  throw new FhirError('invalid', { code: 'required', diagnostics: '$validate needs a resource: POST it as the body, or as the parameter `resource` of a Parameters body' });
}

export async function validateOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const mode = modeOf(inv);
  const profile = single(inv, 'profile');
  if (mode === 'profile' && profile === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$validate: mode=profile needs the parameter profile', expression: ['profile'] });
  if (mode === 'delete') return { status: 200, resource: toOutcome(await validateDelete(inv, ctx)) };

  const resource = await subject(inv, ctx);
  const request: ValidationRequest = {
    ...(inv.resourceType ? { expectedType: inv.resourceType } : {}),
    ...(profile !== undefined ? { profiles: [profile] } : {}),
    requiredProfile: mode !== 'profile',
  };
  const extra: ValidationIssue[] = [];
  if (mode === 'update') {
    if (inv.level === 'instance' && inv.id) request.expectedId = inv.id;
    else if (typeof resource === 'object' && resource !== null && (resource as { id?: unknown }).id === undefined) {
      extra.push({ severity: 'error', code: 'required', diagnostics: 'An update needs the resource id (mode=update)', expression: [`${inv.resourceType ?? 'Resource'}.id`] });
    }
  }
  const report = await runValidation(ctx, resource, request);
  return { status: 200, resource: toOutcome([...extra, ...report.issues]) };
}

async function runValidation(ctx: InteractionContext, resource: unknown, request: ValidationRequest): Promise<ValidationReport> {
  const validator = ctx.services.validator;
  if (validator.validate) return validator.validate(resource, request);
  // A validator that can only assert: its FhirError's issues are the report.
  try {
    await validator.assertValid(resource, request);
    return { issues: [], envelope: false };
  } catch (e) {
    if (!(e instanceof FhirError) || (e.category !== 'invalid' && e.category !== 'unprocessable')) throw e;
    return {
      envelope: e.category === 'invalid',
      issues: e.issues.map((i) => ({ severity: i.severity, code: i.code, diagnostics: i.diagnostics ?? '', expression: i.expression ?? [] })),
    };
  }
}

export function registerValidate(registry: OperationRegistry): void {
  registry.register(VALIDATE_DEFINITION, validateOperation);
}
