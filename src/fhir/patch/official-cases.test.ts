/**
 * The official patch test cases (FHIR/fhir-test-cases r4/patch: FHIRPath Patch cases in FHIR XML,
 * JSON Patch cases from RFC 6902 appendix A), read at run time from the shared external folder. The
 * cases file is navigated with @xmldom/xmldom; each resource in it is read by the server's FHIR XML
 * reader (src/formats/xml, R4 xml.html).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4';
import { FhirError } from '../outcome';
import { applyFhirPathPatch } from './fhirpath-patch';
import { applyJsonPatch } from './json-patch';
import { DOMParser, XMLSerializer, type Element as XmlElement } from '@xmldom/xmldom';
import { readFhirXml } from '../../formats/xml';
import { patchCasesDir } from './test-support/external';
import { diagnostic } from '../../../test/helpers/diagnostics';

const dir = patchCasesDir();

/** XHTML compared modulo insignificant whitespace and quote escaping (the cases carry it once as XML, once as a string). */
function normaliseDiv(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normaliseDiv);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === 'div' && typeof x === 'string' ? x.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/>\s+/g, '>').replace(/\s+</g, '<').replace(/\s+/g, ' ').trim() : normaliseDiv(x);
  }
  return out;
}

function elements(el: XmlElement): XmlElement[] {
  return Array.from(el.childNodes).filter((c): c is XmlElement => c.nodeType === 1);
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return elements(el).find((c) => c.localName === name);
}

/** A resource of the cases file, read as FHIR XML. */
function resourceToJson(el: XmlElement): Record<string, unknown> {
  return readFhirXml(new XMLSerializer().serializeToString(el)).value;
}

describe('official FHIRPath Patch test cases (fhir-test-cases r4/patch/fhir-patch-tests.xml)', () => {
  if (!dir) {
    it('needs the shared external test material', function () {
      diagnostic('      skipped: ../shared/external/fhir-test-cases/r4/patch is absent');
      this.skip();
    });
    return;
  }
  const tests = new DOMParser().parseFromString(fs.readFileSync(path.join(dir, 'fhir-patch-tests.xml'), 'utf8'), 'application/xml').documentElement!;
  const cases = elements(tests).filter((c) => c.localName === 'case');
  let passed = 0;
  after(() => diagnostic(`      FHIRPath Patch official cases: ${passed}/${cases.length} passed`));

  it('finds the cases', () => assert.ok(cases.length >= 30, `only ${cases.length} cases`));

  for (const c of cases) {
    it(`${c.getAttribute('name') ?? '?'}`, () => {
      const input = elements(child(c, 'input')!)[0];
      const diff = elements(child(c, 'diff')!)[0];
      assert.ok(input && diff, 'case has input and diff');
      const resource = resourceToJson(input) as unknown as Resource;
      const parameters = resourceToJson(diff);
      const before = structuredClone(resource);
      const error = child(c, 'error');
      if (error) {
        assert.throws(() => applyFhirPathPatch(resource, parameters), (e: unknown) => {
          assert.ok(e instanceof FhirError, `expected a FhirError, got ${String(e)}`);
          assert.equal(e.status, 422);
          const path = /No content found at (.*) when/.exec(error.getAttribute('msg') ?? '')?.[1];
          if (path) assert.ok(e.message.includes(path), `message names ${path}: ${e.message}`);
          return true;
        });
      } else {
        const outputEl = elements(child(c, 'output')!)[0];
        assert.ok(outputEl, 'case has an output');
        const result = applyFhirPathPatch(resource, parameters);
        assert.deepEqual(normaliseDiv(result), normaliseDiv(resourceToJson(outputEl)));
      }
      assert.deepEqual(resource, before, 'the input resource is not mutated');
      passed++;
    });
  }
});

interface JsonPatchCase {
  comment: string;
  doc: Record<string, unknown>;
  patch: unknown;
  expected?: Record<string, unknown>;
  error?: string;
}

describe('official JSON Patch test cases (fhir-test-cases r4/patch/json-patch-tests.json)', () => {
  if (!dir) {
    it('needs the shared external test material', function () {
      diagnostic('      skipped: ../shared/external/fhir-test-cases/r4/patch is absent');
      this.skip();
    });
    return;
  }
  const cases = JSON.parse(fs.readFileSync(path.join(dir, 'json-patch-tests.json'), 'utf8')) as JsonPatchCase[];
  let passed = 0;
  after(() => diagnostic(`      JSON Patch official cases: ${passed}/${cases.length} passed`));

  it('finds the cases', () => assert.ok(cases.length >= 10, `only ${cases.length} cases`));

  for (const c of cases) {
    it(c.comment, () => {
      // The documents are plain JSON; a resourceType makes them resources without touching any patched path.
      const resource = { resourceType: 'Basic', ...c.doc } as unknown as Resource;
      const before = structuredClone(resource);
      if (c.error !== undefined) {
        assert.throws(() => applyJsonPatch(resource, c.patch), (e: unknown) => e instanceof FhirError && e.status === 422);
      } else {
        assert.deepEqual(applyJsonPatch(resource, c.patch), { resourceType: 'Basic', ...c.expected });
      }
      assert.deepEqual(resource, before, 'the input resource is not mutated');
      passed++;
    });
  }
});
