/**
 * The command line of `npm run import -- <dir|file|url>...` (issue 16): options, the progress bar
 * (cli-progress, on standard error: resources done of the estimated total, resources/s, ETA), the
 * summary (standard output) and the exit code: 0 all loaded, 2 some rejected, 130 interrupted,
 * 1 usage or set-up error.
 *
 *   --url <base>        load over HTTP into a running server's FHIR base (else: in process, DATA_DIR)
 *   --token <jwt>       bearer token for --url
 *   --concurrency <n>   Bundles in flight (default 4)
 *   --base-validation   in process: REQUIRED_PROFILES= and PATIENT_ID_POLICY=server for this import
 *   --report-dir <dir>  where import-report.ndjson and import-state.json go (default: .)
 *   --restart           ignore import-state.json (load everything again)
 *   --no-progress       no progress bar
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DEFAULT_REQUIRED_PROFILES } from '../config/config';
import { requiredProfileHint, runImport, type ImportProgress, type ImportSummary } from './run';
import { openImportServices } from './services';
import { engineTarget, httpTarget, type ImportTarget } from './target';

export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Draw the progress bar (a terminal on standard error). */
  progress: boolean;
  signal?: AbortSignal;
}

export const USAGE = 'usage: npm run import -- <dir|file|url>... [--url http://host/fhir [--token T]] [--concurrency N] [--base-validation] [--report-dir DIR] [--restart] [--no-progress]';

/** `1h02m`, `3m05s`, `42s`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The estimated total: resources known so far, scaled to the sources not read yet. */
function estimatedTotal(p: Readonly<ImportProgress>): number {
  if (p.sourcesRead === 0) return Math.max(1, p.known);
  return Math.max(1, Math.round((p.known * p.sources) / p.sourcesRead));
}

function summaryLines(s: ImportSummary, target: string): string[] {
  const done = s.loaded + s.rejected;
  const lines = [
    `${s.interrupted ? 'interrupted' : 'done'}: ${s.loaded} resources loaded, ${s.rejected} rejected${s.skipped > 0 ? `, ${s.skipped} skipped (loaded by an earlier run)` : ''} into ${target} in ${s.seconds.toFixed(1)} s (${(done / Math.max(s.seconds, 0.001)).toFixed(0)} resources/s)`,
  ];
  for (const r of s.reasons.slice(0, 5)) lines.push(`  rejected ${r.resources}: ${r.reason.length > 240 ? r.reason.slice(0, 240) + '…' : r.reason}`);
  if (s.reasons.length > 5) lines.push(`  … ${s.reasons.length - 5} other reasons`);
  if (s.rejected > 0) lines.push(`report: ${s.reportFile}`);
  if (s.interrupted) lines.push(`rerun the same command to resume (state: ${s.stateFile}; --restart starts again)`);
  return lines;
}

export async function importCli(argv: string[], io: CliIo): Promise<number> {
  let values: { url?: string; token?: string; concurrency?: string; 'base-validation'?: boolean; 'report-dir'?: string; restart?: boolean; 'no-progress'?: boolean; help?: boolean };
  let inputs: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        concurrency: { type: 'string' },
        'base-validation': { type: 'boolean' },
        'report-dir': { type: 'string' },
        restart: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    inputs = parsed.positionals;
  } catch (e) {
    io.err(`${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (inputs.length === 0) {
    io.err(USAGE);
    return 1;
  }
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    io.err(`--concurrency must be a whole number from 1 to 64, not ${JSON.stringify(values.concurrency)}`);
    return 1;
  }
  const overHttp = values.url !== undefined;
  if (overHttp && values['base-validation']) {
    io.err('--base-validation applies to an in-process import only: the validation of a running server is its own configuration (start it with REQUIRED_PROFILES= and PATIENT_ID_POLICY=server)');
    return 1;
  }
  let target: ImportTarget;
  let close = async (): Promise<void> => {};
  // A remote server's REQUIRED_PROFILES are not known here: its defaults (UK Core) are assumed.
  let requiredProfileUrls = DEFAULT_REQUIRED_PROFILES.split(',').map((item) => item.slice(item.indexOf('=') + 1));
  if (overHttp) {
    target = httpTarget(values.url!, values.token);
  } else {
    try {
      const opened = await openImportServices(io.env, { baseValidation: values['base-validation'] === true });
      target = engineTarget(opened.services, opened.describe);
      requiredProfileUrls = Object.values(opened.services.config.requiredProfiles);
      close = opened.close;
    } catch (e) {
      io.err(`cannot open the server's store: ${(e as Error).message}`);
      return 1;
    }
  }
  if (values['base-validation']) io.err('--base-validation: REQUIRED_PROFILES= and PATIENT_ID_POLICY=server for this import (base R4 validation and the profiles resources claim; Patients keep their ids)');
  const bar = io.progress && values['no-progress'] !== true
    ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {value}/{total} resources | {rate} resources/s | ETA {eta} | {rejected} rejected', etaBuffer: 50, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined;
  const started = Date.now();
  bar?.start(1, 0, { rate: '0', rejected: 0, eta: '-' });
  let summary: ImportSummary;
  try {
    summary = await runImport({
      inputs,
      target,
      concurrency,
      reportDir: values['report-dir'] ?? '.',
      restart: values.restart === true,
      requiredProfileUrls,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (p) => {
        if (!bar) return;
        const done = p.loaded + p.rejected;
        const total = Math.max(estimatedTotal(p) - p.skipped, done, 1);
        const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
        bar.setTotal(total);
        bar.update(done, { rate: rate.toFixed(0), rejected: p.rejected, eta: rate > 0 ? formatSeconds((total - done) / rate) : '-' });
      },
    });
  } catch (e) {
    bar?.stop();
    await close();
    io.err(`import failed: ${(e as Error).message}`);
    return 1;
  }
  if (bar) {
    bar.setTotal(Math.max(summary.loaded + summary.rejected, 1));
    bar.stop();
  }
  await close();
  for (const line of summaryLines(summary, target.describe)) io.out(line);
  const hint = requiredProfileHint(summary, overHttp);
  if (hint) io.err(hint);
  if (summary.interrupted) return 130;
  return summary.rejected > 0 ? 2 : 0;
}
