/**
 * The background work of a bulk export (FHIR Bulk Data Access IG 2.0, export.html "Response - Output
 * File Request"): for each resource type, its query is paged through the store by keyset (sorted by
 * `_id`, BULK_PAGE resources a page) and each page appended to the type's NDJSON file, one resource a
 * line, so memory holds one page at a time whatever the size of the export. Between pages the event
 * loop gets a turn (src/cooperative.ts), so other requests are answered while a job runs. A cancelled
 * job stops at the next page.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pause, yieldNow } from '../cooperative';
import type { SearchQuery } from '../search/ir';
import type { SearchPage } from '../store/store';
import type { ExportJob } from './jobs';

/** Resources read from the store per page. */
export const BULK_PAGE = 500;

export interface TypeExport {
  type: string;
  /** The queries of the type (several `_typeFilter`s or patient chunks: their union, each resource once). */
  queries: SearchQuery[];
}

export type Searcher = (q: SearchQuery) => Promise<SearchPage>;

/** Writes every type's resources into the job's directory; sets the job's state when done. */
export async function runExport(job: ExportJob, types: readonly TypeExport[], search: Searcher, onEnd: () => void): Promise<void> {
  job.typesTotal = types.length;
  try {
    for (const t of types) {
      const name = `${t.type}.ndjson`;
      const file = path.join(job.dir, name);
      const seen = t.queries.length > 1 ? new Set<string>() : undefined;
      let count = 0;
      for (const q of t.queries) {
        let after: SearchQuery['after'];
        for (;;) {
          await yieldNow();
          if (job.state !== 'running') return;
          const page = await search({ ...q, count: BULK_PAGE, offset: 0, total: 'none', ...(after ? { after } : {}) });
          const lines: string[] = [];
          for (const v of page.entries) {
            if (v.json === undefined || seen?.has(v.id)) continue;
            seen?.add(v.id);
            lines.push(v.json.includes('\n') ? JSON.stringify(JSON.parse(v.json)) : v.json);
          }
          if (lines.length > 0) {
            if (job.state !== 'running') return;
            await fs.appendFile(file, lines.join('\n') + '\n');
            count += lines.length;
            job.exported += lines.length;
          }
          await pause();
          if (page.next === undefined || page.entries.length === 0) break;
          after = page.next;
        }
      }
      if (count > 0) job.files.push({ type: t.type, name, count });
      job.typesDone += 1;
    }
    if (job.state === 'running') job.state = 'done';
  } catch (err) {
    if (job.state !== 'running') return;
    job.state = 'failed';
    job.failure = err instanceof Error ? err.message : String(err);
  } finally {
    job.finishedAt = Date.now();
    onEnd();
  }
}
