/**
 * Snapshot generation for differential-only StructureDefinitions (FHIR R4 §5.1 "Profiling FHIR",
 * https://hl7.org/fhir/R4/profiling.html, and §2.28 "ElementDefinition",
 * https://hl7.org/fhir/R4/elementdefinition.html: "snapshot" and "differential", element ids,
 * slicing, re-slicing, choice types, contentReference).
 *
 * The base definition's snapshot (itself generated first when it is differential-only: a profile
 * on a profile) is copied, then every differential element, in order, is located in it by its
 * element id and merged into it:
 * - a path into a child that is not in the snapshot yet unrolls the parent's type (the datatype's
 *   own snapshot, or the profile given on the type, e.g. an extension definition), or the element a
 *   `contentReference` points at;
 * - a new slice (`sliceName`, id `Patient.identifier:nhsNumber`, re-slice `a:b/c`) is inserted after
 *   the sliced element's last slice, as a copy of the sliced element (without its slicing, with
 *   min 0 unless the differential says otherwise) and of its children already in the snapshot;
 *   `extension` / `modifierExtension` get the implicit slicing by url and `x[x]` the implicit slicing
 *   by type when a slice is declared without slicing;
 * - a type-specific choice path (`Observation.valueQuantity`) constrains `value[x]` to that type
 *   (or, when `value[x]` is sliced, addresses the type slice `value[x]:valueQuantity`).
 *
 * Extension definitions are referenced, not inlined: an element of type Extension with a profile
 * keeps the profile url, and validators resolve it. Only when the differential constrains an
 * extension's children (e.g. `Patient.extension:birthPlace.value[x]`) are the children unrolled,
 * from the extension definition's snapshot (so `url` is fixed there). See
 * docs/decisions/0005-snapshot-generation.md.
 *
 * A differential that cannot be applied (unknown base, unknown element, slice of an element that is
 * not sliced, going into the children of an element with several types) raises a `SnapshotError`
 * (a FhirError, category `unprocessable`), never a crash.
 */
import type { ElementDefinition, ElementDefinitionSlicing, ElementDefinitionType, StructureDefinition } from 'fhir/r4';
import { FhirError } from '../fhir/outcome';

/** What snapshot generation needs from its surroundings (normally the ConformanceRegistry). */
export interface SnapshotContext {
  /** A StructureDefinition WITH snapshot by canonical url (`url` or `url|version`); undefined if unknown. */
  resolve(url: string): StructureDefinition | undefined;
  /** Non-fatal findings (an unresolvable type profile, a cardinality widened, ...). */
  warn?(message: string): void;
}

/** A differential that cannot be applied to its base. */
export class SnapshotError extends FhirError {
  readonly profileUrl: string;
  readonly elementId: string | undefined;

  constructor(profileUrl: string, message: string, elementId?: string) {
    super('unprocessable', {
      code: 'structure',
      diagnostics: `Cannot generate the snapshot of ${profileUrl}${elementId ? ` at element ${elementId}` : ''}: ${message}`,
    });
    this.name = 'SnapshotError';
    this.profileUrl = profileUrl;
    this.elementId = elementId;
  }
}

const FHIR_SD = 'http://hl7.org/fhir/StructureDefinition/';

/** The canonical url of the StructureDefinition of a type code (`Identifier`, or already a url). */
export function typeUrl(code: string): string {
  return code.includes(':') ? code : FHIR_SD + code;
}

/** The slicing every `extension`/`modifierExtension` element has implicitly (R4 extensibility.html). */
const EXTENSION_SLICING: ElementDefinitionSlicing = {
  discriminator: [{ type: 'value', path: 'url' }],
  description: 'Extensions are always sliced by (at least) url',
  ordered: false,
  rules: 'open',
};

/** The slicing of a choice element sliced by type (R4 profiling.html "Slicing choice elements"). */
const CHOICE_SLICING: ElementDefinitionSlicing = {
  discriminator: [{ type: 'type', path: '$this' }],
  ordered: false,
  rules: 'open',
};

function clone<T>(value: T): T {
  return structuredClone(value);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function lastSegment(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? path : path.slice(dot + 1);
}

function parentPath(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? undefined : path.slice(0, dot);
}

/** Whether `id` is a descendant, slice or re-slice of the element with id `of`. */
function inBlockOf(id: string, of: string): boolean {
  return id.length > of.length && id.startsWith(of) && (id[of.length] === '.' || id[of.length] === ':' || id[of.length] === '/');
}

/** One segment of an element id: `name` or `name:sliceName`. */
interface IdSegment {
  name: string;
  slice?: string;
}

/** Splits an element id into segments (slice names never contain dots in R4). */
export function splitElementId(id: string): IdSegment[] {
  return id.split('.').map((s) => {
    const colon = s.indexOf(':');
    return colon < 0 ? { name: s } : { name: s.slice(0, colon), slice: s.slice(colon + 1) };
  });
}

/** Whether an element id names the element's path (segment names, `x[x]` standing for `xType`). */
export function idMatchesPath(id: string, path: string): boolean {
  const ids = splitElementId(id);
  const paths = path.split('.');
  if (ids.length !== paths.length) return false;
  return ids.every((seg, i) => {
    const p = paths[i] ?? '';
    if (seg.name === p) return true;
    if (seg.name.endsWith('[x]') && p.startsWith(seg.name.slice(0, -3))) return true;
    return p.endsWith('[x]') && seg.name.startsWith(p.slice(0, -3));
  });
}

/**
 * Gives every element an id per R4 rules (elementdefinition.html#id: path segments, `:sliceName`
 * after a sliced segment) when it has none, tracking which slice the following elements are in.
 * Elements that have an id keep it. Returns new element objects; the input is not changed.
 */
export function assignElementIds(elements: readonly ElementDefinition[], onFix?: (message: string) => void): ElementDefinition[] {
  const current = new Map<string, string>(); // path -> id of the element last seen at that path
  const idForPath = (path: string): string => {
    const known = current.get(path);
    if (known !== undefined) return known;
    const parent = parentPath(path);
    return parent === undefined ? path : `${idForPath(parent)}.${lastSegment(path)}`;
  };
  return elements.map((el) => {
    let id = el.id;
    if (id && !idMatchesPath(id, el.path)) {
      onFix?.(`element id ${id} does not match its path ${el.path}; the id is derived from the path`);
      id = undefined;
    }
    if (!id) {
      const parent = parentPath(el.path);
      id = parent === undefined ? el.path : `${idForPath(parent)}.${lastSegment(el.path)}`;
      if (el.sliceName) id += `:${el.sliceName}`;
    } else if (el.sliceName && !id.endsWith(`:${el.sliceName}`) && !/:[^.]*$/.test(id)) {
      id += `:${el.sliceName}`;
    }
    current.set(el.path, id);
    for (const k of [...current.keys()]) if (k.startsWith(`${el.path}.`)) current.delete(k);
    return id === el.id ? el : { ...el, id };
  });
}

/** Properties of a differential element that are not copied onto the snapshot element by `merge`. */
const NOT_MERGED = new Set(['id', 'path', 'base', 'sliceName']);

function isFixedOrPattern(key: string): boolean {
  return /^(fixed|pattern)[A-Z]/.test(key);
}

const ABSTRACT_TYPES = new Set(['Element', 'BackboneElement', 'Resource', 'DomainResource']);

class Generator {
  private readonly list: ElementDefinition[];
  private readonly url: string;
  /** Ids of pseudo-slices of single elements -> the element's id. */
  private readonly aliases = new Map<string, string>();

  constructor(
    private readonly sd: StructureDefinition,
    base: StructureDefinition,
    private readonly ctx: SnapshotContext,
  ) {
    this.url = sd.url ?? sd.id ?? sd.name ?? '(anonymous StructureDefinition)';
    const baseElements = assignElementIds(base.snapshot?.element ?? []);
    const baseRoot = baseElements[0]?.path;
    if (baseRoot === undefined) throw new SnapshotError(this.url, `base definition ${base.url ?? '?'} has an empty snapshot`);
    const root = sd.type && sd.derivation === 'specialization' && sd.type !== baseRoot && !sd.type.includes(':') ? sd.type : baseRoot;
    this.list = baseElements.map((el) => {
      const c = clone(el);
      if (root !== baseRoot) {
        c.path = root + c.path.slice(baseRoot.length);
        c.id = root + (c.id ?? c.path).slice(baseRoot.length);
      }
      return c;
    });
  }

  private fail(message: string, elementId?: string): never {
    throw new SnapshotError(this.url, message, elementId);
  }

  private warn(message: string): void {
    this.ctx.warn?.(`${this.url}: ${message}`);
  }

  private indexOf(id: string): number {
    return this.list.findIndex((e) => e.id === id);
  }

  private at(index: number): ElementDefinition {
    const el = this.list[index];
    if (!el) this.fail(`internal: no element at index ${index}`);
    return el;
  }

  /** End (exclusive) of the block of an element: its children, slices and re-slices. */
  private blockEnd(index: number): number {
    const id = this.at(index).id ?? '';
    let j = index + 1;
    while (j < this.list.length && inBlockOf(this.list[j]?.id ?? '', id)) j++;
    return j;
  }

  private hasChildren(index: number): boolean {
    const id = this.at(index).id ?? '';
    return (this.list[index + 1]?.id ?? '').startsWith(`${id}.`);
  }

  run(): StructureDefinition {
    const diff = assignElementIds(this.sd.differential?.element ?? [], (m) => this.warn(m));
    const renamedChoices = this.renamedChoiceCounts(diff);
    for (const d of diff) {
      const index = this.locate(d, renamedChoices);
      this.merge(this.at(index), d);
      if (d.max === undefined) this.adoptExtensionMax(this.at(index));
    }
    return { ...this.sd, snapshot: { element: this.list } };
  }

  /** How many distinct type-specific names each choice path gets in the differential (`value[x]` -> 2). */
  private renamedChoiceCounts(diff: readonly ElementDefinition[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const d of diff) {
      const leaf = lastSegment(d.path);
      if (leaf.endsWith('[x]')) continue;
      // Every split before an upper-case letter is a candidate `base` + `Type` (multipleBirth + Boolean).
      for (let k = 1; k < leaf.length; k++) {
        const ch = leaf.charAt(k);
        if (ch === ch.toLowerCase()) continue;
        const key = `${parentPath(d.path) ?? ''}.${leaf.slice(0, k)}[x]`;
        const set = out.get(key) ?? new Set<string>();
        set.add(leaf);
        out.set(key, set);
      }
    }
    return out;
  }

  /** The index of the snapshot element a differential element applies to (creating slices, unrolling children). */
  private locate(d: ElementDefinition, renamedChoices: Map<string, Set<string>>): number {
    const diffId = d.id ?? d.path;
    const segs = splitElementId(diffId);
    const first = segs[0];
    const rootId = this.at(0).id ?? this.at(0).path;
    if (!first || first.name !== rootId || first.slice !== undefined) {
      this.fail(`the element is not inside ${rootId}`, diffId);
    }
    let cur = 0;
    let curId = rootId;
    let curPath = rootId;
    for (let i = 1; i < segs.length; i++) {
      const seg = segs[i];
      if (!seg) break;
      const isLast = i === segs.length - 1;
      this.ensureChildren(cur, diffId);
      let childId = `${curId}.${seg.name}`;
      let childIndex = this.indexOf(childId);
      let sliceName = seg.slice;
      let implicitSlice = false;
      if (childIndex < 0) {
        const choice = this.findChoice(curId, seg.name);
        if (choice) {
          const choiceEl = this.at(choice.index);
          const renamings = renamedChoices.get(`${curPath}.${choice.base}[x]`);
          childId = choiceEl.id ?? childId;
          childIndex = choice.index;
          if (seg.slice === undefined) {
            // A type-specific name, as the R4 reference snapshot generator reads it (checked against
            // the published R4 snapshots): an unsliced `value[x]` is narrowed to the renamed types
            // and sliced by type (closed); the name addresses the type slice `value[x]:valueQuantity`.
            if (!choiceEl.slicing) {
              const prefix = lastSegment(choiceEl.path).slice(0, -3);
              const names = renamings ?? new Set([seg.name]);
              choiceEl.type = (choiceEl.type ?? []).filter((t) => names.has(prefix + capitalise(t.code)));
              choiceEl.slicing = { ...clone(CHOICE_SLICING), rules: 'closed' };
            }
            sliceName = seg.name;
            implicitSlice = true;
          }
        } else if (this.sd.derivation === 'specialization' && isLast && seg.slice === undefined) {
          childIndex = this.insertNewElement(cur, childId, d);
        } else {
          const several = new Set((this.at(cur).type ?? []).map((t) => t.code)).size > 1;
          this.fail(`no element ${childId} in the base (after unrolling ${curId}${several ? ', which has several types: constrain it to one type first' : ''})`, diffId);
        }
      }
      cur = childIndex;
      curId = childId;
      curPath = `${curPath}.${lastSegment(this.at(childIndex).path)}`;
      if (sliceName !== undefined) {
        // Re-slicing: `a/b` is a slice of the slice `a`.
        const parts = sliceName.split('/');
        let slicedId = childId;
        for (let p = 0; p < parts.length; p++) {
          const name = parts.slice(0, p + 1).join('/');
          const sliceId = `${childId}:${name}`;
          const alias = this.aliases.get(sliceId);
          if (alias !== undefined) {
            slicedId = alias;
            cur = this.indexOf(alias);
            continue;
          }
          let sliceIndex = this.indexOf(sliceId);
          if (sliceIndex < 0) {
            if (!(isLast && p === parts.length - 1) && !implicitSlice) this.fail(`slice ${sliceId} is used before it is defined`, diffId);
            const sliced = this.at(this.indexOf(slicedId));
            if (!sliced.slicing && sliced.sliceName === undefined && !sliced.path.endsWith('[x]') && !/\.(extension|modifierExtension)$/.test(sliced.path)) {
              // A "slice" of an element without slicing (seen in published R4 profiles): the
              // reference generator applies it to the element itself; so do we, and later ids with
              // the slice name address the element.
              this.warn(`${sliceId}: ${slicedId} is not sliced; the slice constrains the element itself`);
              this.aliases.set(sliceId, slicedId);
              cur = this.indexOf(slicedId);
              continue;
            }
            sliceIndex = this.createSlice(this.indexOf(slicedId), name, sliceId, diffId);
          }
          slicedId = sliceId;
          cur = sliceIndex;
        }
        curId = slicedId;
      }
    }
    return cur;
  }

  /** A choice element `base[x]` under `parentId` that a type-specific name (`valueQuantity`) refers to. */
  private findChoice(parentId: string, name: string): { index: number; base: string; code: string } | undefined {
    for (let k = name.length - 1; k > 0; k--) {
      const suffix = name.slice(k);
      if (suffix.charAt(0) !== suffix.charAt(0).toUpperCase() || suffix.charAt(0) === suffix.charAt(0).toLowerCase()) continue;
      const base = name.slice(0, k);
      const index = this.indexOf(`${parentId}.${base}[x]`);
      if (index < 0) continue;
      const type = (this.at(index).type ?? []).find((t) => capitalise(t.code) === suffix);
      if (type) return { index, base, code: type.code };
    }
    return undefined;
  }

  /** A new element of a specialization (a logical model or a new type): appended to its parent's block. */
  private insertNewElement(parentIndex: number, id: string, d: ElementDefinition): number {
    const at = this.blockEnd(parentIndex);
    const el: ElementDefinition = { id, path: d.path, min: d.min ?? 0, max: d.max ?? '1', base: { path: d.path, min: d.min ?? 0, max: d.max ?? '1' } };
    this.list.splice(at, 0, el);
    return at;
  }

  /** Inserts a new slice of the element with index `slicedIndex`, after its existing slices. */
  private createSlice(slicedIndex: number, sliceName: string, sliceId: string, diffId: string): number {
    if (slicedIndex < 0) this.fail(`the sliced element of ${sliceId} does not exist`, diffId);
    const sliced = this.at(slicedIndex);
    const slicedId = sliced.id ?? sliced.path;
    if (!sliced.slicing) {
      const leaf = lastSegment(sliced.path);
      if (leaf === 'extension' || leaf === 'modifierExtension') sliced.slicing = clone(EXTENSION_SLICING);
      else if (leaf.endsWith('[x]')) sliced.slicing = clone(CHOICE_SLICING);
      else if (sliced.sliceName !== undefined) {
        // Re-slicing without restating the slicing: the slice inherits the sliced element's slicing.
        const parentSliced = this.indexOf(slicedId.slice(0, slicedId.lastIndexOf(':')));
        const inherited = parentSliced >= 0 ? this.at(parentSliced).slicing : undefined;
        if (!inherited) this.fail(`${slicedId} is not sliced, so it cannot have the slice ${sliceName}`, diffId);
        sliced.slicing = clone(inherited);
      } else {
        this.fail(`${slicedId} is not sliced (no slicing in the differential or the base), so it cannot have the slice ${sliceName}`, diffId);
      }
    }
    const slice = clone(sliced);
    delete slice.slicing;
    slice.id = sliceId;
    slice.sliceName = sliceName;
    slice.min = 0;
    if (sliced.path.endsWith('[x]')) {
      // value[x]:valueQuantity: the slice is of that one type.
      const prefix = lastSegment(sliced.path).slice(0, -3);
      const typed = (sliced.type ?? []).filter((t) => prefix + capitalise(t.code) === sliceName);
      if (typed.length > 0) slice.type = typed;
    }
    // The sliced element's children (not its slices) are copied under the slice.
    const children: ElementDefinition[] = [];
    for (let j = slicedIndex + 1; j < this.list.length; j++) {
      const el = this.at(j);
      const id = el.id ?? '';
      if (!id.startsWith(`${slicedId}.`)) break;
      const c = clone(el);
      c.id = sliceId + id.slice(slicedId.length);
      children.push(c);
    }
    const at = this.blockEnd(slicedIndex);
    this.list.splice(at, 0, slice, ...children);
    return at;
  }

  /** Unrolls the children of an element from its type, type profile or contentReference, when absent. */
  private ensureChildren(index: number, diffId: string): void {
    if (this.hasChildren(index)) return;
    const el = this.at(index);
    const elId = el.id ?? el.path;
    if (index === 0) return; // the root always has its children
    let source: ElementDefinition[];
    let sourceRootPath: string;
    let sourceRootId: string;
    if (el.contentReference) {
      const ref = el.contentReference.slice(el.contentReference.indexOf('#') + 1);
      const rootType = ref.split('.')[0] ?? '';
      const rootSd = this.ctx.resolve(typeUrl(rootType));
      const elements = rootSd?.snapshot?.element ?? this.list;
      const target = elements.find((e) => e.path === ref && !e.sliceName);
      if (!target) this.fail(`contentReference ${el.contentReference} not found`, diffId);
      source = elements.filter((e) => e.path.startsWith(`${ref}.`) && !(e.id ?? '').includes(':'));
      sourceRootPath = ref;
      sourceRootId = ref;
      delete el.contentReference;
      el.type = clone(target.type ?? [{ code: 'BackboneElement' }]);
    } else {
      const types = el.type ?? [];
      const codes = [...new Set(types.map((t) => t.code))];
      if (codes.length === 0) this.fail(`${elId} has no type, its children cannot be constrained`, diffId);
      // Several types (a choice): only the children all types share (Element's id, extension).
      const type: ElementDefinitionType = codes.length === 1 ? (types[0] as ElementDefinitionType) : { code: 'Element' };
      let typeSd: StructureDefinition | undefined;
      const profile = type.profile?.[0];
      if (profile) {
        typeSd = this.ctx.resolve(profile);
        if (!typeSd?.snapshot) this.warn(`type profile ${profile} of ${elId} is unknown; its children are taken from ${type.code}`);
      }
      if (!typeSd?.snapshot) typeSd = this.ctx.resolve(typeUrl(type.code));
      const elements = typeSd?.snapshot?.element;
      if (!typeSd || !elements || elements.length === 0) this.fail(`the definition of type ${type.code} is unknown`, diffId);
      const root = elements[0] as ElementDefinition;
      sourceRootPath = root.path;
      sourceRootId = root.id ?? root.path;
      const primitiveValue = typeSd.kind === 'primitive-type' ? `${root.path}.value` : undefined;
      source = assignElementIds(elements.slice(1)).filter((e) => e.path !== primitiveValue);
    }
    const copies = source.map((e) => {
      const c = clone(e);
      c.path = el.path + e.path.slice(sourceRootPath.length);
      c.id = elId + (e.id ?? e.path).slice(sourceRootId.length);
      return c;
    });
    this.list.splice(index + 1, 0, ...copies);
  }

  /** Merges a differential element into its snapshot element (R4 profiling.html "constraining"). */
  private merge(target: ElementDefinition, d: ElementDefinition): void {
    const t = target as unknown as Record<string, unknown>;
    const id = target.id ?? target.path;
    for (const [key, value] of Object.entries(d) as Array<[string, unknown]>) {
      if (NOT_MERGED.has(key) || value === undefined) continue;
      switch (key) {
        case 'min':
          if (typeof value === 'number' && typeof target.min === 'number' && value < target.min && !target.sliceName) {
            this.warn(`${id}: min ${value} is below the base min ${target.min}`);
          }
          target.min = value as number;
          break;
        case 'max':
          if (target.max !== undefined && target.max !== '*' && (value === '*' || Number(value) > Number(target.max))) {
            this.warn(`${id}: max ${String(value)} is above the base max ${target.max}`);
          }
          target.max = value as string;
          break;
        case 'type':
          this.checkTypes(target, value as ElementDefinitionType[]);
          target.type = clone(value as ElementDefinitionType[]);
          break;
        case 'constraint': {
          const list = [...(target.constraint ?? [])];
          for (const c of value as NonNullable<ElementDefinition['constraint']>) {
            const added = { ...clone(c), source: c.source ?? this.sd.url };
            const at = list.findIndex((x) => x.key === c.key);
            if (at >= 0) list[at] = added;
            else list.push(added);
          }
          target.constraint = list;
          break;
        }
        case 'mapping':
          target.mapping = [...(target.mapping ?? []), ...clone(value as NonNullable<ElementDefinition['mapping']>)];
          break;
        case 'alias':
        case 'condition': {
          const prev = (t[key] as string[] | undefined) ?? [];
          t[key] = [...new Set([...prev, ...(value as string[])])];
          break;
        }
        case 'binding':
          target.binding = { ...(target.binding ?? {}), ...clone(value as NonNullable<ElementDefinition['binding']>) } as ElementDefinition['binding'];
          break;
        case 'slicing':
          target.slicing = { ...(target.slicing ?? {}), ...clone(value as ElementDefinitionSlicing) } as ElementDefinitionSlicing;
          break;
        default:
          if (isFixedOrPattern(key)) {
            for (const k of Object.keys(t)) if (isFixedOrPattern(k) && k !== key) delete t[k];
          }
          t[key] = clone(value);
      }
    }
  }

  /**
   * An extension slice takes the max of its extension definition's root when the differential does
   * not state one (a 0..1 extension stays 0..1 in the profile using it).
   */
  private adoptExtensionMax(el: ElementDefinition): void {
    const type = el.type?.[0];
    const profile = type?.profile?.[0];
    if (el.sliceName === undefined || el.type?.length !== 1 || type?.code !== 'Extension' || !profile) return;
    const root = this.ctx.resolve(profile)?.snapshot?.element?.[0];
    if (!root?.max || root.max === '*') return;
    if (el.max === undefined || el.max === '*' || Number(root.max) < Number(el.max)) el.max = root.max;
  }

  /** Type narrowing must stay within the base's types (warning only: some IGs use subtypes). */
  private checkTypes(target: ElementDefinition, narrowed: readonly ElementDefinitionType[]): void {
    const baseCodes = new Set((target.type ?? []).map((t) => t.code));
    if (baseCodes.size === 0) return;
    for (const t of narrowed) {
      if (!baseCodes.has(t.code) && ![...baseCodes].some((b) => ABSTRACT_TYPES.has(b))) {
        this.warn(`${target.id ?? target.path}: type ${t.code} is not one of the base types ${[...baseCodes].join(', ')}`);
      }
    }
  }
}

/**
 * Generates the snapshot of a StructureDefinition from its differential and the snapshot of its
 * `baseDefinition` (resolved through `ctx`, which must return SDs with snapshots). Returns a new
 * StructureDefinition (the input is not changed) whose `snapshot.element` have R4 element ids.
 * Throws `SnapshotError` when the differential cannot be applied.
 */
export function generateSnapshot(sd: StructureDefinition, ctx: SnapshotContext): StructureDefinition {
  const url = sd.url ?? sd.id ?? '(anonymous StructureDefinition)';
  if (!sd.baseDefinition) throw new SnapshotError(url, 'no baseDefinition (only a base type can lack one, and base types are published with snapshots)');
  const base = ctx.resolve(sd.baseDefinition);
  if (!base) throw new SnapshotError(url, `base definition ${sd.baseDefinition} is unknown (or depends on this definition)`);
  if (!base.snapshot?.element?.length) throw new SnapshotError(url, `base definition ${sd.baseDefinition} has no snapshot`);
  return new Generator(sd, base, ctx).run();
}
