/**
 * From FHIRPath results back to JSON locations, for FHIRPath Patch (FHIR R4 fhirpatch.html: "The
 * FHIRPath statement must return elements from the resource being modified").
 *
 * fhirpath.js, evaluated with `resolveInternalTypes: false`, returns ResourceNode objects that keep the
 * node's data (by reference, never copied), its parent node, the property name it was read from
 * (`propName`, without the type suffix of a choice element) and its index in a list. A node is placed
 * back into the JSON as (holder object, JSON property name, index). Anything else fhirpath returns
 * (literals, computed values) is not an element of the resource and cannot be patched.
 */
import { compile } from 'fhirpath';
import { SAFE_REGEX_FUNCTIONS } from '../../fhirpath/safe-regex';
import { FhirError } from '../outcome';
import { R4_MODEL, upperFirst } from './fhir-model';
import { has, isJsonObject, readSlot, type JsonObject, type Slot } from './json-slots';

/** The parts of fhirpath.js's ResourceNode this module relies on. */
export interface ResNode {
  data: unknown;
  _data: unknown;
  parentResNode: ResNode | null;
  /** Model path of the node's type context, e.g. `Patient`, `Patient.contact`, `HumanName`, `date`. */
  path: string | null;
  propName: string | null;
  index: number | null;
  fhirNodeDataType: string | null;
}

export function isResNode(x: unknown): x is ResNode {
  return typeof x === 'object' && x !== null && 'parentResNode' in x && 'propName' in x && 'data' in x;
}

/** Compiles a FHIRPath expression (R4 model); a syntax error is the client's: FhirError('invalid'). */
export function compilePath(path: string, label: string, at: string): (resource: JsonObject) => unknown[] {
  let fn: ReturnType<typeof compile<{ resolveInternalTypes: false; traceFn: () => void; userInvocationTable: typeof SAFE_REGEX_FUNCTIONS }>>;
  try {
    // trace() in a client's path must not write to the server's output.
    // matches()/replaceMatches() refuse backtracking-prone patterns (ReDoS), src/fhirpath/safe-regex.ts.
    fn = compile(quoteKeywordMembers(path), R4_MODEL, { resolveInternalTypes: false, traceFn: () => undefined, userInvocationTable: SAFE_REGEX_FUNCTIONS });
  } catch (err) {
    throw new FhirError('invalid', { diagnostics: `${label}: path '${path}' is not a valid FHIRPath expression: ${message(err)}`, expression: [`${at}.part`] });
  }
  return (resource) => {
    try {
      const out: unknown = fn(resource, { resource, rootResource: resource });
      if (!Array.isArray(out)) throw new Error('asynchronous FHIRPath functions are not allowed in a patch');
      return out;
    } catch (err) {
      throw new FhirError('unprocessable', { diagnostics: `${label}: evaluating '${path}' failed: ${message(err)}`, expression: [path] });
    }
  };
}

/** FHIRPath keywords that are also FHIR element names (e.g. Narrative.div, ValueSet.expansion.contains). */
const KEYWORD_MEMBER = /^(\s*)(div|mod|contains|and|or|xor|implies|as|is|in)\b(?!\s*\()/;

/**
 * After a `.`, a keyword can only be a member name, so `Patient.text.div` (as patch documents write it)
 * is read as Patient.text.`div`. String literals and delimited identifiers are left alone.
 */
export function quoteKeywordMembers(path: string): string {
  let out = '';
  let i = 0;
  while (i < path.length) {
    const c = path.charAt(i);
    if (c === "'" || c === '`') {
      let j = i + 1;
      while (j < path.length && path.charAt(j) !== c) j += path.charAt(j) === '\\' ? 2 : 1;
      out += path.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    out += c;
    i++;
    if (c === '.') {
      const m = KEYWORD_MEMBER.exec(path.slice(i));
      if (m) {
        out += `${m[1] ?? ''}\`${m[2] ?? ''}\``;
        i += m[0].length;
      }
    }
  }
  return out;
}

/** Where a node's content lives: 'root' for the resource itself, undefined when it is not in the resource. */
export function locate(node: ResNode, root: JsonObject): Slot | 'root' | undefined {
  const parent = node.parentResNode;
  if (parent === null) return node.data === root ? 'root' : undefined;
  const holder = contentOf(parent);
  if (holder === undefined || node.propName === null) return undefined;
  const key = jsonKey(holder, node.propName, node.fhirNodeDataType);
  if (key === undefined) return undefined;
  const slot: Slot = { holder, key, index: node.index ?? undefined };
  const { value, ext } = readSlot(slot);
  if (value === undefined && ext === undefined) return undefined;
  // Objects are the resource's own (fhirpath never copies them): identity proves the location.
  if (typeof node.data === 'object' && node.data !== null && value !== node.data) return undefined;
  return slot;
}

/**
 * The JSON object holding a node's children: the node's own object, or for a primitive its `_x`
 * companion (where its id and extensions live).
 */
export function contentOf(node: ResNode): JsonObject | undefined {
  if (isJsonObject(node.data)) return node.data;
  if (isJsonObject(node._data)) return node._data;
  return undefined;
}

/** The JSON property behind a fhirpath property name: `deceased` -> `deceasedBoolean` for a choice. */
function jsonKey(holder: JsonObject, propName: string, dataType: string | null): string | undefined {
  if (has(holder, propName) || has(holder, `_${propName}`)) return propName;
  if (dataType !== null) {
    const k = propName + upperFirst(dataType);
    if (has(holder, k) || has(holder, `_${k}`)) return k;
  }
  for (const k of Object.keys(holder)) {
    const base = k.startsWith('_') ? k.slice(1) : k;
    if (base.length > propName.length && base.startsWith(propName) && /[A-Z]/.test(base.charAt(propName.length))) return base;
  }
  return undefined;
}

function message(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0] ?? m;
}
