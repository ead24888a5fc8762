/**
 * Tests of the local terminology service over the real FHIR R4 CodeSystems and ValueSets
 * (https://hl7.org/fhir/R4/terminologies-valuesets.html) and, when present, the UK Core terminology
 * in ../shared/external/uk-core (added at run time). Prints the start-up cost.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { CodeSystem, ValueSet } from 'fhir/r4';
import { externalDir } from '../validation/external-test-data';
import { defaultTerminology, LocalTerminology } from './local-terminology';
import { r4TerminologyResources } from './r4-content';
import { diagnostic } from '../../test/helpers/diagnostics';

const V3_ROLE = 'http://terminology.hl7.org/CodeSystem/v3-RoleCode';
const V3_ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

describe('terminology/local-terminology (R4 content)', () => {
  const t = defaultTerminology();
  const codes = async (url: string): Promise<string[] | undefined> => (await t.expand(url))?.map((c) => c.code);

  it('starts cheaply and builds its indexes on first use (cost printed)', async () => {
    let t0 = performance.now();
    const fresh = new LocalTerminology({ base: r4TerminologyResources });
    const construct = performance.now() - t0;
    t0 = performance.now();
    const resources = r4TerminologyResources();
    const parse = performance.now() - t0;
    t0 = performance.now();
    await fresh.expand('http://hl7.org/fhir/ValueSet/administrative-gender');
    const first = performance.now() - t0;
    t0 = performance.now();
    await fresh.hierarchy(V3_ACT, '_ActAccountCode', 'below');
    const actCode = performance.now() - t0;
    t0 = performance.now();
    let expanded = 0;
    let undef = 0;
    for (const r of resources) {
      if (r.resourceType !== 'ValueSet' || !r.url) continue;
      if (await fresh.expand(r.url)) expanded++;
      else undef++;
    }
    const all = performance.now() - t0;
    diagnostic(
      `      R4 terminology: ${resources.length} resources; constructor ${construct.toFixed(2)} ms, read+filter ${parse.toFixed(0)} ms ` +
        `(package files may already be parsed by other suites), first expansion ${first.toFixed(1)} ms, v3-ActCode index ${actCode.toFixed(1)} ms; ` +
        `all ValueSets: ${expanded} expand locally, ${undef} need external systems, ${all.toFixed(0)} ms`,
    );
    assert.ok(expanded > 1000, `most R4 value sets expand locally (${expanded})`);
    assert.ok(undef > 50 && undef < 200, `value sets over SNOMED CT, LOINC and co. do not (${undef})`);
  });

  it('loads no Medplum terminology', () => {
    assert.ok(r4TerminologyResources().length > 2000);
    assert.ok(r4TerminologyResources().every((r) => !r.url?.includes('medplum.com')));
  });

  it('expands administrative-gender and observation-status', async () => {
    assert.deepEqual(await t.expand('http://hl7.org/fhir/ValueSet/administrative-gender'), [
      { system: 'http://hl7.org/fhir/administrative-gender', code: 'male', display: 'Male' },
      { system: 'http://hl7.org/fhir/administrative-gender', code: 'female', display: 'Female' },
      { system: 'http://hl7.org/fhir/administrative-gender', code: 'other', display: 'Other' },
      { system: 'http://hl7.org/fhir/administrative-gender', code: 'unknown', display: 'Unknown' },
    ]);
    assert.deepEqual(await codes('http://hl7.org/fhir/ValueSet/observation-status|4.0.1'), [
      'registered',
      'preliminary',
      'final',
      'amended',
      'corrected',
      'cancelled',
      'entered-in-error',
      'unknown',
    ]);
    assert.equal(await t.expand('http://hl7.org/fhir/ValueSet/observation-status|3.0.0'), undefined);
  });

  it('expands is-a filters over hierarchical v3 code systems (account-type, parent-relationship-codes)', async () => {
    const account = await codes('http://hl7.org/fhir/ValueSet/account-type');
    assert.ok(account);
    assert.equal(account[0], '_ActAccountCode');
    for (const c of ['ACCTRECEIVABLE', 'CASH', 'CC', 'AE', 'PBILLACCT']) assert.ok(account.includes(c), c);
    assert.ok(!account.includes('_ActCode'));
    const parents = await codes('http://hl7.org/fhir/ValueSet/parent-relationship-codes');
    assert.ok(parents);
    for (const c of ['PRN', 'MTH', 'FTH', 'NMTH', 'STPFTH', 'TWIN', 'FTWIN', 'ITWINSIS']) assert.ok(parents.includes(c), c);
    assert.ok(!parents.includes('FAMMEMB') && !parents.includes('GRPRN'));
  });

  it('expands value sets that import others', async () => {
    const both = await codes('http://hl7.org/fhir/ValueSet/event-or-request-resource-types');
    const events = await codes('http://hl7.org/fhir/ValueSet/event-resource-types');
    const requests = await codes('http://hl7.org/fhir/ValueSet/request-resource-types');
    assert.ok(both && events && requests);
    assert.deepEqual(new Set(both), new Set([...events, ...requests]));
    assert.ok(both.includes('Observation') && both.includes('ServiceRequest'));
    assert.deepEqual(await codes('http://hl7.org/fhir/ValueSet/yesnodontknow'), ['N', 'Y', 'asked-unknown']);
  });

  it('excludes with is-not-a and follows descendent-of over v2/v3 tables', async () => {
    const contact = await codes('http://hl7.org/fhir/ValueSet/patient-contactrelationship');
    assert.ok(contact && contact.includes('C') && contact.includes('N') && !contact.includes('O'));
    const inactive = await codes('http://hl7.org/fhir/ValueSet/inactive');
    assert.ok(inactive && inactive.includes('CRT') && !inactive.includes('_ActMoodPredicate'));
  });

  it('gives undefined when an external system is needed, and uses a shipped expansion instead', async () => {
    assert.equal(await t.expand('http://hl7.org/fhir/ValueSet/condition-code'), undefined);
    assert.equal(await t.expand('http://hl7.org/fhir/ValueSet/ucum-units'), undefined);
    assert.equal(await t.expand('http://hl7.org/fhir/ValueSet/all-languages'), undefined);
    assert.equal(await t.expand('http://terminology.hl7.org/ValueSet/v3-ObservationType'), undefined, 'is-a over v3-ActCode plus all of LOINC');
    // LOINC filter in compose, but the value set ships its expansion
    const shipped = await t.expand('http://hl7.org/fhir/ValueSet/example-expansion');
    assert.ok(shipped && shipped.length === 8 && shipped.every((c) => c.system === 'http://loinc.org'));
  });

  it('answers hierarchy over v3 code systems, nesting and child properties together', async () => {
    const below = await t.hierarchy(V3_ROLE, 'PRN', 'below');
    assert.ok(below);
    assert.deepEqual(below[0], { system: V3_ROLE, code: 'PRN', display: 'parent' });
    for (const c of ['MTH', 'NMTH', 'STPMTH', 'GESTM']) assert.ok(below.some((x) => x.code === c), c);
    const above = await t.hierarchy(V3_ROLE, 'NMTH', 'above');
    assert.deepEqual(new Set(above?.map((c) => c.code)), new Set(['NMTH', 'MTH', 'NPRN', 'PRN', 'FAMMEMB', '_PersonalRelationshipRoleType']));
    // v3-ActCode: COVMX has LFEMX as a child only through a `child` property
    assert.ok((await t.hierarchy(V3_ACT, 'COVMX', 'below'))?.some((c) => c.code === 'LFEMX'));
    assert.ok((await t.hierarchy(V3_ACT, 'LFEMX', 'above'))?.some((c) => c.code === 'COVMX'));
    assert.deepEqual(await t.hierarchy('http://hl7.org/fhir/administrative-gender', 'male', 'below'), [
      { system: 'http://hl7.org/fhir/administrative-gender', code: 'male', display: 'Male' },
    ]);
  });

  it('answers undefined for unknown codes and systems, and knows only local systems', async () => {
    assert.equal(await t.hierarchy(V3_ROLE, 'NOT-A-CODE', 'below'), undefined);
    assert.equal(await t.hierarchy('http://snomed.info/sct', '404684003', 'below'), undefined);
    assert.equal(await t.hierarchy('http://loinc.org', '8480-6', 'above'), undefined);
    assert.equal(await t.knowsSystem('http://snomed.info/sct'), false, 'content not-present');
    assert.equal(await t.knowsSystem('http://loinc.org'), false);
    assert.equal(await t.knowsSystem('http://terminology.hl7.org/CodeSystem/service-type'), false, 'content example');
    assert.equal(await t.knowsSystem('http://terminology.hl7.org/CodeSystem/insurance-plan-type'), true, 'content fragment');
    assert.equal(await t.knowsSystem(V3_ACT), true);
    assert.equal(await t.knowsSystem('http://hl7.org/fhir/administrative-gender'), true);
  });

  it('expands the UK Core value sets added at run time (SNOMED CT and dm+d ones cannot be)', async function () {
    const dir = externalDir('uk-core');
    if (!dir) {
      diagnostic('      skipped: ../shared/external/uk-core is absent');
      this.skip();
    }
    const uk = new LocalTerminology({ base: r4TerminologyResources });
    const valueSets: ValueSet[] = [];
    for (const sub of ['CodeSystem', 'ValueSet']) {
      for (const f of fs.readdirSync(path.join(dir, sub)).filter((x) => x.endsWith('.json'))) {
        const r = JSON.parse(fs.readFileSync(path.join(dir, sub, f), 'utf8')) as CodeSystem | ValueSet;
        uk.addResource(r);
        if (r.resourceType === 'ValueSet') valueSets.push(r);
      }
    }
    // SNOMED CT / dm+d filters cannot be expanded here; their shipped expansions are all marked unclosed.
    const needsExternal = valueSets.filter((v) => v.compose?.include.some((i) => i.filter && /snomed|dmd/.test(i.system ?? '')));
    let agreeing = 0;
    for (const v of valueSets) {
      const e = await uk.expand(v.url ?? '');
      assert.equal(e === undefined, needsExternal.includes(v), `${v.url}: ${e ? 'expanded' : 'not expanded'}`);
      if (!e || !v.expansion?.contains) continue;
      // Differential check against the expansion published with UK Core (made by its terminology server).
      const key = (c: { system?: string; code?: string }) => `${c.system}|${c.code}`;
      assert.deepEqual(new Set(e.map(key)), new Set(v.expansion.contains.map(key)), `${v.url} matches its published expansion`);
      agreeing++;
    }
    const ethnic = await uk.expand('https://fhir.hl7.org.uk/ValueSet/UKCore-EthnicCategory');
    assert.ok(ethnic?.some((c) => c.system === 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland'));
    assert.ok(ethnic?.some((c) => c.system === 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryWales'));
    const relationship = await uk.expand('https://fhir.hl7.org.uk/ValueSet/UKCore-PersonRelationshipType');
    assert.ok(relationship?.some((c) => c.system === V3_ROLE && c.code === 'MTH'));
    diagnostic(`      UK Core: ${valueSets.length - needsExternal.length}/${valueSets.length} value sets expand locally; ${agreeing} equal their published expansion`);
  });
});
