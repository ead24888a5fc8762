/**
 * Conformance with the published TestScripts of fhir-crucible/testscript-engine (FHIR R4
 * testscript.html): CRUD (general), read, update, history and search scripts, run over HTTP against
 * the real app by the runner in ./testscript-runner. Each TestScript is a `describe`; its setup runs
 * in `before` (a failed setup fails the suite), each test is an `it`, teardown runs in `after`.
 *
 * Every action's outcome is printed. A test with a failed assert fails; a test whose only problems
 * are asserts the runner could not evaluate is reported pending with the reason, never passed. The
 * server speaks JSON and FHIR XML: the scripts' XML requests are sent as XML (fixtures written by
 * the server's XML writer) and their XML answers checked as XML (content type, XPath paths). Script errata (the script contradicts the R4 specification or itself)
 * are applied visibly and listed in the output.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { TestScript, TestScriptSetupActionAssert } from 'fhir/r4';
import { isResourceType } from '../../src/definitions/resource-types';
import { validateResource } from '../../src/validation/base-validator';
import { testApp, TEST_BASE, FHIR_JSON, type TestApp } from '../helpers/test-app';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { formatPhase, supertestTransport, TestScriptRunner, type PhaseReport } from './testscript-runner';
import { diagnostic } from '../helpers/diagnostics';

const DIR = existingExternalPath('testscripts', 'fhir-crucible-testscript-engine', 'TestScripts');
const ABSENT = 'the TestScripts folder ../shared/external/testscripts/fhir-crucible-testscript-engine/TestScripts is absent';

/** A correction of a published script, printed whenever it is applied. */
interface Erratum {
  reason: string;
  apply(script: TestScript): void;
}

interface ScriptCase {
  file: string;
  /** Values a tester would enter for the script's dynamic variables. */
  variables?: Record<string, string>;
  /** Resources the script expects to exist on the server already ("known" resources). */
  preload?: string[];
  errata?: Erratum[];
  /** Corrections of fixtures, by fixture file (relative to the scripts' folder). */
  fixtureErrata?: FixtureErratum[];
}

/** A correction of a published fixture, printed whenever it is applied. */
interface FixtureErratum {
  file: string;
  reason: string;
  apply(resource: Record<string, unknown>): Record<string, unknown>;
}

/** Replaces the R4-invalid date "1978-3-1" (wherever it starts a string value) by "1978-03-01". */
function fixDate(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/^1978-3-1(?![0-9])/, '1978-03-01');
  if (Array.isArray(value)) return value.map(fixDate);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fixDate(v)]));
  return value;
}

/** Every assert of the script (setup and tests) with the given label. */
function assertsLabelled(script: TestScript, label: string): TestScriptSetupActionAssert[] {
  const actions = [...(script.setup?.action ?? []), ...(script.test ?? []).flatMap((t) => t.action ?? [])];
  const found = actions.flatMap((a) => (a.assert && a.assert.label === label ? [a.assert] : []));
  if (found.length === 0) throw new Error(`erratum: no assert labelled ${label}`);
  return found;
}

const EXAMPLE2_DATES: FixtureErratum = {
  file: 'fixtures/Patient/example2.json',
  reason:
    'fixtures/Patient/example2.json has birthDate "1978-3-1" and birthTime "1978-3-1T14:35:45-05:00", not R4 date/dateTime values (two-digit month and day, datatypes.html#date), so a conforming server answers 422; sent with 1978-03-01',
  apply: (r) => fixDate(r) as Record<string, unknown>,
};

const CASES: ScriptCase[] = [
  {
    file: 'general_testscript.json',
    errata: [
      {
        reason: 'setup assert 01-ConfirmResponse201 is described as "Confirm that the returned HTTP status is 201(Created)" but its responseCode says 200; the PUT re-creates the Patient deleted just before (update as create, 201)',
        apply: (s) => {
          for (const a of assertsLabelled(s, '01-ConfirmResponse201')) a.responseCode = '201';
        },
      },
    ],
  },
  {
    file: 'history_testscript.json',
    fixtureErrata: [EXAMPLE2_DATES],
    errata: [
      {
        reason: 'profile bundle-profile points at the Patient StructureDefinition but is used to validate the history Bundle; it should be the Bundle StructureDefinition',
        apply: (s) => {
          for (const p of s.profile ?? []) if (p.id === 'bundle-profile') p.reference = 'http://hl7.org/fhir/StructureDefinition/Bundle';
        },
      },
    ],
  },
  {
    file: 'read_testscript.json',
    preload: ['fixtures/Patient/example.json'],
    errata: [
      {
        reason: 'test R004 expects 400 for the id "ID-may-not-contain-CAPITALS", but R4 ids are [A-Za-z0-9\\-\\.]{1,64} (datatypes.html#id): capitals are allowed, so the id is valid and unknown: 404',
        apply: (s) => {
          for (const a of assertsLabelled(s, '01-Response400')) a.response = 'notFound';
        },
      },
    ],
  },
  { file: 'update_testscript.json', fixtureErrata: [EXAMPLE2_DATES] },
  { file: 'search_testscript.json', variables: { PatientSearchFamilyName: 'Chalmers', PatientSearchGivenName: 'Peter' } },
];

/** validateProfileId for the base R4 profiles, using the server's base validator (R4 JSON schema rules). */
function validateAgainstBase(resource: unknown, profileUrl: string): string[] | undefined {
  const m = /^http:\/\/hl7\.org\/fhir\/StructureDefinition\/([A-Za-z]+)$/.exec(profileUrl);
  if (!m || !isResourceType(m[1]!)) return undefined;
  const type = (resource as { resourceType?: unknown } | undefined)?.resourceType;
  if (type !== m[1]) return [`the resource is a ${String(type)}, the profile constrains ${m[1]}`];
  return validateResource(resource).map((i) => `${i.expression?.[0] ?? ''}: ${i.diagnostics ?? i.code}`);
}

function failuresOf(report: PhaseReport): string[] {
  return report.actions.filter((a) => a.outcome === 'fail' || a.outcome === 'error').map((a) => `${a.kind} ${a.label}: ${a.message}`);
}

/** One summary line per TestScript test, printed after all scripts ran. */
const summary: string[] = [];

describe('Conformance: fhir-crucible TestScripts over HTTP', function () {
  after(function () {
    if (summary.length > 0) diagnostic(`\n  TestScript results:\n    ${summary.join('\n    ')}`);
  });

  if (!DIR) {
    it('runs the published TestScripts', function () {
      skipWithReason(this, ABSENT);
    });
    return;
  }
  const dir = DIR;

  for (const c of CASES) {
    const file = path.join(dir, c.file);
    if (!fs.existsSync(file)) {
      it(`${c.file}`, function () {
        skipWithReason(this, `${file} is absent`);
      });
      continue;
    }
    const published = JSON.parse(fs.readFileSync(file, 'utf8')) as TestScript;

    describe(`TestScript ${published.name ?? published.id} (${c.file})`, function () {
      let t: TestApp | undefined;
      let runner: TestScriptRunner | undefined;

      before(async function () {
        t = testApp();
        const script = structuredClone(published);
        for (const e of c.errata ?? []) {
          e.apply(script);
          diagnostic(`      erratum applied: ${e.reason}`);
        }
        for (const rel of c.preload ?? []) {
          const resource = JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8')) as { resourceType: string; id: string };
          const res = await request(t.app).put(`/fhir/${resource.resourceType}/${resource.id}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource));
          assert.ok(res.status === 200 || res.status === 201, `preloading ${rel}: ${res.status} ${res.text}`);
          diagnostic(`      preloaded ${resource.resourceType}/${resource.id} (${rel}): the script expects it to exist`);
        }
        runner = new TestScriptRunner(script, {
          transport: supertestTransport(t.app, '/fhir'),
          baseUrl: TEST_BASE,
          fixtureDir: dir,
          serverFormats: ['application/fhir+json', 'application/fhir+xml'],
          ...(c.variables ? { variables: c.variables } : {}),
          validate: validateAgainstBase,
          amendFixture: (fixtureId, resource) => {
            const ref = (script.fixture ?? []).find((f) => f.id === fixtureId)?.resource?.reference;
            const erratum = (c.fixtureErrata ?? []).find((e) => e.file === ref);
            if (!erratum) return resource;
            diagnostic(`      fixture erratum applied (${fixtureId}): ${erratum.reason}`);
            return erratum.apply(resource as Record<string, unknown>);
          },
        });
        if (c.variables) diagnostic(`      tester-supplied variables: ${JSON.stringify(c.variables)}`);
        const setup = await runner.setup();
        diagnostic(formatPhase(setup, '      '));
        const failed = failuresOf(setup);
        assert.equal(failed.length, 0, `setup of ${c.file} failed:\n  ${failed.join('\n  ')}`);
      });

      after(async function () {
        if (!t) return;
        try {
          if (!runner) return;
          const teardown = await runner.teardown();
          if (teardown.actions.length > 0) diagnostic(formatPhase(teardown, '      '));
          const failed = failuresOf(teardown);
          assert.equal(failed.length, 0, `teardown of ${c.file} failed:\n  ${failed.join('\n  ')}`);
        } finally {
          await t.close();
        }
      });

      (published.test ?? []).forEach((test, index) => {
        const name = `${test.id ?? index + 1} ${test.name ?? ''}`.trim();
        it(name, async function () {
          if (!runner) throw new Error('the TestScript runner was not created');
          const report = await runner.runTest(index);
          diagnostic(formatPhase(report, '        '));
          const failed = failuresOf(report);
          const unsupported = report.actions.filter((a) => a.outcome === 'unsupported').map((a) => `${a.kind} ${a.label}: ${a.message}`);
          const warnings = report.actions.filter((a) => a.outcome === 'warning').length;
          summary.push(`${c.file} ${name}: ${failed.length ? 'FAIL' : unsupported.length ? 'NOT FULLY EVALUATED' : 'pass'}${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}${failed.length ? ` - ${failed[0]}` : unsupported.length ? ` - ${unsupported[0]}` : ''}`);
          assert.equal(failed.length, 0, `${c.file} ${name}:\n  ${failed.join('\n  ')}`);
          if (unsupported.length > 0) skipWithReason(this, `every evaluated assert passed, but not all could be evaluated:\n        ${unsupported.join('\n        ')}`);
        });
      });
    });
  }
});
