/**
 * Child-process entry of the benchmark (serves the FHIR R4 http.html measurements): starts one
 * target — `fhir <sqlitePath> <dataDir>`, `fhir-memory :memory: <dataDir>`, `fhir-defaults <sqlitePath> <dataDir>`,
 * `node <bodiesFile>` or `express <bodiesFile>` — and talks
 * to the parent over IPC (see child.ts).
 */
import { closeServer, createExpressBaseline, createNodeBaseline, listen, readBodies } from './baselines';
import { reportFailure, serveParent } from './child';
import { serveFhir } from './fhir';

async function main(argv: readonly string[]): Promise<void> {
  const [kind, a, b] = argv;
  if ((kind === 'fhir' || kind === 'fhir-memory' || kind === 'fhir-defaults') && a !== undefined && b !== undefined) {
    await serveFhir(kind, a, b);
  } else if ((kind === 'node' || kind === 'express') && a !== undefined) {
    const bodies = readBodies(a);
    const server = kind === 'node' ? createNodeBaseline(bodies) : createExpressBaseline(bodies);
    const url = await listen(server);
    serveParent(url, () => closeServer(server));
  } else {
    throw new Error(`usage: target-process (fhir[-memory|-defaults] <sqlitePath> <dataDir> | node <bodiesFile> | express <bodiesFile>), got ${argv.join(' ')}`);
  }
}

main(process.argv.slice(2)).catch(reportFailure);
