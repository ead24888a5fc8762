/**
 * Properties of the FHIR XML codec (FHIR R4 xml.html, json.html; src/formats/xml), with fast-check:
 * - any resource built from the R4 element model (every resource type, elements picked at random,
 *   primitives with ids and extensions, choice types, contained resources, narratives, decimals with
 *   their text) goes JSON -> XML -> JSON unchanged, and its XML is valid by the independent checker;
 * - any string goes through a `value` attribute unchanged, or is refused (406) exactly when it holds a
 *   character XML 1.0 cannot carry;
 * - hostile XML (mutated documents, DTDs, entities, deep nesting, random markup) is read or refused
 *   with a 4xx FhirError: never any other exception.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resourceTypes } from '../../src/definitions/resource-types';
import { FhirError } from '../../src/fhir/outcome';
import { newNumberLexemes, recordLexeme, type NumberLexemes } from '../../src/formats/json-numbers';
import { readFhirXml, writeFhirXml } from '../../src/formats/xml';
import { invalidXmlChar } from '../../src/formats/xml/escape';
import { ownerOf, resourceOwner, type Owner, type Variant } from '../../src/formats/xml/model';
import { firstFhirDifference } from '../helpers/fhir-json-compare';
import { checkFhirXml } from '../helpers/fhir-xml-checker';

type Json = Record<string, unknown>;
type Gen = fc.GeneratorValue;

const TYPES = [...resourceTypes()].sort();
const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }).filter((s) => invalidXmlChar(s) < 0);
// U+FFFD is a legal XML character that XML parsers like to warn about: always in the mix.
const special = fc.constantFrom('&', '<', '>', '"', "'", '\n', '\r\n', '\t', ' x ', ']]>', '&amp;', '\u00e9', '\u{1F600}', '\uFFFD');
const stringValue = fc.oneof(text, special, fc.tuple(text, special, text).map(([a, b, c]) => a + b + c));
const decimalText = fc
  .tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,12})$/), fc.option(fc.stringMatching(/^[0-9]{1,20}$/)), fc.option(fc.integer({ min: -300, max: 300 })))
  .map(([neg, i, f, e]) => `${neg ? '-' : ''}${i}${f !== null ? `.${f}` : ''}${e !== null ? `E${e}` : ''}`)
  .filter((t) => Number.isFinite(Number(t)));

function escapeXmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

class Builder {
  readonly lexemes: NumberLexemes = newNumberLexemes();
  private readonly g: <T>(arb: fc.Arbitrary<T>) => T;
  constructor(gen: Gen) {
    this.g = <T>(arb: fc.Arbitrary<T>): T => gen(() => arb);
  }

  resource(type: string, depth: number): Json {
    const out: Json = { resourceType: type };
    this.fill(resourceOwner(type)!, out, depth);
    return out;
  }

  private fill(owner: Owner, obj: Json, depth: number): void {
    const g = this.g;
    for (const spec of owner.elements) {
      // Fewer elements deeper down; at most depth 3.
      if (depth > 3 || g(fc.integer({ min: 0, max: 9 })) > (depth === 0 ? 2 : 0)) continue;
      if (spec.attribute) {
        if (spec.name !== 'value') obj[spec.name] = g(text);
        continue;
      }
      const variant = spec.variants[g(fc.nat(spec.variants.length - 1))]!;
      if (variant.kind === 'xhtml') {
        obj[variant.key] = `<div xmlns="http://www.w3.org/1999/xhtml">${escapeXmlText(g(stringValue))}<b>${escapeXmlText(g(stringValue))}</b></div>`;
        continue;
      }
      const n = spec.repeating ? g(fc.integer({ min: 1, max: 2 })) : 1;
      if (variant.kind === 'primitive') {
        this.primitives(variant, obj, n, spec.repeating, depth);
        continue;
      }
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) items.push(variant.kind === 'resource' ? this.resource(g(fc.constantFrom('Basic', 'Patient', 'Organization', 'Observation')), depth + 1) : this.complex(variant, depth + 1));
      obj[variant.key] = spec.repeating ? items : items[0];
    }
  }

  private complex(variant: Variant, depth: number): Json {
    const o: Json = {};
    const owner = ownerOf(variant.owner!)!;
    this.fill(owner, o, depth);
    if (Object.keys(o).length === 0) {
      // Never empty: an id (every element may have one) or, for an extension, its url.
      if (owner.attributes.has('url')) o['url'] = 'http://example.org/x';
      else o['id'] = 'x1';
    }
    return o;
  }

  private primitives(variant: Variant, obj: Json, n: number, repeating: boolean, depth: number): void {
    const g = this.g;
    const values: unknown[] = [];
    const exts: Array<Json | null> = [];
    for (let i = 0; i < n; i++) {
      const withExt = depth < 3 && variant.owner !== undefined && ownerOf(variant.owner)?.byKey.has('extension') === true && g(fc.integer({ min: 0, max: 5 })) === 0;
      const ext: Json | null = withExt ? { ...(g(fc.boolean()) ? { id: g(text) } : {}), extension: [{ url: 'http://example.org/e', valueString: g(stringValue) }] } : null;
      const hasValue = !ext || g(fc.boolean());
      values.push(hasValue ? this.value(variant) : null);
      exts.push(ext);
    }
    const holderValues = repeating ? values : undefined;
    if (repeating) {
      if (values.some((v) => v !== null)) obj[variant.key] = values;
      if (exts.some((e) => e !== null)) obj[`_${variant.key}`] = exts;
    } else {
      if (values[0] !== null) obj[variant.key] = values[0];
      if (exts[0] !== null) obj[`_${variant.key}`] = exts[0];
    }
    // Decimal text recorded against where the numbers sit.
    values.forEach((v, i) => {
      const t = this.pendingText.shift();
      if (typeof v === 'number' && t !== undefined) recordLexeme(this.lexemes, holderValues ?? obj, holderValues ? i : variant.key, v, t);
    });
  }

  private readonly pendingText: Array<string | undefined> = [];

  private value(variant: Variant): unknown {
    const g = this.g;
    switch (variant.valueKind) {
      case 'boolean':
        this.pendingText.push(undefined);
        return g(fc.boolean());
      case 'number': {
        const t = g(decimalText);
        this.pendingText.push(t);
        return Number(t);
      }
      default:
        this.pendingText.push(undefined);
        return g(stringValue);
    }
  }
}

describe('FHIR XML codec properties', function () {
  this.timeout(60_000);

  it('any resource built from the R4 model goes JSON -> XML -> JSON unchanged, and its XML is valid', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.gen(), (type, g) => {
        const b = new Builder(g);
        const resource = b.resource(type, 0);
        const xml = writeFhirXml(resource, { lexemes: b.lexemes });
        assert.deepEqual(checkFhirXml(xml), []);
        const back = readFhirXml(xml);
        assert.equal(firstFhirDifference({ value: resource, lexemes: b.lexemes }, back, { numbers: 'text', div: 'text' }), undefined);
      }),
      // Shrinking fc.gen() values of this size runs out of memory: the first counterexample is reported as it is.
      { numRuns: 300, endOnFailure: true },
    );
  });

  it('any string goes through a value attribute unchanged, or is refused exactly when XML 1.0 cannot carry it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (s) => {
        const resource = { resourceType: 'Patient', name: [{ family: s }] };
        if (invalidXmlChar(s) >= 0) {
          assert.throws(() => writeFhirXml(resource), (e: unknown) => e instanceof FhirError && e.status === 406);
          return;
        }
        const back = readFhirXml(writeFhirXml(resource)).value as { name: Array<{ family: string }> };
        assert.equal(back.name[0]!.family, s);
      }),
      { numRuns: 500 },
    );
  });

  const base = `<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir"><id value="p1"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">Hi <b>there</b></div></text><extension url="http://e"><valueDecimal value="1.50"/></extension><name><family value="Chalmers"/><given value="Peter"/></name><gender value="male"/><contained-not/></Patient>`.replace('<contained-not/>', '');
  const fragments = fc.constantFrom(
    '<!DOCTYPE Patient [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!ENTITY a "b">',
    '&x;',
    '&#0;',
    '&#x1F600;',
    '<![CDATA[x]]>',
    '<?pi x?>',
    '<!-- c -->',
    '</name>',
    '<name>',
    '<div xmlns="http://www.w3.org/1999/xhtml">',
    '<contained><Patient/></contained>',
    '<contained>',
    ' value="x"',
    ' id=""',
    '<given value="1" value="2"/>',
    '<foo:bar/>',
    'xmlns:foo="urn:x"',
    '<valueDecimal value="1e999"/>',
    '<active value="maybe"/>',
    '\u0000',
    '\uFFFE',
    '\uD800',
    '<'.repeat(3),
    '"',
    "'",
    '>',
  );
  const hostile = fc.oneof(
    // A valid document with fragments inserted, bytes removed or the tail cut.
    fc.tuple(fc.nat(base.length), fragments).map(([i, f]) => base.slice(0, i) + f + base.slice(i)),
    fc.tuple(fc.nat(base.length), fc.nat(20)).map(([i, n]) => base.slice(0, i) + base.slice(i + n)),
    fc.nat(base.length).map((i) => base.slice(0, i)),
    fc.array(fragments, { maxLength: 12 }).map((fs) => `<Patient xmlns="http://hl7.org/fhir">${fs.join('')}</Patient>`),
    fc.integer({ min: 1, max: 3000 }).map((n) => `<Patient xmlns="http://hl7.org/fhir">${'<contained><Patient>'.repeat(n)}`),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );

  it('hostile XML is read, or refused with a 4xx FhirError: never anything else', () => {
    const limits = { maxArrayLength: 50, maxResourceElements: 500, maxBundleEntries: 20 };
    fc.assert(
      fc.property(hostile, (xml) => {
        try {
          readFhirXml(xml, { limits });
        } catch (e) {
          assert.ok(e instanceof FhirError, `not a FhirError: ${String((e as Error).stack ?? e)}`);
          assert.ok(e.status >= 400 && e.status < 500, `status ${e.status}`);
          assert.ok((e.issues[0]?.diagnostics ?? '').length > 0, 'names the problem');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
