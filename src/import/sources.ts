/**
 * Import sources (issue 16, `npm run import -- <dir|file|url>`): a directory (walked recursively for
 * `*.json` and `*.ndjson`, in name order), one file, or an http(s) URL of one. NDJSON is recognised by
 * the `.ndjson` extension (or an `application/fhir+ndjson` / `application/x-ndjson` response).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface SourceText {
  source: string;
  ndjson: boolean;
  text: string;
}

/** The files of an input, in a stable order (the resume state's keys depend on it). */
export async function listSources(input: string): Promise<string[]> {
  if (/^https?:\/\//i.test(input)) return [input];
  const stat = await fs.stat(input);
  if (stat.isFile()) return [path.resolve(input)];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const p = path.join(dir, d.name);
      // Symbolic links are followed (stat), so a folder of links to the data works.
      const s = d.isSymbolicLink() ? await fs.stat(p) : d;
      if (s.isDirectory()) await walk(p);
      else if (s.isFile() && /\.(nd)?json$/i.test(d.name)) out.push(p);
    }
  };
  await walk(path.resolve(input));
  return out;
}

/** Reads one source (a file or a URL). */
export async function readSource(source: string): Promise<SourceText> {
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source, { headers: { accept: 'application/fhir+json, application/fhir+ndjson, application/json' } });
    if (!res.ok) throw new Error(`GET ${source} answered ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    return { source, ndjson: /ndjson/i.test(type) || /\.ndjson(\?|$)/i.test(source), text: await res.text() };
  }
  return { source, ndjson: /\.ndjson$/i.test(source), text: await fs.readFile(source, 'utf8') };
}
