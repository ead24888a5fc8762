/**
 * Decimals as written (FHIR R4 json.html#primitive "decimal": the number of decimal places is
 * significant, `1.50` is not `1.5`; datatypes.html#decimal): JSON numbers parsed into JavaScript
 * numbers lose their textual form (`20.00` -> 20, `1.000000000000000000E-245` -> 1e-245), and a
 * FHIR decimal converted between formats must keep it.
 *
 * `NumberLexemes` records, for each number whose text is not what `String(n)` gives back, the text as
 * written, by holder (the object or array) and key. `parseJsonKeepingNumbers` builds it while parsing
 * JSON text; the XML reader builds it from `value` attributes; the XML writer and
 * `stringifyKeepingNumbers` write a recorded number as its text. A number without a record is written
 * as `String(n)` — which is exactly what `JSON.stringify` stored.
 */

export type NumberLexemes = WeakMap<object, Map<string | number, string>>;

export function newNumberLexemes(): NumberLexemes {
  return new WeakMap();
}

/** Records `text` as the written form of `holder[key]` when it differs from `String(Number(text))`. */
export function recordLexeme(lexemes: NumberLexemes, holder: object, key: string | number, value: number, text: string): void {
  if (String(value) === text) return;
  let m = lexemes.get(holder);
  if (!m) {
    m = new Map();
    lexemes.set(holder, m);
  }
  m.set(key, text);
}

/** The text of the number `holder[key]`: as written when recorded, else `String(value)`. */
export function numberText(lexemes: NumberLexemes | undefined, holder: object, key: string | number, value: number): string {
  return lexemes?.get(holder)?.get(key) ?? String(value);
}

class JsonSyntaxError extends SyntaxError {}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const WS = /[ \t\n\r]*/y;

/**
 * Parses JSON text (RFC 8259) like `JSON.parse`, also returning the written form of every number
 * whose text `String(n)` would not reproduce. Duplicate keys: the last wins, as with `JSON.parse`.
 */
export function parseJsonKeepingNumbers(text: string): { value: unknown; lexemes: NumberLexemes } {
  const lexemes = newNumberLexemes();
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${i}`);
  };
  const ws = (): void => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const str = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) return fail('Bad string');
    i = STRING.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  // Iterative: containers on an explicit stack, so depth cannot exhaust the call stack.
  type Frame = { holder: unknown[] } | { holder: Record<string, unknown>; key: string };
  const stack: Frame[] = [];
  let result: unknown;
  let done = false;
  const put = (v: unknown, numberText?: string): void => {
    const top = stack[stack.length - 1];
    if (!top) {
      result = v;
      done = true;
      return;
    }
    if (Array.isArray(top.holder)) {
      top.holder.push(v);
      if (numberText !== undefined) recordLexeme(lexemes, top.holder, top.holder.length - 1, v as number, numberText);
    } else {
      const f = top as { holder: Record<string, unknown>; key: string };
      // Own property even for "__proto__" (JSON.parse semantics).
      Object.defineProperty(f.holder, f.key, { value: v, writable: true, enumerable: true, configurable: true });
      if (numberText !== undefined) recordLexeme(lexemes, f.holder, f.key, v as number, numberText);
    }
  };
  const keyOf = (): string => {
    ws();
    if (text[i] !== '"') return fail('Expected a property name');
    const k = str();
    ws();
    if (text[i] !== ':') return fail("Expected ':'");
    i++;
    return k;
  };
  for (;;) {
    // A value is expected.
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      const container: Record<string, unknown> | unknown[] = c === '{' ? {} : [];
      put(container);
      ws();
      if (text[i] !== (c === '{' ? '}' : ']')) {
        stack.push(Array.isArray(container) ? { holder: container } : { holder: container, key: keyOf() });
        continue;
      }
      i++;
    } else if (c === '"') {
      put(str());
    } else if (text.startsWith('true', i)) {
      i += 4;
      put(true);
    } else if (text.startsWith('false', i)) {
      i += 5;
      put(false);
    } else if (text.startsWith('null', i)) {
      i += 4;
      put(null);
    } else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) fail('Unexpected token');
      i = NUMBER.lastIndex;
      put(Number(m![0]), m![0]);
    }
    // After a value: the next member, or the end of containers.
    let next = false;
    while (!next && stack.length > 0) {
      ws();
      const top = stack[stack.length - 1]!;
      const d = text[i];
      if (d === ',') {
        i++;
        if (!Array.isArray(top.holder)) (top as { key: string }).key = keyOf();
        next = true;
      } else if (d === (Array.isArray(top.holder) ? ']' : '}')) {
        i++;
        stack.pop();
      } else {
        fail('Unexpected token');
      }
    }
    if (!next) break;
  }
  ws();
  if (!done || i !== text.length) fail('Unexpected data after the JSON value');
  return { value: result, lexemes };
}
