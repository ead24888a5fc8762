/**
 * Building MongoDB query filters from values only (FHIR R4 §3.1.1 search.html "string" and "uri"
 * matching: prefixes and substrings without a pattern language leaking from user text).
 *
 * A compiled condition is a filter document, or the constants `true` (every document) and `false`
 * (none), folded away by the combinators so no empty `$or` / `$and` reaches the server. Keys are
 * always written by the compiler; user values appear only as values (and, escaped, as regexes).
 */

/** A MongoDB document (filter, stage, expression or result row). */
export type MongoDoc = { [key: string]: unknown };

/** A filter, or a constant. */
export type Cond = MongoDoc | boolean;

/** A filter no document matches (for places that need a document, e.g. a `$match` stage). */
export const NO_MATCH: MongoDoc = Object.freeze({ _id: { $in: [] } });

/** The filter document of a condition. */
export function toFilter(c: Cond): MongoDoc {
  if (c === true) return {};
  if (c === false) return { ...NO_MATCH };
  return c;
}

/** Conjunction: `true` parts dropped, `false` absorbs; one part stays itself; object parts without shared keys are merged. */
export function andCond(parts: readonly Cond[]): Cond {
  const docs: MongoDoc[] = [];
  for (const p of parts) {
    if (p === false) return false;
    if (p !== true) docs.push(p);
  }
  return mergeAll(docs);
}

/** Disjunction: `false` parts dropped, `true` absorbs. */
export function orCond(parts: readonly Cond[]): Cond {
  const docs: MongoDoc[] = [];
  for (const p of parts) {
    if (p === true) return true;
    if (p !== false) docs.push(p);
  }
  if (docs.length === 0) return false;
  if (docs.length === 1) return docs[0]!;
  return { $or: docs };
}

export function notCond(c: Cond): Cond {
  if (typeof c === 'boolean') return !c;
  return { $nor: [c] };
}

/**
 * All of `docs` as one document: merged into one object when no key repeats (the natural shape of a
 * `$elemMatch` body, and what the planner bounds best), else `$and`. An empty list is `true`.
 */
export function mergeAll(docs: readonly MongoDoc[]): Cond {
  if (docs.length === 0) return true;
  if (docs.length === 1) return docs[0]!;
  const merged: MongoDoc = {};
  for (const d of docs) {
    for (const [k, v] of Object.entries(d)) {
      if (Object.prototype.hasOwnProperty.call(merged, k)) return { $and: [...docs] };
      merged[k] = v;
    }
  }
  return merged;
}

/** `field` is one of `values` (`true` for an empty list means "no restriction", as SQLite's inList). */
export function inValues(field: string, values: readonly string[]): Cond {
  if (values.length === 0) return true;
  if (values.length === 1) return { [field]: values[0]! };
  return { [field]: { $in: [...new Set(values)] } };
}

/**
 * The regex source matching `text` literally: every regex metacharacter is escaped, and a NUL (which
 * MongoDB refuses inside a pattern) is written as `\x00`. Valid, and meaning the same, for PCRE
 * (MongoDB) and JavaScript (mingo, without the `u` flag).
 */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&').replace(/\0/g, '\\x00');
}

/** `field` starts with `prefix`: an anchored regex, which MongoDB turns into an index range. */
export function startsWith(field: string, prefix: string): MongoDoc {
  return { [field]: { $regex: `^${escapeRegex(prefix)}` } };
}

/** `field` contains `text` as a case-sensitive substring (SQLite `instr`, the matcher's `includes`). */
export function contains(field: string, text: string): MongoDoc {
  return { [field]: { $regex: escapeRegex(text) } };
}

/**
 * Every prefix of `value` (ending on a code point boundary), the empty one included:
 * a stored uri `u` is a prefix of `value` exactly when `u` is one of them (`:above`, an `$in` lookup).
 */
export function prefixesOf(value: string): string[] {
  const out: string[] = [];
  for (let n = 0; n <= value.length; n++) {
    // Never split a surrogate pair: a lone surrogate is not a string MongoDB can store or compare.
    const c = value.charCodeAt(n - 1);
    if (n > 0 && n < value.length && c >= 0xd800 && c <= 0xdbff) continue;
    out.push(value.slice(0, n));
  }
  return out;
}
