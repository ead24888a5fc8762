/**
 * Base validation of a resource against the FHIR R4 specification: the R4 JSON representation
 * (FHIR R4 §2.6.2 json.html, via the generated JSON schema) and the resource envelope rules of the
 * RESTful API (FHIR R4 §3.1.0 http.html: resourceType of the endpoint, `id` of an update; resource.html
 * §2.28.1.1 id syntax `[A-Za-z0-9\-\.]{1,64}`).
 *
 * `validateResource` collects every issue; `assertValidResource` throws one `FhirError`: 400
 * (`invalid`) when the body is not a resource of a known/expected type, 422 (`unprocessable`) for
 * everything else. This runs on every write: one compiled validator call on the happy path.
 */
import { FhirError } from '../fhir/outcome';
import { isResourceType } from '../definitions/resource-types';
import { schemaValidator } from './schema-validators';
import { schemaIssues, type ValidationIssue } from './schema-issues';

export type { ValidationIssue } from './schema-issues';

export interface ValidationContext {
  /** The resource type of the endpoint (e.g. `Patient` for `PUT /Patient/1`). */
  expectedType?: string;
  /** The id in the URL of an update: the body must carry the same id. */
  expectedId?: string;
}

/** The outcome of validation: issues and whether they make the request itself invalid (400). */
export interface ValidationResult {
  issues: ValidationIssue[];
  /** true when the body is not a resource of a known (and expected) resource type: answer 400, not 422. */
  envelope: boolean;
}

function issue(code: ValidationIssue['code'], diagnostics: string, expression: string): ValidationIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}

/** Validates and says whether the failure is of the envelope (400) or of the content (422). */
export function validateResourceDetailed(resource: unknown, ctx: ValidationContext = {}): ValidationResult {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return { envelope: true, issues: [issue('structure', 'The body must be a FHIR resource: a JSON object with a resourceType', ctx.expectedType ?? 'Resource')] };
  }
  const rt = (resource as { resourceType?: unknown }).resourceType;
  if (rt === undefined) {
    return { envelope: true, issues: [issue('required', 'The resource has no resourceType', `${ctx.expectedType ?? 'Resource'}.resourceType`)] };
  }
  if (typeof rt !== 'string' || !isResourceType(rt)) {
    return { envelope: true, issues: [issue('not-supported', `${JSON.stringify(rt)} is not an R4 resource type`, 'Resource.resourceType')] };
  }
  if (ctx.expectedType !== undefined && rt !== ctx.expectedType) {
    return { envelope: true, issues: [issue('invalid', `The resourceType ${rt} does not match the endpoint's type ${ctx.expectedType}`, `${rt}.resourceType`)] };
  }
  const validate = schemaValidator(rt);
  let issues: ValidationIssue[];
  try {
    issues = validate(resource) ? [] : schemaIssues(validate.errors ?? [], rt);
  } catch (e) {
    // Pathologically deep nesting (e.g. extensions of extensions thousands deep) exhausts the stack.
    if (!(e instanceof RangeError)) throw e;
    issues = [issue('structure', 'The resource is nested too deeply to be validated', rt)];
  }
  if (ctx.expectedId !== undefined) {
    const id = (resource as { id?: unknown }).id;
    if (id === undefined) issues.push(issue('required', `The resource must have an id (${ctx.expectedId}, as in the URL)`, `${rt}.id`));
    else if (id !== ctx.expectedId) issues.push(issue('invalid', `The id in the body (${JSON.stringify(id)}) does not match the id in the URL (${ctx.expectedId})`, `${rt}.id`));
  }
  return { envelope: false, issues };
}

/** Every base-validation issue of `resource` (empty when valid). Never throws on any JSON value. */
export function validateResource(resource: unknown, ctx?: ValidationContext): ValidationIssue[] {
  return validateResourceDetailed(resource, ctx).issues;
}

/** Throws `FhirError('invalid')` (400) for a body that is not a resource of the expected type, `FhirError('unprocessable')` (422) for any other issue. */
export function assertValidResource(resource: unknown, ctx?: ValidationContext): void {
  const r = validateResourceDetailed(resource, ctx);
  if (r.issues.length > 0) throw new FhirError(r.envelope ? 'invalid' : 'unprocessable', r.issues);
}
