/**
 * PDS "Update patient details" JSON Patch rules (PDS FHIR API components/paths/patient-patch.yaml,
 * "JSON Patch", "Addition", "Replacing", "Removal"; schemas/JsonPatch.yaml; RFC 6902), applied to
 * the PDS-shaped record being patched:
 *
 * - the request body is `{"patches": [ ... ]}` with ops `add`, `replace`, `remove`, `test`
 *   (INVALID_UPDATE "No patches found" / "Operation `op` property is not one of ...");
 * - a list item at the root (`/name/1`) is added with the index `-` only (or the first item of an
 *   absent or empty list, which then exists), and removed only when a `test` on it (the item, its
 *   `id` or its `url`) immediately precedes the `remove`;
 * - a change below an item of a list whose items carry object ids (name, address, telecom, contact,
 *   generalPractitioner) must name the item's id first (`add`/`replace`/`test` of `/<list>/<n>/id`),
 *   and a whole-item `replace` must carry it (INVALID_UPDATE "no id or url found for path with root
 *   /address/0", "no 'address' resources with object id 123");
 * - a failing operation is INVALID_UPDATE naming the index ("Invalid patch - index '1' is out of
 *   bounds", "can't replace non-existent object 'line'", a failed `test` naming its operation);
 * - unknown top-level fields are ADDITIONAL_PROPERTIES; Patient elements PDS does not update are
 *   INVALID_UPDATE "Update unsupported for resource - '<field>'";
 * - new root list items get a system object id, and (name, address, telecom, contact) `period.start`
 *   today when no period is given ("Business rules for period").
 *
 * The business rules on the values (pds-update-values.ts) then run on the record before and after.
 * Nothing is mutated; any failure refuses the whole patch (one FhirError).
 */
import { randomBytes } from 'node:crypto';
import type { Patient } from 'fhir/r4';
import { applyOperation, JsonPatchError, type Operation } from 'fast-json-patch';
import { spineError } from './errors';
import { checkPdsUpdateValues, type PdsUpdateMode } from './pds-update-values';

export type { PdsUpdateMode } from './pds-update-values';

export interface PdsPatchOperation {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

export interface PdsPatchOptions {
  /** The PDS access mode of the caller (patient access may update fewer fields). */
  mode?: PdsUpdateMode;
  /** Today's date (yyyy-mm-dd, UTC) for period defaults and future-date checks. */
  today?: string;
  /** Object ids of new list items (default: 8 upper-case hex digits, as PDS answers them). */
  newId?: () => string;
}

const OPS: ReadonlySet<string> = new Set(['add', 'replace', 'remove', 'test']);

/** Patient fields a PDS update may change (patient-patch.yaml "Patient data fields"). */
export const UPDATABLE_FIELDS: ReadonlySet<string> = new Set([
  'address', 'birthDate', 'contact', 'deceasedDateTime', 'extension', 'gender', 'generalPractitioner', 'managingOrganization', 'multipleBirthInteger', 'name', 'telecom',
]);

/** Other elements of a FHIR R4 Patient: known, but not updatable through PDS. */
const PATIENT_ELEMENTS: ReadonlySet<string> = new Set([
  'resourceType', 'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'modifierExtension', 'identifier', 'active', 'deceasedBoolean', 'maritalStatus', 'multipleBirthBoolean', 'photo', 'communication', 'link',
]);

/** Root lists whose items carry a system object id that a change must name. */
export const ID_LISTS: ReadonlySet<string> = new Set(['name', 'address', 'telecom', 'contact', 'generalPractitioner']);
/** Root lists whose new items get `period.start` today when no period is given. */
const PERIOD_LISTS: ReadonlySet<string> = new Set(['name', 'address', 'telecom', 'contact']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const INDEX = /^(0|[1-9][0-9]*)$/;

const invalidUpdate = (diagnostics: string): Error => spineError('invalid', 'INVALID_UPDATE', `Invalid update with error - ${diagnostics}`);

/** The operations of a PDS update body (`{"patches": [...]}`), their shape checked. */
export function pdsPatchOperations(body: unknown): PdsPatchOperation[] {
  const patches = isObject(body) ? body['patches'] : undefined;
  if (!Array.isArray(patches) || patches.length === 0) throw invalidUpdate('No patches found');
  patches.forEach((p: unknown, i) => {
    if (!isObject(p) || typeof p['op'] !== 'string' || !OPS.has(p['op'])) {
      throw spineError('invalid', 'INVALID_UPDATE', 'Invalid patch: Operation `op` property is not one of operations defined in RFC-6902');
    }
    const path = p['path'];
    if (typeof path !== 'string' || !path.startsWith('/') || /~(?![01])/.test(path)) throw invalidUpdate(`Invalid patch - patch ${i} has no valid 'path' (a JSON Pointer such as '/name/0')`);
    if (p['op'] !== 'remove' && !('value' in p)) throw invalidUpdate(`Invalid patch - '${p['op']}' at '${path}' (patch ${i}) needs a 'value'`);
    if (p['op'] === 'remove' && 'value' in p) throw invalidUpdate(`Invalid patch - 'remove' at '${path}' (patch ${i}) must not include a 'value'`);
  });
  return patches as PdsPatchOperation[];
}

function tokens(path: string): string[] {
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function defaultNewId(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}

function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The root field's check: unknown fields and fields PDS does not update. */
function checkField(field: string): void {
  if (UPDATABLE_FIELDS.has(field)) return;
  if (PATIENT_ELEMENTS.has(field)) throw invalidUpdate(`Update unsupported for resource - '${field}'`);
  throw spineError('invalid', 'ADDITIONAL_PROPERTIES', `Invalid update with error - Additional properties should not be included - '${field}' is not a field of the patient resource`, `Patient.${field}`);
}

/** The list rules of one operation (before it is applied to `doc`). `identified`: items whose id this patch named. */
function checkListRules(doc: Json, ops: readonly PdsPatchOperation[], i: number, identified: Set<string>): void {
  const op = ops[i]!;
  const [field, index, sub] = tokens(op.path);
  const list = doc[field!];
  if (index === undefined || !Array.isArray(list) && !(op.op === 'add' && list === undefined)) return;
  const root = `/${field}/${index}`;
  if (sub === undefined) {
    if (op.op === 'add') {
      const appending = index === '-' || (index === '0' && (list === undefined || (list as unknown[]).length === 0));
      if (!appending) throw invalidUpdate(`Invalid patch - new items of '/${field}' must be added at the index '-' (got '${op.path}')`);
      return;
    }
    if (op.op === 'remove') {
      const prev = i > 0 ? ops[i - 1] : undefined;
      const tested = prev?.op === 'test' && (prev.path === root || prev.path === `${root}/id` || prev.path === `${root}/url`);
      if (!tested) {
        const instead = prev === undefined ? 'the first item' : `'${prev.op}' at '${prev.path}'`;
        throw invalidUpdate(`removal '${op.path}' is not immediately preceded by equivalent test - instead it is ${instead}`);
      }
      return;
    }
  }
  if (!ID_LISTS.has(field!) || !INDEX.test(index) || !Array.isArray(list)) return;
  const item = list[Number(index)];
  if (!isObject(item)) return; // out of bounds: the operation itself fails, naming the index
  const itemId = item['id'];
  if (sub === undefined) {
    if (op.op !== 'replace' || itemId === undefined) return;
    const given = isObject(op.value) ? op.value['id'] : undefined;
    if (given === undefined) throw invalidUpdate(`no id or url found for path with root ${root}`);
    if (given !== itemId) throw invalidUpdate(`no '${field}' resources with object id ${String(given)}`);
    return;
  }
  if (sub === 'id' && tokens(op.path).length === 3) {
    if (op.op === 'remove') throw invalidUpdate(`Invalid patch - the object id of ${root} cannot be removed`);
    if (op.value !== itemId) throw invalidUpdate(`no '${field}' resources with object id ${String(op.value)}`);
    identified.add(root);
    return;
  }
  if (op.op !== 'test' && itemId !== undefined && !identified.has(root)) throw invalidUpdate(`no id or url found for path with root ${root}`);
}

/** Creates the list an `add` of its first item needs (`/address/-` on a record without address). */
function ensureList(doc: Json, op: PdsPatchOperation): void {
  if (op.op !== 'add') return;
  const t = tokens(op.path);
  const last = t[t.length - 1];
  if (t.length < 2 || (last !== '-' && last !== '0')) return;
  let parent: unknown = doc;
  for (const k of t.slice(0, -2)) parent = Array.isArray(parent) ? parent[Number(k)] : isObject(parent) ? parent[k] : undefined;
  const key = t[t.length - 2]!;
  if (isObject(parent) && parent[key] === undefined) parent[key] = [];
}

/** The PDS diagnostics of an operation that cannot be applied to `doc`. */
function failure(err: unknown, doc: Json, op: PdsPatchOperation, i: number): Error {
  const t = tokens(op.path);
  let node: unknown = doc;
  for (let k = 0; k < t.length; k++) {
    const token = t[k]!;
    if (Array.isArray(node)) {
      const n = token === '-' ? node.length : Number(token);
      const lastAdd = k === t.length - 1 && op.op === 'add';
      if (!INDEX.test(token) && token !== '-') return invalidUpdate(`Invalid patch - '${token}' is not a list index (patch ${i}, '${op.path}')`);
      if (n > node.length || (n === node.length && !lastAdd)) return invalidUpdate(`Invalid patch - index '${token}' is out of bounds`);
      node = node[n];
    } else if (isObject(node)) {
      const next = t[k + 1];
      if (!(token in node) && next !== undefined && INDEX.test(next)) return invalidUpdate(`Invalid patch - index '${next}' is out of bounds`);
      if (!(token in node) && k < t.length - 1) return invalidUpdate(`Invalid patch - can't ${op.op} non-existent object '${token}'`);
      if (!(token in node) && op.op !== 'add') return invalidUpdate(`Invalid patch - can't ${op.op} non-existent object '${token}'`);
      node = node[token];
    } else {
      return invalidUpdate(`Invalid patch - can't ${op.op} '${op.path}': '${t[k - 1] ?? ''}' holds no object or list`);
    }
  }
  if (err instanceof JsonPatchError && err.name === 'TEST_OPERATION_FAILED') {
    return invalidUpdate(`Invalid patch - test failed (patch ${i}): the value at '${op.path}' is not the value given`);
  }
  return invalidUpdate(`Invalid patch - patch ${i} ('${op.op}' at '${op.path}') cannot be applied`);
}

function stamp(after: Json, before: Patient, replaced: ReadonlySet<string>, opts: Required<Pick<PdsPatchOptions, 'today' | 'newId'>>): void {
  for (const field of ID_LISTS) {
    const list = after[field];
    if (!Array.isArray(list)) continue;
    const had = new Set(((before as unknown as Json)[field] as unknown[] | undefined)?.map((x) => (isObject(x) ? x['id'] : undefined)).filter((x) => x !== undefined) ?? []);
    list.forEach((item: unknown, n) => {
      if (!isObject(item)) return;
      const isNew = item['id'] === undefined || !had.has(item['id']);
      if (item['id'] === undefined) item['id'] = opts.newId();
      if (PERIOD_LISTS.has(field) && item['period'] === undefined && (isNew || replaced.has(`/${field}/${n}`))) item['period'] = { start: opts.today };
    });
  }
}

/**
 * The record `current` (PDS shapes) with the PDS update `ops` applied, after the JSON Patch and list
 * rules and the business rules (pds-update-values.ts). Throws the PDS error of the first rule broken.
 */
export function applyPdsPatch(current: Patient, ops: readonly PdsPatchOperation[], options: PdsPatchOptions = {}): Patient {
  const opts = { today: options.today ?? utcToday(), newId: options.newId ?? defaultNewId, mode: options.mode ?? 'healthcare-worker' };
  let doc = structuredClone(current) as unknown as Json;
  const identified = new Set<string>();
  const replaced = new Set<string>();
  ops.forEach((op, i) => {
    checkField(tokens(op.path)[0]!);
    checkListRules(doc, ops, i, identified);
    ensureList(doc, op);
    const t = tokens(op.path);
    if (op.op === 'replace' && t.length === 2) replaced.add(op.path);
    try {
      doc = applyOperation(doc, structuredClone(op) as Operation, true, true, true, i).newDocument as Json;
    } catch (err) {
      throw failure(err, doc, op, i);
    }
  });
  stamp(doc, current, replaced, opts);
  const after = doc as unknown as Patient;
  checkPdsUpdateValues(current, after, ops, opts);
  return after;
}
