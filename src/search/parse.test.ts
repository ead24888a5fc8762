/**
 * Tests of search query parsing (FHIR R4 §3.1.1 search.html: parameters, modifiers, prefixes,
 * escaping, chaining, _has and result parameters).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FhirError } from '../fhir/outcome';
import type { SearchExpr } from './ir';
import { parseDateRange } from './normalize';
import { defaultSearchParameters } from './parameters';
import { escapeSearchValue, parseSearchQuery, splitUnescaped, unescapeSearchValue, type ParseOptions } from './parse';

const registry = defaultSearchParameters();
const lenient: ParseOptions = { strict: false, defaultCount: 20, maxCount: 100, now: Date.parse('2024-01-01T00:00:00Z') };
const strict: ParseOptions = { ...lenient, strict: true };

function where(type: string, qs: Array<[string, string]>, opts = strict): SearchExpr | undefined {
  return parseSearchQuery([type], qs, registry, opts).query.where;
}

function fails(type: string, qs: Array<[string, string]>, category: string, mentions: string, opts = strict): void {
  assert.throws(
    () => parseSearchQuery([type], qs, registry, opts),
    (e: unknown) => e instanceof FhirError && e.category === category && e.message.includes(mentions),
  );
}

describe('search/parse', () => {
  describe('tokens', () => {
    it('code, system|code, |code and system|', () => {
      assert.deepEqual(where('Patient', [['gender', 'male']]), { op: 'token', param: 'gender', code: 'male' });
      assert.deepEqual(where('Patient', [['identifier', 'urn:oid:1.2|12345']]), { op: 'token', param: 'identifier', system: 'urn:oid:1.2', code: '12345' });
      assert.deepEqual(where('Patient', [['identifier', '|12345']]), { op: 'token', param: 'identifier', system: null, code: '12345' });
      assert.deepEqual(where('Patient', [['identifier', 'urn:oid:1.2|']]), { op: 'token', param: 'identifier', system: 'urn:oid:1.2' });
    });
    it(':not wraps the OR of the values in a not', () => {
      assert.deepEqual(where('Patient', [['gender:not', 'male,female']]), {
        op: 'not',
        arg: { op: 'or', args: [{ op: 'token', param: 'gender', code: 'male' }, { op: 'token', param: 'gender', code: 'female' }] },
      });
    });
    it(':text normalises, :of-type takes three parts', () => {
      assert.deepEqual(where('Observation', [['code:text', 'Blood  Préssure']]), { op: 'token', param: 'code', text: 'blood pressure' });
      assert.deepEqual(where('Patient', [['identifier:of-type', 'http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345']]), {
        op: 'token',
        param: 'identifier',
        ofType: { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR', value: '12345' },
      });
      fails('Patient', [['identifier:of-type', 'a|b']], 'invalid', 'identifier:of-type');
    });
    it(':in and :not-in name a value set, to be expanded by the rewrite', () => {
      assert.deepEqual(where('Observation', [['code:in', 'http://x/vs,http://y/vs']]), {
        op: 'or',
        args: [
          { op: 'token', param: 'code', valueSet: 'http://x/vs' },
          { op: 'token', param: 'code', valueSet: 'http://y/vs' },
        ],
      });
      assert.deepEqual(where('Observation', [['code:not-in', 'http://x/vs']]), { op: 'not', arg: { op: 'token', param: 'code', valueSet: 'http://x/vs' } });
    });
    it(':below and :above on tokens take system|code', () => {
      assert.deepEqual(where('Observation', [['code:below', 'http://snomed.info/sct|235862008']]), {
        op: 'token',
        param: 'code',
        hierarchy: { system: 'http://snomed.info/sct', code: '235862008', direction: 'below' },
      });
      assert.deepEqual(where('Condition', [['code:above', 'http://s|c']]), { op: 'token', param: 'code', hierarchy: { system: 'http://s', code: 'c', direction: 'above' } });
      fails('Observation', [['code:below', 'c']], 'invalid', 'system|code');
      fails('Observation', [['code:above', '|c']], 'invalid', 'system|code');
    });
    it('malformed tokens are invalid', () => {
      fails('Patient', [['identifier', 'a|b|c']], 'invalid', 'malformed token');
      fails('Patient', [['identifier', '|']], 'invalid', 'malformed token');
    });
  });

  describe('strings', () => {
    it('default is a normalised prefix match; :contains and :exact', () => {
      assert.deepEqual(where('Patient', [['family', 'Chalmérs']]), { op: 'string', param: 'family', value: 'chalmers', mode: 'start' });
      assert.deepEqual(where('Patient', [['family:contains', 'ALM']]), { op: 'string', param: 'family', value: 'alm', mode: 'contains' });
      assert.deepEqual(where('Patient', [['family:exact', 'Chalmers']]), { op: 'string', param: 'family', value: 'Chalmers', mode: 'exact' });
    });
    it('comma is OR, repetition is AND', () => {
      assert.deepEqual(where('Patient', [['given', 'a,b'], ['family', 'c']]), {
        op: 'and',
        args: [
          { op: 'or', args: [{ op: 'string', param: 'given', value: 'a', mode: 'start' }, { op: 'string', param: 'given', value: 'b', mode: 'start' }] },
          { op: 'string', param: 'family', value: 'c', mode: 'start' },
        ],
      });
    });
    it('escaped separators are literal', () => {
      assert.deepEqual(where('Patient', [['family:exact', 'a\\,b\\$c\\|d\\\\e']]), { op: 'string', param: 'family', value: 'a,b$c|d\\e', mode: 'exact' });
    });
    it('unknown modifiers are invalid', () => {
      fails('Patient', [['family:sounds', 'x']], 'invalid', 'family:sounds');
      fails('Observation', [['subject:[type]', 'x']], 'invalid', 'unknown modifier');
    });
  });

  describe('dates, numbers and quantities', () => {
    it('date prefixes and the value range from its precision', () => {
      const r = parseDateRange('2020-03')!;
      assert.deepEqual(where('Patient', [['birthdate', 'ge2020-03']]), { op: 'date', param: 'birthdate', prefix: 'ge', low: r.low, high: r.high });
      assert.deepEqual(where('Patient', [['birthdate', '2020-03']]), { op: 'date', param: 'birthdate', prefix: 'eq', low: r.low, high: r.high });
    });
    it('ap carries a delta of 10% of the distance to now', () => {
      const w = where('Patient', [['birthdate', 'ap2014-01-01']]);
      assert.ok(w && w.op === 'date' && w.prefix === 'ap');
      const mid = (w.low + w.high) / 2;
      assert.equal(w.approxDelta, Math.abs(Date.parse('2024-01-01T00:00:00Z') - mid) * 0.1);
    });
    it('bad dates and unknown prefixes are invalid and quote the parameter', () => {
      fails('Patient', [['birthdate', '2020-02-30']], 'invalid', '"birthdate"');
      fails('Patient', [['birthdate', 'xx2020']], 'invalid', 'unknown prefix');
      fails('Patient', [['birthdate', 'EQ2020']], 'invalid', 'unknown prefix');
    });
    it('numbers carry their precision', () => {
      const w = where('RiskAssessment', [['probability', 'gt0.8']]);
      assert.ok(w && w.op === 'number' && w.prefix === 'gt' && w.value === 0.8 && Math.abs(w.low - 0.75) < 1e-12 && Math.abs(w.high - 0.85) < 1e-12);
      fails('RiskAssessment', [['probability', 'gt0.8x']], 'invalid', 'not a valid number');
    });
    it('quantities: number, number|system|code, number||code', () => {
      const a = where('Observation', [['value-quantity', 'lt5.4|http://unitsofmeasure.org|mg']]);
      assert.ok(a && a.op === 'quantity' && a.prefix === 'lt' && a.value === 5.4 && a.system === 'http://unitsofmeasure.org' && a.code === 'mg');
      const b = where('Observation', [['value-quantity', '5.4||mg']]);
      assert.ok(b && b.op === 'quantity' && b.system === undefined && b.code === 'mg');
      const c = where('Observation', [['value-quantity', '5.4']]);
      assert.ok(c && c.op === 'quantity' && c.system === undefined && c.code === undefined);
      fails('Observation', [['value-quantity', '5.4|mg']], 'invalid', 'malformed quantity');
    });
  });

  describe('references and uris', () => {
    it('Type/id, id, Type/id/_history/v, absolute and canonical', () => {
      assert.deepEqual(where('Observation', [['subject', 'Patient/123']]), { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: '123' });
      assert.deepEqual(where('Observation', [['subject', '123']]), { op: 'reference', param: 'subject', targetTypes: [], id: '123' });
      assert.deepEqual(where('Observation', [['subject:Patient', '123']]), { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: '123' });
      assert.deepEqual(where('Observation', [['subject', 'Patient/123/_history/2']]), { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: '123', version: '2' });
      assert.deepEqual(where('Observation', [['subject', 'http://x.org/fhir/Patient/1']]), { op: 'reference', param: 'subject', url: 'http://x.org/fhir/Patient/1' });
      assert.deepEqual(where('QuestionnaireResponse', [['questionnaire', 'http://q.org/Q|2.0']]), { op: 'reference', param: 'questionnaire', url: 'http://q.org/Q', urlVersion: '2.0' });
    });
    it(':identifier', () => {
      assert.deepEqual(where('Observation', [['subject:identifier', 'https://fhir.nhs.uk/Id/nhs-number|9000000009']]), {
        op: 'reference',
        param: 'subject',
        identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' },
      });
    });
    it('a type that is not a target is invalid', () => {
      fails('Patient', [['general-practitioner', 'Observation/1']], 'invalid', 'not a target type');
      fails('Patient', [['general-practitioner:Observation', '1']], 'invalid', 'not a target type');
    });
    it('uri :below and :above', () => {
      assert.deepEqual(where('ValueSet', [['url:below', 'http://acme.org/fhir/']]), { op: 'uri', param: 'url', value: 'http://acme.org/fhir/', mode: 'below' });
      assert.deepEqual(where('ValueSet', [['url', 'http://acme.org/fhir/vs']]), { op: 'uri', param: 'url', value: 'http://acme.org/fhir/vs', mode: 'exact' });
    });
  });

  describe(':missing, composites, _id and _lastUpdated', () => {
    it(':missing carries the index kind', () => {
      assert.deepEqual(where('Patient', [['birthdate:missing', 'true']]), { op: 'missing', param: 'birthdate', kind: 'date', missing: true });
      fails('Patient', [['birthdate:missing', 'yes']], 'invalid', ':missing');
    });
    it('composite values split on $', () => {
      const w = where('Observation', [['code-value-quantity', 'http://loinc.org|8480-6$lt60']]);
      assert.ok(w && w.op === 'composite' && w.param === 'code-value-quantity');
      assert.deepEqual(w.components[0], { op: 'token', param: 'code', system: 'http://loinc.org', code: '8480-6' });
      assert.equal(w.components[1]!.op, 'quantity');
      fails('Observation', [['code-value-quantity', 'http://loinc.org|8480-6']], 'invalid', 'components');
    });
    it('_id and _lastUpdated are special', () => {
      assert.deepEqual(where('Patient', [['_id', 'a,b']]), { op: 'id', ids: ['a', 'b'] });
      const r = parseDateRange('2020')!;
      assert.deepEqual(where('Patient', [['_lastUpdated', 'gt2020']]), { op: 'lastUpdated', prefix: 'gt', low: r.low, high: r.high });
    });
    it('_id:not is every resource whose id is none of the values (_id is a token)', () => {
      assert.deepEqual(where('Patient', [['_id:not', 'a,b']]), { op: 'not', arg: { op: 'id', ids: ['a', 'b'] } });
      fails('Patient', [['_id:exact', 'a']], 'invalid', 'modifier');
    });
    it('_tag and _profile apply to every type', () => {
      assert.deepEqual(where('Observation', [['_tag', 's|c']]), { op: 'token', param: '_tag', system: 's', code: 'c' });
      assert.equal(where('Patient', [['_profile', 'http://p']])!.op, 'uri');
    });
  });

  describe('chains and _has', () => {
    it('a typed chain', () => {
      assert.deepEqual(where('Observation', [['subject:Patient.name', 'peter']]), {
        op: 'chain',
        param: 'subject',
        targetTypes: ['Patient'],
        where: { op: 'string', param: 'name', value: 'peter', mode: 'start' },
      });
    });
    it('an untyped chain keeps the targets that have the parameter', () => {
      const w = where('Patient', [['general-practitioner.identifier', 'sys|1']]);
      assert.ok(w && w.op === 'chain');
      assert.deepEqual([...w.targetTypes].sort(), ['Organization', 'Practitioner', 'PractitionerRole']);
    });
    it('chains of any depth', () => {
      const w = where('Observation', [['subject:Patient.organization.name', 'acme']]);
      assert.ok(w && w.op === 'chain' && w.where.op === 'chain' && w.where.targetTypes[0] === 'Organization');
    });
    it('chaining through a non-reference is invalid; an unknown chained parameter is unknown', () => {
      fails('Patient', [['name.family', 'x']], 'invalid', 'not a reference');
      fails('Observation', [['subject:Patient.nonsense', 'x']], 'invalid', 'nonsense');
    });
    it('_has, nested', () => {
      assert.deepEqual(where('Patient', [['_has:Observation:patient:code', '1234-5']]), {
        op: 'has',
        targetType: 'Observation',
        param: 'patient',
        where: { op: 'token', param: 'code', code: '1234-5' },
      });
      const n = where('Patient', [['_has:Observation:patient:_has:AuditEvent:entity:agent', 'Practitioner/1']]);
      assert.ok(n && n.op === 'has' && n.where.op === 'has' && n.where.targetType === 'AuditEvent');
      fails('Patient', [['_has:Observation:code:status', 'final']], 'invalid', 'not a reference');
      fails('Patient', [['_has:Nope:patient:code', 'x']], 'invalid', 'not a resource type');
    });
  });

  describe('result parameters', () => {
    it('_count is clamped; _sort, _total, _summary, _elements, _include', () => {
      const p = parseSearchQuery(
        ['Observation'],
        [
          ['_count', '500'],
          ['_sort', '-date,_id,status'],
          ['_total', 'accurate'],
          ['_elements', 'id,code'],
          ['_include', 'Observation:subject:Patient'],
          ['_revinclude:iterate', 'Provenance:target'],
          ['_format', 'json'],
          ['_pretty', 'true'],
        ],
        registry,
        strict,
      );
      assert.equal(p.query.count, 100);
      assert.deepEqual(p.query.sort, [
        { param: 'date', kind: 'date', descending: true },
        { param: '_id', kind: 'special', descending: false },
        { param: 'status', kind: 'token', descending: false },
      ]);
      assert.equal(p.query.total, 'accurate');
      assert.deepEqual(p.result.elements, ['id', 'code']);
      assert.deepEqual(p.result.include, [{ sourceType: 'Observation', param: 'subject', targetType: 'Patient', iterate: false }]);
      assert.deepEqual(p.result.revinclude, [{ sourceType: 'Provenance', param: 'target', iterate: true }]);
      assert.equal(p.result.pretty, true);
      assert.equal(p.query.where, undefined);
    });
    it('_summary=count asks for the total only', () => {
      const p = parseSearchQuery(['Patient'], [['_summary', 'count']], registry, { ...strict, defaultTotal: 'none' });
      assert.equal(p.query.count, 0);
      assert.equal(p.query.total, 'accurate');
    });
    it('bad result parameter values are invalid', () => {
      fails('Patient', [['_count', '-1']], 'invalid', '_count');
      fails('Patient', [['_total', 'all']], 'invalid', '_total');
      fails('Patient', [['_include', 'Patient:name']], 'invalid', 'not a reference');
      fails('Patient', [['_sort', 'family.name']], 'invalid', 'not a reference');
      fails('Patient', [['_sort', 'family:exact']], 'unsupported', 'modified');
      fails('Patient', [['_sort', 'nonsense']], 'invalid', 'nonsense');
      fails('Observation', [['_sort', 'code-value-quantity']], 'unsupported', 'composite');
      fails('Observation', [['_sort', 'subject:Medication.name']], 'invalid', 'not a target type');
    });
    it('chained sorts follow reference parameters, with a type modifier when needed', () => {
      const sortOf = (type: string, spec: string) => parseSearchQuery([type], [['_sort', spec]], registry, strict).query.sort;
      assert.deepEqual(sortOf('Observation', '-patient.birthdate'), [{ param: 'birthdate', kind: 'date', descending: true, chain: [{ param: 'patient', targetTypes: ['Patient'] }] }]);
      assert.deepEqual(sortOf('Observation', 'subject:Patient.family,_id'), [
        { param: 'family', kind: 'string', descending: false, chain: [{ param: 'subject', targetTypes: ['Patient'] }] },
        { param: '_id', kind: 'special', descending: false },
      ]);
      assert.deepEqual(sortOf('Encounter', 'patient.general-practitioner:Practitioner._lastUpdated'), [
        {
          param: '_lastUpdated',
          kind: 'special',
          descending: false,
          chain: [
            { param: 'patient', targetTypes: ['Patient'] },
            { param: 'general-practitioner', targetTypes: ['Practitioner'] },
          ],
        },
      ]);
    });
    it('_type narrows a system search', () => {
      const p = parseSearchQuery(['Patient', 'Observation', 'Practitioner'], [['_type', 'Patient,Practitioner'], ['name', 'x']], registry, strict);
      assert.deepEqual(p.query.resourceTypes, ['Patient', 'Practitioner']);
    });
  });

  describe('unknown and unsupported parameters', () => {
    it('strict: unknown is invalid and names the parameter', () => {
      fails('Patient', [['shoe-size', '42']], 'invalid', '"shoe-size"');
    });
    it('lenient: unknown and unsupported are ignored with a reason', () => {
      const p = parseSearchQuery(['Patient'], [['shoe-size', '42'], ['_filter', 'x'], ['family', 'a'], ['given', ''], ['_list', '$current-problems']], registry, lenient);
      assert.deepEqual(p.query.where, { op: 'string', param: 'family', value: 'a', mode: 'start' });
      assert.deepEqual(p.ignored.map((i) => i.name), ['shoe-size', '_filter', 'given', '_list']);
    });
    it('lenient: the applied parameters leave out what was ignored, and unknown _sort keys', () => {
      const p = parseSearchQuery(
        ['Patient'],
        [['shoe-size', '42'], ['family', 'a'], ['given', ''], ['_sort', 'nonsense,-birthdate'], ['_count', '5'], ['_revinclude', '*'], ['_include', 'Patient:organization']],
        registry,
        lenient,
      );
      assert.deepEqual(p.applied, [['family', 'a'], ['_count', '5'], ['_include', 'Patient:organization'], ['_sort', '-birthdate']]);
      assert.deepEqual(p.ignored.map((i) => i.name), ['shoe-size', 'given', '_revinclude', '_sort']);
    });
    it('_revinclude=* is not supported: strict refuses it, lenient ignores it', () => {
      fails('Patient', [['_revinclude', '*']], 'unsupported', '_revinclude=*');
      assert.deepEqual(parseSearchQuery(['Patient'], [['_revinclude', '*']], registry, lenient).result.revinclude, []);
    });
    it('strict: _filter and near are unsupported', () => {
      fails('Patient', [['_filter', 'x']], 'unsupported', '_filter');
      fails('Location', [['near', '1|2|3|km']], 'unsupported', 'near');
    });
  });

  describe('_text, _content and _list', () => {
    it('_text and _content keep the normalised words; comma is OR', () => {
      assert.deepEqual(where('Patient', [['_text', 'Héart  ATTACK!']]), { op: 'text', scope: 'narrative', query: 'heart attack' });
      assert.deepEqual(where('Patient', [['_content', 'a-b,c']]), {
        op: 'or',
        args: [
          { op: 'text', scope: 'content', query: 'a b' },
          { op: 'text', scope: 'content', query: 'c' },
        ],
      });
      fails('Patient', [['_text', '!!!']], 'invalid', 'no word');
      fails('Patient', [['_text:exact', 'x']], 'invalid', 'modifier');
    });
    it('_list names a List by id', () => {
      assert.deepEqual(where('Patient', [['_list', 'l1']]), { op: 'list', listId: 'l1' });
      fails('Patient', [['_list', 'a/b']], 'invalid', 'List id');
      fails('Patient', [['_list', '$current-problems']], 'unsupported', 'functional');
    });
    it("references under the server's own base are local", () => {
      const p = parseSearchQuery(['Observation'], [['subject', 'http://host/fhir/Patient/1'], ['performer', 'http://other/fhir/Practitioner/2']], registry, { ...strict, baseUrl: 'http://host/fhir/' });
      assert.deepEqual(p.query.where, {
        op: 'and',
        args: [
          { op: 'reference', param: 'subject', targetTypes: ['Patient'], id: '1' },
          { op: 'reference', param: 'performer', url: 'http://other/fhir/Practitioner/2' },
        ],
      });
    });
  });

  describe('properties', () => {
    const names = fc.oneof(
      fc.string(),
      fc.constantFrom('name', 'birthdate', 'identifier', 'general-practitioner', '_has:Observation:patient:code', 'organization.name', '_count', '_sort', '_include', 'gender:not', 'family:exact', '_lastUpdated', 'link'),
      fc.tuple(fc.constantFrom('name', 'birthdate', 'general-practitioner', '_has', 'identifier'), fc.constantFrom(':', '.', ':Patient.', '::'), fc.string()).map(([a, b, c]) => a + b + c),
    );
    it('arbitrary parameters never raise anything but a FhirError', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(names, fc.string()), { maxLength: 4 }), fc.boolean(), (qs, isStrict) => {
          try {
            parseSearchQuery(['Patient'], qs, registry, isStrict ? strict : lenient);
          } catch (e) {
            if (!(e instanceof FhirError)) throw e;
          }
        }),
        { numRuns: 2000 },
      );
    });
    it('escaping round-trips through splitting', () => {
      fc.assert(
        fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 5 }), (values) => {
          const joined = values.map(escapeSearchValue).join(',');
          assert.deepEqual(splitUnescaped(joined, ',').map(unescapeSearchValue), values);
        }),
      );
    });
    it('an escaped string value is read back exactly by :exact', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1 }), (s) => {
          const w = where('Patient', [['family:exact', escapeSearchValue(s)]]);
          assert.deepEqual(w, { op: 'string', param: 'family', value: s, mode: 'exact' });
        }),
      );
    });
  });
});
