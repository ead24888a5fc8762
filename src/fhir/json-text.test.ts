/**
 * Duplicate property names in FHIR JSON (json.html: objects never repeat a property): the scan of
 * src/fhir/json-text.ts against a model of JSON text that may repeat names (objects as lists of
 * members), written with random whitespace and random escaping, whose first repeated name in
 * document order is known by construction.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FhirError } from './outcome';
import { expressionOf, findDuplicateProperty, parseJsonText } from './json-text';

type Model = { kind: 'object'; members: Array<[string, Model]> } | { kind: 'array'; items: Model[] } | { kind: 'leaf'; value: string | number | boolean | null };

/** Names from a small alphabet (so repeats are common), including characters JSON must or may escape. */
const name = fc.constantFrom('a', 'b', 'id', 'resourceType', 'x"y', 'back\\slash', '{', '}', ',', ':', '[', 'é', '\u2028', '');

const model: fc.Arbitrary<Model> = fc.letrec<{ node: Model }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('"', '\\', '\\"', '{"a":1}', '[,]', '\\\\')).map((value): Model => ({ kind: 'leaf', value })),
    fc.array(fc.tuple(name, tie('node')), { maxLength: 5 }).map((members): Model => ({ kind: 'object', members })),
    fc.array(tie('node'), { maxLength: 4 }).map((items): Model => ({ kind: 'array', items })),
  ),
})).node;

/** A string literal, with some characters escaped as \uXXXX at random (`escapes` picks which). */
function literal(s: string, escapes: (i: number) => boolean): string {
  let out = '"';
  let i = 0;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || code < 0x20) out += JSON.stringify(ch).slice(1, -1);
    else if (code <= 0xffff && escapes(i)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
    i++;
  }
  return `${out}"`;
}

function write(m: Model, ws: () => string, escapes: (i: number) => boolean): string {
  switch (m.kind) {
    case 'leaf':
      return typeof m.value === 'string' ? literal(m.value, escapes) : JSON.stringify(m.value);
    case 'array':
      return `[${ws()}${m.items.map((x) => write(x, ws, escapes)).join(`${ws()},${ws()}`)}${ws()}]`;
    case 'object':
      return `{${ws()}${m.members.map(([k, v]) => `${literal(k, escapes)}${ws()}:${ws()}${write(v, ws, escapes)}`).join(`${ws()},${ws()}`)}${ws()}}`;
  }
}

/** The first repeated name in document order (a name is checked when read, before its value). */
function firstDuplicate(m: Model, path: Array<string | number> = []): Array<string | number> | undefined {
  if (m.kind === 'array') {
    for (let i = 0; i < m.items.length; i++) {
      const d = firstDuplicate(m.items[i]!, [...path, i]);
      if (d) return d;
    }
  }
  if (m.kind === 'object') {
    const seen = new Set<string>();
    for (const [k, v] of m.members) {
      if (seen.has(k)) return [...path, k];
      seen.add(k);
      const d = firstDuplicate(v, [...path, k]);
      if (d) return d;
    }
  }
  return undefined;
}

describe('FHIR JSON text: repeated property names', () => {
  it('finds the first repeated name, with its path, in any JSON text (property)', () => {
    fc.assert(
      fc.property(model, fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n  '), { minLength: 1 }), fc.array(fc.boolean(), { minLength: 1 }), (m, spaces, flags) => {
        let w = 0;
        let e = 0;
        const text = write(m, () => spaces[w++ % spaces.length]!, () => flags[e++ % flags.length]!);
        JSON.parse(text); // the model writes valid JSON
        const expected = firstDuplicate(m);
        const found = findDuplicateProperty(text);
        assert.deepEqual(found?.path, expected, text);
        if (expected) assert.equal(found?.name, expected[expected.length - 1]);
      }),
      { numRuns: 2000 },
    );
  });

  it('never reports a repeat in what JSON.stringify writes (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (v, indent) => {
        assert.equal(findDuplicateProperty(JSON.stringify(v, null, indent)), undefined);
      }),
      { numRuns: 1000 },
    );
  });

  it('compares names after unescaping', () => {
    assert.deepEqual(findDuplicateProperty('{"gender":"male","g\\u0065nder":"female"}'), { name: 'gender', path: ['gender'] });
    assert.equal(findDuplicateProperty('{"a":{"a":{"a":1}}}'), undefined);
    assert.equal(findDuplicateProperty('[{"a":1},{"a":2}]'), undefined);
    assert.equal(findDuplicateProperty('{"a":"\\"a\\":","b":["a","a"]}'), undefined);
  });

  it('parseJsonText: a repeated property is a 400 naming the element as a FHIRPath', () => {
    const text = '{"resourceType":"Patient","name":[{"family":"A","given":["x"],"family":"B"}]}';
    assert.throws(
      () => parseJsonText(text),
      (e: unknown) => e instanceof FhirError && e.status === 400 && e.issues[0]?.expression?.[0] === 'Patient.name[0].family' && /"family" more than once/.test(e.issues[0]?.diagnostics ?? ''),
    );
    assert.throws(() => parseJsonText('{"a":'), (e: unknown) => e instanceof FhirError && e.status === 400 && /not valid JSON/.test(e.issues[0]?.diagnostics ?? ''));
    assert.deepEqual(parseJsonText('{"resourceType":"Patient","active":true}'), { resourceType: 'Patient', active: true });
  });

  it('expressionOf writes element paths', () => {
    assert.equal(expressionOf(['entry', 2, 'resource', 'id'], 'Bundle'), 'Bundle.entry[2].resource.id');
    assert.equal(expressionOf([0, 'a'], undefined), '[0].a');
    assert.equal(expressionOf([], undefined), '$this');
  });
});
