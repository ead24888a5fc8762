/**
 * FHIRPath invariants of element definitions (FHIR R4 elementdefinition.html `ElementDefinition.constraint`,
 * conformance-rules.html §2.1.0 "Invariants"): each constraint with an `expression` is compiled once
 * with fhirpath.js. A few base-spec invariants that hold on every element or every resource are
 * implemented natively (same meaning, no interpreter call):
 * - ele-1 "All FHIR elements must have a @value or children": enforced by the R4 JSON schema of the base
 *   validator (no empty objects, strings or arrays), not re-evaluated here;
 * - ext-1 "Must have either extensions or value[x], not both";
 * - dom-2..dom-5 are only evaluated when `contained` is present; dom-3 natively (references '#id');
 * - dom-6 "A resource should have narrative" (warning);
 * - que-7 "If the operator is 'exists', the value must be a boolean" (fhirpath.js misreads `is Boolean` on a choice element);
 * - ref-1 "SHALL have a contained resource if a local reference is provided".
 * Other simple expressions (boolean combinations of exists()/empty()/count()/=/in over plain paths) are
 * evaluated by native-invariants.ts, which defers to fhirpath.js whenever the JSON is outside its shapes;
 * per-1 and obs-7 have shortcuts for their plain cases (invariant-shortcuts.ts), deferring likewise.
 * An invariant that throws in fhirpath.js is reported as a warning naming its key, never a crash.
 */
import type { ElementDefinition, ElementDefinitionConstraint } from 'fhir/r4';
import { compileFhirPath, type CompiledFhirPath } from './fhirpath-r4';
import { invariantShortcut } from './invariant-shortcuts';
import { compileNativeInvariant, FALLBACK } from './native-invariants';

export interface InvariantEnv {
  /** The resource holding the element (a contained resource for elements inside it). */
  resource: Record<string, unknown>;
  /** The outermost resource that is not contained (a Bundle entry's resource is its own root). */
  rootResource: Record<string, unknown>;
}

export interface Invariant {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression: string;
  /** true when satisfied, false when violated; throws when the expression cannot be evaluated. */
  check(value: unknown, env: InvariantEnv): boolean;
}

const EXPRESSIONS = {
  'ele-1': 'hasValue() or (children().count() > id.count())',
  'ext-1': 'extension.exists() != value.exists()',
  'dom-2': 'contained.contained.empty()',
  'dom-3': "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
  'dom-4': 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
  'dom-5': 'contained.meta.security.empty()',
  'dom-6': 'text.`div`.exists()',
  'ref-1': "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
  // fhirpath.js answers `answer is Boolean` false for a FHIR boolean (a choice element typed FHIR.boolean).
  'que-7': "operator = 'exists' implies (answer is Boolean)",
} as const;

type NativeCheck = ((value: unknown, env: InvariantEnv) => boolean) | 'skip';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasContained(v: unknown): boolean {
  return isObject(v) && Array.isArray(v.contained) && v.contained.length > 0;
}

/** Every string value below `v` (object values and array items). */
function collectStrings(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out);
  else if (isObject(v)) for (const x of Object.values(v)) collectStrings(x, out);
}

/** dom-3: every contained resource is referenced ('#id') from somewhere in the resource, or refers to its container ('#'). */
function dom3(value: unknown): boolean {
  if (!hasContained(value)) return true;
  const strings = new Set<string>();
  collectStrings(value, strings);
  const contained = (value as { contained: unknown[] }).contained;
  return contained.every((c) => {
    if (!isObject(c)) return true;
    if (typeof c.id === 'string' && strings.has(`#${c.id}`)) return true;
    const inner = new Set<string>();
    collectStrings(c, inner);
    return inner.has('#');
  });
}

function ext1(value: unknown): boolean {
  if (!isObject(value)) return true;
  const hasExt = Array.isArray(value.extension) && value.extension.length > 0;
  const hasValue = Object.keys(value).some((k) => k.startsWith('value') && k.length > 5);
  return hasExt !== hasValue;
}

function ref1(value: unknown, env: InvariantEnv): boolean {
  if (!isObject(value) || typeof value.reference !== 'string' || !value.reference.startsWith('#')) return true;
  const id = value.reference.slice(1);
  if (id === '') return true; // '#': the container itself
  const contained = env.rootResource.contained;
  return Array.isArray(contained) && contained.some((c) => isObject(c) && c.id === id);
}

function nativeFor(c: ElementDefinitionConstraint): NativeCheck | undefined {
  const key = c.key as keyof typeof EXPRESSIONS;
  if (!(key in EXPRESSIONS) || EXPRESSIONS[key] !== c.expression) return undefined;
  switch (key) {
    case 'ele-1':
      return 'skip';
    case 'ext-1':
      return ext1;
    case 'dom-3':
      return dom3;
    case 'dom-6':
      return (v) => isObject(v) && isObject(v.text) && v.text.div !== undefined;
    case 'ref-1':
      return ref1;
    case 'que-7':
      return (v) => !isObject(v) || v.operator !== 'exists' || typeof v.answerBoolean === 'boolean';
    default:
      return undefined; // dom-2, dom-4, dom-5: evaluated only when `contained` is present (below)
  }
}

const CONTAINED_ONLY = new Set(['dom-2', 'dom-4', 'dom-5']);

/** Whether a fhirpath.js result satisfies an invariant: false only for a result whose first item is false (empty = satisfied). */
function truthy(result: unknown[]): boolean {
  return result[0] !== false;
}

/**
 * The invariants of an element definition, compiled once. `base` is the FHIRPath type context of the
 * element (e.g. `Patient.contact`, `Observation.valueQuantity`, `Quantity`).
 */
export function compileInvariants(def: ElementDefinition, base: string): Invariant[] {
  const out: Invariant[] = [];
  for (const c of def.constraint ?? []) {
    if (!c.expression) continue;
    const severity = c.severity === 'warning' ? 'warning' : 'error';
    const common = { key: c.key, severity, human: c.human, expression: c.expression } as const;
    const native = nativeFor(c);
    if (native === 'skip') continue;
    if (native) {
      out.push({ ...common, check: native });
      continue;
    }
    let fn: CompiledFhirPath | undefined;
    let compileError: unknown;
    const lazy = (): CompiledFhirPath => {
      if (fn) return fn;
      if (compileError !== undefined) throw compileError;
      try {
        fn = compileFhirPath(base, c.expression as string);
        return fn;
      } catch (e) {
        compileError = e;
        throw e;
      }
    };
    const containedOnly = CONTAINED_ONLY.has(c.key) && EXPRESSIONS[c.key as keyof typeof EXPRESSIONS] === c.expression;
    const fast = compileNativeInvariant(base, c.expression) ?? invariantShortcut(c.key, c.expression);
    out.push({
      ...common,
      check: (value, env) => {
        if (containedOnly && !hasContained(value)) return true;
        if (fast) {
          const r = fast(value);
          if (r !== FALLBACK) return r !== false;
        }
        return truthy(lazy()(value, { resource: env.resource, rootResource: env.rootResource }));
      },
    });
  }
  return out;
}
