/**
 * Slice assignment (FHIR R4 profiling.html §5.1.0.10 "Slicing"): each item of a sliced element is
 * assigned to the slice(s) whose discriminators it matches; then the slicing rules are applied:
 * - an item matching more than one slice is an error (the first one is used for its validation);
 * - `closed`: an item matching no slice is an error; `openAtEnd`: unmatched items must come last;
 * - `ordered`: matched items must appear in the order of the slices;
 * - slice cardinality (min/max of each slice);
 * - re-slicing: a matched slice that is itself sliced assigns its items to its own slices.
 */
import type { ValidationIssue } from '../schema-issues';
import type { CompiledNode } from './compiled-node';

export interface SliceItem {
  path: string;
}

/** Whether `item` matches `slice` (all discriminators of the slicing hold). */
export type SliceMatcher<I> = (slice: CompiledNode, sliced: CompiledNode, item: I) => boolean;

function err(code: ValidationIssue['code'], diagnostics: string, path: string, severity: ValidationIssue['severity'] = 'error'): ValidationIssue {
  return { severity, code, diagnostics, expression: [path] };
}

/**
 * The node each item is validated against (its deepest matching slice, or the sliced element
 * itself) and the issues of the slicing rules. `elementPath` names the element (for slice counts).
 */
export function assignSlices<I extends SliceItem>(
  items: readonly I[],
  sliced: CompiledNode,
  elementPath: string,
  matches: SliceMatcher<I>,
  issues: ValidationIssue[],
): CompiledNode[] {
  const out: CompiledNode[] = items.map(() => sliced);
  const slicing = sliced.slicing;
  if (!slicing || sliced.slices.length === 0) {
    if (slicing?.rules === 'closed' && items.length > 0 && sliced.sliceName === undefined) {
      for (const item of items) issues.push(err('structure', `${item.path}: does not match any slice of ${sliced.path} (slicing is closed and defines no slices)`, item.path));
    }
    return out;
  }
  const assigned: Array<number | undefined> = [];
  let unmatchedSeen = false;
  let lastIndex = -1;
  items.forEach((item, i) => {
    const hits: number[] = [];
    sliced.slices.forEach((s, si) => {
      if (matches(s, sliced, item)) hits.push(si);
    });
    const first = hits[0];
    if (first === undefined) {
      assigned.push(undefined);
      unmatchedSeen = true;
      if (slicing.rules === 'closed') {
        issues.push(err('structure', `${item.path}: does not match any slice of ${sliced.path}${sliced.sliceName ? `:${sliced.sliceName}` : ''} and the slicing is closed`, item.path));
      }
      return;
    }
    if (hits.length > 1) {
      const names = hits.map((h) => sliced.slices[h]?.sliceName ?? '?').join(', ');
      issues.push(err('structure', `${item.path}: matches more than one slice of ${sliced.path} (${names})`, item.path));
    }
    assigned.push(first);
    const slice = sliced.slices[first];
    if (slice) out[i] = slice;
    if (slicing.rules === 'openAtEnd' && unmatchedSeen) {
      issues.push(err('structure', `${item.path}: matches slice ${slice?.sliceName ?? '?'} after an item that matches no slice (the slicing is openAtEnd)`, item.path));
    }
    if (slicing.ordered && first < lastIndex) {
      issues.push(err('structure', `${item.path}: slice ${slice?.sliceName ?? '?'} is out of order (the slicing of ${sliced.path} is ordered)`, item.path));
    }
    lastIndex = Math.max(lastIndex, first);
  });
  sliced.slices.forEach((slice, si) => {
    const members: number[] = [];
    assigned.forEach((a, i) => {
      if (a === si) members.push(i);
    });
    const name = slice.sliceName ?? '?';
    if (members.length < slice.min) {
      issues.push(err('required', `${elementPath}: slice '${name}' requires at least ${slice.min} item(s), found ${members.length}`, elementPath));
    }
    if (members.length > slice.max) {
      issues.push(err('structure', `${elementPath}: slice '${name}' allows at most ${slice.max} item(s), found ${members.length}`, elementPath));
    }
    // Re-slicing: the slice's own slices, over the items of this slice.
    if (slice.slicing && members.length > 0) {
      const sub = members.map((m) => items[m] as I);
      const deeper = assignSlices(sub, slice, elementPath, matches, issues);
      members.forEach((m, k) => {
        const d = deeper[k];
        if (d) out[m] = d;
      });
    } else if (slice.slicing && slice.slices.length > 0) {
      for (const s of slice.slices) {
        if (s.min > 0) issues.push(err('required', `${elementPath}: slice '${s.sliceName ?? '?'}' requires at least ${s.min} item(s), found 0`, elementPath));
      }
    }
  });
  return out;
}
