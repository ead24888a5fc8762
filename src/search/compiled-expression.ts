/**
 * Search-parameter expressions compiled to plain JavaScript (FHIR R4 §3.1.1 search.html,
 * `SearchParameter.expression`; FHIRPath N1 §5 "Navigation model", §5.2 `where`, §5.3 `[n]`, §6.3
 * `ofType`, and FHIR R4 fhirpath.html §2.1.9.1 for the FHIR type names and choice elements).
 *
 * The common shapes of the R4 SearchParameter expressions, one union branch at a time: a path from
 * the resource (`Patient.name`, `Resource.meta.tag`, parenthesised and followed by more of the chain
 * as in `(Observation.value.ofType(CodeableConcept)).text`), member access (choice elements
 * `value` read from `valueQuantity` etc.), `[n]`, `ofType(T)` (after `rewriteAs`), the rewritten
 * `where(resolve() is T)` (`where(type = 'T' or reference.startsWith('T/') or reference.contains('/T/'))`),
 * `where(prop = 'literal')` and the flag `P.exists() and P != false` (Patient.deceased). Anything
 * else is not compiled (`compileSearchExpression` answers undefined) and stays with fhirpath.js.
 *
 * Each result carries what fhirpath.js's ResourceNode gives the extractor: the JSON value, the FHIR
 * datatype (`path2Type` of the element path, choice suffix included; a resource's `resourceType`),
 * and the element path of a `code` (`parent node path` + `.` + property, with fhirpath.js's
 * `pathsDefinedElsewhere` / `path2TypeWithoutElements` mapping), computed the way
 * fhirpath.js's `makeChildResNodes` does. At run time the function answers FALLBACK whenever the JSON
 * strays from the shapes it reproduces exactly (a `_name` primitive extension or id, a null in an
 * array, a number or a path unknown to the model, a `where` operand of an unexpected JSON type):
 * the extractor then evaluates the expression with fhirpath.js, so the entries are always the same.
 */
import { fhirpathR4Model } from '../definitions/r4-package';
import { splitUnion } from './parameters';

/** Returned when fhirpath.js must evaluate the expression. */
export const FALLBACK: unique symbol = Symbol('fallback');

/** One result of a compiled expression: what the extractor reads from a fhirpath.js result node. */
export interface TypedValue {
  /** The JSON value (fhirpath.js `util.valData`). */
  value: unknown;
  /** The FHIR datatype without namespace (fhirpath.js `types()` without `FHIR.`). */
  fhirType: string;
  /** The node's own path (fhirpath.js `ResourceNode.path`). */
  path: string;
  /** The element path of the value (`Patient.gender`, `Address.use`), when it has a parent. */
  elementPath: string | undefined;
}

export type CompiledExpression = (resource: unknown) => TypedValue[] | typeof FALLBACK;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Model {
  path2Type: Record<string, string | undefined>;
  choiceTypePaths: Record<string, string[] | undefined>;
  pathsDefinedElsewhere: Record<string, string | undefined>;
  path2TypeWithoutElements?: Record<string, string | undefined>;
  type2Parent?: Record<string, string | undefined>;
}

type Step =
  | { k: 'member'; name: string }
  | { k: 'index'; n: number }
  | { k: 'ofType'; type: string; fhirNamespace: boolean }
  | { k: 'whereRefType'; type: string }
  | { k: 'whereEq'; prop: string; literal: string };

/** A runtime failure to reproduce fhirpath.js exactly. */
class Fallback extends Error {}
const FB = new Fallback('fallback');

const IDENT = /^[A-Za-z][A-Za-z0-9_]*/;
const RESOLVE_WHERE = /^\.where\(type = '([A-Za-z]+)' or reference\.startsWith\('([A-Za-z]+)\/'\) or reference\.contains\('\/([A-Za-z]+)\/'\)\)/;
const WHERE_EQ = /^\.where\(\s*([a-z][A-Za-z0-9]*)\s*=\s*'([^'\\]*)'\s*\)/;
const OF_TYPE = /^\.ofType\(\s*(FHIR\.)?([A-Za-z]+)\s*\)/;
/** fhirpath.js's automatic FHIR-to-System conversions that `ofType` accepts (types.js). */
const SYSTEM_CONVERSION: Readonly<Record<string, string>> = {
  boolean: 'Boolean', string: 'String', uri: 'String', code: 'String', oid: 'String', id: 'String', uuid: 'String', markdown: 'String', base64Binary: 'String',
  integer: 'Integer', unsignedInt: 'Integer', positiveInt: 'Integer', integer64: 'Long', decimal: 'Decimal', date: 'DateTime', dateTime: 'DateTime', instant: 'DateTime', time: 'Time', Quantity: 'Quantity',
};

/** Parses one union branch into its steps, or undefined when it is not a compiled shape. */
function parseBranch(branch: string, resourceType: string): Step[] | undefined {
  let s = branch.trim();
  // A parenthesised head: `(path)` followed by more of the chain.
  let inner: Step[] | undefined;
  if (s.startsWith('(')) {
    let depth = 0;
    let close = -1;
    for (let i = 0; i < s.length; i++) {
      if (s[i] === "'") return undefined; // no literals inside a parenthesised head
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) {
        close = i;
        break;
      }
    }
    if (close < 0) return undefined;
    inner = parseBranch(s.slice(1, close), resourceType);
    if (inner === undefined) return undefined;
    s = s.slice(close + 1);
  } else {
    const head = IDENT.exec(s)?.[0];
    if (head === undefined || (head !== resourceType && head !== 'Resource' && head !== 'DomainResource')) return undefined;
    s = s.slice(head.length);
    inner = [];
  }
  const steps = [...inner];
  while (s.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = RESOLVE_WHERE.exec(s)) && m[1] === m[2] && m[2] === m[3]) steps.push({ k: 'whereRefType', type: m[1]! });
    else if ((m = WHERE_EQ.exec(s))) steps.push({ k: 'whereEq', prop: m[1]!, literal: m[2]! });
    else if ((m = OF_TYPE.exec(s))) steps.push({ k: 'ofType', type: m[2]!, fhirNamespace: m[1] !== undefined });
    else if ((m = /^\[(\d+)\]/.exec(s))) steps.push({ k: 'index', n: Number(m[1]) });
    else if ((m = /^\.([A-Za-z][A-Za-z0-9_]*)(?![A-Za-z0-9_(])/.exec(s))) {
      // `extension` has its own path rules in fhirpath.js (childPath `Extension`): not compiled.
      if (m[1] === 'extension' || m[1] === 'modifierExtension') return undefined;
      steps.push({ k: 'member', name: m[1]! });
    } else return undefined;
    s = s.slice(m[0].length);
  }
  return steps;
}

/** How a property of a node with a given path is read (fhirpath.js makeChildResNodes), memoised per path. */
interface MemberPlan {
  /** The children's element path: the parent node's path, `.`, the property. */
  elementPath: string;
  /** JSON field names to try, in order, each with its primitive-extension sibling and the child's element path. */
  fields: Array<{ field: string; primitiveField: string; fhirType: string | undefined; bareType: string | undefined; nodePath: string }>;
}

/**
 * Plans by parent path, then property name. Two levels instead of one `parent.name` key: the
 * lookups then hash strings that already exist (node paths from earlier plans, a step's property
 * name) rather than building and hashing a new string for every node visited.
 */
const plans = new Map<string, Map<string, MemberPlan>>();

/** The FHIR type name without the namespace prefix that fhirpath.js's `types()` gives. */
const bareTypeName = (t: string): string => t.replace(/^(FHIR|System)\./, '');

function memberPlan(model: Model, parentPath: string, name: string): MemberPlan {
  let byName = plans.get(parentPath);
  if (byName === undefined) plans.set(parentPath, (byName = new Map()));
  let plan = byName.get(name);
  if (plan) return plan;
  const key = `${parentPath}.${name}`;
  const childPath = model.pathsDefinedElsewhere[key] ?? key;
  const choices = model.choiceTypePaths[childPath];
  const resolve = (p: string, field: string): MemberPlan['fields'][number] => {
    const fhirType = model.path2Type[p];
    return { field, primitiveField: `_${field}`, fhirType, bareType: fhirType === undefined ? undefined : bareTypeName(fhirType), nodePath: model.path2TypeWithoutElements?.[p] ?? p };
  };
  plan = { elementPath: key, fields: choices ? choices.map((t) => resolve(childPath + t, name + t)) : [resolve(childPath, name)] };
  byName.set(name, plan);
  return plan;
}

/** A compiled-path node: the value and its fhirpath.js node path and type. */
interface Item {
  value: unknown;
  path: string;
  fhirType: string;
  /** `fhirType` without its `FHIR.` / `System.` prefix. */
  bareType: string;
  elementPath: string | undefined;
}

/** The node fhirpath.js makes of one value of a property (its `makeChildResNodes`). */
function childItem(x: unknown, field: MemberPlan['fields'][number], elementPath: string): Item {
  if (x === null || x === undefined) throw FB;
  // fhirpath.js takes any value with a truthy `resourceType` for a resource (its own path and type).
  if (isObj(x) && x.resourceType) {
    if (typeof x.resourceType !== 'string') throw FB;
    return { value: x, path: x.resourceType, fhirType: x.resourceType, bareType: bareTypeName(x.resourceType), elementPath };
  }
  if (field.fhirType === undefined) throw FB;
  return { value: x, path: field.nodePath, fhirType: field.fhirType, bareType: field.bareType!, elementPath };
}

function children(model: Model, item: Item, name: string, out: Item[]): void {
  const data = item.value;
  if (!isObj(data)) {
    // A primitive has no children (its `_name` sibling was refused when it was read); numbers are
    // FP_Decimal objects in fhirpath.js: not reproduced.
    if (typeof data === 'number') throw FB;
    return;
  }
  const plan = memberPlan(model, item.path, name);
  for (const f of plan.fields) {
    const v = data[f.field];
    if (data[f.primitiveField] !== undefined) throw FB;
    if (v === undefined) continue;
    // The first choice field present is the one fhirpath.js reads.
    if (v === null) return;
    if (Array.isArray(v)) for (const x of v) out.push(childItem(x, f, plan.elementPath));
    else out.push(childItem(v, f, plan.elementPath));
    return;
  }
}

function derives(model: Model, type: string, ancestor: string): boolean {
  let t: string | undefined = type;
  for (let depth = 0; t !== undefined && depth < 20; depth++) {
    if (t === ancestor) return true;
    t = model.type2Parent?.[t];
  }
  return false;
}

function applyStep(model: Model, step: Step, items: Item[]): Item[] {
  switch (step.k) {
    case 'member': {
      const out: Item[] = [];
      for (const it of items) children(model, it, step.name, out);
      return out;
    }
    case 'index':
      return step.n < items.length ? [items[step.n]!] : [];
    case 'ofType':
      return items.filter((it) => {
        if (it.fhirType.startsWith('System.')) throw FB;
        return (!step.fhirNamespace && SYSTEM_CONVERSION[it.fhirType] === step.type) || derives(model, it.fhirType, step.type);
      });
    case 'whereRefType':
      return items.filter((it) => {
        const d = it.value;
        if (!isObj(d)) return false;
        if (d._type !== undefined || d._reference !== undefined) throw FB;
        const t = d.type;
        const r = d.reference;
        if ((t !== undefined && typeof t !== 'string') || (r !== undefined && typeof r !== 'string')) throw FB;
        return t === step.type || (r !== undefined && (r.startsWith(`${step.type}/`) || r.includes(`/${step.type}/`)));
      });
    case 'whereEq':
      return items.filter((it) => {
        const got: Item[] = [];
        children(model, it, step.prop, got);
        if (got.length === 0) return false;
        if (got.length > 1 || typeof got[0]!.value !== 'string') throw FB;
        return got[0]!.value === step.literal;
      });
  }
}

/** `P.exists() and P != false` (Patient.deceased): a flag, true when P is present and not `false`. */
const EXISTS_NOT_FALSE = /^([A-Za-z][A-Za-z0-9_.]*)\.exists\(\) and ([A-Za-z][A-Za-z0-9_.]*) != false$/;

interface Branch {
  steps: Step[];
  /** The branch is `steps.exists() and steps != false`. */
  existsNotFalse: boolean;
}

/**
 * FHIRPath's value of `P.exists() and P != false` (N1 §6.5 three-valued `and`, §6.1 `!=`): false when
 * P is empty; for one boolean, that boolean; for one string (a dateTime), true (values of different
 * types are not equal). A System.Boolean, as fhirpath.js types a computed boolean.
 */
function existsAndNotFalse(items: readonly Item[]): TypedValue {
  const flag = (value: boolean): TypedValue => ({ value, fhirType: 'Boolean', path: '', elementPath: undefined });
  if (items.length === 0) return flag(false);
  if (items.length > 1) throw FB;
  const v = items[0]!.value;
  if (typeof v === 'boolean') return flag(v);
  if (typeof v === 'string') return flag(true);
  throw FB;
}

/**
 * The compiled form of a search expression for `resourceType` (every union branch compiled, results
 * concatenated in branch order as `compileExpression` in parameters.ts does), or undefined when a
 * branch is not one of the compiled shapes.
 */
export function compileSearchExpression(expression: string, resourceType: string): CompiledExpression | undefined {
  const model = fhirpathR4Model() as unknown as Model;
  const branches: Branch[] = [];
  for (const b of splitUnion(expression)) {
    const flag = EXISTS_NOT_FALSE.exec(b);
    const steps = parseBranch(flag ? flag[1]! : b, resourceType);
    if (steps === undefined || steps.length === 0 || (flag && flag[1] !== flag[2])) return undefined;
    branches.push({ steps, existsNotFalse: flag !== null });
  }
  return (resource: unknown): TypedValue[] | typeof FALLBACK => {
    if (!isObj(resource) || resource.resourceType !== resourceType) return FALLBACK;
    const root: Item = { value: resource, path: resourceType, fhirType: resourceType, bareType: resourceType, elementPath: undefined };
    const out: TypedValue[] = [];
    try {
      for (const { steps, existsNotFalse } of branches) {
        let items = [root];
        for (const step of steps) {
          items = applyStep(model, step, items);
          if (items.length === 0) break;
        }
        if (existsNotFalse) {
          out.push(existsAndNotFalse(items));
          continue;
        }
        for (const it of items) {
          if (typeof it.value === 'number' || typeof it.value === 'bigint') return FALLBACK;
          out.push({ value: it.value, fhirType: it.bareType, path: it.path, elementPath: it.elementPath });
        }
      }
    } catch (err) {
      if (err instanceof Fallback) return FALLBACK;
      throw err;
    }
    return out;
  };
}
