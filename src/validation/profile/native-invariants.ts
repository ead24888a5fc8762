/**
 * Native evaluation of the simple FHIRPath invariants of the R4 base definitions (FHIR R4
 * elementdefinition.html `ElementDefinition.constraint.expression`, fhirpath.html / FHIRPath N1 §5-6:
 * `exists()`, `empty()`, `count()`, `not()`, `=`/`!=`, `in`, integer `+`/comparisons, three-valued
 * `and`/`or`/`xor`/`implies`). An expression is compiled into a plain closure over the JSON only when
 * every path resolves in fhirpath.js's R4 model (choice elements expanded to their typed JSON names);
 * anything else is left to fhirpath.js. At run time the closure answers FALLBACK whenever the JSON
 * strays from the simple shapes it understands (a `_name` primitive extension, a null, a collection of
 * more than one item where a singleton is needed, a value of an unexpected JSON type), and the caller
 * then evaluates the expression with fhirpath.js: the verdict is always fhirpath.js's.
 */
import { fhirpathR4Model } from '../../definitions/r4-package';

/** Returned by a native invariant when fhirpath.js must decide. */
export const FALLBACK: unique symbol = Symbol('fallback');

/** The FHIRPath result of an invariant: true, false, or empty (undefined), or FALLBACK. */
export type NativeResult = boolean | undefined | typeof FALLBACK;
export type NativeInvariant = (value: unknown) => NativeResult;

type Item = string | number | boolean | Record<string, unknown>;
type Coll = Item[];
type Eval = (node: Record<string, unknown>) => Coll;

class Fallback extends Error {}
const FB = new Fallback('fallback');

type Kind = { k: 'bool' } | { k: 'int' } | { k: 'lit'; t: 'string' | 'number' | 'boolean' } | { k: 'path'; prim: 'string' | 'number' | 'boolean' | undefined };
interface Node {
  kind: Kind;
  ev: Eval;
}

const STRING_TYPES = new Set(['string', 'code', 'id', 'uri', 'url', 'canonical', 'markdown', 'oid', 'uuid']);
const NUMBER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal']);

function primKind(type: string): 'string' | 'number' | 'boolean' | undefined {
  if (STRING_TYPES.has(type)) return 'string';
  if (NUMBER_TYPES.has(type)) return 'number';
  if (type === 'boolean') return 'boolean';
  return undefined;
}

function isPrimitiveName(type: string): boolean {
  return /^[a-z]/.test(type);
}

// ---- tokenizer ----
type Tok = { t: 'id'; v: string } | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'op'; v: string };

function tokenize(src: string): Tok[] | undefined {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j] as string)) j++;
      out.push({ t: 'id', v: src.slice(i, j) });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[0-9]/.test(src[j] as string)) j++;
      if (src[j] === '.' && /[0-9]/.test(src[j + 1] ?? '')) return undefined; // decimals: not handled
      out.push({ t: 'num', v: Number(src.slice(i, j)) });
      i = j;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== "'") {
        if (src[j] === '\\') return undefined;
        j++;
      }
      if (j >= src.length) return undefined;
      out.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=') {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if ('().=<>+|'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    return undefined;
  }
  return out;
}

// ---- three-valued helpers ----
function single(c: Coll): Item | undefined {
  if (c.length === 0) return undefined;
  if (c.length > 1) throw FB;
  return c[0];
}

function boolOf(c: Coll): boolean | undefined {
  const v = single(c);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw FB;
  return v;
}

const T: Coll = [true];
const F: Coll = [false];
const E: Coll = [];
const b = (v: boolean | undefined): Coll => (v === undefined ? E : v ? T : F);

// ---- path navigation ----
/** The JSON type a FHIR type's values have (R4 json.html). */
type JsonKind = 'object' | 'string' | 'number' | 'boolean';

interface Step {
  keys: string[];
  /** expected JSON type of the values of each key (same order) */
  kinds: JsonKind[];
}

const PRIMITIVES = new Set(['boolean', 'integer', 'string', 'decimal', 'uri', 'url', 'canonical', 'base64Binary', 'instant', 'date', 'dateTime', 'time', 'code', 'oid', 'id', 'markdown', 'unsignedInt', 'positiveInt', 'uuid', 'xhtml']);

function jsonKind(fhirType: string): JsonKind {
  const t = PRIMITIVES.has(fhirType) ? fhirType : `${fhirType[0]?.toLowerCase() ?? ''}${fhirType.slice(1)}`;
  if (!PRIMITIVES.has(t)) return 'object';
  if (t === 'boolean') return 'boolean';
  if (t === 'integer' || t === 'decimal' || t === 'unsignedInt' || t === 'positiveInt') return 'number';
  return 'string';
}

function hasKind(v: unknown, kind: JsonKind): boolean {
  return kind === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === kind;
}

function navigate(items: Coll, step: Step): Coll {
  const out: Coll = [];
  for (const it of items) {
    if (typeof it !== 'object' || Array.isArray(it)) throw FB;
    for (let i = 0; i < step.keys.length; i++) {
      const key = step.keys[i] as string;
      const kind = step.kinds[i] as JsonKind;
      if (it[`_${key}`] !== undefined) throw FB;
      const v = it[key];
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        for (const x of v) {
          if (!hasKind(x, kind)) throw FB;
          out.push(x as Item);
        }
      } else if (!hasKind(v, kind)) throw FB;
      else out.push(v as Item);
    }
  }
  return out;
}

// ---- parser ----
class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly base: string,
  ) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }
  private isKw(v: string): boolean {
    const t = this.peek();
    return t?.t === 'id' && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw FB;
    this.i++;
  }

  parseAll(): Node {
    const n = this.implies();
    if (this.i !== this.toks.length || n.kind.k !== 'bool') throw FB;
    return n;
  }

  private implies(): Node {
    let l = this.or();
    while (this.isKw('implies')) {
      this.i++;
      const r = this.or();
      l = logic(l, r, 'implies');
    }
    return l;
  }
  private or(): Node {
    let l = this.and();
    while (this.isKw('or') || this.isKw('xor')) {
      const op = (this.peek() as { v: string }).v as 'or' | 'xor';
      this.i++;
      l = logic(l, this.and(), op);
    }
    return l;
  }
  private and(): Node {
    let l = this.member();
    while (this.isKw('and')) {
      this.i++;
      l = logic(l, this.member(), 'and');
    }
    return l;
  }
  private member(): Node {
    const l = this.eq();
    if (!this.isKw('in')) return l;
    this.i++;
    this.expectOp('(');
    const set = new Set<string>();
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'str') throw FB;
      set.add(t.v);
      this.i++;
      if (this.isOp('|')) {
        this.i++;
        continue;
      }
      break;
    }
    this.expectOp(')');
    if (l.kind.k !== 'path' || l.kind.prim !== 'string') throw FB;
    const ev = l.ev;
    return {
      kind: { k: 'bool' },
      ev: (n) => {
        const v = single(ev(n));
        if (v === undefined) return E;
        if (typeof v !== 'string') throw FB;
        return b(set.has(v));
      },
    };
  }
  private eq(): Node {
    const l = this.cmp();
    if (!this.isOp('=') && !this.isOp('!=')) return l;
    const neg = (this.peek() as { v: string }).v === '!=';
    this.i++;
    const r = this.cmp();
    return equality(l, r, neg);
  }
  private cmp(): Node {
    const l = this.add();
    for (const op of ['<=', '>=', '<', '>'] as const) {
      if (this.isOp(op)) {
        this.i++;
        const r = this.add();
        if (!isNumeric(l) || !isNumeric(r)) throw FB;
        const le = l.ev;
        const re = r.ev;
        const f = op === '<=' ? (a: number, c: number) => a <= c : op === '>=' ? (a: number, c: number) => a >= c : op === '<' ? (a: number, c: number) => a < c : (a: number, c: number) => a > c;
        return {
          kind: { k: 'bool' },
          ev: (n) => {
            const a = single(le(n));
            const c = single(re(n));
            if (a === undefined || c === undefined) return E;
            if (typeof a !== 'number' || typeof c !== 'number') throw FB;
            return b(f(a, c));
          },
        };
      }
    }
    return l;
  }
  private add(): Node {
    let l = this.term();
    while (this.isOp('+')) {
      this.i++;
      const r = this.term();
      if (!isInt(l) || !isInt(r)) throw FB;
      const le = l.ev;
      const re = r.ev;
      l = { kind: { k: 'int' }, ev: (n) => [intOf(le(n)) + intOf(re(n))] };
    }
    return l;
  }
  private term(): Node {
    const t = this.peek();
    let node: Node;
    if (t === undefined) throw FB;
    if (t.t === 'op' && t.v === '(') {
      this.i++;
      node = this.implies();
      this.expectOp(')');
    } else if (t.t === 'str') {
      this.i++;
      const v = t.v;
      node = { kind: { k: 'lit', t: 'string' }, ev: () => [v] };
    } else if (t.t === 'num') {
      this.i++;
      const v = t.v;
      node = { kind: { k: 'lit', t: 'number' }, ev: () => [v] };
    } else if (t.t === 'id' && (t.v === 'true' || t.v === 'false')) {
      this.i++;
      const v = t.v === 'true';
      node = { kind: { k: 'lit', t: 'boolean' }, ev: () => [v] };
    } else if (t.t === 'id') {
      node = this.path();
    } else throw FB;
    return this.functions(node);
  }

  /** `a.b.c` (stops before a function call); resolved against the model. */
  private path(): Node {
    const steps: Step[] = [];
    let typePath = resolveBase(this.base);
    let prim: 'string' | 'number' | 'boolean' | undefined;
    let last = false;
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'id' || KEYWORDS.has(t.v)) throw FB;
      if (last) throw FB; // navigation below a primitive or a choice
      if (!/^[a-z]/.test(t.v)) throw FB; // type names, $this, %vars: fhirpath.js
      this.i++;
      if (this.isOp('(')) throw FB; // a function this compiler does not know
      const r = resolveChild(typePath, t.v);
      steps.push({ keys: r.keys, kinds: r.kinds });
      prim = r.prim;
      last = r.terminal;
      typePath = r.next;
      // continue only for `.ident` that is not a function call
      const nextIsCall = this.toks[this.i + 2]?.t === 'op' && (this.toks[this.i + 2] as { v: string }).v === '(';
      if (this.isOp('.') && this.toks[this.i + 1]?.t === 'id' && !nextIsCall) {
        this.i++;
        continue;
      }
      break;
    }
    return {
      kind: { k: 'path', prim },
      ev: (n) => {
        let c: Coll = [n];
        for (const s of steps) c = navigate(c, s);
        return c;
      },
    };
  }

  private functions(node: Node): Node {
    while (this.isOp('.')) {
      const f = this.toks[this.i + 1];
      if (f?.t !== 'id' || !FUNCTIONS.has(f.v)) throw FB;
      this.i += 2;
      this.expectOp('(');
      this.expectOp(')');
      const ev = node.ev;
      if (f.v === 'exists') {
        if (node.kind.k !== 'path' && node.kind.k !== 'bool') throw FB;
        node = { kind: { k: 'bool' }, ev: (n) => b(ev(n).length > 0) };
      } else if (f.v === 'empty') {
        if (node.kind.k !== 'path' && node.kind.k !== 'bool') throw FB;
        node = { kind: { k: 'bool' }, ev: (n) => b(ev(n).length === 0) };
      } else if (f.v === 'count') {
        if (node.kind.k !== 'path') throw FB;
        node = { kind: { k: 'int' }, ev: (n) => [ev(n).length] };
      } else {
        if (node.kind.k !== 'bool') throw FB;
        node = {
          kind: { k: 'bool' },
          ev: (n) => {
            const v = boolOf(ev(n));
            return v === undefined ? E : b(!v);
          },
        };
      }
    }
    return node;
  }
}

const KEYWORDS = new Set(['and', 'or', 'xor', 'implies', 'in', 'not', 'true', 'false', 'is', 'as', 'contains', 'div', 'mod']);
const FUNCTIONS = new Set(['exists', 'empty', 'count', 'not']);

function isInt(n: Node): boolean {
  return n.kind.k === 'int' || (n.kind.k === 'lit' && n.kind.t === 'number');
}

/** An integer expression or a path to an integer / decimal element. */
function isNumeric(n: Node): boolean {
  return isInt(n) || (n.kind.k === 'path' && n.kind.prim === 'number');
}

function intOf(c: Coll): number {
  const v = c[0];
  if (c.length !== 1 || typeof v !== 'number') throw FB;
  return v;
}

function logic(l: Node, r: Node, op: 'and' | 'or' | 'xor' | 'implies'): Node {
  if (l.kind.k !== 'bool' || r.kind.k !== 'bool') throw FB;
  const le = l.ev;
  const re = r.ev;
  let ev: Eval;
  switch (op) {
    case 'and':
      ev = (n) => {
        const a = boolOf(le(n));
        const c = boolOf(re(n)); // both sides, as fhirpath.js (an error on either side is fhirpath.js's to report)
        if (a === false || c === false) return F;
        return a === true && c === true ? T : E;
      };
      break;
    case 'or':
      ev = (n) => {
        const a = boolOf(le(n));
        const c = boolOf(re(n));
        if (a === true || c === true) return T;
        return a === false && c === false ? F : E;
      };
      break;
    case 'xor':
      ev = (n) => {
        const a = boolOf(le(n));
        const c = boolOf(re(n));
        return a === undefined || c === undefined ? E : b(a !== c);
      };
      break;
    default:
      ev = (n) => {
        const a = boolOf(le(n));
        const c = boolOf(re(n));
        if (a === false) return T;
        if (a === true) return b(c);
        return c === true ? T : E;
      };
  }
  return { kind: { k: 'bool' }, ev };
}

function equality(l: Node, r: Node, neg: boolean): Node {
  const typeOf = (n: Node): 'string' | 'number' | 'boolean' | undefined =>
    n.kind.k === 'lit' ? n.kind.t : n.kind.k === 'path' ? n.kind.prim : n.kind.k === 'bool' ? 'boolean' : n.kind.k === 'int' ? 'number' : undefined;
  const lt = typeOf(l);
  const rt = typeOf(r);
  if (lt === undefined || lt !== rt) throw FB;
  if (l.kind.k === 'path' && r.kind.k === 'path') throw FB;
  const le = l.ev;
  const re = r.ev;
  return {
    kind: { k: 'bool' },
    ev: (n) => {
      const a = single(le(n));
      const c = single(re(n));
      if (a === undefined || c === undefined) return E;
      if (typeof a !== lt || typeof c !== lt) throw FB;
      return b((a === c) !== neg);
    },
  };
}

// ---- model resolution ----
function resolveBase(base: string): string {
  const model = fhirpathR4Model();
  if (!base.includes('.')) {
    if (!/^[A-Z]/.test(base)) throw FB;
    return base;
  }
  const t = model.path2Type[base];
  if (t === undefined) throw FB;
  if (t === 'BackboneElement' || t === 'Element') return base;
  if (isPrimitiveName(t)) throw FB;
  return t;
}

function resolveChild(typePath: string, name: string): { keys: string[]; kinds: JsonKind[]; next: string; prim: 'string' | 'number' | 'boolean' | undefined; terminal: boolean } {
  const model = fhirpathR4Model();
  let p = `${typePath}.${name}`;
  p = model.pathsDefinedElsewhere[p] ?? p;
  const choice = model.choiceTypePaths[p];
  if (choice) return { keys: choice.map((t) => `${name}${t[0]?.toUpperCase() ?? ''}${t.slice(1)}`), kinds: choice.map(jsonKind), next: '', prim: undefined, terminal: true };
  const t = model.path2Type[p];
  if (t === undefined) throw FB;
  if (t === 'BackboneElement' || t === 'Element') return { keys: [name], kinds: ['object'], next: p, prim: undefined, terminal: false };
  // a contained resource's type comes from its own resourceType: no navigation below it
  if (t === 'Resource') return { keys: [name], kinds: ['object'], next: '', prim: undefined, terminal: true };
  if (/^[A-Z]/.test(t)) return { keys: [name], kinds: ['object'], next: t, prim: undefined, terminal: false };
  return { keys: [name], kinds: [jsonKind(t)], next: '', prim: primKind(t), terminal: true };
}

/**
 * Compiles `expression` for the FHIRPath type context `base` (as in compileFhirPath) into a native
 * closure, or undefined when the expression is outside the supported shapes.
 */
export function compileNativeInvariant(base: string, expression: string): NativeInvariant | undefined {
  const toks = tokenize(expression);
  if (!toks) return undefined;
  let node: Node;
  try {
    node = new Parser(toks, base).parseAll();
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  }
  const ev = node.ev;
  // fhirpath.js types a node with a resourceType by it: only the element's own type is evaluated natively
  const rootType = base.includes('.') ? undefined : base;
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return FALLBACK;
    const rt = (value as { resourceType?: unknown }).resourceType;
    if (rt !== undefined && rt !== rootType) return FALLBACK;
    try {
      const r = ev(value as Record<string, unknown>);
      if (r.length === 0) return undefined;
      const v = r[0];
      if (r.length > 1 || typeof v !== 'boolean') return FALLBACK;
      return v;
    } catch (e) {
      if (e instanceof Fallback) return FALLBACK;
      throw e;
    }
  };
}
