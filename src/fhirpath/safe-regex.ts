/**
 * Client-supplied regular expressions that cannot freeze the server (ReDoS). FHIRPath N1 §5.6
 * `matches()`, `matchesFull()` and `replaceMatches()` take a regular expression from the
 * expression's text (a FHIRPath Patch path, a SearchParameter expression or a profile constraint
 * written through the API) or even from data; FHIR R4 valueset.html `regex` filters too. A
 * backtracking engine takes exponential time on patterns such as `^(a+)+$`, `(a|aa)+` or `(.*a){20}`
 * against `aaaa…!`: one request held the event loop, and so every client, for minutes. (V8's
 * linear-time fallback does not help: fhirpath.js always uses the `u` flag, which that engine does
 * not support.)
 *
 * `backtrackingRisk` is a conservative static test for the two shapes that backtrack exponentially:
 * a repeated group whose body repeats too (unless every repetition must start with a literal that
 * nothing repeated inside can match, as in `(\.[a-z]+)*`, the shape of the R4 base patterns), and
 * a repeated group with alternatives that can start with the same character; backreferences are
 * refused too. `SAFE_REGEX_FUNCTIONS` is a fhirpath.js `userInvocationTable` replacing the three
 * functions by the same semantics (fhirpath.js 5 strings.js: flags `u` + `s`, FHIRPath flags `i`, `m`)
 * that refuse such a pattern with an error instead of running it. Polynomial shapes (`a*a*a*b`) are
 * not detected.
 */
import { util } from 'fhirpath';

type Atom = { kind: 'literal'; ch: string } | { kind: 'class'; test: (c: string) => boolean } | { kind: 'any' };

interface Frame {
  /** First atom of each alternative (null: it starts with something optional or not a single atom). */
  firsts: Array<Atom | null | undefined>;
  /** Every atom inside (nested groups flattened). */
  atoms: Atom[];
  /** Atoms repeated or optional inside this group (nested groups flattened). */
  repeated: Atom[];
  /** Whether the group opened at the start of an alternative of its parent. */
  openedFirst: boolean;
}

const newFrame = (openedFirst = false): Frame => ({ firsts: [undefined], atoms: [], repeated: [], openedFirst });

const WORD = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;
const SPACE = /\s/;

function escapeClass(e: string): ((c: string) => boolean) | undefined {
  switch (e) {
    case 'd':
      return (c) => DIGIT.test(c);
    case 'D':
      return (c) => !DIGIT.test(c);
    case 'w':
      return (c) => WORD.test(c);
    case 'W':
      return (c) => !WORD.test(c);
    case 's':
      return (c) => SPACE.test(c);
    case 'S':
      return (c) => !SPACE.test(c);
    default:
      return undefined;
  }
}

const ESCAPED_CHAR: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' };

/** Parses `[...]` starting at `i` (the `[`); returns the atom and the index after `]`. */
function parseClass(p: string, i: number): { atom: Atom; end: number } {
  let j = i + 1;
  const negated = p[j] === '^';
  if (negated) j++;
  const tests: Array<(c: string) => boolean> = [];
  let first = true;
  while (j < p.length && (p[j] !== ']' || first)) {
    first = false;
    let lo: string | undefined;
    if (p[j] === '\\' && j + 1 < p.length) {
      const e = p[j + 1]!;
      const cls = escapeClass(e);
      j += 2;
      if (cls) {
        tests.push(cls);
        continue;
      }
      lo = ESCAPED_CHAR[e] ?? e;
    } else {
      lo = p[j]!;
      j++;
    }
    if (p[j] === '-' && j + 1 < p.length && p[j + 1] !== ']') {
      let hi = p[j + 1]!;
      j += 2;
      if (hi === '\\' && j < p.length) {
        hi = ESCAPED_CHAR[p[j]!] ?? p[j]!;
        j++;
      }
      const [a, b] = [lo, hi];
      tests.push((c) => c >= a && c <= b);
    } else {
      const ch = lo;
      tests.push((c) => c === ch);
    }
  }
  const inClass = (c: string): boolean => tests.some((t) => t(c) || t(c.toLowerCase()) || t(c.toUpperCase()));
  return { atom: { kind: 'class', test: negated ? (c) => !tests.some((t) => t(c)) : inClass }, end: j + 1 };
}

function canMatch(atom: Atom, c: string): boolean {
  switch (atom.kind) {
    case 'any':
      return true;
    case 'literal':
      return atom.ch.toLowerCase() === c.toLowerCase();
    case 'class':
      return atom.test(c);
  }
}

function overlaps(a: Atom, b: Atom): boolean {
  if (a.kind === 'literal') return canMatch(b, a.ch);
  if (b.kind === 'literal') return canMatch(a, b.ch);
  return true; // two classes or wildcards: assume they share a character
}

/** Every repetition of the group must start with a literal that nothing repeated inside can match. */
function separated(f: Frame): boolean {
  if (f.firsts.length !== 1) return false;
  const first = f.firsts[0];
  if (!first || first.kind !== 'literal') return false;
  return f.repeated.every((a) => !canMatch(a, first.ch));
}

/** Two alternatives of the group can start with the same character. */
function overlappingAlternatives(f: Frame): boolean {
  if (f.firsts.length < 2) return false;
  for (let i = 0; i < f.firsts.length; i++) {
    for (let j = i + 1; j < f.firsts.length; j++) {
      const a = f.firsts[i];
      const b = f.firsts[j];
      if (!a || !b || overlaps(a, b)) return true;
    }
  }
  return false;
}

/**
 * Why `pattern` (JavaScript syntax) can backtrack exponentially, or undefined when it has none of
 * the detected shapes. Unparseable corners are treated as risky, never as safe.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  const stack: Frame[] = [newFrame()];
  const top = (): Frame => stack[stack.length - 1]!;
  /** The last complete element: an atom, or a closed group. */
  let last: { atom?: Atom; group?: Frame; wasFirst: boolean } | undefined;
  const push = (atom: Atom): void => {
    const f = top();
    const branch = f.firsts.length - 1;
    const wasFirst = f.firsts[branch] === undefined;
    if (wasFirst) f.firsts[branch] = atom;
    f.atoms.push(atom);
    last = { atom, wasFirst };
  };
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) return 'a trailing backslash';
      if (/[1-9]/.test(e) || (e === 'k' && pattern[i + 2] === '<')) return 'a backreference';
      const cls = escapeClass(e);
      if (/[bB]/.test(e)) last = undefined;
      else push(cls ? { kind: 'class', test: cls } : { kind: 'literal', ch: ESCAPED_CHAR[e] ?? e });
      i += e === 'u' || e === 'x' || e === 'p' || e === 'P' || e === 'c' ? skipEscapeBody(pattern, i) : 2;
      continue;
    }
    if (c === '[') {
      const { atom, end } = parseClass(pattern, i);
      push(atom);
      i = end;
      continue;
    }
    if (c === '(') {
      const f = top();
      const branch = f.firsts.length - 1;
      // A group at the start of an alternative: that alternative's first atom is the group's (if it has one).
      const child = newFrame(f.firsts[branch] === undefined);
      if (child.openedFirst) f.firsts[branch] = null;
      stack.push(child);
      last = undefined;
      i++;
      if (pattern[i] === '?') {
        const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i));
        if (!m) return 'an unknown group syntax';
        i += m[0].length;
      }
      continue;
    }
    if (c === ')') {
      if (stack.length === 1) return 'an unbalanced parenthesis';
      const child = stack.pop()!;
      const f = top();
      f.atoms.push(...child.atoms);
      f.repeated.push(...child.repeated);
      const branch = f.firsts.length - 1;
      if (child.openedFirst && child.firsts.length === 1 && child.firsts[0]) f.firsts[branch] = child.firsts[0];
      last = { group: child, wasFirst: child.openedFirst };
      i++;
      continue;
    }
    if (c === '|') {
      top().firsts.push(undefined);
      last = undefined;
      i++;
      continue;
    }
    const q = /^(?:[*+?]|\{(\d+)(,(\d*))?\})/.exec(pattern.slice(i));
    if (q) {
      const [text, min, comma, max] = q;
      const repeats = text === '*' || text === '+' || (text !== '?' && (comma !== undefined ? max === '' || Number(max) > 1 : Number(min) > 1));
      const optional = text === '*' || text === '?' || (min !== undefined && Number(min) === 0);
      if (last) {
        const f = top();
        if (optional && last.wasFirst) f.firsts[f.firsts.length - 1] = null;
        if (repeats && last.group) {
          if (last.group.repeated.length > 0 && !separated(last.group)) return `a repeated group whose body repeats or is optional (before ${JSON.stringify(pattern.slice(i, i + 10))})`;
          if (overlappingAlternatives(last.group)) return 'a repeated group with alternatives that can start with the same character';
        }
        // Repeated or optional: either makes an enclosing repetition ambiguous.
        if (last.group) f.repeated.push(...last.group.atoms);
        else if (last.atom) f.repeated.push(last.atom);
      }
      i += text.length;
      if (pattern[i] === '?') i++; // lazy
      last = undefined;
      continue;
    }
    if (c === '^' || c === '$') {
      last = undefined;
      i++;
      continue;
    }
    push(c === '.' ? { kind: 'any' } : { kind: 'literal', ch: c });
    i++;
  }
  if (stack.length !== 1) return 'an unbalanced parenthesis';
  return undefined;
}

/** Length of `\uXXXX`, `\u{...}`, `\xXX`, `\p{...}`, `\cX` escapes starting at `i`. */
function skipEscapeBody(p: string, i: number): number {
  const e = p[i + 1];
  if ((e === 'u' || e === 'p' || e === 'P') && p[i + 2] === '{') {
    const close = p.indexOf('}', i + 3);
    return close < 0 ? 2 : close + 1 - i;
  }
  if (e === 'u') return 6;
  if (e === 'x') return 4;
  if (e === 'c') return 3;
  return 2;
}

/** Throws when `pattern` is refused (the message names the pattern and why). */
export function assertSafeRegex(pattern: string): void {
  const risk = backtrackingRisk(pattern);
  if (risk !== undefined) throw new Error(`the regular expression ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}...` : pattern)} is refused: it can take exponential time (${risk})`);
}

// ---- FHIRPath functions (the semantics of fhirpath.js 5 src/strings.js, with the check first) ----

function singletonString(coll: unknown[]): string | undefined {
  if (coll.length === 0) return undefined;
  if (coll.length > 1) throw new Error(`Expected a single String, but got ${coll.length} items`);
  const v: unknown = util.valData(coll[0]);
  if (typeof v !== 'string') throw new Error('Expected a String');
  return v;
}

function jsFlags(flags: string | undefined): string {
  let out = 'u';
  for (const ch of flags ?? '') {
    if (ch === 'i' && !out.includes('i')) out += 'i';
    else if (ch === 'm' && !out.includes('m')) out += 'm';
    else if (ch !== 'i' && ch !== 'm') throw new Error('matches/matchesFull flags must only contain i and/or m');
  }
  return `${out}s`;
}

const isEmpty = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

function matches(coll: unknown[], regex: string, flags?: string): boolean | [] {
  const str = singletonString(coll);
  if (isEmpty(regex) || str === undefined) return [];
  assertSafeRegex(regex);
  return new RegExp(regex, jsFlags(flags)).test(str);
}

function matchesFull(coll: unknown[], regex: string, flags?: string): boolean | [] {
  const str = singletonString(coll);
  if (isEmpty(regex) || str === undefined) return [];
  assertSafeRegex(regex);
  return new RegExp(`^(?:${regex})$`, jsFlags(flags)).test(str);
}

function replaceMatches(coll: unknown[], regex: string, repl: string): string | [] {
  const str = singletonString(coll);
  if (isEmpty(regex) || isEmpty(repl) || str === undefined) return [];
  assertSafeRegex(regex);
  return str.replace(new RegExp(regex, 'gu'), repl);
}

/** A fhirpath.js `userInvocationTable` with `matches`, `matchesFull` and `replaceMatches` that refuse backtracking-prone patterns. */
export const SAFE_REGEX_FUNCTIONS = Object.freeze({
  matches: { fn: matches, arity: { 1: ['String'], 2: ['String', 'String'] } },
  matchesFull: { fn: matchesFull, arity: { 1: ['String'], 2: ['String', 'String'] } },
  replaceMatches: { fn: replaceMatches, arity: { 2: ['String', 'String'] } },
}) as unknown as Record<string, { fn: (...args: never[]) => unknown; arity: Record<number, Array<'String'>> }>;

/**
 * The regular expressions written as string literals in a FHIRPath expression's `matches()`,
 * `matchesFull()` and `replaceMatches()` calls that `backtrackingRisk` refuses, with the reason; a
 * call whose pattern is not a string literal (taken from data) is refused too. For checking an
 * expression when it is stored (a SearchParameter), before any data reaches it.
 */
export function riskyRegexCalls(expression: string): string[] {
  const out: string[] = [];
  const call = /\b(matches|matchesFull|replaceMatches)\s*\(\s*/g;
  for (let m = call.exec(expression); m; m = call.exec(expression)) {
    const rest = expression.slice(m.index + m[0].length);
    const lit = /^'((?:[^'\\]|\\.)*)'/.exec(rest);
    if (!lit) {
      out.push(`${m[1]}() with a pattern that is not a string literal`);
      continue;
    }
    const pattern = lit[1]!.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => (e.length > 1 ? String.fromCharCode(parseInt(e.slice(1), 16)) : (({ n: '\n', r: '\r', t: '\t', f: '\f' }) as Record<string, string>)[e] ?? e));
    const risk = backtrackingRisk(pattern);
    if (risk !== undefined) out.push(`${m[1]}(${JSON.stringify(pattern)}): ${risk}`);
  }
  return out;
}
