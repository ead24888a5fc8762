/**
 * Turns ajv errors over the generated R4 JSON schema into OperationOutcome issues (FHIR R4
 * OperationOutcome, https://hl7.org/fhir/R4/operationoutcome.html: `issue.code` from the IssueType
 * value set, `issue.expression` as a FHIRPath of the offending element, e.g. ajv's `/name/0/family`
 * on a Patient -> `Patient.name[0].family`).
 */
import type { ErrorObject } from 'ajv';
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { FhirObjectRules } from '../definitions/json-schema';
import type { FhirKeywordParams } from './schema-validators';

export interface ValidationIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: OperationOutcomeIssue['code'];
  diagnostics: string;
  /** FHIRPath expressions of the offending element(s). */
  expression: string[];
}

/** FHIRPath of a JSON pointer below a resource: `/name/0/_given/1` -> `Patient.name[0].given[1]`. */
export function pointerToFhirPath(root: string, pointer: string): string {
  if (pointer === '') return root;
  let out = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.includes('~') ? raw.replace(/~1/g, '/').replace(/~0/g, '~') : raw;
    if (/^(0|[1-9][0-9]*)$/.test(seg)) out += `[${seg}]`;
    else out += `.${elementSegment(seg)}`;
  }
  return out;
}

/**
 * A JSON key as a FHIRPath path segment: a primitive's `_x` extension sibling is element `x`; a key that
 * is not a FHIRPath identifier (e.g. `__proto__`, `a b`) is written as a delimited identifier.
 */
export function elementSegment(key: string): string {
  const name = /^_[A-Za-z]/.test(key) ? key.slice(1) : key;
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/[`\\]/g, '\\$&')}\``;
}

function shown(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const JSON_TYPE_WORD: Readonly<Record<string, string>> = {
  object: 'a JSON object',
  array: 'a JSON array',
  string: 'a JSON string',
  number: 'a JSON number',
  integer: 'a JSON integer',
  boolean: 'a JSON boolean (true or false)',
  null: 'null',
};

function typeWords(t: unknown): string {
  const list = Array.isArray(t) ? t.filter((x) => x !== 'null') : [t];
  return list.map((x) => JSON_TYPE_WORD[String(x)] ?? String(x)).join(' or ');
}

function unknownElementText(key: string, fhirType: string, parentSchema: Record<string, unknown> | undefined): string {
  const rules = parentSchema?.fhirObject as FhirObjectRules | undefined;
  const bare = key.startsWith('_') ? key.slice(1) : key;
  for (const c of rules?.choices ?? []) {
    const base = c.element.slice(0, -3);
    if (bare.startsWith(base) && bare.length > base.length && /[A-Z]/.test(bare.charAt(base.length))) {
      return `'${key}' is not a valid type for the choice element ${fhirType}.${c.element} (allowed: ${c.names.join(', ')})`;
    }
  }
  return `'${key}' is not an element of ${fhirType}`;
}

function one(e: ErrorObject, root: string): ValidationIssue | undefined {
  const path = pointerToFhirPath(root, e.instancePath);
  const parent = e.parentSchema as Record<string, unknown> | undefined;
  const fhirType = typeof parent?.fhirType === 'string' ? parent.fhirType : undefined;
  // Errors from a nested resource carry the offending value in `value` (see schema-validators.ts).
  const data: unknown = 'value' in e ? (e as { value?: unknown }).value : e.data;
  const issue = (code: ValidationIssue['code'], diagnostics: string, expression = path): ValidationIssue => ({ severity: 'error', code, diagnostics, expression: [expression] });
  switch (e.keyword) {
    case 'if':
      return undefined; // the failing `else` branch reports the real problem
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      return issue('structure', unknownElementText(key, fhirType ?? path, parent), pointerToFhirPath(path, `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`));
    }
    case 'required': {
      const prop = String((e.params as { missingProperty: string }).missingProperty);
      return issue('required', `${path}: missing required property '${prop}'`, `${path}.${prop}`);
    }
    case 'type': {
      const expected = (e.params as { type: unknown }).type;
      const struct = expected === 'object' || expected === 'array';
      if (data === null) return issue('structure', `${path}: null is not allowed here (expected ${typeWords(expected)})`);
      const what = fhirType ? ` (FHIR type ${fhirType})` : '';
      return issue(struct ? 'structure' : 'value', `${path}: ${shown(data)} must be ${typeWords(expected)}${what}`);
    }
    case 'pattern':
      return issue('value', `${path}: ${shown(data)} is not a valid ${fhirType ?? 'value'}${fhirType === 'id' ? ' (1 to 64 of A-Z a-z 0-9 - .)' : ''}`);
    case 'minLength':
      return issue('value', `${path}: empty strings are not allowed`);
    case 'maxLength':
      return issue('value', `${path}: the value is longer than the permitted maximum length of 1 MB (1048576 characters)`);
    case 'minItems':
      return issue('structure', `${path}: empty arrays are not allowed`);
    case 'minProperties':
      return issue('structure', `${path}: empty objects are not allowed`);
    case 'minimum':
    case 'maximum':
      return issue('value', `${path}: ${shown(data)} is out of range for ${fhirType ?? 'this element'} (${e.message ?? ''})`);
    case 'const':
      return issue('invalid', `${path}: must be ${shown((e.params as { allowedValue: unknown }).allowedValue)}`);
    case 'fhirObject':
    case 'fhirResource':
      return keywordIssue(e.params as FhirKeywordParams, path, issue);
    default:
      return issue('invalid', `${path}: ${e.message ?? e.keyword}`);
  }
}

function keywordIssue(p: FhirKeywordParams, path: string, issue: (code: ValidationIssue['code'], text: string, expression?: string) => ValidationIssue): ValidationIssue {
  switch (p.rule) {
    case 'required': {
      const el = p.element.endsWith('[x]') ? p.element.slice(0, -3) : p.element;
      return issue('required', `${path}.${p.element}: minimum required = 1, but only found 0 (element ${p.element} of ${p.fhirType})`, `${path}.${el}`);
    }
    case 'choice':
      return issue('structure', `${path}: only one type of ${p.element} is allowed, found ${p.present.join(', ')}`, `${path}.${p.element.slice(0, -3)}`);
    case 'primitive-array':
      return issue('structure', `${path}: ${p.problem}`);
    case 'not-a-resource':
      return issue('structure', `${path}: must be a resource (a JSON object with a resourceType)`);
    case 'resourceType-missing':
      return issue('required', `${path}: a resource must have a resourceType`);
    case 'resourceType-unknown':
      return issue('not-supported', `${path}: '${p.resourceType}' is not an R4 resource type`);
  }
}

/** The issues of a failed schema validation of a resource of type `root`. */
export function schemaIssues(errors: readonly ErrorObject[], root: string): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const e of errors) {
    const i = one(e, root);
    if (i) out.push(i);
  }
  return out;
}
