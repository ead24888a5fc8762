/**
 * UK Core conformance (FHIR R4 profiling.html, validation.html §2.4; UK Core Patient 2.6.1,
 * MedicationRequest 2.5.0, Composition 2.4.0): every instance example shipped in
 * ../shared/external/uk-core/examples is validated against the profile of its type
 *   (a) with the official UK Core definitions loaded as a FHIR package (FHIR_PACKAGES precedence over
 *       profiles/, which is loaded too, as on a server configured with both), and
 *   (b) with the project's own profiles/ alone (no package),
 * then broken variants of the examples (test/validation/variants.ts) must be rejected with the right
 * expression under both. The examples are read at run time and never copied into the repository.
 *
 * Findings about the examples themselves (see docs/validation.md):
 * - three examples carry empty primitive extension objects (`"_status": {}`, `"_line": [{}]`),
 *   artefacts of the XML -> JSON conversion; ele-1 / the R4 JSON schema forbid empty objects, so the
 *   base validator rejects them exactly there and nowhere else;
 * - UKCore-Patient-BabyPatient-Example's NHS Number 9912003890 fails the Modulus 11 check (the check
 *   digit should be 6): valid UK Core (which has no check-digit rule), rejected by Spine-Patient.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { externalDir, readJsonResources } from '../../src/validation/external-test-data';
import type { ValidationIssue } from '../../src/validation/base-validator';
import { validateResource } from '../../src/validation/base-validator';
import { PROFILES_DIR, SPINE_PATIENT, UK_CORE_SD, describeIssues, errorsOf, validationStack, type ValidationStack } from './stack';
import { VARIANTS } from './variants';
import { diagnostic } from '../helpers/diagnostics';

type Json = Record<string, unknown>;

const ukCoreDir = externalDir('uk-core');
const examples = ukCoreDir ? readJsonResources(path.join(ukCoreDir, 'examples')) : [];

function skipWithoutUkCore(ctx: Mocha.Context): void {
  if (!ukCoreDir) {
    diagnostic('      skipped: ../shared/external/uk-core is absent (the UK Core examples are not part of the repository)');
    ctx.skip();
  }
}

function example(id: string): Json {
  const found = examples.find((e) => e.resource.id === id);
  assert.ok(found, `example ${id} not found`);
  return structuredClone(found.resource);
}

/**
 * The element paths of empty primitive extension objects (`"_x": {}` or `{}` items of `"_x": [...]`),
 * in the form the validators report them (`Composition.status`, `Patient.address[0].line[0]`), and a
 * copy of the resource without them.
 */
function emptyPrimitiveExtensions(resource: Json): { paths: string[]; cleaned: Json } {
  const paths: string[] = [];
  const isEmptyObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  const walk = (v: unknown, at: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (typeof v !== 'object' || v === null) return v;
    const out: Json = {};
    for (const [k, x] of Object.entries(v as Json)) {
      if (k.startsWith('_') && isEmptyObject(x)) {
        paths.push(`${at}.${k.slice(1)}`);
        continue;
      }
      if (k.startsWith('_') && Array.isArray(x) && x.some(isEmptyObject)) {
        x.forEach((item, i) => {
          if (isEmptyObject(item)) paths.push(`${at}.${k.slice(1)}[${i}]`);
        });
        const kept = x.map((item) => (isEmptyObject(item) ? null : item));
        if (kept.some((item) => item !== null)) out[k] = kept;
        continue;
      }
      out[k] = walk(x, `${at}.${k}`);
    }
    return out;
  };
  const cleaned = walk(resource, String(resource.resourceType)) as Json;
  return { paths, cleaned };
}

const profileOf = (r: Json): string => `${UK_CORE_SD}UKCore-${String(r.resourceType)}`;

describe('UK Core examples (../shared/external/uk-core)', function () {
  it('are present: 35 examples of Patient, MedicationRequest and Composition', function () {
    skipWithoutUkCore(this);
    assert.equal(examples.length, 35);
    assert.deepEqual([...new Set(examples.map((e) => e.resource.resourceType))].sort(), ['Composition', 'MedicationRequest', 'Patient']);
  });

  it('pass base validation except exactly at the empty primitive extensions left by the XML conversion', function () {
    skipWithoutUkCore(this);
    const withArtefacts: string[] = [];
    for (const { file, resource } of examples) {
      const { paths, cleaned } = emptyPrimitiveExtensions(resource);
      const errors = errorsOf(validateResource(resource));
      assert.deepEqual(errors.map((e) => e.expression.join(',')).sort(), [...paths].sort(), `${file}:\n${describeIssues(errors)}`);
      assert.ok(errors.every((e) => /empty objects are not allowed/.test(e.diagnostics)), file);
      assert.deepEqual(errorsOf(validateResource(cleaned)), [], file);
      if (paths.length > 0) withArtefacts.push(`${file} (${paths.join(', ')})`);
    }
    diagnostic(`      ${withArtefacts.length} examples with conversion artefacts: ${withArtefacts.join('; ')}`);
    assert.equal(withArtefacts.length, 3);
  });

  const setups: Array<{ name: string; stack: () => ValidationStack; ukCoreSource: 'package' | 'profiles' }> = [
    { name: 'official UK Core package (+ profiles/)', stack: () => validationStack({ packages: [ukCoreDir ?? ''], profilesDir: PROFILES_DIR }), ukCoreSource: 'package' },
    { name: "the project's profiles/ alone", stack: () => validationStack({ profilesDir: PROFILES_DIR }), ukCoreSource: 'profiles' },
  ];

  for (const setup of setups) {
    describe(setup.name, function () {
      let stack: ValidationStack;
      before(function () {
        if (!ukCoreDir) return;
        stack = setup.stack();
      });

      it(`takes the UK Core definitions from ${setup.ukCoreSource === 'package' ? 'the package' : 'profiles/'}`, function () {
        skipWithoutUkCore(this);
        assert.deepEqual(stack.problems, []);
        for (const t of ['Patient', 'MedicationRequest', 'Composition']) {
          assert.equal(stack.registry.entry('StructureDefinition', `${UK_CORE_SD}UKCore-${t}`)?.source, setup.ukCoreSource, t);
        }
        assert.equal(stack.registry.entry('StructureDefinition', SPINE_PATIENT)?.source, 'profiles');
      });

      it('validates every example against the UK Core profile of its type with no error', async function () {
        skipWithoutUkCore(this);
        const started = process.hrtime.bigint();
        let warnings = 0;
        let notChecked = 0;
        for (const { file, resource } of examples) {
          const issues: ValidationIssue[] = await stack.profile(profileOf(resource)).validate(resource);
          assert.deepEqual(errorsOf(issues), [], `${file}:\n${describeIssues(issues)}`);
          // The only warnings: dom-6 (no narrative) on four examples.
          assert.deepEqual(issues.filter((i) => i.severity === 'warning' && !/constraint dom-6/.test(i.diagnostics)), [], `${file}:\n${describeIssues(issues)}`);
          warnings += issues.filter((i) => i.severity === 'warning').length;
          notChecked += issues.filter((i) => i.severity === 'information').length;
        }
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        diagnostic(`      ${examples.length} examples, 0 errors, ${warnings} warnings (dom-6), ${notChecked} "not checked" (${ms.toFixed(0)} ms incl. compilation)`);
      });

      it('validates every Patient example against Spine-Patient: only BabyPatient fails, on its NHS Number check digit', async function () {
        skipWithoutUkCore(this);
        const failing: string[] = [];
        for (const { resource } of examples.filter((e) => e.resource.resourceType === 'Patient')) {
          const errors = errorsOf(await stack.profile(SPINE_PATIENT).validate(resource));
          if (errors.length === 0) continue;
          failing.push(String(resource.id));
          assert.deepEqual(
            errors.map((e) => [e.expression.join(','), e.diagnostics.includes('spine-nhs-number-1')]),
            [['Patient.identifier[0]', true]],
            describeIssues(errors),
          );
        }
        assert.deepEqual(failing, ['UKCore-Patient-BabyPatient-Example']);
      });

      describe('broken variants of the examples', function () {
        const bases: Record<string, string> = { Patient: 'UKCore-Patient-RichardSmith-Example', MedicationRequest: 'UKCore-MedicationRequest-Amoxicillin-Example' };
        for (const v of VARIANTS) {
          it(`rejects: ${v.name}`, async function () {
            skipWithoutUkCore(this);
            const r = example(bases[v.resourceType] ?? '');
            assert.deepEqual(errorsOf(await stack.validate(r, v.profile)), [], 'the unmodified example must be valid');
            const expected = v.mutate(r);
            const errors = errorsOf(await stack.validate(r, v.profile));
            assert.ok(
              errors.some((e) => e.expression.includes(expected) && e.diagnostics.includes(v.mentions)),
              `expected an error at ${expected} mentioning "${v.mentions}", got:\n${describeIssues(errors)}`,
            );
          });
        }
      });
    });
  }
});
