/**
 * Content limits of a request (FHIR R4 http.html §3.1.0.1.2 "HTTP status codes" and the
 * OperationOutcome issue type `too-costly`, "the operation was stopped to protect server resources";
 * bundle.html §2.36.4 for batch and transaction entries). docs/limits.md lists them; ADR 14 says why.
 *
 * Before anything costly looks at a body (validation, index extraction, reference rewriting), one
 * iterative walk of the parsed JSON checks it against the configured limits:
 * - a batch or transaction Bundle has at most `maxBundleEntries` entries (MAX_BUNDLE_ENTRIES);
 * - every JSON array has at most `maxArrayLength` items (MAX_ARRAY_LENGTH), except the entries of a
 *   batch/transaction Bundle, which have their own limit;
 * - a resource has at most `maxResourceElements` JSON values — objects, arrays and primitives, each
 *   counted once (MAX_RESOURCE_ELEMENTS). Each entry's resource of a batch/transaction Bundle is a
 *   resource on its own; the Bundle's envelope (request, fullUrl, ...) is bounded by its entries.
 *
 * Beyond a limit the answer is 413 Content Too Large with issue code `too-costly`, as for a body over
 * MAX_BODY_BYTES: the request content is more than this server is willing to process (RFC 9110
 * §15.5.14). The diagnostics name the limit and its configuration variable; `expression` names the
 * offending element (`Patient.name`, `Bundle.entry`, `Bundle.entry[3].resource`).
 *
 * The walk is iterative (no recursion, so no stack to exhaust) and stops at the first limit crossed:
 * its cost is bounded by the limits themselves, not by the size of the body.
 */
import type { RequestLimits } from '../config/config';
import { FhirError } from './outcome';

export type ContentLimits = Pick<RequestLimits, 'maxBundleEntries' | 'maxArrayLength' | 'maxResourceElements'>;

/** A container on the walk's stack; the path of the offending array is rebuilt from parents only on failure. */
interface Frame {
  value: object;
  parent: Frame | undefined;
  key: string | number;
}

function pathOf(root: string, frame: Frame): string {
  const keys: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) keys.push(f.key);
  let out = root;
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i]!;
    // FHIRPath delimits a name that is not an identifier with backticks (FHIRPath §"Identifiers").
    out += typeof k === 'number' ? `[${k}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `.\`${k.replace(/[`\\]/g, '\\$&')}\``;
  }
  return out;
}

/** The 413 of an array over MAX_ARRAY_LENGTH (also for a list found too long while reading XML). */
export function tooManyItemsError(path: string, length: number, max: number, atLeast = false): FhirError {
  return new FhirError('too-large', {
    code: 'too-costly',
    diagnostics: `${path} has ${atLeast ? 'at least ' : ''}${length} items, more than the limit of ${max} items in one array (MAX_ARRAY_LENGTH); nothing was processed`,
    expression: [path],
  });
}

function tooManyValues(root: string, max: number): FhirError {
  return new FhirError('too-large', {
    code: 'too-costly',
    diagnostics: `${root} has more than ${max} JSON values (objects, arrays and primitives, each counted once), the limit for one resource (MAX_RESOURCE_ELEMENTS); nothing was processed`,
    expression: [root],
  });
}

/**
 * Walks `value` (parsed JSON): every array at most `maxArrayLength` items, and, when `maxValues` is
 * given, at most that many JSON values in all. `root` is the FHIRPath of `value` (e.g. `Patient`).
 */
function walk(value: unknown, root: string, maxArrayLength: number, maxValues: number | undefined): void {
  if (value === null || typeof value !== 'object') return;
  const limit = maxValues ?? Number.POSITIVE_INFINITY;
  let count = 0;
  const stack: Frame[] = [{ value, parent: undefined, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    count++;
    if (Array.isArray(v)) {
      if (v.length > maxArrayLength) throw tooManyItemsError(pathOf(root, frame), v.length, maxArrayLength);
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (c !== null && typeof c === 'object') stack.push({ value: c, parent: frame, key: i });
        else count++;
      }
    } else {
      const obj = v as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        const c = obj[k];
        if (c !== null && typeof c === 'object') stack.push({ value: c, parent: frame, key: k });
        else count++;
      }
    }
    if (count > limit) throw tooManyValues(root, limit);
  }
}

/** The number of JSON values of `value`, counting stops past `cap` (so the cost is at most `cap` steps). */
export function countValues(value: unknown, cap: number): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && count <= cap) {
    const v = stack.pop();
    count++;
    if (Array.isArray(v)) for (const c of v) stack.push(c);
    else if (v !== null && typeof v === 'object') for (const c of Object.values(v)) stack.push(c);
  }
  return count;
}

/** The 413 of a resource over MAX_RESOURCE_ELEMENTS (also for what a patch would make of it). */
export function tooManyValuesError(root: string, max: number, why = ''): FhirError {
  const e = tooManyValues(root, max);
  return why === '' ? e : new FhirError('too-large', { code: 'too-costly', diagnostics: `${e.issues[0]!.diagnostics!} (${why})`, expression: e.issues[0]!.expression! });
}

/** Checks one resource (or any JSON document treated as one, e.g. a JSON Patch) against the limits. */
export function checkResourceContent(resource: unknown, limits: ContentLimits, root = rootOf(resource)): void {
  walk(resource, root, limits.maxArrayLength, limits.maxResourceElements);
}

/** The FHIRPath root of a resource: its resourceType when it has a plausible one (`JSONPatch` for a JSON Patch document). */
function rootOf(value: unknown): string {
  if (Array.isArray(value)) return 'JSONPatch';
  const rt = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as { resourceType?: unknown }).resourceType : undefined;
  return typeof rt === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(rt) ? rt : 'Resource';
}

function isBatchOrTransaction(body: unknown): body is { entry?: unknown } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const b = body as { resourceType?: unknown; type?: unknown };
  return b.resourceType === 'Bundle' && (b.type === 'batch' || b.type === 'transaction');
}

/** Checks the entry count of a batch or transaction Bundle (MAX_BUNDLE_ENTRIES). */
export function checkBundleEntries(count: number, limits: Pick<RequestLimits, 'maxBundleEntries'>): void {
  if (count <= limits.maxBundleEntries) return;
  throw new FhirError('too-large', {
    code: 'too-costly',
    diagnostics: `The Bundle has ${count} entries, more than the limit of ${limits.maxBundleEntries} entries in one batch or transaction (MAX_BUNDLE_ENTRIES); nothing was processed. Split it into smaller Bundles.`,
    expression: ['Bundle.entry'],
  });
}

/**
 * Checks a parsed request body: a batch or transaction Bundle entry by entry (each entry's resource
 * a resource of its own, the entries counted against MAX_BUNDLE_ENTRIES), anything else as one
 * resource. Throws the 413 of the first limit crossed.
 */
export function checkRequestContent(body: unknown, limits: ContentLimits): void {
  if (!isBatchOrTransaction(body)) {
    checkResourceContent(body, limits);
    return;
  }
  const { entry, ...envelope } = body as { entry?: unknown };
  walk(envelope, 'Bundle', limits.maxArrayLength, undefined);
  if (!Array.isArray(entry)) return;
  checkBundleEntries(entry.length, limits);
  for (let i = 0; i < entry.length; i++) {
    const e: unknown = entry[i];
    if (e === null || typeof e !== 'object' || Array.isArray(e)) continue;
    const { resource, ...rest } = e as { resource?: unknown };
    walk(rest, `Bundle.entry[${i}]`, limits.maxArrayLength, undefined);
    if (resource !== undefined) checkResourceContent(resource, limits, `Bundle.entry[${i}].resource`);
  }
}
