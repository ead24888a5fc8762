/**
 * Trace quality (PDS FHIR API "Search for a patient", fuzzy search; FHIR R4 Patient `$match`): a
 * seeded population of 3 000 records (about 2% known duplicates) and 600 typing variants of its
 * persons (12 kinds: misspellings, swapped names, transposed and near-miss birth dates, postcode
 * typos, hyphenated names, missing fields, previous names, case and spacing). Prints recall (true
 * record among the results), rank-1 rate, precision and false 1.0 scores for `$trace` (fuzzy) and
 * `$match`, overall and per kind, and asserts the targets of issue 6: true record among the results
 * for >= 98% of variants, ranked first for >= 95%, no false match scored 1.0.
 */
import assert from 'node:assert/strict';
import type { Parameters, ParametersParameter, Patient } from 'fhir/r4';
import type { TestApp } from '../helpers/test-app';
import { topLevelContext } from '../../src/fhir/context';
import { runTrace, traceFromResource, type ScoredMatch } from '../../src/spine/trace';
import { parseTraceQuery } from '../../src/spine/trace/query';
import { makePopulation, makeVariant, prng, VARIANT_KINDS, type Variant, type VariantKind } from './trace-population';
import { seed, traceApp } from './trace-fixtures';

const SIZE = 3000;
const VARIANTS = 600;

interface Tally {
  n: number;
  found: number;
  first: number;
  returned: number;
  trueReturned: number;
  false1: number;
}
const tally = (): Tally => ({ n: 0, found: 0, first: 0, returned: 0, trueReturned: 0, false1: 0 });

function traceParameters(v: Variant): Parameters {
  const parameter: ParametersParameter[] = [{ name: 'birthdate', valueString: `eq${v.birthDate}` }, { name: 'gender', valueString: v.gender }, { name: '_fuzzy-match', valueString: 'true' }];
  if (v.family !== undefined) parameter.push({ name: 'family', valueString: v.family });
  for (const g of v.given) parameter.push({ name: 'given', valueString: g });
  if (v.postcode !== undefined) parameter.push({ name: 'address-postalcode', valueString: v.postcode });
  return { resourceType: 'Parameters', parameter };
}

function matchResource(v: Variant): Patient {
  return {
    resourceType: 'Patient',
    name: [{ ...(v.family !== undefined ? { family: v.family } : {}), ...(v.given.length > 0 ? { given: v.given } : {}) }],
    birthDate: v.birthDate,
    gender: v.gender as Patient['gender'],
    ...(v.postcode !== undefined ? { address: [{ postalCode: v.postcode }] } : {}),
  };
}

function count(t: Tally, matches: readonly ScoredMatch[], truth: ReadonlySet<string>): void {
  t.n++;
  t.returned += matches.length;
  const hits = matches.filter((m) => truth.has(m.version.id));
  t.trueReturned += hits.length;
  if (hits.length > 0) t.found++;
  if (matches[0] && truth.has(matches[0].version.id)) t.first++;
  t.false1 += matches.filter((m) => m.score === 1 && !truth.has(m.version.id)).length;
}

const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
function line(name: string, t: Tally): string {
  return `${name.padEnd(18)} n=${String(t.n).padStart(4)}  recall ${pct(t.found, t.n).padStart(6)}  first ${pct(t.first, t.n).padStart(6)}  precision ${pct(t.trueReturned, t.returned).padStart(6)}  results/query ${(t.returned / Math.max(1, t.n)).toFixed(2)}  false 1.0: ${t.false1}`;
}

describe('Trace quality on a generated population', function () {
  this.timeout(120_000);
  let t: TestApp;
  const results = { trace: tally(), match: tally(), traceByKind: new Map<VariantKind, Tally>(), matchByKind: new Map<VariantKind, Tally>() };

  before(async () => {
    t = traceApp();
    const population = makePopulation(20240601, SIZE);
    await seed(t, population.map((p) => p.patient));
    const truth = new Map<number, Set<string>>();
    for (const p of population) {
      const s = truth.get(p.person) ?? new Set<string>();
      s.add(p.patient.id!);
      truth.set(p.person, s);
    }
    const rnd = prng(7);
    const originals = population.filter((p, i) => population.findIndex((q) => q.person === p.person) === i);
    const ctx = topLevelContext(t.services);
    for (let i = 0; i < VARIANTS; i++) {
      const p = originals[Math.floor(rnd() * originals.length)]!;
      const kind = VARIANT_KINDS[i % VARIANT_KINDS.length]!;
      const v = makeVariant(rnd, p, kind);
      const ids = truth.get(p.person)!;
      const traced = (await runTrace(ctx, parseTraceQuery(traceParameters(v)))).matches;
      const matched = await traceFromResource(ctx, matchResource(v), { count: 50 });
      for (const [all, byKind, list] of [[results.trace, results.traceByKind, traced], [results.match, results.matchByKind, matched]] as const) {
        count(all, list, ids);
        const k = byKind.get(kind) ?? tally();
        count(k, list, ids);
        byKind.set(kind, k);
      }
    }
    for (const op of ['trace', 'match'] as const) {
      console.log(`      ${op === 'trace' ? '$trace (fuzzy)' : '$match'} over ${SIZE} records, ${VARIANTS} variants:`);
      console.log(`        ${line('all', results[op])}`);
      for (const [k, v] of results[`${op}ByKind`]) console.log(`        ${line(k, v)}`);
    }
  });
  after(() => t.close());

  for (const op of ['trace', 'match'] as const) {
    it(`${op}: the true record is among the results for >= 98% of the variants`, () => {
      assert.ok(results[op].found / results[op].n >= 0.98, line('all', results[op]));
    });
    it(`${op}: the true record is ranked first for >= 95% of the variants`, () => {
      assert.ok(results[op].first / results[op].n >= 0.95, line('all', results[op]));
    });
    it(`${op}: no false match is scored 1.0`, () => {
      assert.equal(results[op].false1, 0, line('all', results[op]));
    });
  }
});
