/**
 * Tests of the compiled search-parameter expressions (compiled-expression.ts; FHIR R4 §3.1.1
 * search.html): the shapes compiled, the run-time fallbacks, and differential tests against
 * fhirpath.js (`extractIndexWithStats` with `fhirpathOnly`) over every R4 example (read at run time
 * from ../shared/external/hl7-r4-examples; skipped when absent) and over fast-check resources
 * generated from fhirpath.js's R4 model for the types written most.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { Resource } from 'fhir/r4';
import { compileSearchExpression, FALLBACK } from './compiled-expression';
import { extractIndexWithStats } from './extract';
import { defaultSearchParameters } from './parameters';
import { fhirpathR4Model } from '../definitions/r4-package';
import { diagnostic } from '../../test/helpers/diagnostics';
import { externalPath } from '../../test/helpers/external-data';

const examplesDir = externalPath('hl7-r4-examples');
const reg = defaultSearchParameters();
const COVERED = ['Patient', 'Observation', 'MedicationRequest', 'Task', 'Encounter', 'Condition', 'Composition', 'Bundle'] as const;

/** The reference (fhirpath.js only) and the default extraction must agree: entries (in order) and failures. */
function assertSame(r: Resource, where: string): void {
  const reference = extractIndexWithStats(r, reg, { fhirpathOnly: true, evaluateAll: true });
  const compiled = extractIndexWithStats(r, reg, { evaluateAll: true });
  assert.deepEqual(compiled, reference, `${where}: ${r.resourceType}/${r.id ?? '?'}`);
}

/** How many (resource, parameter) evaluations the compiled path answered itself (not FALLBACK). */
function compiledAnswers(r: Resource): { answered: number; fellBack: number; values: number } {
  let answered = 0;
  let fellBack = 0;
  let values = 0;
  for (const def of reg.forType(r.resourceType)) {
    if (def.expression === undefined || def.type === 'composite') continue;
    const f = compileSearchExpression(def.expression, def.resourceType);
    if (!f) continue;
    const out = f(r);
    if (out === FALLBACK) fellBack++;
    else {
      answered++;
      values += out.length;
    }
  }
  return { answered, fellBack, values };
}

describe('search/compiled-expression', () => {
  it('compiles paths, choice casts, [n], the rewritten resolve() filter, where(prop = literal) and P.exists() and P != false; leaves the rest to fhirpath.js', () => {
    for (const [e, t] of [
      ['Patient.name', 'Patient'],
      ['Resource.meta.tag', 'Patient'],
      ['(Observation.value.ofType(CodeableConcept)).text', 'Observation'],
      ['Condition.onset.ofType(Age) | Condition.onset.ofType(Range)', 'Condition'],
      ["Patient.telecom.where(system='email')", 'Patient'],
      ["Observation.subject.where(type = 'Patient' or reference.startsWith('Patient/') or reference.contains('/Patient/'))", 'Observation'],
      ['Bundle.entry[0].resource', 'Bundle'],
      ['Patient.deceased.exists() and Patient.deceased != false', 'Patient'],
    ] as const) assert.ok(compileSearchExpression(e, t), e);
    for (const [e, t] of [
      ['Patient.deceased.exists() and Patient.active != false', 'Patient'],
      ['Observation', 'Observation'],
      ["Patient.extension('http://x').value", 'Patient'],
      ['Patient.name.first()', 'Patient'],
      ['Observation.code', 'Patient'],
      ["Observation.subject.where(type = 'Patient' or reference.startsWith('Group/') or reference.contains('/Patient/'))", 'Observation'],
    ] as const) assert.equal(compileSearchExpression(e, t), undefined, e);
  });

  it('gives the FHIR type, the choice type and the element path of each value, as fhirpath.js does', () => {
    const f = compileSearchExpression('Observation.value.ofType(Quantity) | Observation.status | Observation.component.value', 'Observation')!;
    const out = f({ resourceType: 'Observation', status: 'final', valueQuantity: { value: 1 }, component: [{ valueCodeableConcept: { text: 'x' } }, { valueString: 's' }] });
    assert.notEqual(out, FALLBACK);
    assert.deepEqual(
      (out as Exclude<typeof out, typeof FALLBACK>).map((v) => [v.fhirType, v.elementPath]),
      [['Quantity', 'Observation.value'], ['code', 'Observation.status'], ['CodeableConcept', 'Observation.component.value'], ['string', 'Observation.component.value']],
    );
    const addressUse = compileSearchExpression('Patient.address.use', 'Patient')!({ resourceType: 'Patient', address: [{ use: 'home' }] });
    assert.deepEqual(addressUse !== FALLBACK && addressUse.map((v) => v.elementPath), ['Address.use']);
  });

  it('falls back to fhirpath.js on primitive extensions, nulls in arrays, numbers and another resource type', () => {
    const gender = compileSearchExpression('Patient.gender', 'Patient')!;
    assert.equal(gender({ resourceType: 'Patient', gender: 'male', _gender: { id: 'g' } }), FALLBACK);
    assert.equal(gender({ resourceType: 'Observation' }), FALLBACK);
    assert.equal(compileSearchExpression('Patient.name.given', 'Patient')!({ resourceType: 'Patient', name: [{ given: ['a', null] }] }), FALLBACK);
    assert.equal(compileSearchExpression('Observation.value.ofType(Quantity).value', 'Observation')!({ resourceType: 'Observation', valueQuantity: { value: 3 } }), FALLBACK);
    assert.deepEqual(gender({ resourceType: 'Patient', gender: 'male' }), [{ value: 'male', fhirType: 'code', path: 'code', elementPath: 'Patient.gender' }]);
  });

  it('gives the entries of fhirpath.js over every R4 example (entries and contained resources included)', function () {
    if (!fs.existsSync(examplesDir)) {
      diagnostic(`      skipped: ${examplesDir} not found`);
      this.skip();
    }
    let n = 0;
    let answered = 0;
    let fellBack = 0;
    const each = (r: unknown, f: string): void => {
      if (typeof r !== 'object' || r === null || typeof (r as { resourceType?: unknown }).resourceType !== 'string') return;
      n++;
      assertSame(r as Resource, f);
      const c = compiledAnswers(r as Resource);
      answered += c.answered;
      fellBack += c.fellBack;
      for (const e of (r as { entry?: Array<{ resource?: unknown }> }).entry ?? []) each(e.resource, f);
      for (const c of (r as { contained?: unknown[] }).contained ?? []) each(c, f);
    };
    for (const f of fs.readdirSync(examplesDir).filter((x) => x.endsWith('.json'))) each(JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')), f);
    diagnostic(`      ${n} resources compared; compiled expressions answered ${answered} evaluations, fell back ${fellBack}`);
    assert.ok(n > 700);
    assert.ok(answered > 10 * fellBack, `compiled ${answered}, fallback ${fellBack}`);
  });

  describe('over resources generated from the R4 model', () => {
    const model = fhirpathR4Model() as ReturnType<typeof fhirpathR4Model> & { path2TypeWithoutElements: Record<string, string | undefined> };
    /** Child elements (JSON name, FHIR type) of each node path, choice elements under their typed names. */
    const childrenOf = new Map<string, Array<[string, string]>>();
    for (const [p, t] of Object.entries(model.path2Type)) {
      const dot = p.lastIndexOf('.');
      const parent = p.slice(0, dot);
      const name = p.slice(dot + 1);
      if (name === 'id' || name === 'extension' || name === 'modifierExtension' || name === 'contained') continue;
      const list = childrenOf.get(parent) ?? [];
      list.push([name, t]);
      childrenOf.set(parent, list);
    }
    const strings = ['Patient/p1', 'Practitioner/d1', 'http://example.org/fhir/Practitioner/d2', 'Group/g1', 'http://example.org/fhir/Patient/p2/_history/3', 'urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427', 'email', 'phone', 'Patient', 'Practitioner', 'Group', 'http://loinc.org', '8867-4', 'Ünïcödé  Text', ' ', 'final', 'home', 'male', '2020-01-02', '2021-03-04T05:06:07Z', 'mg', '#c1'];
    const primitive = (t: string): fc.Arbitrary<unknown> => {
      if (t === 'boolean' || t === 'System.Boolean') return fc.boolean();
      if (['integer', 'positiveInt', 'unsignedInt', 'decimal', 'System.Integer', 'System.Decimal'].includes(t)) return fc.integer({ min: 0, max: 100 });
      if (['date', 'dateTime', 'instant'].includes(t)) return fc.constantFrom('2020', '2020-01', '2020-01-02', '2020-01-02T03:04:05Z', '2020-01-02T03:04:05.123+01:00');
      return fc.constantFrom(...strings);
    };
    /** A JSON value of FHIR type `type` at node path `nodePath`, `depth` levels of complex types left. */
    const value = (type: string, nodePath: string, depth: number): fc.Arbitrary<unknown> => {
      const kids = childrenOf.get(model.path2TypeWithoutElements[nodePath] ?? nodePath);
      if (/^[a-z]/.test(type) || type.startsWith('System.') || !kids) return primitive(type);
      if (type === 'Resource') return depth > 0 ? resourceOf('Patient', depth - 1) : fc.constant({ resourceType: 'Patient', id: 'p9' });
      if (depth <= 0) return fc.constant({});
      return objectOf(kids, model.path2TypeWithoutElements[nodePath] ?? nodePath, depth - 1);
    };
    const objectOf = (kids: Array<[string, string]>, nodePath: string, depth: number, maxKeys = 4): fc.Arbitrary<Record<string, unknown>> =>
      fc
        .uniqueArray(fc.constantFrom(...kids), { maxLength: Math.min(maxKeys, kids.length), selector: (k) => k[0] })
        .chain((chosen) =>
          fc.tuple(
            ...chosen.map(([name, t]) => {
              const one = value(t, `${nodePath}.${name}`, depth);
              // Arrays and singletons alike (fhirpath navigation flattens both); now and then a null,
              // or a primitive extension, which the compiled path must hand back to fhirpath.js.
              return fc.tuple(
                fc.constant(name),
                fc.oneof({ weight: 14, arbitrary: one }, { weight: 6, arbitrary: fc.array(one, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(fc.oneof(one, fc.constant(null)), { maxLength: 2 }) }),
                /^[a-z]/.test(t) ? fc.oneof({ weight: 20, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant({ id: 'x' }) }) : fc.constant(null),
              );
            }),
          ),
        )
        .map((props) => {
          const o: Record<string, unknown> = {};
          for (const [name, v, ext] of props) {
            o[name] = v;
            if (ext) o[`_${name}`] = ext;
          }
          return o;
        });
    /** A resource: mostly the elements its search expressions read (choice elements under every typed name), and a few others. */
    const resourceOf = (type: string, depth: number): fc.Arbitrary<Record<string, unknown>> => {
      const all = childrenOf.get(type)!;
      const expressions = reg.forType(type).map((d) => d.expression ?? '').join(' ');
      const read = all.filter(([name]) => [...expressions.matchAll(/\.([A-Za-z]+)/g)].some((m) => name === m[1] || (name.startsWith(m[1]!) && /^[A-Z]/.test(name.slice(m[1]!.length)))));
      return fc
        .tuple(objectOf(read.length > 0 ? read : all, type, depth, 10), objectOf(all, type, depth, 2))
        .map(([a, b]) => ({ resourceType: type, id: 'g1', ...b, ...a }));
    };

    for (const type of COVERED) {
      it(`gives the entries of fhirpath.js for generated ${type} resources`, () => {
        let values = 0;
        let fellBack = 0;
        fc.assert(
          fc.property(resourceOf(type, 3), (r) => {
            assertSame(r as unknown as Resource, 'generated');
            const c = compiledAnswers(r as unknown as Resource);
            values += c.values;
            fellBack += c.fellBack;
          }),
          { numRuns: 150 },
        );
        diagnostic(`      generated ${type}: ${values} values from compiled expressions, ${fellBack} fallbacks`);
        assert.ok(values > 200, `only ${values} values from compiled expressions`);
      });
    }
  });
});
