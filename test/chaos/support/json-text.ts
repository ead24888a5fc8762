/**
 * Hostile JSON documents as data (RFC 8259 JSON text, plus what JSON.stringify cannot write):
 * objects as ordered key/value lists (so `__proto__` is an ordinary key and a key may repeat),
 * number tokens written verbatim (`1e400`, `-0`, 40-digit integers), string tokens with raw escapes
 * (lone surrogates `\ud800`), huge strings and deep nesting described by their size so that a
 * counterexample prints short. `jsonText` writes the document as the bytes sent.
 */

/** An object: its members in order (duplicates and `__proto__` allowed). */
export class JObj {
  constructor(readonly members: ReadonlyArray<readonly [string, JValue]>) {}
  toString(): string {
    return `JObj(${jsonText(this, 300)})`;
  }
}

/** A token written as is: a number such as `1e400`, or a string literal with raw escapes such as `"\ud800"`. */
export class JRaw {
  constructor(readonly text: string) {}
  toString(): string {
    return `JRaw(${this.text})`;
  }
}

/** A string of `unit` repeated `times` times (megabytes without a megabyte counterexample). */
export class JHuge {
  constructor(
    readonly unit: string,
    readonly times: number,
  ) {}
  toString(): string {
    return `JHuge(${JSON.stringify(this.unit)} x ${this.times})`;
  }
}

/** `depth` levels of `[` or `{"a":` around `leaf`. */
export class JDeep {
  constructor(
    readonly depth: number,
    readonly shape: 'array' | 'object',
    readonly leaf: JValue,
  ) {}
  toString(): string {
    return `JDeep(${this.shape} x ${this.depth})`;
  }
}

export type JValue = null | boolean | number | string | JValue[] | JObj | JRaw | JHuge | JDeep;

/** Builds a JObj from a plain object (keys in insertion order). */
export function obj(o: Record<string, JValue>): JObj {
  return new JObj(Object.entries(o));
}

/** Converts plain JSON (from JSON.parse or a literal) into a JValue. */
export function fromPlain(v: unknown): JValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  if (typeof v === 'object') return new JObj(Object.entries(v as Record<string, unknown>).map(([k, c]) => [k, fromPlain(c)] as const));
  return null;
}

/**
 * The JSON text of `v`. With `limit`, long output is cut (for messages only). Non-finite numbers
 * (never produced by the generators as numbers) are written as `null`, like JSON.stringify.
 */
export function jsonText(v: JValue, limit?: number): string {
  const parts: string[] = [];
  let size = 0;
  const push = (s: string): boolean => {
    parts.push(s);
    size += s.length;
    return limit === undefined || size < limit;
  };
  const walk = (x: JValue): boolean => {
    if (x === null || typeof x === 'boolean') return push(String(x));
    if (typeof x === 'number') return push(Number.isFinite(x) ? JSON.stringify(x) : 'null');
    if (typeof x === 'string') return push(JSON.stringify(x));
    if (x instanceof JRaw) return push(x.text);
    if (x instanceof JHuge) {
      if (limit !== undefined) return push(`"${x.unit.slice(0, 20)}...x${x.times}"`);
      return push(JSON.stringify(x.unit.repeat(x.times)));
    }
    if (x instanceof JDeep) {
      const open = x.shape === 'array' ? '[' : '{"a":';
      const close = x.shape === 'array' ? ']' : '}';
      if (limit !== undefined) return push(`${open.repeat(3)}...(${x.depth} levels)...${close.repeat(3)}`);
      push(open.repeat(x.depth));
      walk(x.leaf);
      return push(close.repeat(x.depth));
    }
    if (Array.isArray(x)) {
      if (!push('[')) return false;
      for (let i = 0; i < x.length; i++) {
        if (i > 0 && !push(',')) return false;
        if (!walk(x[i]!)) return false;
      }
      return push(']');
    }
    if (!push('{')) return false;
    for (let i = 0; i < x.members.length; i++) {
      const [k, c] = x.members[i]!;
      if (i > 0 && !push(',')) return false;
      if (!push(`${JSON.stringify(k)}:`)) return false;
      if (!walk(c)) return false;
    }
    return push('}');
  };
  walk(v);
  const out = parts.join('');
  return limit !== undefined && out.length > limit ? `${out.slice(0, limit)}...` : out;
}
