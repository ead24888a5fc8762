/**
 * The import run (issue 16, `npm run import`): reads the sources one after another, sends their units
 * (src/import/units.ts) to the target with `concurrency` requests in flight, records each completed
 * unit in the resume state (src/import/state.ts) and each rejection of this run in
 * `import-report.ndjson` (one line per rejected resource or Bundle: file, entry, status, the
 * OperationOutcome diagnostics), and reports progress. A rerun skips the units that loaded completely
 * and sends again only what was rejected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { interpret, isRequiredProfileRejection, type Rejection } from './outcome';
import { listSources, readSource } from './sources';
import { ImportState } from './state';
import type { ImportTarget } from './target';
import { remainderOf, resourceCount, unitsOfJson, unitsOfNdjson, type ImportUnit } from './units';

export interface ImportProgress {
  /** Resources loaded, rejected and skipped (loaded by an earlier run) so far. */
  loaded: number;
  rejected: number;
  skipped: number;
  /** Resources of the sources read so far (the total grows as sources are read). */
  known: number;
  /** Sources read so far, of all. */
  sourcesRead: number;
  sources: number;
}

export interface ImportOptions {
  inputs: string[];
  target: ImportTarget;
  /** Requests in flight (default 4). */
  concurrency?: number;
  /** Directory of `import-report.ndjson` and `import-state.json`. */
  reportDir: string;
  /** Ignore the resume state. */
  restart?: boolean;
  /** Stops taking new units (those in flight complete); the state lets a rerun resume. */
  signal?: AbortSignal;
  /** Stops after this many units were sent (tests of resumption). */
  maxUnits?: number;
  onProgress?: (p: Readonly<ImportProgress>) => void;
  /** URLs of the profiles the server requires (REQUIRED_PROFILES), to tell their rejections apart. */
  requiredProfileUrls?: readonly string[];
}

export interface ImportSummary extends ImportProgress {
  /** True when the run stopped early (signal or maxUnits). */
  interrupted: boolean;
  /** Rejected resources by reason (the first diagnostics of each rejection), most frequent first. */
  reasons: Array<{ reason: string; resources: number }>;
  /** Rejected resources whose rejection names a required profile (REQUIRED_PROFILES). */
  rejectedByRequiredProfiles: number;
  reportFile: string;
  stateFile: string;
  seconds: number;
}

function reportLine(r: Rejection): string {
  return JSON.stringify({ file: r.file, ...(r.entry !== undefined ? { entry: r.entry } : {}), status: r.status, diagnostics: r.diagnostics }) + '\n';
}

export async function runImport(opts: ImportOptions): Promise<ImportSummary> {
  const started = Date.now();
  fs.mkdirSync(opts.reportDir, { recursive: true });
  const sources: string[] = [];
  for (const input of opts.inputs) sources.push(...(await listSources(input)));
  const state = ImportState.open(opts.reportDir, sources, opts.restart === true);
  const reportFile = path.join(opts.reportDir, 'import-report.ndjson');
  // The report lists this run's rejections (a rerun sends the rejected entries again).
  fs.writeFileSync(reportFile, '');
  const progress: ImportProgress = { loaded: 0, rejected: 0, skipped: 0, known: 0, sourcesRead: 0, sources: sources.length };
  const reasons = new Map<string, number>();
  let byProfiles = 0;
  let sent = 0;
  let interrupted = false;
  const report = (r: Rejection): void => {
    fs.appendFileSync(reportFile, reportLine(r));
    const reason = r.diagnostics[0] ?? `status ${r.status}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + r.resources);
    if (isRequiredProfileRejection(r, opts.requiredProfileUrls ?? [])) byProfiles += r.resources;
  };

  /** Units to send, each with the indexes of its entries in the full unit. */
  async function* units(): AsyncGenerator<{ unit: ImportUnit; indexes: readonly number[] }> {
    for (const source of sources) {
      let parsed;
      try {
        const s = await readSource(source);
        parsed = s.ndjson ? unitsOfNdjson(source, s.text) : unitsOfJson(source, s.text);
      } catch (e) {
        parsed = { units: [], unreadable: [{ source, offset: 0, diagnostics: (e as Error).message }] };
      }
      progress.sourcesRead++;
      for (const u of parsed.unreadable) {
        // Never sent, so never recorded: reported by every run.
        progress.known++;
        report({ file: u.source, entry: u.offset, status: 0, resources: 1, diagnostics: [u.diagnostics] });
        progress.rejected++;
      }
      for (const unit of parsed.units) {
        const count = resourceCount(unit);
        progress.known += count;
        const pending = state.pending(unit.key);
        if (pending === undefined) {
          yield { unit, indexes: Array.from({ length: count }, (_, i) => i) };
          continue;
        }
        const rest = unit.bundle.type === 'transaction' && pending.length > 0 ? Array.from({ length: count }, (_, i) => i) : pending;
        progress.skipped += count - rest.length;
        if (rest.length > 0) yield { unit: remainderOf(unit, rest), indexes: rest };
      }
      opts.onProgress?.(progress);
    }
  }

  const queue = units();
  const worker = async (): Promise<void> => {
    for (;;) {
      if (opts.signal?.aborted || (opts.maxUnits !== undefined && sent >= opts.maxUnits)) { interrupted = true; return; }
      sent++;
      const next = await queue.next();
      if (next.done) return;
      const { unit, indexes } = next.value;
      const result = interpret(unit, await opts.target.send(unit.bundle));
      for (const r of result.rejections) report(r);
      progress.loaded += result.loaded;
      progress.rejected += result.rejected;
      state.record(unit.key, result.rejectedEntries.map((i) => indexes[i] ?? i));
      opts.onProgress?.(progress);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  return {
    ...progress,
    interrupted,
    reasons: [...reasons].map(([reason, resources]) => ({ reason, resources })).sort((a, b) => b.resources - a.resources),
    rejectedByRequiredProfiles: byProfiles,
    reportFile,
    stateFile: path.join(opts.reportDir, 'import-state.json'),
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The one-line hint when most rejections come from required profiles (e.g. US Synthea data under
 * UK Core), or undefined.
 */
export function requiredProfileHint(s: ImportSummary, overHttp: boolean): string | undefined {
  if (s.rejected === 0 || s.rejectedByRequiredProfiles * 2 < s.rejected) return undefined;
  const how = overHttp ? 'start that server with REQUIRED_PROFILES= (empty) and PATIENT_ID_POLICY=server' : 'rerun with --base-validation (base R4 validation only: REQUIRED_PROFILES= and PATIENT_ID_POLICY=server for this import)';
  return `${s.rejectedByRequiredProfiles} of ${s.rejected} rejected resources failed the server's required profiles (REQUIRED_PROFILES, UK Core): for non-UK data such as Synthea, ${how}`;
}
