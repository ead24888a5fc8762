/**
 * Changing FHIR JSON in place for FHIRPath Patch (FHIR R4 fhirpatch.html), following the JSON
 * representation rules of FHIR R4 json.html: a primitive's id/extensions live in a `_name` sibling
 * (for a repeating primitive, a `_name` array kept index-for-index in step with the values, `null`
 * where one side has nothing), and empty objects, empty arrays and nulls are never left behind.
 */

export type JsonObject = Record<string, unknown>;

/** Where an element lives: `holder[key]`, or `holder[key][index]` in a list. `key` has no `_`. */
export interface Slot {
  holder: JsonObject;
  key: string;
  index: number | undefined;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function has(o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** The element's value (undefined when absent) and its `_` companion. */
export function readSlot(s: Slot): { value: unknown; ext: unknown } {
  const v = has(s.holder, s.key) ? s.holder[s.key] : undefined;
  const e = has(s.holder, `_${s.key}`) ? s.holder[`_${s.key}`] : undefined;
  if (s.index === undefined) return { value: v, ext: e };
  return { value: Array.isArray(v) ? v[s.index] : undefined, ext: Array.isArray(e) ? e[s.index] : undefined };
}

/** Length of the list at holder[key], counting its `_` companion (they may differ in JSON). */
export function listLength(holder: JsonObject, key: string): number {
  const v = holder[key];
  const e = holder[`_${key}`];
  return Math.max(Array.isArray(v) ? v.length : has(holder, key) ? 1 : 0, Array.isArray(e) ? e.length : 0);
}

/** Removes the element at the slot (and its `_` companion). */
export function removeSlot(s: Slot): void {
  const { holder, key, index } = s;
  if (index === undefined) {
    // Object.hasOwn-guarded deletes: never touches inherited properties.
    if (has(holder, key)) delete holder[key];
    if (has(holder, `_${key}`)) delete holder[`_${key}`];
    return;
  }
  for (const k of [key, `_${key}`]) {
    const arr = holder[k];
    if (Array.isArray(arr) && index < arr.length) arr.splice(index, 1);
  }
}

/** Sets the element at the slot; `ext` (a primitive's id/extensions) replaces any previous `_` companion. */
export function writeSlot(s: Slot, json: unknown, ext: JsonObject | undefined): void {
  const { holder, key, index } = s;
  if (index === undefined) {
    holder[key] = json;
    if (ext !== undefined) holder[`_${key}`] = ext;
    else if (has(holder, `_${key}`)) delete holder[`_${key}`];
    return;
  }
  const vals = arrayAt(holder, key);
  padTo(vals, index + 1);
  vals[index] = json;
  const exts = holder[`_${key}`];
  if (ext !== undefined) {
    const e = arrayAt(holder, `_${key}`);
    padTo(e, index + 1);
    e[index] = ext;
  } else if (Array.isArray(exts) && index < exts.length) {
    exts[index] = null;
  }
}

/** Inserts into the list holder[key] at `index` (0 <= index <= listLength), keeping `_key` in step. */
export function insertInList(holder: JsonObject, key: string, index: number, json: unknown, ext: JsonObject | undefined): void {
  const len = listLength(holder, key);
  const hadExts = Array.isArray(holder[`_${key}`]);
  const vals = arrayAt(holder, key);
  padTo(vals, len);
  vals.splice(index, 0, json);
  if (hadExts || ext !== undefined) {
    const exts = arrayAt(holder, `_${key}`);
    padTo(exts, len);
    exts.splice(index, 0, ext ?? null);
  }
}

/** Moves a list item from `source` to `destination` (both < listLength), keeping `_key` in step. */
export function moveInList(holder: JsonObject, key: string, source: number, destination: number): void {
  const len = listLength(holder, key);
  for (const k of [key, `_${key}`]) {
    const arr = holder[k];
    if (!Array.isArray(arr)) continue;
    padTo(arr, len);
    const [item] = arr.splice(source, 1);
    arr.splice(destination, 0, item);
  }
}

/** holder[key] as an array, converting a single value into a one-item list and creating it when absent. */
function arrayAt(holder: JsonObject, key: string): unknown[] {
  const cur = has(holder, key) ? holder[key] : undefined;
  if (Array.isArray(cur)) return cur;
  const arr: unknown[] = cur === undefined ? [] : [cur];
  holder[key] = arr;
  return arr;
}

function padTo(arr: unknown[], len: number): void {
  while (arr.length < len) arr.push(null);
}

/**
 * Removes what FHIR JSON may not contain (json.html): empty objects, empty arrays, null properties,
 * list items that are empty on both the value and the `_` side. Returns false when `o` ends up empty.
 */
export function prune(o: JsonObject): boolean {
  const keys = Object.keys(o);
  const bases = new Set(keys.map((k) => (k.startsWith('_') ? k.slice(1) : k)));
  for (const base of bases) {
    const ek = `_${base}`;
    const v = has(o, base) ? o[base] : undefined;
    const e = has(o, ek) ? o[ek] : undefined;
    if (Array.isArray(v) || Array.isArray(e)) {
      pruneList(o, base, v, e);
      continue;
    }
    if (v !== undefined && !keepValue(v)) delete o[base];
    if (e !== undefined && !keepValue(e)) delete o[ek];
  }
  return Object.keys(o).length > 0;
}

/** A single (non-list) value survives unless it is null or an object that prunes to nothing. */
function keepValue(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isJsonObject(v)) return prune(v);
  return true;
}

function pruneList(o: JsonObject, base: string, v: unknown, e: unknown): void {
  const vals: unknown[] = Array.isArray(v) ? v : v === undefined ? [] : [v];
  const exts: unknown[] = Array.isArray(e) ? e : e === undefined ? [] : [e];
  const len = Math.max(vals.length, exts.length);
  const nv: unknown[] = [];
  const ne: unknown[] = [];
  for (let i = 0; i < len; i++) {
    const a = i < vals.length && keepValue(vals[i]) ? vals[i] : null;
    const b = i < exts.length && keepValue(exts[i]) ? exts[i] : null;
    if (a === null && b === null) continue;
    nv.push(a);
    ne.push(b);
  }
  if (nv.some((x) => x !== null)) o[base] = nv;
  else if (has(o, base)) delete o[base];
  const ek = `_${base}`;
  if (ne.some((x) => x !== null)) o[ek] = ne;
  else if (has(o, ek)) delete o[ek];
}
