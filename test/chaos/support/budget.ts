/**
 * Time budget, seeds and the run summary of the chaos suites (docs/chaos.md).
 *
 * Two modes:
 * - short (inside `npm test`, CHAOS_SECONDS unset): every property runs a fixed, small number of
 *   cases and the SIGKILL suite a couple of rounds, so the suites add well under a minute;
 * - full (`npm run test:chaos`, CHAOS_SECONDS set, default 240 there): the budget is shared out
 *   between the suites (`share`), each property runs until its slice of time is used up.
 *
 * Seeds: CHAOS_SEED (an integer) fixes the base seed of a run; otherwise the short mode uses a fixed
 * one and the full mode draws one (printed in every failure and in the summary). Each property's seed is derived from the base seed and the
 * property's name, so `CHAOS_SEED=<base>` reruns every property the same way; CHAOS_PATH (the
 * fast-check path printed with a failure) replays one shrunk counterexample directly (select the
 * property with mocha's `-g`). CHAOS_RUNS overrides the short mode's number of cases per property.
 *
 * Counts of what was tried are tallied here and printed by test/chaos/run.ts after a full run only:
 * inside `npm test` the suites stay quiet.
 */
import fc from 'fast-check';

const env = process.env;

function intEnv(name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(raw)}`);
  return n;
}

const seconds = intEnv('CHAOS_SECONDS');
/** The base seed of the short version when CHAOS_SEED is not set. */
const SHORT_MODE_SEED = 20261203;

export const CHAOS = Object.freeze({
  /** Full mode (`npm run test:chaos`): properties run for their share of CHAOS_SECONDS. */
  full: seconds !== undefined && seconds > 0,
  seconds: seconds ?? 0,
  /**
   * Base seed of this run: CHAOS_SEED, else fixed in short mode (`npm test` runs the same cases every
   * time: a red build is never a roll of the dice) and drawn at random in full mode (every
   * `npm run test:chaos` explores new cases; the seed is printed).
   */
  seed: intEnv('CHAOS_SEED') ?? (seconds !== undefined && seconds > 0 ? (Math.floor(Math.random() * 0x7fffffff) ^ Date.now()) | 0 : SHORT_MODE_SEED),
  /** fast-check replay path (with CHAOS_SEED). */
  path: env['CHAOS_PATH'] && env['CHAOS_PATH'].trim() !== '' ? env['CHAOS_PATH'].trim() : undefined,
  /** Cases per property in short mode. */
  shortRuns: intEnv('CHAOS_RUNS'),
});

/** Shares of CHAOS_SECONDS by suite (they add up to 1). */
export const SHARES = Object.freeze({
  hostileOff: 0.24,
  hostileSmart: 0.18,
  sigkill: 0.26,
  lostUpdate: 0.12,
  limits: 0.2,
});

/** Milliseconds of the full budget for a share (0 in short mode). */
export function budgetMs(share: number): number {
  return CHAOS.full ? Math.round(CHAOS.seconds * 1000 * share) : 0;
}

/** A mocha timeout for a test that spends `share` of the budget (short mode: `shortMs`). */
export function timeoutFor(share: number, shortMs: number): number {
  return CHAOS.full ? budgetMs(share) * 2 + 180_000 : shortMs;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

/** The seed of one property or randomised scenario: the base seed mixed with its name. */
export function seedFor(name: string): number {
  return (CHAOS.seed ^ hash(name)) | 0;
}

/** The benches' seeded PRNG (mulberry32), for scenario code outside fast-check (kill times, client choices). */
export { prng } from '../../../bench/patients';

// ---- the summary ----

const tallies = new Map<string, Map<string, number>>();
const notes: string[] = [];

/** Counts `n` of `what` under `suite` (printed by the full run's summary). */
export function tally(suite: string, what: string, n = 1): void {
  let m = tallies.get(suite);
  if (!m) tallies.set(suite, (m = new Map()));
  m.set(what, (m.get(what) ?? 0) + n);
}

/** Counts an answer's status class under `suite` (`2xx`, `4xx`, `412`, ...). */
export function tallyStatus(suite: string, status: number): void {
  tally(suite, status >= 500 ? `status ${status}` : `status ${Math.floor(status / 100)}xx`);
}

/** A line for the summary (e.g. a failed property with its seed). */
export function note(line: string): void {
  notes.push(line);
}

/** The summary of what was tried, as printed after `npm run test:chaos`. */
export function summaryText(): string {
  const out: string[] = [`chaos summary (base seed ${CHAOS.seed}, CHAOS_SECONDS=${CHAOS.seconds})`];
  for (const [suite, m] of [...tallies.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`  ${suite}`);
    for (const [what, n] of [...m.entries()].sort(([a], [b]) => a.localeCompare(b))) out.push(`    ${what}: ${n}`);
  }
  if (notes.length > 0) out.push('  notes', ...notes.map((n) => `    ${n}`));
  return out.join('\n');
}

// ---- running a property ----

export interface PropertyOptions<T> {
  /** Suite name in the summary. */
  suite: string;
  /** Share of the full budget for this property. */
  share: number;
  /** Cases in short mode. */
  shortRuns: number;
  /** How a counterexample is shown (default: fast-check's stringify, cut). */
  show?: (value: T) => string;
  /** Mocha `-g` pattern that selects the test (printed in the replay command). */
  grep: string;
  /** Compiled test file (printed in the replay command). */
  file: string;
  /**
   * Full mode: what makes two failures the same defect (from the failure's message). When set, a
   * failure does not end the run: the property starts again with the next seed until its time share
   * is used, and the test fails at the end listing each distinct defect once (at most 12), so one
   * known defect does not hide the others.
   */
  signature?: (message: string) => string;
}

function cut(s: string, n = 2000): string {
  return s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s;
}

const ROUND = ((): number => {
  const r = process.env['CHAOS_ROUND'];
  return r !== undefined && /^\d+$/.test(r) ? Number(r) : 0;
})();

/**
 * Runs an async property with the run's seed (and path, when replaying): fixed cases in short mode,
 * until its time share is used in full mode. A failure throws an Error naming the seed, the path,
 * the (shrunk) counterexample and the command that replays it (with `signature`, in full mode, every
 * distinct failure found in the time share).
 */
export async function checkProperty<T>(name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, opts: PropertyOptions<T>): Promise<void> {
  const base = seedFor(name);
  const deadline = Date.now() + (CHAOS.full ? budgetMs(opts.share) : 60_000);
  const failures = new Map<string, string>();
  let cases = 0;
  for (let round = ROUND; ; round++) {
    const seed = (base + round) | 0;
    const params: fc.Parameters<[T]> = {
      seed,
      numRuns: CHAOS.full ? 1_000_000_000 : (CHAOS.shortRuns ?? opts.shortRuns),
      // Full mode: what is left of the property's time share. Short mode: a bound on shrinking only.
      plugins: [fc.interruptAfterTimeLimit(Math.max(1000, deadline - Date.now())) as fc.Plugin<[T]>],
      ...(CHAOS.path !== undefined ? { path: CHAOS.path } : {}),
    };
    let runs = 0;
    const details = await fc.check(
      fc.asyncProperty(arb, async (v) => {
        runs++;
        await predicate(v);
      }),
      params,
    );
    cases += details.numRuns;
    if (!details.failed) break;
    const shown = details.counterexample ? cut(opts.show ? opts.show(details.counterexample[0]) : fc.stringify(details.counterexample[0])) : '(none)';
    const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const replay = `CHAOS_SEED=${CHAOS.seed}${round > 0 ? ` CHAOS_ROUND=${round}` : ''} CHAOS_PATH='${details.counterexamplePath ?? ''}' npx mocha --no-config --timeout 600000 ${opts.file} -g '${opts.grep}'`;
    const message =
      `Property "${name}" failed after ${details.numRuns} case(s) (${runs} evaluations incl. ${details.numShrinks} shrinks)\n` +
      `  seed ${seed} (base seed ${CHAOS.seed}${round > 0 ? `, round ${round}` : ''}), path ${details.counterexamplePath ?? ''}\n` +
      `  replay: ${replay}\n` +
      `  counterexample: ${shown}\n` +
      `  ${cut(err, 4000).replace(/\n/g, '\n  ')}`;
    const sig = opts.signature ? opts.signature(err) : 'failure';
    if (!failures.has(sig)) {
      failures.set(sig, message);
      note(`FAILED ${opts.suite} / ${name}: [${sig}] seed ${seed} (base ${CHAOS.seed}${round > 0 ? `, CHAOS_ROUND=${round}` : ''}) path ${details.counterexamplePath ?? ''}`);
    }
    tally(opts.suite, `${name}: failures${opts.signature ? ` [${sig}]` : ''}`);
    if (!CHAOS.full || !opts.signature || CHAOS.path !== undefined || Date.now() >= deadline || failures.size >= 12) break;
  }
  tally(opts.suite, `${name}: cases`, cases);
  if (failures.size === 0) return;
  const all = [...failures.values()];
  throw new Error(all.length === 1 ? all[0]! : `${all.length} distinct failures:\n\n${all.join('\n\n')}`);
}
