/**
 * The element tree of a StructureDefinition snapshot (FHIR R4 §2.1.0 "Element Definitions",
 * elementdefinition.html: paths, `sliceName`, re-slicing with `a/b`, `contentReference`; and
 * profiling.html §5.1.0.10 "Slicing"). The flat `snapshot.element` list becomes a tree once, at
 * compile time: every node knows its children (in order) and, when sliced, its slicing and slices;
 * a slice's children follow the slice in the list and hang under the slice node.
 */
import type { ElementDefinition, ElementDefinitionSlicing, StructureDefinition } from 'fhir/r4';

export interface ElementNode {
  readonly def: ElementDefinition;
  /** The element path, e.g. `Observation.component.code`. */
  readonly path: string;
  /** The last path segment, e.g. `value[x]`. */
  readonly name: string;
  readonly sliceName: string | undefined;
  readonly children: ElementNode[];
  readonly slicing: ElementDefinitionSlicing | undefined;
  /** The slices of this element (or re-slices of this slice), in snapshot order. */
  readonly slices: ElementNode[];
}

function lastSegment(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? path : path.slice(dot + 1);
}

function parentPath(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

function makeNode(def: ElementDefinition): ElementNode {
  return { def, path: def.path, name: lastSegment(def.path), sliceName: def.sliceName, children: [], slicing: def.slicing, slices: [] };
}

/** Finds the slice named by a (possibly re-sliced `a/b/c`) slice name under a sliced element. */
function sliceOwner(base: ElementNode, sliceName: string): ElementNode {
  const parts = sliceName.split('/');
  let owner = base;
  for (const part of parts.slice(0, -1)) {
    const next = owner.slices.find((s) => s.sliceName !== undefined && lastSegment(s.sliceName.replace(/\//g, '.')) === part);
    if (!next) break;
    owner = next;
  }
  return owner;
}

/** Builds the tree of a snapshot; throws when the snapshot is missing or malformed. */
export function buildElementTree(sd: StructureDefinition): ElementNode {
  const elements = sd.snapshot?.element;
  const first = elements?.[0];
  if (!elements || !first) throw new Error(`StructureDefinition ${sd.url ?? sd.id ?? '?'} has no snapshot`);
  const root = makeNode(first);
  const stack: ElementNode[] = [root];
  for (const def of elements.slice(1)) {
    const node = makeNode(def);
    if (def.sliceName !== undefined) {
      // A slice: its owner is the element with the same path (or, for a re-slice, that slice).
      while (stack.length > 1 && stack[stack.length - 1]?.path !== def.path) stack.pop();
      let owner = stack[stack.length - 1];
      if (owner?.path !== def.path) throw new Error(`Slice ${def.id ?? def.path}:${def.sliceName} has no sliced element before it`);
      // The top of the stack may be an earlier slice of the same element: go back to the base element.
      while (owner.sliceName !== undefined && stack.length > 1) {
        stack.pop();
        const below = stack[stack.length - 1];
        if (below?.path !== def.path) break;
        owner = below;
      }
      // `owner` is now the unsliced element (the stack's element below it is its parent).
      const base = owner;
      const target = def.sliceName.includes('/') ? sliceOwner(base, def.sliceName) : base;
      target.slices.push(node);
      // Keep the base element on the stack, then the slice (its children follow it).
      if (stack[stack.length - 1] !== base) stack.push(base);
      stack.push(node);
      continue;
    }
    const pp = parentPath(def.path);
    while (stack.length > 1 && stack[stack.length - 1]?.path !== pp) stack.pop();
    const parent = stack[stack.length - 1];
    if (!parent || parent.path !== pp) throw new Error(`Element ${def.path} has no parent ${pp} before it`);
    parent.children.push(node);
    stack.push(node);
  }
  return root;
}

/** Every node of a tree below (and including) `node`, base elements and slices. */
export function* walkTree(node: ElementNode): Generator<ElementNode> {
  yield node;
  for (const c of node.children) yield* walkTree(c);
  for (const s of node.slices) yield* walkTree(s);
}

/** The unsliced node with this exact path (for `contentReference: #Path`). */
export function findByPath(root: ElementNode, path: string): ElementNode | undefined {
  if (root.path === path) return root;
  for (const c of root.children) {
    if (path === c.path || path.startsWith(`${c.path}.`)) {
      const f = findByPath(c, path);
      if (f) return f;
    }
  }
  return undefined;
}
