/**
 * The content-limit walk (src/fhir/limits.ts; FHIR R4 http.html status codes, OperationOutcome
 * `too-costly`): property tests against a plain recursive reference count on random JSON, and the
 * shapes of the answers (413, the configuration variable, the offending element).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FhirError } from './outcome';
import { checkRequestContent, checkResourceContent, type ContentLimits } from './limits';

/** The reference: every JSON value counted once, and the longest array, by plain recursion. */
function reference(v: unknown): { values: number; longest: number } {
  if (Array.isArray(v)) {
    const inner = v.map(reference);
    return { values: 1 + inner.reduce((s, x) => s + x.values, 0), longest: Math.max(v.length, ...inner.map((x) => x.longest)) };
  }
  if (v !== null && typeof v === 'object') {
    const inner = Object.values(v).map(reference);
    return { values: 1 + inner.reduce((s, x) => s + x.values, 0), longest: Math.max(0, ...inner.map((x) => x.longest)) };
  }
  return { values: 1, longest: 0 };
}

/** Follows a FHIRPath path (`Root.a[2].b`, odd names delimited as `` .`a b` ``) into a JSON value. */
function at(value: unknown, path: string): unknown {
  const steps = path.replace(/^[A-Za-z]+/, '').match(/\.[A-Za-z_][A-Za-z0-9_]*|\.`(?:[^`\\]|\\.)*`|\[\d+\]/g) ?? [];
  assert.equal(steps.join(''), path.replace(/^[A-Za-z]+/, ''), `${path} is a path of plain names, delimited names and indexes`);
  let v = value;
  for (const s of steps) {
    if (s.startsWith('[')) v = (v as unknown[])[Number(s.slice(1, -1))];
    else if (s.startsWith('.`')) v = (v as Record<string, unknown>)[s.slice(2, -1).replace(/\\(.)/g, '$1')];
    else v = (v as Record<string, unknown>)[s.slice(1)];
  }
  return v;
}

const limitsArb = fc.record({ maxBundleEntries: fc.integer({ min: 1, max: 6 }), maxArrayLength: fc.integer({ min: 0, max: 6 }), maxResourceElements: fc.integer({ min: 1, max: 60 }) });

function caught(f: () => void): unknown {
  try {
    f();
    return undefined;
  } catch (e) {
    return e;
  }
}

describe('content limits walk', () => {
  it('accepts exactly the values within both limits, and otherwise answers 413 too-costly naming the limit and the element', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), limitsArb, (value, limits: ContentLimits) => {
        const ref = reference(value);
        const e = caught(() => checkResourceContent(value, limits, 'Resource'));
        const within = ref.values <= limits.maxResourceElements && ref.longest <= limits.maxArrayLength;
        if (within) {
          assert.equal(e, undefined);
          return;
        }
        assert.ok(e instanceof FhirError, String(e));
        assert.equal(e.status, 413);
        const issue = e.issues[0]!;
        assert.equal(issue.code, 'too-costly');
        const expr = issue.expression?.[0] ?? '';
        if (/MAX_ARRAY_LENGTH/.test(issue.diagnostics ?? '')) {
          const arr = at(value, expr);
          assert.ok(Array.isArray(arr) && arr.length > limits.maxArrayLength, `${expr} names an array over the limit`);
        } else {
          assert.match(issue.diagnostics ?? '', /MAX_RESOURCE_ELEMENTS/);
          assert.ok(ref.values > limits.maxResourceElements);
          assert.equal(expr, 'Resource');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a FhirError 413, whatever the body', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true }), limitsArb, (value, limits) => {
        const e = caught(() => checkRequestContent(value, limits));
        assert.ok(e === undefined || (e instanceof FhirError && e.status === 413), String(e));
      }),
    );
  });

  it('counts each entry resource of a batch or transaction on its own, and its entries against MAX_BUNDLE_ENTRIES', () => {
    const limits: ContentLimits = { maxBundleEntries: 3, maxArrayLength: 4, maxResourceElements: 10 };
    const resource = { resourceType: 'Patient', name: [{ family: 'a' }, { family: 'b' }] }; // 7 values
    const entry = (r: unknown) => ({ resource: r, request: { method: 'POST', url: 'Patient' } });
    const bundle = (entries: unknown[]) => ({ resourceType: 'Bundle', type: 'transaction', entry: entries });
    // Three entries of 7 values each: 21 values in resources, each within 10.
    assert.doesNotThrow(() => checkRequestContent(bundle([entry(resource), entry(resource), entry(resource)]), limits));
    const tooMany = caught(() => checkRequestContent(bundle([entry(resource), entry(resource), entry(resource), entry(resource)]), limits)) as FhirError;
    assert.equal(tooMany.status, 413);
    assert.deepEqual(tooMany.issues[0]!.expression, ['Bundle.entry']);
    assert.match(tooMany.issues[0]!.diagnostics!, /4 entries, more than the limit of 3 .*MAX_BUNDLE_ENTRIES/);
    const big = { resourceType: 'Patient', name: [{ family: 'a', given: ['x', 'y', 'z'] }, { family: 'b' }] }; // 11 values
    const over = caught(() => checkRequestContent(bundle([entry(resource), entry(big)]), limits)) as FhirError;
    assert.deepEqual(over.issues[0]!.expression, ['Bundle.entry[1].resource']);
    assert.match(over.issues[0]!.diagnostics!, /MAX_RESOURCE_ELEMENTS/);
    const longArray = caught(() => checkRequestContent(bundle([entry({ resourceType: 'Patient', name: [{ given: ['1', '2', '3', '4', '5'] }] })]), limits)) as FhirError;
    assert.deepEqual(longArray.issues[0]!.expression, ['Bundle.entry[0].resource.name[0].given']);
    assert.match(longArray.issues[0]!.diagnostics!, /5 items, more than the limit of 4 .*MAX_ARRAY_LENGTH/);
    // A document Bundle (not batch/transaction) is one resource: its entries are an ordinary array.
    const doc = caught(() => checkRequestContent({ resourceType: 'Bundle', type: 'document', entry: [{}, {}, {}, {}, {}] }, limits)) as FhirError;
    assert.deepEqual(doc.issues[0]!.expression, ['Bundle.entry']);
    assert.match(doc.issues[0]!.diagnostics!, /MAX_ARRAY_LENGTH/);
  });

  it('walks a very deep or very wide value without recursion and stops at the first limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    assert.doesNotThrow(() => checkResourceContent(deep, { maxBundleEntries: 1, maxArrayLength: 1, maxResourceElements: 10_000_000 }));
    const wide = { resourceType: 'Patient', name: Array.from({ length: 200_000 }, () => ({ family: 'x' })) };
    const e = caught(() => checkResourceContent(wide, { maxBundleEntries: 1, maxArrayLength: 10_000, maxResourceElements: 100_000 })) as FhirError;
    assert.deepEqual(e.issues[0]!.expression, ['Patient.name']);
  });
});
