/**
 * FHIRPath Patch (FHIR R4 fhirpatch.html), the `patch` interaction's `Parameters` body
 * (http.html#patch): operations add, insert, delete, replace and move, applied in order to a copy of
 * the resource. Each `path` is evaluated with fhirpath.js (R4 model) against the resource as patched
 * so far; the resulting nodes are mapped back to their JSON location.
 *
 * Rules applied (fhirpatch.html "Operations"): the path must select exactly one element for add and
 * replace, and exactly one list for insert and move (nothing selected, or more than one, is 422);
 * delete of nothing is not an error but delete of more than one element is; `add` appends to a
 * repeating element and only creates a non-repeating one that does not exist yet; insert index
 * 0..length, move source/destination 0..length-1; values must fit the element's type; a primitive's
 * `_x` sibling moves with it; empty objects/arrays left by a change are removed. A malformed body is
 * 400, a patch that cannot be applied to this resource is 422.
 */
import type { Resource } from 'fhir/r4';
import { FhirError } from '../outcome';
import { childElement, type ElementInfo } from './fhir-model';
import {
  has, insertInList, isJsonObject, listLength, moveInList, prune, removeSlot, writeSlot,
  type JsonObject, type Slot,
} from './json-slots';
import { compilePath, contentOf, isResNode, locate, type ResNode } from './locate';
import { parsePatchParameters, type PatchOperation } from './parameters';
import { placeValue, type Where } from './values';

/** Applies a FHIRPath Patch `Parameters` body to a copy of `resource`. */
export function applyFhirPathPatch(resource: Resource, parameters: unknown): Resource {
  const ops = parsePatchParameters(parameters);
  // Compile every path first: a syntax error anywhere is a 400 before anything is applied.
  const compiled = ops.map((op) => ({ op, evaluate: compilePath(op.path, labelOf(op), op.at) }));
  const root = structuredClone(resource) as unknown as JsonObject;
  for (const { op, evaluate } of compiled) {
    applyOperation(root, op, evaluate);
    prune(root);
  }
  return root as unknown as Resource;
}

type Evaluate = (resource: JsonObject) => unknown[];

function applyOperation(root: JsonObject, op: PatchOperation, evaluate: Evaluate): void {
  const where: Where = { label: labelOf(op), path: op.path };
  switch (op.type) {
    case 'add':
      return add(root, op, evaluate, where);
    case 'insert':
      return insert(root, op, evaluate, where);
    case 'delete':
      return del(root, evaluate, where);
    case 'replace':
      return replace(root, op, evaluate, where);
    case 'move':
      return move(root, op, evaluate, where);
  }
}

function labelOf(op: PatchOperation): string {
  return `FHIRPath Patch operation ${op.number} (${op.type} at '${op.path}')`;
}

function fail(where: Where, problem: string): FhirError {
  return new FhirError('unprocessable', { diagnostics: `${where.label}: ${problem}`, expression: [where.path] });
}

/** Evaluates the path; every result must be an element of the resource. */
function selectNodes(root: JsonObject, evaluate: Evaluate, where: Where): ResNode[] {
  const out = evaluate(root);
  return out.map((n) => {
    if (!isResNode(n)) throw fail(where, 'the path selects a computed value, not an element of the resource');
    return n;
  });
}

function selectOne(root: JsonObject, evaluate: Evaluate, where: Where, verb: string): ResNode {
  const nodes = selectNodes(root, evaluate, where);
  if (nodes.length === 0) throw fail(where, `no content found at '${where.path}' when ${verb}`);
  if (nodes.length > 1) throw fail(where, `the path selects ${nodes.length} elements; it must select exactly one`);
  return nodes[0] as ResNode;
}

function slotOf(node: ResNode, root: JsonObject, where: Where): Slot | 'root' {
  const slot = locate(node, root);
  if (slot === undefined) throw fail(where, 'the path selects something that is not an element of this resource');
  if (slot !== 'root' && slot.key === 'resourceType') throw fail(where, 'resourceType cannot be patched');
  return slot;
}

/** The model path of the element that holds `node` (its parent's type context). */
function parentPath(node: ResNode, where: Where): string {
  const p = node.parentResNode?.path;
  if (!p) throw fail(where, 'the type of the selected element is not known');
  return p;
}

function elementInfo(ownerPath: string, name: string, where: Where): ElementInfo {
  const info = childElement(ownerPath, name);
  if (!info) throw fail(where, `${ownerPath} has no element '${name}'`);
  return info;
}

// --- add -------------------------------------------------------------------------------------------

function add(root: JsonObject, op: PatchOperation, evaluate: Evaluate, where: Where): void {
  const name = op.name as string;
  const node = selectOne(root, evaluate, where, 'adding');
  const holder = childHolder(node, root, where);
  if (!node.path) throw fail(where, 'the type of the selected element is not known');
  const info = elementInfo(node.path, name, where);
  const placed = placeValue(op.value!, info, name, where);
  if (info.repeating) {
    insertInList(holder, placed.key, listLength(holder, placed.key), placed.json, placed.ext);
    return;
  }
  const existing = info.choiceTypes !== undefined ? choiceKeys(holder, name) : [placed.key].filter((k) => has(holder, k) || has(holder, `_${k}`));
  if (existing.length > 0) throw fail(where, `${info.path} already has a value (${existing.join(', ')}); use replace`);
  writeSlot({ holder, key: placed.key, index: undefined }, placed.json, placed.ext);
}

/** The JSON object new children of `node` go into (for a primitive, its `_x` companion, created if needed). */
function childHolder(node: ResNode, root: JsonObject, where: Where): JsonObject {
  const own = contentOf(node);
  if (own) return own;
  const slot = slotOf(node, root, where);
  if (slot === 'root') throw fail(where, 'the resource is not an object');
  if (typeof node.data === 'object' && node.data !== null) throw fail(where, 'cannot add to a list; select one item or use insert');
  // A primitive without a `_x` companion yet: create it (json.html#primitive).
  const ext: JsonObject = {};
  const { holder, key, index } = slot;
  if (index === undefined) {
    holder[`_${key}`] = ext;
  } else {
    const cur = holder[`_${key}`];
    const arr: unknown[] = Array.isArray(cur) ? cur : [];
    while (arr.length < listLength(holder, key)) arr.push(null);
    arr[index] = ext;
    holder[`_${key}`] = arr;
  }
  return ext;
}

/** JSON properties present for the choice element `base[x]`: `deceasedBoolean`, `_deceasedDateTime`... */
function choiceKeys(holder: JsonObject, base: string): string[] {
  return Object.keys(holder).filter((k) => {
    const b = k.startsWith('_') ? k.slice(1) : k;
    return b.length > base.length && b.startsWith(base) && /[A-Z]/.test(b.charAt(base.length));
  });
}

// --- replace ---------------------------------------------------------------------------------------

function replace(root: JsonObject, op: PatchOperation, evaluate: Evaluate, where: Where): void {
  const node = selectOne(root, evaluate, where, 'replacing');
  const slot = slotOf(node, root, where);
  if (slot === 'root') throw fail(where, 'the resource itself cannot be replaced');
  const base = node.propName as string;
  const info = elementInfo(parentPath(node, where), base, where);
  const placed = placeValue(op.value!, info, base, where);
  if (placed.key !== slot.key) {
    // A choice element changing type: valueString -> valueQuantity.
    if (slot.index !== undefined) throw fail(where, 'cannot change the type of a list item');
    removeSlot(slot);
    writeSlot({ holder: slot.holder, key: placed.key, index: undefined }, placed.json, placed.ext);
    return;
  }
  writeSlot(slot, placed.json, placed.ext);
}

// --- delete ----------------------------------------------------------------------------------------

function del(root: JsonObject, evaluate: Evaluate, where: Where): void {
  const nodes = selectNodes(root, evaluate, where);
  if (nodes.length === 0) return; // "Path of the element to delete (if found)"
  if (nodes.length > 1) throw fail(where, `the path selects ${nodes.length} elements; only a single element can be deleted`);
  const slot = slotOf(nodes[0] as ResNode, root, where);
  if (slot === 'root') throw fail(where, 'the resource itself cannot be deleted by a patch');
  removeSlot(slot);
}

// --- insert and move: operations on a list ---------------------------------------------------------

interface ListTarget {
  holder: JsonObject;
  key: string;
  /** Model path of the holder's type context, and the element name: to look the element up. */
  ownerPath: string;
  name: string;
  length: number;
}

/**
 * The list a path names: either all the items of one list (e.g. `Patient.identifier`), or, when the
 * list is still empty, a path `<expression>.<name>` whose expression selects exactly one element.
 */
function selectList(root: JsonObject, op: PatchOperation, evaluate: Evaluate, where: Where): ListTarget {
  const nodes = selectNodes(root, evaluate, where);
  if (nodes.length === 0) return emptyList(root, op, where);
  const first = nodes[0] as ResNode;
  const slots = nodes.map((n) => slotOf(n, root, where));
  const s0 = slots[0];
  if (s0 === 'root' || s0 === undefined) throw fail(where, 'the path must select a list, not the resource');
  if (s0.index === undefined) throw fail(where, `the path selects '${s0.key}', which is not a list`);
  const length = listLength(s0.holder, s0.key);
  const indexes = new Set<number>();
  for (const s of slots) {
    if (s === 'root' || s.holder !== s0.holder || s.key !== s0.key || s.index === undefined) {
      throw fail(where, 'the path must select the items of a single list');
    }
    indexes.add(s.index);
  }
  if (indexes.size !== length) throw fail(where, `the path selects ${indexes.size} of the ${length} items of the list; it must select the whole list`);
  return { holder: s0.holder, key: s0.key, ownerPath: parentPath(first, where), name: first.propName as string, length };
}

function emptyList(root: JsonObject, op: PatchOperation, where: Where): ListTarget {
  if (op.type === 'move') throw fail(where, `no list found at '${op.path}'`);
  const m = /^(.+)\.([A-Za-z][A-Za-z0-9]*)\s*$/.exec(op.path);
  if (!m) throw fail(where, `no list found at '${op.path}'`);
  const parentExpr = m[1] as string;
  const name = m[2] as string;
  const parentWhere: Where = { label: where.label, path: parentExpr };
  const parent = selectOne(root, compilePath(parentExpr, where.label, op.at), parentWhere, 'inserting');
  if (!parent.path) throw fail(where, 'the type of the selected element is not known');
  const holder = childHolder(parent, root, where);
  return { holder, key: name, ownerPath: parent.path, name, length: 0 };
}

function insert(root: JsonObject, op: PatchOperation, evaluate: Evaluate, where: Where): void {
  const list = selectList(root, op, evaluate, where);
  const info = elementInfo(list.ownerPath, list.name, where);
  if (!info.repeating) throw fail(where, `${info.path} is not a list; use add or replace`);
  const placed = placeValue(op.value!, info, list.name, where);
  if (placed.key !== list.key) throw fail(where, `the value does not belong in '${list.key}'`);
  const index = op.index as number;
  if (index > list.length) throw fail(where, `index ${index} is out of bounds: the list has ${list.length} items (allowed 0..${list.length})`);
  insertInList(list.holder, list.key, index, placed.json, placed.ext);
}

function move(root: JsonObject, op: PatchOperation, evaluate: Evaluate, where: Where): void {
  const list = selectList(root, op, evaluate, where);
  const source = op.source as number;
  const destination = op.destination as number;
  for (const [what, i] of [['source', source], ['destination', destination]] as const) {
    if (i >= list.length) throw fail(where, `${what} ${i} is out of bounds: the list has ${list.length} items (allowed 0..${list.length - 1})`);
  }
  if (!isJsonObject(list.holder)) throw fail(where, 'no list found');
  moveInList(list.holder, list.key, source, destination);
}
