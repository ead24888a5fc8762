/**
 * JSON Patch bodies for the FHIR `patch` interaction (FHIR R4 http.html#patch, media type
 * `application/json-patch+json`, RFC 6902 "JavaScript Object Notation (JSON) Patch").
 *
 * The patch document is validated here (its shape is the client's responsibility: 400); applying it
 * is left to fast-json-patch, and its failures on this particular resource (a `test` that fails, a
 * path that does not exist) become 422. The input resource is never mutated.
 */
import type { Resource } from 'fhir/r4';
import { applyOperation, getValueByPointer, JsonPatchError, type Operation } from 'fast-json-patch';
import { countValues, tooManyValuesError } from '../limits';
import { FhirError } from '../outcome';

const OPS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const NEEDS_VALUE: ReadonlySet<string> = new Set(['add', 'replace', 'test']);
const NEEDS_FROM: ReadonlySet<string> = new Set(['move', 'copy']);

/** Failures of fast-json-patch that depend on the document, not on the patch's shape (RFC 6902 §5). */
const UNPROCESSABLE: ReadonlySet<string> = new Set([
  'TEST_OPERATION_FAILED',
  'OPERATION_PATH_UNRESOLVABLE',
  'OPERATION_FROM_UNRESOLVABLE',
  'OPERATION_PATH_CANNOT_ADD',
  'OPERATION_PATH_ILLEGAL_ARRAY_INDEX',
  'OPERATION_VALUE_OUT_OF_BOUNDS',
]);

/**
 * Applies an RFC 6902 JSON Patch document to a copy of `resource`. With `maxValues`
 * (MAX_RESOURCE_ELEMENTS), a patch whose operations would grow the document past that many JSON
 * values is refused (413 `too-costly`) before the operation that would do it: a `copy` duplicates a
 * whole subtree, so a short patch could otherwise double the document again and again.
 */
export function applyJsonPatch(resource: Resource, patch: unknown, maxValues?: number): Resource {
  const ops = validateJsonPatch(patch);
  let doc: unknown = structuredClone(resource);
  // Clone the operations too: fast-json-patch inserts their values by reference.
  const own = structuredClone(ops);
  let size = maxValues !== undefined ? countValues(doc, maxValues) : 0;
  let at: number | undefined;
  try {
    for (let i = 0; i < own.length; i++) {
      at = i;
      const op = own[i]!;
      if (maxValues !== undefined && (op.op === 'copy' || op.op === 'add' || op.op === 'replace')) {
        const added = op.op === 'copy' ? countValues(getValueByPointer(doc, op.from), maxValues) : countValues(op.value, maxValues);
        size += added;
        if (size > maxValues) {
          throw tooManyValuesError(resource.resourceType, maxValues, `JSON Patch operation ${i} (${op.op} at '${op.path}') would make it larger`);
        }
      }
      doc = applyOperation(doc, op, true, true, true, i).newDocument;
    }
  } catch (err) {
    throw toFhirError(err, ops, resource, at);
  }
  const result = doc;
  if (!isPlainObject(result) || typeof result.resourceType !== 'string') {
    throw new FhirError('unprocessable', { diagnostics: 'JSON Patch: the patched document is no longer a FHIR resource (a JSON object with a resourceType)' });
  }
  return result as unknown as Resource;
}

/** Checks the shape of a JSON Patch document (RFC 6902 §3-§4); throws FhirError('invalid') naming the operation. */
export function validateJsonPatch(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) {
    throw new FhirError('invalid', { diagnostics: 'JSON Patch: the body must be a JSON array of operations (RFC 6902 §3)' });
  }
  patch.forEach((op: unknown, i) => validateOperation(op, i));
  return patch as Operation[];
}

function validateOperation(op: unknown, i: number): void {
  const bad = (problem: string): FhirError => new FhirError('invalid', { diagnostics: `JSON Patch operation ${i}: ${problem}` });
  if (!isPlainObject(op)) throw bad('must be a JSON object');
  const name = op.op;
  if (typeof name !== 'string') throw bad("missing member 'op' (a string)");
  if (!OPS.has(name)) throw bad(`unknown op '${name}' (expected one of ${[...OPS].join(', ')})`);
  if (typeof op.path !== 'string') throw bad(`'${name}' needs member 'path' (a string JSON Pointer)`);
  const pathProblem = pointerProblem(op.path);
  if (pathProblem) throw bad(`path '${op.path}' is not a JSON Pointer: ${pathProblem}`);
  if (NEEDS_VALUE.has(name) && !('value' in op)) throw bad(`'${name}' at '${op.path}' needs member 'value'`);
  if (NEEDS_FROM.has(name)) {
    if (typeof op.from !== 'string') throw bad(`'${name}' to '${op.path}' needs member 'from' (a string JSON Pointer)`);
    const fromProblem = pointerProblem(op.from);
    if (fromProblem) throw bad(`from '${op.from}' is not a JSON Pointer: ${fromProblem}`);
    if (name === 'move' && op.path.startsWith(`${op.from}/`)) throw bad(`cannot move '${op.from}' into its own child '${op.path}' (RFC 6902 §4.4)`);
  }
}

/** RFC 6901: "" or a sequence of "/"-prefixed reference tokens where "~" is only followed by 0 or 1. */
function pointerProblem(p: string): string | undefined {
  if (p !== '' && !p.startsWith('/')) return "it must be empty or start with '/'";
  if (/~(?![01])/.test(p)) return "'~' must be followed by '0' or '1'";
  return undefined;
}

/** `at`: the operation being applied when `err` was thrown. */
function toFhirError(err: unknown, ops: Operation[], resource: Resource, at: number | undefined): FhirError {
  const resourceType = resource.resourceType;
  if (err instanceof FhirError) return err;
  if (err instanceof JsonPatchError) {
    const index = typeof err.index === 'number' ? err.index : undefined;
    const op = index !== undefined ? ops[index] : undefined;
    const where = op ? ` (${op.op} at '${op.path}'${'from' in op ? ` from '${op.from}'` : ''})` : '';
    const label = index !== undefined ? `JSON Patch operation ${index}${where}` : 'JSON Patch';
    const expression = op ? pointerToFhirPath(resourceType, op.path) : undefined;
    const category = UNPROCESSABLE.has(err.name) ? 'unprocessable' : 'invalid';
    const reason = err.name === 'TEST_OPERATION_FAILED' ? 'test failed: the value at the path is not equal to the given value' : firstLine(err.message);
    return new FhirError(category, { diagnostics: `${label}: ${reason}`, expression: expression ? [expression] : undefined });
  }
  // Anything else fast-json-patch throws while walking the document (a TypeError when, e.g., a `from`
  // under a missing element is moved to the root, which it does not check) means the patch cannot
  // apply here. The engine's own message is not for clients: name the operation instead.
  const index = at;
  const op = index !== undefined ? ops[index] : undefined;
  if (!op) return new FhirError('unprocessable', { diagnostics: 'JSON Patch could not be applied to this resource' });
  const from = 'from' in op ? ` from '${op.from}'` : '';
  const expression = pointerToFhirPath(resourceType, 'from' in op ? op.from : op.path);
  return new FhirError('unprocessable', {
    diagnostics: `JSON Patch operation ${index} (${op.op} at '${op.path}'${from}): its ${'from' in op ? 'from' : 'path'} does not resolve in this resource`,
    expression: expression ? [expression] : undefined,
  });
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** `/name/0/given` -> `Patient.name[0].given` (for OperationOutcome.issue.expression). */
export function pointerToFhirPath(resourceType: string, pointer: string): string | undefined {
  if (pointer === '') return resourceType;
  let out = resourceType;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(token)) out += `[${token}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(token)) out += `.${token}`;
    else return undefined;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
