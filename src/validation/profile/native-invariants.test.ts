/**
 * Differential tests of native-invariants.ts (FHIR R4 elementdefinition.html `constraint.expression`,
 * fhirpath.html): for every R4 base invariant the native compiler accepts, its result equals
 * fhirpath.js's on the official R4 examples and on random mutations of their elements.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { StructureDefinition } from 'fhir/r4';
import { loadR4Bundle } from '../../definitions/r4-package';
import { externalDir, readJsonResources } from '../external-test-data';
import { compileFhirPath } from './fhirpath-r4';
import { compileNativeInvariant, FALLBACK, type NativeInvariant } from './native-invariants';
import { diagnostic } from '../../../test/helpers/diagnostics';

interface Case {
  key: string;
  base: string;
  /** element path whose JSON nodes the invariant applies to */
  elementPath: string;
  expression: string;
  native: NativeInvariant;
  reference: (v: unknown) => unknown[];
}

function baseCases(): { cases: Case[]; total: number } {
  const cases: Case[] = [];
  let total = 0;
  for (const file of ['profiles-resources.json', 'profiles-types.json']) {
    for (const e of loadR4Bundle(file).entry ?? []) {
      const sd = e.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || (sd.kind !== 'resource' && sd.kind !== 'complex-type')) continue;
      for (const el of sd.snapshot?.element ?? []) {
        const isRoot = !el.path.includes('.');
        const code = el.type?.[0]?.code;
        if (!isRoot && code !== 'BackboneElement' && code !== 'Element') continue;
        for (const c of el.constraint ?? []) {
          if (!c.expression) continue;
          // inherited constraints are tested where they are defined
          if (c.source && !c.source.endsWith(`/${sd.type}`)) continue;
          total++;
          const base = isRoot ? sd.type : el.path;
          const native = compileNativeInvariant(base, c.expression);
          if (!native) continue;
          const fn = compileFhirPath(base, c.expression);
          cases.push({ key: c.key, base, elementPath: el.path, expression: c.expression, native, reference: (v) => fn(v, { resource: v, rootResource: v }) });
        }
      }
    }
  }
  return { cases, total };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every object node of a resource, by element path (contained / entry resources restart at their type). */
function nodesByPath(resource: Record<string, unknown>, out: Map<string, Record<string, unknown>[]>): void {
  const visit = (v: unknown, p: string): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, p);
      return;
    }
    if (!isObject(v)) return;
    if (typeof v.resourceType === 'string' && p !== v.resourceType) p = v.resourceType;
    let list = out.get(p);
    if (!list) out.set(p, (list = []));
    list.push(v);
    for (const [k, x] of Object.entries(v)) if (k !== 'resourceType') visit(x, `${p}.${k}`);
  };
  visit(resource, String(resource.resourceType));
}

/** fhirpath.js's answer as the native result shape, or 'throws'. */
function referenceResult(c: Case, v: unknown): boolean | undefined | 'throws' | 'other' {
  let r: unknown[];
  try {
    r = c.reference(v);
  } catch {
    return 'throws';
  }
  if (r.length === 0) return undefined;
  if (r.length === 1 && typeof r[0] === 'boolean') return r[0];
  return 'other';
}

function assertSame(c: Case, v: unknown, stats: { native: number; fallback: number }): void {
  const n = c.native(v);
  if (n === FALLBACK) {
    stats.fallback++;
    return;
  }
  stats.native++;
  const r = referenceResult(c, v);
  assert.equal(n, r, `${c.key} [${c.expression}] on ${c.base}: native ${String(n)}, fhirpath.js ${String(r)} for ${JSON.stringify(v).slice(0, 400)}`);
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL: unknown[] = ['home', 'document', 'searchset', 'history', 'request', 'response', 'instance', 'display', 'group', 'choice', 'exists', '', true, false, 0, 1, 2, 1.5, null, {}, [], [1, 2], ['a', 'b'], { value: 1 }, { id: 'x' }];

/** Identifiers of an expression: keys worth mutating. */
function identifiers(expression: string): string[] {
  return [...new Set(expression.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? [])];
}

function mutate(node: Record<string, unknown>, keys: string[], rnd: () => number): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...node };
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const all = [...new Set([...Object.keys(copy), ...keys])];
    const k = all[Math.floor(rnd() * all.length)] as string;
    const op = rnd();
    if (op < 0.3) delete copy[k];
    else if (op < 0.45) copy[k] = [copy[k] ?? POOL[Math.floor(rnd() * POOL.length)], POOL[Math.floor(rnd() * POOL.length)]];
    else if (op < 0.55) copy[`_${k}`] = { extension: [{ url: 'http://x', valueString: 'y' }] };
    else if (op < 0.65) copy[`${k}String`] = 'x';
    else copy[k] = POOL[Math.floor(rnd() * POOL.length)];
  }
  return copy;
}

describe('native invariants (differential against fhirpath.js)', function () {
  const { cases, total } = baseCases();

  it('accepts a useful share of the R4 base invariants and rejects what it cannot express', () => {
    diagnostic(`      native compiler accepts ${cases.length} of ${total} R4 base invariants (by definition site)`);
    assert.ok(cases.length >= 100, `only ${cases.length} accepted`);
    assert.equal(compileNativeInvariant('Bundle', "type = 'document' implies entry.first().resource.is(Composition)"), undefined);
    assert.equal(compileNativeInvariant('Patient', 'where(use = \'home\').empty()'), undefined);
    assert.equal(compileNativeInvariant('Questionnaire.item.enableWhen', "operator = 'exists' implies (answer is Boolean)"), undefined);
    assert.equal(compileNativeInvariant('MedicationDispense', 'whenHandedOver.empty() or whenPrepared.empty() or whenHandedOver >= whenPrepared'), undefined);
  });

  it('answers FALLBACK for a primitive extension and a repeated singleton', () => {
    const inv = compileNativeInvariant('Bundle', "total.empty() or (type = 'searchset') or (type = 'history')");
    assert.ok(inv);
    assert.equal(inv({ type: 'document', total: 1 }), false);
    assert.equal(inv({ type: 'searchset', total: 1 }), true);
    assert.equal(inv({ _type: { extension: [] }, total: 1 }), FALLBACK);
    assert.equal(inv({ type: ['a', 'b'], total: 1 }), FALLBACK);
  });

  it('agrees with fhirpath.js on the R4 examples and on random mutations of their elements', function () {
    const dir = externalDir('hl7-r4-examples');
    if (!dir) {
      diagnostic('      skipped: ../shared/external/hl7-r4-examples is absent');
      this.skip();
    }
    const byPath = new Map<string, Record<string, unknown>[]>();
    for (const { resource } of readJsonResources(dir)) nodesByPath(resource, byPath);
    const stats = { native: 0, fallback: 0 };
    const rnd = prng(4242);
    let covered = 0;
    for (const c of cases) {
      const nodes = byPath.get(c.elementPath) ?? [];
      if (nodes.length > 0) covered++;
      const keys = identifiers(c.expression);
      for (const node of nodes.slice(0, 300)) {
        assertSame(c, node, stats);
        for (let i = 0; i < 6; i++) assertSame(c, mutate(node, keys, rnd), stats);
      }
      // the invariant on elements it does not occur on, and on mutations of an empty object
      for (let i = 0; i < 20; i++) assertSame(c, mutate({}, keys, rnd), stats);
    }
    diagnostic(`      ${covered}/${cases.length} accepted invariants met in the examples; ${stats.native} native evaluations compared, ${stats.fallback} fell back`);
    assert.ok(stats.native > 1000);
  });

  it('agrees with fhirpath.js on generated elements (fast-check)', () => {
    const values = fc.oneof(fc.constantFrom(...POOL), fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 3 }), fc.boolean());
    for (const c of cases) {
      const keys = identifiers(c.expression);
      const node = fc.dictionary(fc.constantFrom(...keys, ...keys.map((k) => `_${k}`), ...keys.map((k) => `${k}Quantity`)), fc.oneof(values, fc.array(values, { maxLength: 3 }), fc.dictionary(fc.constantFrom(...keys), values)));
      const stats = { native: 0, fallback: 0 };
      fc.assert(
        fc.property(node, (v) => {
          assertSame(c, v, stats);
        }),
        { numRuns: 100, seed: 7 },
      );
    }
  });
});
