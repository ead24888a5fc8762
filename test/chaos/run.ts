/**
 * `npm run test:chaos`: the chaos suites in full mode (docs/chaos.md). Sets CHAOS_SECONDS (default
 * 240) before the suites load, runs every test/chaos/*.test.js with mocha, then prints the summary of
 * what was tried (counts by suite) and the base seed. `-g <pattern>` selects tests as mocha's does.
 * Exit code 1 when a test failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

async function main(): Promise<void> {
  if (process.env['CHAOS_SECONDS'] === undefined || process.env['CHAOS_SECONDS'].trim() === '') process.env['CHAOS_SECONDS'] = '240';
  // Loaded after CHAOS_SECONDS is set: the suites read it once, at load.
  const budget = await import('./support/budget');
  const args = process.argv.slice(2);
  const gi = args.findIndex((a) => a === '-g' || a === '--grep');
  const mocha = new Mocha({ timeout: 0, forbidOnly: true, reporter: 'spec', ...(gi >= 0 && args[gi + 1] ? { grep: args[gi + 1] } : {}) });
  const dir = __dirname;
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.test.js')) mocha.addFile(path.join(dir, f));
  const started = Date.now();
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  process.stdout.write(`\n${budget.summaryText()}\n  wall time: ${Math.round((Date.now() - started) / 1000)} s\n`);
  process.exitCode = failures > 0 ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
