/**
 * Slice discriminators (FHIR R4 profiling.html §5.1.0.10.2 "Discriminator": types `value`,
 * `pattern`, `exists`, `type`, `profile`; paths are restricted FHIRPath: element names, `$this`,
 * `extension('url')`, `ofType(Type)`, `resolve()`).
 *
 * Two halves: `evalPath` finds the values of an instance item at a discriminator path (JSON walk,
 * with FHIR types tracked through fhirpath.js's R4 model), and `targetAt` finds the element
 * definition at the same path inside a slice (whose fixed/pattern value, cardinality, types or
 * profiles say what the slice requires). `sliceMatches` combines them for every discriminator.
 */
import type { ElementDefinitionSlicingDiscriminator } from 'fhir/r4';
import { fhirpathR4Model } from '../../definitions/r4-package';
import type { CompiledNode } from './compiled-node';
import { fixedMatches, patternMatches, typeOfChoiceSuffix } from './values';

/** A value at a path: the JSON value and its FHIR type (a resource's type for resources). */
export interface PathValue {
  value: unknown;
  type: string | undefined;
  /** The type context for child lookups: a type name or, for backbone elements, the element path. */
  typePath: string | undefined;
}

export interface DiscriminatorEnv {
  /** The children of a type (its base StructureDefinition's root), for slices without their own children. */
  typeChildren(code: string): CompiledNode[] | undefined;
  /** The root node of a profile (for `resolve()` into a target profile). */
  profileRoot(url: string): CompiledNode | undefined;
  /** Whether a value conforms to a profile (no errors). */
  conforms(value: unknown, type: string | undefined, profileUrl: string): boolean;
  /** Whether a code is in a value set; undefined when the expansion is not available (yet). */
  inValueSet(valueSet: string, value: unknown, type: string | undefined): boolean | undefined;
  /** The resource a reference points to, when it can be resolved locally (contained, same Bundle). */
  resolveReference(reference: string): Record<string, unknown> | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Splits a discriminator path on dots outside parentheses and quotes. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quote = false;
  for (const ch of path) {
    if (ch === "'") quote = !quote;
    if (!quote && ch === '(') depth++;
    if (!quote && ch === ')') depth--;
    if (ch === '.' && depth === 0 && !quote) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

const EXT_RE = /^extension\(\s*'([^']*)'\s*\)$/;
const OFTYPE_RE = /^ofType\(\s*([A-Za-z][A-Za-z0-9_.]*)\s*\)$/;

function childType(typePath: string | undefined, name: string): { type: string | undefined; typePath: string | undefined } {
  if (typePath === undefined) return { type: undefined, typePath: undefined };
  const model = fhirpathR4Model();
  let key = `${typePath}.${name}`;
  const elsewhere = model.pathsDefinedElsewhere[key];
  if (elsewhere) key = elsewhere;
  const t = model.path2Type[key];
  if (t === undefined) return { type: undefined, typePath: undefined };
  if (t === 'BackboneElement' || t === 'Element') return { type: t, typePath: key };
  const type = t.startsWith('System.') ? (t === 'System.String' ? 'string' : t.slice(7).toLowerCase()) : t;
  return { type, typePath: type };
}

function flatten(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.filter((x) => x !== null && x !== undefined) : [v];
}

/** The values of an item at a discriminator path. `unsupported` is set when part of the path could not be followed. */
export function evalPath(start: PathValue, path: string, env: DiscriminatorEnv): PathValue[] {
  let vals: PathValue[] = [start];
  for (const seg of splitPath(path)) {
    if (seg === '$this') continue;
    const next: PathValue[] = [];
    if (seg === 'resolve()') {
      for (const v of vals) {
        const ref = isObject(v.value) ? v.value.reference : undefined;
        const target = typeof ref === 'string' ? env.resolveReference(ref) : undefined;
        if (target && typeof target.resourceType === 'string') next.push({ value: target, type: target.resourceType, typePath: target.resourceType });
      }
    } else if (EXT_RE.test(seg)) {
      const url = (EXT_RE.exec(seg) as RegExpExecArray)[1];
      for (const v of vals) {
        if (!isObject(v.value)) continue;
        for (const e of flatten(v.value.extension)) if (isObject(e) && e.url === url) next.push({ value: e, type: 'Extension', typePath: 'Extension' });
      }
    } else if (OFTYPE_RE.test(seg)) {
      const t = (OFTYPE_RE.exec(seg) as RegExpExecArray)[1];
      for (const v of vals) if (v.type === t) next.push(v);
    } else {
      for (const v of vals) {
        if (!isObject(v.value)) continue;
        const obj = v.value;
        if (obj[seg] !== undefined) {
          const ct = childType(v.typePath, seg);
          for (const x of flatten(obj[seg])) {
            const type = isObject(x) && typeof x.resourceType === 'string' ? x.resourceType : ct.type;
            next.push({ value: x, type, typePath: isObject(x) && typeof x.resourceType === 'string' ? x.resourceType : ct.typePath });
          }
          continue;
        }
        // A choice element: `value` finds `valueQuantity`, `valueString` ...
        for (const key of Object.keys(obj)) {
          if (key.length <= seg.length || !key.startsWith(seg)) continue;
          const type = typeOfChoiceSuffix(key.slice(seg.length));
          if (!type) continue;
          for (const x of flatten(obj[key])) next.push({ value: x, type, typePath: type });
        }
      }
    }
    vals = next;
  }
  return vals;
}

/**
 * The element definitions at a discriminator path inside a slice: `node` is the element itself
 * (undefined: the path is not constrained there); `alternatives` adds, for paths that cross a sliced
 * element (e.g. `code.coding.code` with `coding` sliced), the same path inside each of its slices.
 */
export function targetAt(slice: CompiledNode, path: string, env: DiscriminatorEnv): { node: CompiledNode | undefined; alternatives: CompiledNode[]; viaResolve: boolean } {
  let nodes: CompiledNode[] = [slice];
  let viaResolve = false;
  const segs = splitPath(path);
  for (let i = 0; i < segs.length && nodes.length > 0; i++) {
    const seg = segs[i] as string;
    if (seg === '$this') continue;
    if (seg === 'resolve()') {
      viaResolve = true;
      if (i === segs.length - 1) break;
      const url: string | undefined = nodes[0]?.types.flatMap((t) => t.targetProfiles)[0];
      const root = url ? env.profileRoot(url) : undefined;
      nodes = root ? [root] : [];
      continue;
    }
    const ext = EXT_RE.exec(seg);
    const ofType = OFTYPE_RE.exec(seg);
    const next: CompiledNode[] = [];
    for (const node of nodes) {
      if (ofType) {
        const t = ofType[1] as string;
        const typed = node.slices.find((s) => s.types.length === 1 && s.types[0]?.code === t);
        next.push(typed ?? node);
        continue;
      }
      const kids: CompiledNode[] = node.children.length > 0 ? node.children : env.typeChildren(node.singleType ?? '') ?? [];
      if (ext) {
        const base = kids.find((c) => c.name === 'extension');
        const found = base?.slices.find((s) => s.types.some((t) => t.profiles.includes(ext[1] as string)) || s.children.some((c) => c.name === 'url' && c.fixed?.value === ext[1]));
        if (found) next.push(found);
        continue;
      }
      const child = kids.find((c) => c.name === seg || (c.isChoice && c.choiceBase === seg));
      if (!child) continue;
      next.push(child);
      // Crossing a sliced element: the slices' definitions are alternatives (they carry the fixed values).
      next.push(...child.slices);
    }
    nodes = next;
  }
  return { node: nodes[0], alternatives: nodes, viaResolve };
}

/** The value a slice requires at a `url` path of an extension slice defined by its profile. */
function extensionSliceUrl(slice: CompiledNode, path: string): string | undefined {
  if (path !== 'url') return undefined;
  return slice.types.find((t) => t.code === 'Extension')?.profiles[0];
}

function matchesOne(slice: CompiledNode, d: ElementDefinitionSlicingDiscriminator, start: PathValue, env: DiscriminatorEnv): boolean {
  const vals = evalPath(start, d.path, env);
  const { node: target, alternatives, viaResolve } = targetAt(slice, d.path, env);
  switch (d.type) {
    case 'value':
    case 'pattern': {
      const constrained = alternatives.filter((a) => a.fixed !== undefined || a.pattern !== undefined);
      if (constrained.length > 0) {
        return vals.some((v) =>
          constrained.some((a) => (a.fixed ? (d.type === 'value' ? fixedMatches(a.fixed.value, v.value) : patternMatches(a.fixed.value, v.value)) : patternMatches(a.pattern?.value, v.value))),
        );
      }
      const url = extensionSliceUrl(slice, d.path);
      if (url !== undefined && (!target || target.fixed === undefined)) return vals.some((v) => v.value === url);
      const bound = alternatives.find((a) => a.binding?.strength === 'required');
      if (bound?.binding) {
        const vs = bound.binding.valueSet;
        return vals.some((v) => env.inValueSet(vs, v.value, v.type) === true);
      }
      return true; // the slice does not constrain this path
    }
    case 'exists': {
      if (!target) return true;
      if (target.min >= 1) return vals.length > 0;
      if (target.max === 0) return vals.length === 0;
      return true;
    }
    case 'type': {
      if (!target || target.types.length === 0) return true;
      return vals.some((v) => v.type !== undefined && target.typeCodes.has(v.type));
    }
    case 'profile': {
      if (!target) return true;
      const urls = viaResolve ? target.types.flatMap((t) => t.targetProfiles) : target.types.flatMap((t) => t.profiles);
      if (urls.length === 0) return true;
      return vals.some((v) => urls.some((u) => env.conforms(v.value, v.type, u)));
    }
  }
}

/** Whether an item (value and type) matches a slice of `sliced` under all of its discriminators. */
export function sliceMatches(slice: CompiledNode, sliced: CompiledNode, start: PathValue, env: DiscriminatorEnv): boolean {
  const discriminators = sliced.slicing?.discriminators ?? [];
  if (discriminators.length === 0) return false; // no discriminator: slices cannot be told apart (reported as unmatched)
  return discriminators.every((d) => matchesOne(slice, d, start, env));
}
