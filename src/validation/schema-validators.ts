/**
 * Compiled JSON-schema validators of the R4 JSON representation (FHIR R4 §2.6.2 json.html), one per
 * resource type, built by ajv from the schema generated in src/definitions/json-schema.ts.
 *
 * Each resource type is compiled on first use and cached (`warmUp()` compiles all of them). The two
 * custom keywords of the generated schema are implemented here:
 * - `fhirObject`: min cardinality (an element given only by its `_x` sibling counts as present), at
 *   most one type of a choice element, primitive arrays and their `_x` arrays lined up;
 * - `fhirResource`: an element of type Resource (contained, Bundle.entry.resource,
 *   Parameters.parameter.resource ...) is validated by the schema of its own `resourceType`, so its
 *   errors stay precise (no 146-branch oneOf).
 */
import Ajv, { type ErrorObject, type ValidateFunction, type AnySchemaObject } from 'ajv';
import type { DataValidationCxt, DataValidateFunction } from 'ajv/dist/types';
import { r4JsonSchema, SCHEMA_ID, type FhirObjectRules } from '../definitions/json-schema';
import { isResourceType, resourceTypes } from '../definitions/resource-types';

/** Parameters of the errors raised by the custom keywords (`keyword` is `fhirObject` or `fhirResource`). */
export type FhirKeywordParams =
  | { rule: 'required'; element: string; fhirType: string }
  | { rule: 'choice'; element: string; present: string[] }
  | { rule: 'primitive-array'; element: string; problem: string }
  | { rule: 'not-a-resource' }
  | { rule: 'resourceType-missing' }
  | { rule: 'resourceType-unknown'; resourceType: string };

type Errors = Array<Partial<ErrorObject>>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keywordError(instancePath: string, keyword: string, params: FhirKeywordParams, message: string): Partial<ErrorObject> {
  return { keyword, instancePath, params, message };
}

function checkPrimitiveArray(data: Record<string, unknown>, name: string, path: string, errs: Errors): void {
  const values = data[name];
  const exts = data[`_${name}`];
  const err = (i: number, problem: string): void => {
    errs.push(keywordError(`${path}/${name}/${i}`, 'fhirObject', { rule: 'primitive-array', element: name, problem }, problem));
  };
  const va = Array.isArray(values) ? (values as unknown[]) : undefined;
  const ea = Array.isArray(exts) ? (exts as unknown[]) : undefined;
  if (va && ea && va.length !== ea.length) {
    errs.push(keywordError(`${path}/${name}`, 'fhirObject', { rule: 'primitive-array', element: name, problem: 'length' }, `'${name}' and '_${name}' must have the same number of items`));
    return;
  }
  const n = Math.max(va?.length ?? 0, ea?.length ?? 0);
  for (let i = 0; i < n; i++) {
    const v = va?.[i] ?? null;
    const e = ea?.[i] ?? null;
    if (v === null && e === null) err(i, `item ${i} of '${name}' is null without a value in '_${name}' (no nulls outside lined-up primitive arrays)`);
  }
}

function fhirObjectKeyword(rules: FhirObjectRules, parentSchema: AnySchemaObject): DataValidateFunction {
  const fhirType = String(parentSchema.fhirType);
  const fn: DataValidateFunction = (data: unknown, dataCxt?: DataValidationCxt): boolean => {
    if (!isObject(data)) return true; // the type keyword reports it
    const path = dataCxt?.instancePath ?? '';
    const errs: Errors = [];
    for (const r of rules.required ?? []) {
      if (!r.keys.some((k) => data[k] !== undefined)) {
        errs.push(keywordError(path, 'fhirObject', { rule: 'required', element: r.element, fhirType }, `missing required element ${r.element}`));
      }
    }
    for (const c of rules.choices ?? []) {
      let present: string[] | undefined;
      for (const n of c.names) {
        if (data[n] !== undefined || data[`_${n}`] !== undefined) (present ??= []).push(n);
      }
      if (present && present.length > 1) {
        errs.push(keywordError(path, 'fhirObject', { rule: 'choice', element: c.element, present }, `only one of ${present.join(', ')} is allowed`));
      }
    }
    for (const name of rules.primitiveArrays ?? []) {
      if (data[name] !== undefined || data[`_${name}`] !== undefined) checkPrimitiveArray(data, name, path, errs);
    }
    fn.errors = errs;
    return errs.length === 0;
  };
  return fn;
}

const validators = new Map<string, ValidateFunction>();
let ajv: Ajv | undefined;
let compileMillis = 0;

function fhirResourceKeyword(): DataValidateFunction {
  const fn: DataValidateFunction = (data: unknown, dataCxt?: DataValidationCxt): boolean => {
    const path = dataCxt?.instancePath ?? '';
    let errs: Errors;
    if (!isObject(data)) {
      errs = [keywordError(path, 'fhirResource', { rule: 'not-a-resource' }, 'must be a resource (a JSON object with a resourceType)')];
    } else if (typeof data.resourceType !== 'string') {
      errs = [keywordError(`${path}/resourceType`, 'fhirResource', { rule: 'resourceType-missing' }, 'a resource must have a resourceType')];
    } else if (!isResourceType(data.resourceType)) {
      const rt = data.resourceType;
      errs = [keywordError(`${path}/resourceType`, 'fhirResource', { rule: 'resourceType-unknown', resourceType: rt }, `unknown resourceType '${rt}'`)];
    } else {
      const v = schemaValidator(data.resourceType);
      if (v(data)) return true;
      // Copies (the nested validator's error array is reused by its next call). ajv overwrites `data`
      // of errors coming out of a keyword (verbose mode), so the offending value is kept in `value`.
      errs = (v.errors ?? []).map((e: ErrorObject & { value?: unknown }) => ({ ...e, instancePath: path + e.instancePath, value: 'value' in e ? e.value : e.data }));
    }
    fn.errors = errs;
    return false;
  };
  return fn;
}

function instance(): Ajv {
  if (ajv) return ajv;
  const started = performance.now();
  const a = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, messages: true });
  a.addKeyword({ keyword: 'fhirType', schemaType: 'string' }); // annotation only
  a.addKeyword({ keyword: 'fhirObject', schemaType: 'object', errors: true, compile: fhirObjectKeyword });
  a.addKeyword({ keyword: 'fhirResource', schemaType: 'boolean', errors: true, compile: fhirResourceKeyword });
  a.addSchema(r4JsonSchema());
  compileMillis += performance.now() - started;
  ajv = a;
  return a;
}

/** The compiled validator of one resource type (compiled on first use, then cached). */
export function schemaValidator(resourceType: string): ValidateFunction {
  let v = validators.get(resourceType);
  if (!v) {
    const a = instance();
    const started = performance.now();
    v = a.getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
    if (!v) throw new Error(`No schema for resource type ${resourceType}`);
    compileMillis += performance.now() - started;
    validators.set(resourceType, v);
  }
  return v;
}

/** Compiles the validators of every R4 resource type now (e.g. at start-up); returns the milliseconds spent. */
export function warmUp(): number {
  const before = compileMillis;
  for (const t of resourceTypes()) schemaValidator(t);
  return compileMillis - before;
}

/** Milliseconds spent so far generating/adding the schema and compiling validators. */
export function schemaCompileMillis(): number {
  return compileMillis;
}
