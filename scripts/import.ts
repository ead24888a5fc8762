#!/usr/bin/env node
/**
 * `npm run import -- <dir|file|url>...` (also the `spine-fhir-import` bin): loads FHIR data (Bundles,
 * single resources, NDJSON) into the server, validated as the server validates (src/import/cli.ts).
 * Ctrl-C stops taking new Bundles; those in flight complete, and a rerun resumes.
 */
import { importCli } from '../src/import/cli';

const abort = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nstopping after the Bundles in flight (Ctrl-C again to quit at once)\n');
  abort.abort();
  process.once('SIGINT', () => process.exit(130));
});
importCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  progress: process.stderr.isTTY === true,
  signal: abort.signal,
}).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`import failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
