/**
 * Helpers for building SQL from search values with bound parameters only (FHIR R4 §3.1.1 search.html
 * "string" and "uri" matching: prefix and substring semantics without splicing user text).
 */

export type SqlValue = string | number | null;

/** A piece of SQL and the values bound to its `?` placeholders, in order. */
export interface Frag {
  sql: string;
  params: SqlValue[];
}

export const frag = (sql: string, ...params: SqlValue[]): Frag => ({ sql, params });
export const TRUE: Frag = frag('1');
export const FALSE: Frag = frag('0');

/** Longest run of operands joined flat; longer lists are split into a balanced tree. */
const FLAT_OPERANDS = 16;

/**
 * Joins fragments with `AND`/`OR` (empty: the neutral element). SQLite parses `a OR b OR c ...` as a
 * left-deep tree, one level per operand, and refuses trees deeper than 1000 ("Expression tree is too
 * large"); so more than FLAT_OPERANDS operands are joined as a balanced tree of groups, whose depth
 * grows with the logarithm of their number. The meaning, the bound values' order and the query plan
 * are the same (SQLite flattens nested ANDs and ORs when it analyses a WHERE clause).
 */
export function join(op: 'AND' | 'OR', parts: readonly Frag[]): Frag {
  if (parts.length === 0) return op === 'AND' ? TRUE : FALSE;
  if (parts.length === 1) return parts[0]!;
  if (parts.length > FLAT_OPERANDS) {
    const mid = Math.ceil(parts.length / 2);
    return join(op, [join(op, parts.slice(0, mid)), join(op, parts.slice(mid))]);
  }
  return { sql: parts.map((p) => `(${p.sql})`).join(` ${op} `), params: parts.flatMap((p) => p.params) };
}

/** `col = ?` for one value, `col IN (?, ...)` for several, TRUE for none (no restriction). */
export function inList(col: string, values: readonly string[]): Frag {
  if (values.length === 0) return TRUE;
  if (values.length === 1) return frag(`${col} = ?`, values[0]!);
  return { sql: `${col} IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

/**
 * The smallest string greater than every string starting with `prefix`, in SQLite's BINARY order
 * (UTF-8 bytes, i.e. code point order): the last code point incremented. Undefined when no such bound
 * exists (empty prefix, or only U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  // By slicing, not by spreading the code points into one call: a value of a million characters
  // would overflow the stack (found by the chaos suite).
  let s = prefix;
  while (s.length > 0) {
    const unit = s.charCodeAt(s.length - 1);
    const pair = unit >= 0xdc00 && unit <= 0xdfff && s.length >= 2 && s.charCodeAt(s.length - 2) >= 0xd800 && s.charCodeAt(s.length - 2) <= 0xdbff;
    const start = pair ? s.length - 2 : s.length - 1;
    const last = s.codePointAt(start)!;
    s = s.slice(0, start);
    if (last < 0x10ffff) return s + String.fromCodePoint(last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return undefined;
}

/** `col` starts with `prefix`, as an index range (no LIKE, so no wildcard in the value can leak). */
export function startsWith(col: string, prefix: string): Frag {
  if (prefix === '') return TRUE;
  const upper = prefixUpperBound(prefix);
  return upper === undefined ? frag(`${col} >= ?`, prefix) : frag(`${col} >= ? AND ${col} < ?`, prefix, upper);
}

/**
 * `col` contains `text` as a substring: exact and case-sensitive like the in-memory matcher's
 * `includes`, and with no pattern language at all, so no character of the value can act as a wildcard
 * (LIKE would need escaping and folds ASCII case).
 */
export function contains(col: string, text: string): Frag {
  return frag(`instr(${col}, ?) > 0`, text);
}
