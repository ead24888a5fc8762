/**
 * Child process of the durability test (FHIR R4 §3.1.0 http.html: an acknowledged write is kept).
 *
 * Usage: node durability-child.js <database file>
 * Writes Patients forever (single writes, and every fifth round a transaction of three) and prints each
 * id on its own line only after the store acknowledged it. The parent kills it with SIGKILL.
 */
import type { Patient } from 'fhir/r4';
import { openSqliteStore } from './sqlite-store';

async function main(file: string): Promise<void> {
  const store = openSqliteStore(file);
  const patient = (id: string): Patient => ({ resourceType: 'Patient', id, name: [{ family: `Family ${id}` }] });
  const index = (id: string) => [{ kind: 'token' as const, param: 'identifier', system: 'urn:durability', code: id }];
  process.stdout.write('ready\n');
  for (let round = 0; round < 1_000_000; round++) {
    if (round % 5 === 4) {
      const ids = [0, 1, 2].map((k) => `t${round}-${k}`);
      await store.withTransaction(async (tx) => {
        for (const id of ids) await tx.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: index(id) });
      });
      process.stdout.write(ids.map((id) => `${id}\n`).join(''));
    } else {
      const id = `s${round}`;
      await store.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: index(id) });
      process.stdout.write(`${id}\n`);
    }
  }
  await store.close();
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: durability-child <database file>\n');
  process.exit(2);
}
main(file).catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
