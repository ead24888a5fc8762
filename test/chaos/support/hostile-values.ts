/**
 * fast-check generators of hostile values for the chaos suites: JSON leaves and structures that break
 * naive servers (numbers beyond double range, lone surrogates, bidi and zero-width characters,
 * megabyte strings, 200-level nesting, prototype-pollution keys, SQL / NoSQL / regex / template
 * injection text, path traversal, dates that do not exist), and a mutation engine that plants them
 * anywhere in an otherwise well-formed FHIR resource (FHIR R4 json.html), so that requests get past
 * the first JSON checks and reach validation, indexing and storage.
 */
import fc from 'fast-check';
import { JDeep, JHuge, JObj, JRaw, type JValue } from './json-text';

/** Text that means something to SQL, MongoDB, regex engines, template engines, shells and HTML. */
export const INJECTION_TEXT: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE resources; --",
  '" OR ""="',
  "1; SELECT * FROM sqlite_master --",
  "x' UNION SELECT json FROM resources --",
  '%',
  '_',
  '%_%',
  '\\',
  '\\\\',
  "\\'",
  '{"$gt": ""}',
  '{"$where": "sleep(5000)"}',
  '$where',
  '$ne',
  '$regex',
  '.*',
  '^.*$',
  '(a+)+$',
  '(a|aa)+$',
  '([a-zA-Z]+)*$',
  '(.*a){20}',
  '[',
  '(',
  '\\u0000',
  '<script>alert(1)</script>',
  '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>',
  '${7*7}',
  '{{7*7}}',
  '#{7*7}',
  '$(id)',
  '`id`',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  'Patient/../../Patient/x',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:text/html,<script>1</script>',
  'http://169.254.169.254/latest/meta-data/',
  '\r\nSet-Cookie: x=1',
  'null',
  'undefined',
  'NaN',
  'true',
  '[object Object]',
  '__proto__',
  'constructor',
  // What ^(a+)+$ and friends backtrack exponentially on (ReDoS, ADR 16).
  `${'a'.repeat(40)}!`,
];

/** Unicode edge cases (valid UTF-16 strings that survive JSON.stringify). */
export const UNICODE_TEXT: readonly string[] = [
  '',
  ' ',
  '\u0000',
  '\u0001\u001f',
  '\u007f',
  '\u00a0',
  '\u00ad',
  '\u200b\u200c\u200d',
  '\u202e\u202d',
  '\u2028\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '𝄞',
  '👩‍👩‍👧‍👦',
  '🇬🇧',
  'e\u0301\u0301\u0301\u0301\u0301',
  'İı',
  'ß',
  'ﬃ',
  'Ǆ',
  'Å',
  'Å',
  '\u0130\u0131',
  '\ud83d\ude00',
  '𠜎𠜱',
  'عربى',
  'א',
  '\t\n\r',
];

/** String tokens with raw escapes JSON.stringify never writes: lone and reversed surrogates, NUL. */
export const RAW_STRING_TOKENS: readonly string[] = ['"\\ud800"', '"\\udfff"', '"a\\udc00b"', '"\\udfff\\ud800"', '"\\ud83d"', '"\\u0000"', '"x\\u0000y"', '"\\uDBFF\\uDFFF"', '"\\/"'];

/** Number tokens beyond what a double holds, or that JSON.stringify would not write. */
export const RAW_NUMBER_TOKENS: readonly string[] = ['1e400', '-1e400', '1e-400', '-0', '0e0', '1E+2', '123456789012345678901234567890', '-9223372036854775809', '18446744073709551616', '0.1e-999999', '1.7976931348623157e309', '4.9e-325', '9007199254740993', '1.00000000000000000000000001'];

export const ODD_DATES: readonly string[] = ['2024-02-30', '2023-02-29', '0000-00-00', '0000', '9999-12-31T23:59:60Z', '2020-01-01T25:61:61Z', '2020-01-01T10:00:00+99:99', '2020-13', '-2020', '20200101', '2020-1-1', '1e3', '2020-01-01T10:00:00', '2020-01-01T10:00Z', '1969-12-31T23:59:59.9999999999Z', '275760-09-13'];

const leafNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 1.5, -0.000001, 2 ** 31, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(...RAW_NUMBER_TOKENS).map((t) => new JRaw(t)),
);

const leafString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INJECTION_TEXT) },
  { weight: 3, arbitrary: fc.constantFrom(...UNICODE_TEXT) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_DATES) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_STRING_TOKENS).map((t) => new JRaw(t)) },
  {
    weight: 1,
    arbitrary: fc.record({ unit: fc.constantFrom('x', 'a', 'é', '😀', '%', ' ', 'ab,', '\\,', '<'), times: fc.constantFrom(1000, 65_536, 300_000, 1_000_000) }).map(({ unit, times }) => new JHuge(unit, times)),
  },
);

/** A hostile leaf: null, a boolean, an odd number, an odd string. */
export const hostileLeaf: fc.Arbitrary<JValue> = fc.oneof({ weight: 1, arbitrary: fc.constantFrom<JValue>(null, true, false) }, { weight: 2, arbitrary: leafNumber }, { weight: 4, arbitrary: leafString });

/** Keys that break naive object handling, FHIR's own member names, and random text. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'toJSON',
      '__defineGetter__',
      '__lookupSetter__',
      'then',
      'length',
      'resourceType',
      'id',
      'meta',
      'extension',
      'modifierExtension',
      'contained',
      'text',
      'div',
      '_birthDate',
      '_id',
      'implicitRules',
      'language',
      'valueString',
      'value[x]',
      'fhir_comments',
      '',
      ' ',
      '$where',
      '$gt',
      'a.b',
      'a\u0000b',
      '😀',
      '\u202e',
      'Patient',
      '0',
      '-1',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

/** Objects aimed at prototype pollution (planted as a value, or as a whole body). */
export const pollutionObject: fc.Arbitrary<JValue> = fc.constantFrom<JValue>(
  new JObj([['__proto__', new JObj([['polluted', 'yes'], ['isAdmin', true], ['scope', 'system/*.*'], ['resourceType', 'Polluted']])]]),
  new JObj([['constructor', new JObj([['prototype', new JObj([['polluted', 'yes'], ['strict', false]])]])]]),
  new JObj([['prototype', new JObj([['polluted', 'yes']])]]),
  new JObj([['__proto__', null]]),
  new JObj([['__proto__', []]]),
  new JObj([['__proto__', 'x']]),
  new JObj([['toString', 'x'], ['valueOf', 1], ['hasOwnProperty', null]]),
  new JObj([['toJSON', 'boom']]),
  new JObj([['then', 'x']]),
);

/**
 * A hostile value: a leaf, an empty or pollution object, deep nesting (around the server's 100-level
 * limit and beyond), an array of leaves, or a random small JSON structure with hostile keys.
 */
export const hostileValue: fc.Arbitrary<JValue> = fc.letrec<{ v: JValue; small: JValue }>((tie) => ({
  v: fc.oneof(
    { weight: 24, arbitrary: hostileLeaf },
    { weight: 4, arbitrary: fc.constantFrom<JValue>([], new JObj([]), [null], [[]], [new JObj([])]) },
    { weight: 6, arbitrary: pollutionObject },
    {
      weight: 1,
      arbitrary: fc.record({ depth: fc.constantFrom(20, 98, 99, 100, 101, 150, 1000, 20_000), shape: fc.constantFrom('array' as const, 'object' as const), leaf: hostileLeaf }).map((d) => new JDeep(d.depth, d.shape, d.leaf)),
    },
    { weight: 4, arbitrary: fc.array(hostileLeaf, { maxLength: 5 }) },
    { weight: 8, arbitrary: tie('small') },
  ),
  small: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileLeaf,
    fc.array(tie('small'), { maxLength: 3 }),
    fc.array(fc.tuple(hostileKey, tie('small')), { maxLength: 4 }).map((m) => new JObj(m)),
  ),
})).v;

// ---- mutation of well-formed documents ----

export type Mutation =
  | { op: 'replace'; at: number; value: JValue }
  | { op: 'add-member'; at: number; key: string; value: JValue }
  | { op: 'duplicate-member'; at: number; value: JValue }
  | { op: 'delete'; at: number }
  | { op: 'wrap-in-array'; at: number }
  | { op: 'unwrap'; at: number }
  | { op: 'stringify'; at: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('add-member' as const), at: fc.nat(), key: hostileKey, value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate-member' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap-in-array' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unwrap' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('stringify' as const), at: fc.nat() }) },
);

/** Number of nodes of `v` (preorder), the range of a mutation's `at`. */
function countNodes(v: JValue): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((n, c) => n + countNodes(c), 0);
  if (v instanceof JObj) return 1 + v.members.reduce<number>((n, [, c]) => n + countNodes(c), 0);
  return 1;
}

/** Rewrites the node at preorder index `target` with `f` (undefined: remove it from its parent). */
function rewriteAt(v: JValue, target: number, f: (node: JValue) => JValue | undefined): JValue {
  let i = 0;
  const walk = (x: JValue): JValue | undefined => {
    if (i++ === target) return f(x);
    if (Array.isArray(x)) {
      const out: JValue[] = [];
      for (const c of x) {
        const r = walk(c);
        if (r !== undefined) out.push(r);
      }
      return out;
    }
    if (x instanceof JObj) {
      const out: Array<readonly [string, JValue]> = [];
      for (const [k, c] of x.members) {
        const r = walk(c);
        if (r !== undefined) out.push([k, r]);
      }
      return new JObj(out);
    }
    return x;
  };
  return walk(v) ?? null;
}

/** Applies mutations in order (the root is never removed). */
export function mutate(doc: JValue, mutations: readonly Mutation[]): JValue {
  let cur = doc;
  for (const m of mutations) {
    const at = m.at % countNodes(cur);
    switch (m.op) {
      case 'replace':
        cur = rewriteAt(cur, at, () => m.value);
        break;
      case 'add-member':
        cur = rewriteAt(cur, at, (n) => (n instanceof JObj ? new JObj([...n.members, [m.key, m.value]]) : Array.isArray(n) ? [...n, m.value] : n));
        break;
      case 'duplicate-member':
        cur = rewriteAt(cur, at, (n) => (n instanceof JObj && n.members.length > 0 ? new JObj([...n.members, [n.members[0]![0], m.value]]) : n));
        break;
      case 'delete':
        if (at !== 0) cur = rewriteAt(cur, at, () => undefined);
        break;
      case 'wrap-in-array':
        cur = rewriteAt(cur, at, (n) => [n]);
        break;
      case 'unwrap':
        cur = rewriteAt(cur, at, (n) => (Array.isArray(n) && n.length > 0 ? n[0]! : n instanceof JObj && n.members.length > 0 ? n.members[0]![1] : n));
        break;
      case 'stringify':
        cur = rewriteAt(cur, at, (n) => (typeof n === 'string' || n instanceof JRaw || n instanceof JHuge || n instanceof JDeep ? n : JSON.stringify(n instanceof JObj ? '[object]' : n)));
        break;
    }
  }
  return cur;
}
