/**
 * Tests of the CodeSystem concept index (FHIR R4 §4.7 codesystem.html: hierarchy by nesting and by
 * the parent/child/subsumedBy concept properties), with fast-check properties over random code
 * system graphs: `hierarchy` below/above equals reachability, and the `is-a`, `descendent-of`,
 * `is-not-a` and `generalizes` filters of an expansion agree with it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptProperty, ValueSet } from 'fhir/r4';
import { CodeSystemIndex, isInactive, propertyValues } from './code-system-index';
import { LocalTerminology } from './local-terminology';

const SYSTEM = 'http://example.org/CodeSystem/graph';

/** A random code system: a forest by nesting plus extra edges as properties (cycles allowed). */
interface Graph {
  nestedParent: number[]; // -1 = root
  extra: Array<{ parent: number; child: number; as: 'parent' | 'child' | 'subsumedBy' }>;
}

const graphArb: fc.Arbitrary<Graph> = fc.integer({ min: 1, max: 25 }).chain((n) =>
  fc.record({
    nestedParent: fc.tuple(...Array.from({ length: n }, (_, i) => fc.integer({ min: -1, max: i - 1 }))),
    extra: fc.array(
      fc.record({ parent: fc.nat(n - 1), child: fc.nat(n - 1), as: fc.constantFrom('parent' as const, 'child' as const, 'subsumedBy' as const) }),
      { maxLength: 8 },
    ),
  }),
);

const code = (i: number): string => `c${i}`;

function toCodeSystem(g: Graph): CodeSystem {
  const concepts: CodeSystemConcept[] = g.nestedParent.map((_, i) => ({ code: code(i), display: `Concept ${i}` }));
  const props = (i: number): CodeSystemConceptProperty[] => {
    const c = concepts[i];
    if (!c) throw new Error('no concept');
    c.property ??= [];
    return c.property;
  };
  for (const e of g.extra) {
    if (e.as === 'child') props(e.parent).push({ code: 'child', valueCode: code(e.child) });
    else props(e.child).push({ code: e.as, valueCode: code(e.parent) });
  }
  const roots: CodeSystemConcept[] = [];
  g.nestedParent.forEach((p, i) => {
    const c = concepts[i];
    if (!c) return;
    if (p < 0) roots.push(c);
    else {
      const parent = concepts[p];
      if (parent) (parent.concept ??= []).push(c);
    }
  });
  return { resourceType: 'CodeSystem', url: SYSTEM, status: 'active', content: 'complete', concept: roots };
}

/** Reachability computed from the graph description alone (independent of the index). */
function reachable(g: Graph, from: number, direction: 'below' | 'above'): Set<string> {
  const edges: Array<[number, number]> = [...g.nestedParent.flatMap((p, i): Array<[number, number]> => (p < 0 ? [] : [[p, i]])), ...g.extra.map((e): [number, number] => [e.parent, e.child])];
  const seen = new Set<number>([from]);
  const todo = [from];
  while (todo.length) {
    const x = todo.pop() as number;
    for (const [p, c] of edges) {
      const next = direction === 'below' ? (p === x ? c : undefined) : c === x ? p : undefined;
      if (next !== undefined && !seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return new Set([...seen].map(code));
}

const filterVs = (op: string, value: string): ValueSet => ({
  resourceType: 'ValueSet',
  url: `http://example.org/ValueSet/${op}-${value}`,
  status: 'active',
  compose: { include: [{ system: SYSTEM, filter: [{ property: 'concept', op: op as 'is-a', value }] }] },
});

describe('terminology/code-system-index', () => {
  it('folds nesting and parent/child/subsumedBy properties into one hierarchy', () => {
    const idx = CodeSystemIndex.of({
      resourceType: 'CodeSystem',
      url: SYSTEM,
      status: 'active',
      content: 'complete',
      concept: [
        { code: 'A', concept: [{ code: 'B', concept: [{ code: 'C' }] }] },
        { code: 'D', property: [{ code: 'parent', valueCode: 'A' }] },
        { code: 'E', property: [{ code: 'child', valueCode: 'C' }, { code: 'subsumedBy', valueCoding: { code: 'D' } }] },
        { code: 'F', property: [{ code: 'parent', valueCode: 'NOPE' }] },
      ],
    });
    assert.deepEqual(idx.descendants('A')?.map((n) => n.code), ['A', 'B', 'D', 'C', 'E']);
    assert.deepEqual(idx.ancestors('C')?.map((n) => n.code).sort(), ['A', 'B', 'C', 'D', 'E']);
    assert.deepEqual(idx.descendants('A', false)?.map((n) => n.code).includes('A'), false);
    assert.deepEqual(idx.ancestors('F')?.map((n) => n.code), ['F']);
    assert.equal(idx.descendants('Z'), undefined);
    assert.equal(idx.size, 6);
  });

  it('survives cycles in parent/child properties', () => {
    const idx = CodeSystemIndex.of({
      resourceType: 'CodeSystem',
      status: 'active',
      content: 'complete',
      concept: [
        { code: 'X', property: [{ code: 'parent', valueCode: 'Y' }] },
        { code: 'Y', property: [{ code: 'parent', valueCode: 'X' }] },
      ],
    });
    assert.deepEqual(idx.descendants('X')?.map((n) => n.code), ['X', 'Y']);
    assert.deepEqual(idx.ancestors('Y')?.map((n) => n.code), ['Y', 'X']);
  });

  it('looks codes up case-insensitively only when the system says so', () => {
    const cs = (caseSensitive: boolean | undefined): CodeSystem => ({ resourceType: 'CodeSystem', status: 'active', content: 'complete', caseSensitive, concept: [{ code: 'Abc' }] });
    assert.equal(CodeSystemIndex.of(cs(false)).lookup('aBC')?.code, 'Abc');
    assert.equal(CodeSystemIndex.of(cs(true)).lookup('aBC'), undefined);
    assert.equal(CodeSystemIndex.of(cs(undefined)).lookup('aBC'), undefined);
  });

  it('caches one index per resource object', () => {
    const cs: CodeSystem = { resourceType: 'CodeSystem', status: 'active', content: 'complete', concept: [{ code: 'a' }] };
    assert.equal(CodeSystemIndex.of(cs), CodeSystemIndex.of(cs));
  });

  it('reads property values of every type and recognises inactive concepts', () => {
    const idx = CodeSystemIndex.of({
      resourceType: 'CodeSystem',
      status: 'active',
      content: 'complete',
      concept: [
        { code: 'a', property: [{ code: 'p', valueBoolean: false }, { code: 'p', valueInteger: 3 }, { code: 'status', valueCode: 'retired' }] },
        { code: 'b', property: [{ code: 'inactive', valueBoolean: true }] },
        { code: 'c', property: [{ code: 'status', valueCode: 'active' }] },
      ],
    });
    const node = (c: string) => idx.lookup(c) ?? assert.fail(c);
    assert.deepEqual(propertyValues(node('a'), 'p'), ['false', '3']);
    assert.deepEqual(['a', 'b', 'c'].map((c) => isInactive(node(c))), [true, true, false]);
  });

  it('property: hierarchy below/above equals reachability, and is-a style filters agree', async () => {
    await fc.assert(
      fc.asyncProperty(graphArb, fc.nat(), async (g, pick) => {
        const n = g.nestedParent.length;
        const from = pick % n;
        const terminology = new LocalTerminology();
        terminology.addResource(toCodeSystem(g));
        const below = await terminology.hierarchy(SYSTEM, code(from), 'below');
        const above = await terminology.hierarchy(SYSTEM, code(from), 'above');
        const expectBelow = reachable(g, from, 'below');
        const expectAbove = reachable(g, from, 'above');
        assert.deepEqual(new Set(below?.map((c) => c.code)), expectBelow);
        assert.equal(below?.length, expectBelow.size, 'no duplicates');
        assert.deepEqual(new Set(above?.map((c) => c.code)), expectAbove);
        assert.ok(below?.every((c) => c.system === SYSTEM && c.display === `Concept ${c.code.slice(1)}`));

        const expansion = async (op: string): Promise<Set<string>> => {
          const vs = filterVs(op, code(from));
          terminology.addResource(vs);
          const codes = await terminology.expand(vs.url ?? '');
          assert.ok(codes, `${op} expands`);
          return new Set(codes.map((c) => c.code));
        };
        assert.deepEqual(await expansion('is-a'), expectBelow);
        // descendent-of: strictly below (the concept itself excluded, even on a cycle).
        assert.deepEqual(await expansion('descendent-of'), new Set([...expectBelow].filter((c) => c !== code(from))));
        const all = new Set(Array.from({ length: n }, (_, i) => code(i)));
        assert.deepEqual(await expansion('is-not-a'), new Set([...all].filter((c) => !expectBelow.has(c))));
        assert.deepEqual(await expansion('generalizes'), expectAbove);
      }),
      { numRuns: 150 },
    );
  });
});
