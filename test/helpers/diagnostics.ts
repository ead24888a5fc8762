/**
 * Diagnostics of the test suites (agreement figures, replay tables, loading times, known gaps):
 * useful to read, but not the test result. They go to `test-results/diagnostics.log` so that a
 * green `npm test` reads as green and ends with mocha's own summary; `TEST_VERBOSE=1 npm test`
 * prints them inline as well. The file is rewritten by each run (one mocha process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './external-data';

export const DIAGNOSTICS_FILE = path.join(repoRoot(__dirname), 'test-results', 'diagnostics.log');
const verbose = process.env['TEST_VERBOSE'] === '1';
let started = false;
let lines = 0;

/** Records one diagnostic text (may span lines): in the diagnostics file, and inline when verbose. */
export function diagnostic(text: string): void {
  if (verbose) console.log(text);
  if (!started) {
    started = true;
    fs.mkdirSync(path.dirname(DIAGNOSTICS_FILE), { recursive: true });
    fs.writeFileSync(DIAGNOSTICS_FILE, `# npm test diagnostics, ${new Date().toISOString()}\n`);
  }
  const clean = text.replace(/^\n+/, '');
  fs.appendFileSync(DIAGNOSTICS_FILE, `${clean}\n`);
  lines += clean.split('\n').length;
}

/** How many diagnostic lines this run recorded. */
export function diagnosticLineCount(): number {
  return lines;
}

// A root-level hook: one line before mocha's summary saying where the diagnostics went.
if (typeof after === 'function') {
  after(function () {
    if (lines > 0 && !verbose) console.log(`\n  ${lines} diagnostic lines in ${path.relative(process.cwd(), DIAGNOSTICS_FILE)} (TEST_VERBOSE=1 prints them inline)`);
  });
}
