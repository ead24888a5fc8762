/**
 * Tests of index extraction (FHIR R4 §3.1.1.4 search.html) over hand-made resources and the official
 * R4 examples (read at run time from ../shared/external/hl7-r4-examples; skipped when absent).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import type { IndexEntry } from './index-entry';
import fc from 'fast-check';
import { expressionGuard, extractIndex, extractIndexWithStats, pathRoot, pushDistinct } from './extract';
import { nextDown, parseDateRange } from './normalize';
import { defaultSearchParameters, SearchParameterRegistry, restrictExpression, rewriteAs, rewriteResolve, splitUnion } from './parameters';
import { diagnostic } from '../../test/helpers/diagnostics';
import { externalPath } from '../../test/helpers/external-data';

const examplesDir = externalPath('hl7-r4-examples');

function example(this: Mocha.Context, file: string): Resource {
  const p = path.join(examplesDir, file);
  if (!fs.existsSync(p)) {
    diagnostic(`      skipped: R4 example ${file} not found under ${examplesDir}`);
    this.skip();
  }
  return JSON.parse(fs.readFileSync(p, 'utf8')) as Resource;
}

const of = (entries: IndexEntry[], param: string): IndexEntry[] => entries.filter((e) => e.param === param);

describe('search/parameters', () => {
  it('splits unions at the top level only', () => {
    assert.deepEqual(splitUnion("A.x | (B.y as T) | C.z.where(a = 'p|q')"), ['A.x', '(B.y as T)', "C.z.where(a = 'p|q')"]);
  });
  it('restricts expressions to the one type and rewrites resolve() and as', () => {
    assert.equal(restrictExpression('Account.subject.where(resolve() is Patient) | Basic.subject', 'Account', ['Account', 'Basic']), rewriteResolve('Account.subject.where(resolve() is Patient)'));
    assert.equal(rewriteAs('(Observation.value as Quantity) | Condition.onset.as(Age)'), '(Observation.value.ofType(Quantity)) | Condition.onset.ofType(Age)');
  });
  it('holds R4 parameters for every type, with resource-level ones everywhere', () => {
    const reg = defaultSearchParameters();
    assert.equal(reg.get('Patient', 'family')?.type, 'string');
    assert.equal(reg.get('Observation', 'code')?.expression, 'Observation.code');
    assert.equal(reg.get('Binary', '_id')?.type, 'token');
    assert.equal(reg.get('Binary', '_text'), undefined, 'DomainResource parameters do not apply to Binary');
    assert.deepEqual(reg.get('Observation', 'subject')?.modifiers.includes('identifier'), true);
    assert.equal(reg.get('Patient', 'nonsense'), undefined);
  });
  it('accepts runtime SearchParameters', () => {
    const reg = new SearchParameterRegistry();
    reg.register({
      resourceType: 'SearchParameter',
      url: 'http://example.org/SearchParameter/patient-nickname',
      name: 'nickname',
      status: 'active',
      description: 'x',
      code: 'x-nickname',
      base: ['Patient', 'NotAType'],
      type: 'string',
      expression: "Patient.name.where(use = 'nickname').given",
    });
    const e = extractIndex({ resourceType: 'Patient', name: [{ use: 'nickname', given: ['Bob'] }, { given: ['Robert'] }] } as Resource, reg);
    assert.deepEqual(of(e, 'x-nickname'), [{ kind: 'string', param: 'x-nickname', norm: 'bob', exact: 'Bob' }]);
  });
});

describe('search/extract', () => {
  it('normalises each datatype by parameter type', () => {
    const obs = {
      resourceType: 'Observation',
      id: 'o1',
      meta: { tag: [{ system: 'http://t', code: 'x' }], profile: ['http://p/1'] },
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic' }], text: 'SBP' },
      subject: { reference: 'Patient/p1/_history/3' },
      performer: [{ reference: 'http://other.org/fhir/Practitioner/9' }, { identifier: { system: 'http://ids', value: 'P7' } }],
      effectivePeriod: { start: '2020-01-01' },
      valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' },
    } as unknown as Resource;
    const e = extractIndex(obs);
    assert.deepEqual(of(e, 'status'), [{ kind: 'token', param: 'status', system: 'http://hl7.org/fhir/observation-status', code: 'final' }], 'implied system of a required binding');
    assert.deepEqual(of(e, 'code'), [
      { kind: 'token', param: 'code', system: 'http://loinc.org', code: '8480-6', text: 'systolic' },
      { kind: 'token', param: 'code', system: null, code: null, text: 'sbp' },
    ]);
    assert.deepEqual(of(e, 'subject'), [{ kind: 'reference', param: 'subject', targetType: 'Patient', targetId: 'p1', targetVersion: '3', url: null }]);
    assert.deepEqual(of(e, 'patient'), of(e, 'subject').map((x) => ({ ...x, param: 'patient' })), 'where(resolve() is Patient) is rewritten');
    assert.deepEqual(of(e, 'performer'), [
      { kind: 'reference', param: 'performer', targetType: null, targetId: null, url: 'http://other.org/fhir/Practitioner/9' },
      { kind: 'reference', param: 'performer', targetType: null, targetId: null, url: null, identifierSystem: 'http://ids', identifierValue: 'P7' },
    ]);
    assert.deepEqual(of(e, 'date'), [{ kind: 'date', param: 'date', low: Date.parse('2020-01-01T00:00:00Z'), high: 253402300799999 }]);
    assert.deepEqual(of(e, 'value-quantity'), [
      { kind: 'quantity', param: 'value-quantity', system: 'http://unitsofmeasure.org', code: 'mm[Hg]', unit: 'mmHg', value: 120, low: 119.5, high: nextDown(120.5) },
    ]);
    assert.deepEqual(of(e, '_tag'), [{ kind: 'token', param: '_tag', system: 'http://t', code: 'x', text: null }]);
    assert.deepEqual(of(e, '_profile'), [{ kind: 'uri', param: '_profile', value: 'http://p/1' }]);
    assert.equal(of(e, '_id').length, 0, '_id is a column, not an index entry');
  });

  it('a composite entry holds the components of one value', () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'BP' },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 107, code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 60, code: 'mm[Hg]', comparator: '<' } },
      ],
    } as unknown as Resource;
    const r = extractIndexWithStats(obs);
    assert.deepEqual(r.failures, []);
    const comp = of(r.entries, 'component-code-value-quantity');
    assert.equal(comp.length, 2);
    const first = comp[0];
    assert.ok(first?.kind === 'composite');
    assert.deepEqual(
      first.components.map((c) => c.param),
      ['component-code', 'component-value-quantity'],
    );
  });

  it('_text holds the narrative words, _content every string word (narrative included, base64 data excluded)', () => {
    const p = {
      resourceType: 'Patient',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Héart&amp;lung <b>clinic</b></p><!-- hidden --></div>' },
      name: [{ family: "O'Brien", given: ['Ann'] }],
      photo: [{ contentType: 'image/png', data: 'QUJDREVGRw==' }],
    } as unknown as Resource;
    const e = extractIndex(p);
    assert.deepEqual(of(e, '_text'), [{ kind: 'text', param: '_text', text: 'heart lung clinic' }]);
    const content = of(e, '_content')[0];
    assert.ok(content?.kind === 'text');
    assert.deepEqual(content.text.split(' ').sort(), ['ann', 'brien', 'clinic', 'generated', 'heart', 'image', 'lung', 'o', 'png'].sort());
    assert.deepEqual(of(extractIndex({ resourceType: 'Patient' } as Resource), '_text'), []);
  });

  it("indexes references under the server's own base as local, others as urls", () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: 'http://host/fhir/Patient/p1' },
      performer: [{ reference: 'http://other/fhir/Practitioner/9' }, { reference: 'http://host/fhir/Practitioner/7/_history/2' }],
    } as unknown as Resource;
    const e = extractIndex(obs, undefined, { baseUrl: 'http://host/fhir' });
    assert.deepEqual(of(e, 'subject'), [{ kind: 'reference', param: 'subject', targetType: 'Patient', targetId: 'p1', targetVersion: null, url: null }]);
    assert.deepEqual(of(e, 'performer'), [
      { kind: 'reference', param: 'performer', targetType: null, targetId: null, url: 'http://other/fhir/Practitioner/9' },
      { kind: 'reference', param: 'performer', targetType: 'Practitioner', targetId: '7', targetVersion: '2', url: null },
    ]);
    const without = extractIndex(obs);
    assert.ok(of(without, 'subject').every((x) => x.kind === 'reference' && x.url === 'http://host/fhir/Patient/p1'));
  });

  it('gives bare codes the implied system of a required single-system binding, also in data types and backbones', () => {
    const p = { resourceType: 'Patient', gender: 'female', address: [{ use: 'home', city: 'Leeds' }], contact: [{ gender: 'male' }] } as unknown as Resource;
    const e = extractIndex(p);
    assert.deepEqual(of(e, 'gender'), [{ kind: 'token', param: 'gender', system: 'http://hl7.org/fhir/administrative-gender', code: 'female' }]);
    assert.deepEqual(of(e, 'address-use'), [{ kind: 'token', param: 'address-use', system: 'http://hl7.org/fhir/address-use', code: 'home' }]);
    const vs = extractIndex({ resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: 'http://s', concept: [{ code: 'a' }] }] }, expansion: { timestamp: '2020-01-01', contains: [{ system: 'http://s', code: 'a' }] } } as unknown as Resource);
    assert.ok(of(vs, 'status').every((x) => x.kind === 'token' && x.system === 'http://hl7.org/fhir/publication-status'));
  });

  it('indexes decimals (choice elements too) with the precision they were written with', () => {
    const ra = { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p' }, prediction: [{ probabilityDecimal: 0.02 }, { probabilityRange: { low: { value: 1 } } }] } as unknown as Resource;
    const e = of(extractIndex(ra), 'probability');
    assert.equal(e.length, 1);
    const n = e[0];
    assert.ok(n?.kind === 'number');
    assert.equal(n.value, 0.02);
    assert.ok(Math.abs(n.low - 0.015) < 1e-12 && Math.abs(n.high - 0.025) < 1e-12);
  });

  it('indexes integers as exact points (search.html#number: for integers "searching is based on exact matches")', () => {
    const seq = { resourceType: 'MolecularSequence', coordinateSystem: 0, referenceSeq: { windowStart: 10, windowEnd: 20 }, variant: [{ start: 12 }] } as unknown as Resource;
    assert.deepEqual(
      extractIndex(seq).filter((x) => x.kind === 'number'),
      [
        { kind: 'number', param: 'variant-start', value: 12, low: 12, high: 12 },
        { kind: 'number', param: 'window-end', value: 20, low: 20, high: 20 },
        { kind: 'number', param: 'window-start', value: 10, low: 10, high: 10 },
      ],
    );
  });

  it('never throws for odd but valid resources', () => {
    const odd = [
      { resourceType: 'Patient' },
      { resourceType: 'Patient', birthDate: '2020-02-30' },
      { resourceType: 'Patient', name: [{}], telecom: [{}], address: [{ line: [] }] },
      { resourceType: 'Observation', valueQuantity: {}, subject: { display: 'only text' } },
      { resourceType: 'Bundle', type: 'document', entry: [{ resource: { resourceType: 'Composition', id: 'c' } }] },
    ] as unknown as Resource[];
    for (const r of odd) assert.deepEqual(extractIndexWithStats(r).failures, []);
  });

  describe('over the R4 examples', () => {
    it('Patient-example: identifier, family, birthdate, gender', function () {
      const e = extractIndex(example.call(this, 'Patient-example.json'));
      assert.ok(of(e, 'identifier').some((x) => x.kind === 'token' && x.system === 'urn:oid:1.2.36.146.595.217.0.1' && x.code === '12345'));
      assert.ok(of(e, 'family').some((x) => x.kind === 'string' && x.norm === 'chalmers' && x.exact === 'Chalmers'));
      assert.deepEqual(of(e, 'birthdate'), [{ kind: 'date', param: 'birthdate', ...parseDateRange('1974-12-25')! }]);
      assert.deepEqual(of(e, 'gender'), [{ kind: 'token', param: 'gender', system: 'http://hl7.org/fhir/administrative-gender', code: 'male' }]);
      assert.deepEqual(of(e, 'organization'), [{ kind: 'reference', param: 'organization', targetType: 'Organization', targetId: '1', url: null, targetVersion: null }]);
    });

    it('Observation examples: code tokens and subject references', function () {
      const e = extractIndex(example.call(this, 'Observation-example.json'));
      assert.ok(of(e, 'code').some((x) => x.kind === 'token' && x.system === 'http://loinc.org' && x.code === '29463-7'));
      assert.ok(of(e, 'subject').some((x) => x.kind === 'reference' && x.targetType === 'Patient' && x.targetId === 'example'));
      assert.ok(of(e, 'value-quantity').some((x) => x.kind === 'quantity' && x.value === 185 && x.code === '[lb_av]'));
      const bp = extractIndex(example.call(this, 'Observation-blood-pressure.json'));
      assert.ok(of(bp, 'component-code-value-quantity').length === 2);
    });

    it('extraction over all R4 examples never throws and no expression fails', function () {
      if (!fs.existsSync(examplesDir)) {
        diagnostic(`      skipped: ${examplesDir} not found`);
        this.skip();
      }
      let resources = 0;
      let entries = 0;
      const failures: string[] = [];
      const kinds: Record<string, number> = {};
      for (const f of fs.readdirSync(examplesDir).filter((x) => x.endsWith('.json'))) {
        const r = JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')) as Resource;
        if (typeof r.resourceType !== 'string') continue;
        resources++;
        const out = extractIndexWithStats(r);
        entries += out.entries.length;
        for (const e of out.entries) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
        for (const x of out.failures) failures.push(`${f} ${x.param}: ${x.error}`);
      }
      diagnostic(`      ${resources} resources, ${entries} index entries ${JSON.stringify(kinds)}, ${failures.length} expression failures`);
      assert.ok(resources > 700);
      assert.deepEqual(failures, []);
    });
  });

  it('onlyTypes limits extraction to those parameter types and leaves out text entries', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Practitioner/d1' }], text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">hello</div>' } } as Resource;
    const all = extractIndex(obs);
    const refs = extractIndex(obs, undefined, { onlyTypes: new Set(['reference']) });
    assert.deepEqual(refs, all.filter((e) => e.kind === 'reference'));
    assert.ok(refs.length >= 2);
  });

  describe('pushDistinct', () => {
    /** The reference: each distinct JSON text once, the first of each in order. */
    const byJson = (produced: IndexEntry[]): IndexEntry[] => {
      const seen = new Set<string>();
      return produced.filter((e) => {
        const k = JSON.stringify(e);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    };
    // Few distinct values, so that equal entries are common; the fields entries have, in both orders,
    // sometimes undefined, numbers JSON writes as null, strings that look like numbers.
    const value = fc.constantFrom<unknown>('a', '1', 'null', 'true', 1, 0, -0, NaN, Infinity, null, undefined, undefined, true);
    const entry: fc.Arbitrary<IndexEntry> = fc
      .record({ kind: fc.constantFrom('token', 'quantity'), a: value, b: value, c: value, swap: fc.boolean(), hasText: fc.boolean(), nested: fc.option(fc.array(value, { maxLength: 2 }), { nil: undefined }) })
      .map(({ kind, a, b, c, swap, hasText, nested }) => {
        const e: Record<string, unknown> = swap ? { kind, param: 'code', system: b, code: a } : { kind, param: 'code', code: a, system: b };
        if (hasText) e['text'] = c;
        if (nested !== undefined) e['components'] = nested.map((v) => ({ kind: 'token', param: 'x', code: v }));
        return e as unknown as IndexEntry;
      });
    it('keeps the entries of distinct JSON text, the first of each, in order, as a JSON-keyed set does', () => {
      fc.assert(
        fc.property(fc.array(entry, { maxLength: 20 }), (produced) => {
          const out: IndexEntry[] = [];
          pushDistinct(out, produced);
          assert.equal(out.length, byJson(produced).length);
          byJson(produced).forEach((e, i) => assert.equal(out[i], e));
        }),
        { numRuns: 2000 },
      );
    });
    it('appends to what is there', () => {
      const first = { kind: 'uri', param: 'url', value: 'x' } as IndexEntry;
      const out: IndexEntry[] = [first];
      pushDistinct(out, [{ ...first }, { ...first }]);
      assert.equal(out.length, 2);
    });
  });

  describe('skipping expressions over absent elements (evaluateAll: false, the default)', () => {
    const reg = defaultSearchParameters();
    /** The reference behaviour (every expression evaluated) against the default, entries and failures. */
    const assertSame = (r: Resource, where: string): void => {
      const all = extractIndexWithStats(r, reg, { evaluateAll: true });
      const guarded = extractIndexWithStats(r, reg);
      assert.deepEqual(guarded, all, `${where}: ${r.resourceType}/${r.id ?? '?'}`);
    };

    it('reads the root element of plain paths and refuses anything that can produce a value from nothing', () => {
      assert.deepEqual(pathRoot('Observation.subject.where(resolve() is Patient)', ['Observation']), { element: 'subject' });
      assert.deepEqual(pathRoot('(Observation.value.ofType(CodeableConcept)).text', ['Observation']), { element: 'value', ofType: 'CodeableConcept' });
      assert.deepEqual(pathRoot("Patient.extension('http://x').value", ['Patient']), { element: 'extension' });
      assert.deepEqual(pathRoot('Resource.meta.tag', ['Patient', 'Resource']), { element: 'meta' });
      assert.deepEqual(pathRoot('value.as(Quantity)', []), { element: 'value', ofType: 'Quantity' });
      assert.deepEqual(pathRoot('Bundle.entry[0].resource', ['Bundle']), { element: 'entry' });
      for (const e of ['Patient.deceased.exists() and Patient.deceased != false', 'Patient.name.empty()', "iif(Patient.active, 'a', 'b')", 'Patient', 'Observation.code', 'Patient.name.count()', '%resource.name', "Patient.name.family + 'x'"]) {
        assert.equal(pathRoot(e, ['Patient']), undefined, e);
      }
    });

    it('computes guards per branch, with choice types narrowed by ofType (subtypes included)', () => {
      const g = (type: string, code: string): unknown => expressionGuard(reg.get(type, code)!, reg);
      assert.deepEqual(g('Observation', 'value-concept'), [[['valueCodeableConcept']]]);
      assert.deepEqual(g('Observation', 'combo-code'), [[['code']], [['component']]]);
      assert.deepEqual(g('Observation', 'code-value-quantity'), [[['code'], ['valueQuantity']]]);
      // Condition.onset.ofType(Age) | onset.ofType(Range): Age is one of onset's types.
      assert.ok(JSON.stringify(g('Condition', 'onset-age')).includes('onsetAge'));
      assert.equal(g('Patient', 'deceased'), null, 'exists() yields false over an absent element: always evaluated');
    });

    it('still evaluates an expression that yields a value over an absent element', () => {
      const local = new SearchParameterRegistry();
      local.register({ resourceType: 'SearchParameter', url: 'http://example.org/SearchParameter/has-nick', name: 'has-nick', status: 'active', description: 'Whether the patient has a nickname extension', code: 'has-nick', base: ['Patient'], type: 'token', expression: "Patient.extension.where(url = 'http://example.org/nick').exists()" });
      const e = extractIndex({ resourceType: 'Patient', id: 'x' }, local);
      assert.deepEqual(of(e, 'has-nick'), [{ kind: 'token', param: 'has-nick', system: null, code: 'false' }]);
    });

    it('gives the same entries as evaluating everything, over every R4 example (entries and contained resources included)', function () {
      if (!fs.existsSync(examplesDir)) {
        diagnostic(`      skipped: ${examplesDir} not found`);
        this.skip();
      }
      let n = 0;
      const each = (r: unknown, f: string): void => {
        if (typeof r !== 'object' || r === null || typeof (r as { resourceType?: unknown }).resourceType !== 'string') return;
        n++;
        assertSame(r as Resource, f);
        for (const e of (r as { entry?: Array<{ resource?: unknown }> }).entry ?? []) each(e.resource, f);
        for (const c of (r as { contained?: unknown[] }).contained ?? []) each(c, f);
      };
      for (const f of fs.readdirSync(examplesDir).filter((x) => x.endsWith('.json'))) each(JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')), f);
      diagnostic(`      ${n} resources compared`);
      assert.ok(n > 700);
    });

    /** Top-level elements (and their values) a generated resource of each type may have. */
    const ELEMENTS: Record<string, Record<string, unknown>> = {
      Observation: {
        status: 'final',
        _status: { extension: [{ url: 'http://example.org/x', valueString: 'x' }] },
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'HR' },
        category: [{ coding: [{ code: 'vital-signs' }] }],
        subject: { reference: 'Patient/p1' },
        encounter: { reference: 'Encounter/e1' },
        effectiveDateTime: '2020-01-02T03:04:05Z',
        effectivePeriod: { start: '2020-01-01', end: '2020-02-01' },
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '260385009' }], text: 'Negative' },
        valueString: 'positive',
        valueDateTime: '2021',
        valuePeriod: { start: '2021-01-01' },
        dataAbsentReason: { coding: [{ code: 'unknown' }] },
        component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
        performer: [{ reference: 'Practitioner/d1' }],
        meta: { tag: [{ system: 'http://example.org/tags', code: 't' }], profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'] },
        extension: [{ url: 'http://example.org/ext', valueCode: 'x' }],
        identifier: [{ system: 'http://example.org/ids', value: 'o1' }],
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">heart rate</div>' },
      },
      Patient: {
        active: true,
        name: [{ family: 'Brontë', given: ['Emily'] }],
        birthDate: '1818-07-30',
        _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1818-07-30T14:00:00Z' }] },
        gender: 'female',
        deceasedBoolean: true,
        deceasedDateTime: '1848-12-19',
        multipleBirthInteger: 5,
        address: [{ city: 'Haworth', country: 'GB' }],
        telecom: [{ system: 'email', value: 'e@example.org' }],
        generalPractitioner: [{ reference: 'Practitioner/d1' }],
        link: [{ other: { reference: 'Patient/p2' }, type: 'seealso' }],
        identifier: [{ system: 'http://example.org/mrn', value: 'M1', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] } }],
        meta: { security: [{ code: 'R' }], source: 'http://example.org/src' },
      },
      Condition: {
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
        code: { text: 'asthma' },
        subject: { reference: 'Patient/p1' },
        onsetAge: { value: 12, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' },
        onsetRange: { low: { value: 10, system: 'http://unitsofmeasure.org', code: 'a' } },
        onsetDateTime: '2001-05',
        onsetString: 'childhood',
        abatementBoolean: true,
        recordedDate: '2020-01-01',
        evidence: [{ code: [{ text: 'wheeze' }] }],
      },
      MedicationRequest: {
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '723' }] },
        medicationReference: { reference: 'Medication/m1' },
        subject: { reference: 'Patient/p1' },
        authoredOn: '2020-02-02',
        requester: { reference: 'Practitioner/d1' },
        dosageInstruction: [{ timing: { event: ['2020-02-03'] } }],
      },
    };

    it('gives the same entries as evaluating everything, over generated resources (property)', () => {
      const resource = fc.constantFrom(...Object.keys(ELEMENTS)).chain((type) =>
        fc.subarray(Object.keys(ELEMENTS[type]!)).map((keys) => {
          const r: Record<string, unknown> = { resourceType: type, id: 'x1' };
          for (const k of keys) r[k] = ELEMENTS[type]![k];
          return r as unknown as Resource;
        }),
      );
      fc.assert(
        fc.property(resource, (r) => {
          assertSame(r, 'generated');
        }),
        { numRuns: 300 },
      );
    });
  });
});
