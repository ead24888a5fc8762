/**
 * Child process of the group-commit durability test (FHIR R4 §3.1.0 http.html: an acknowledged write
 * is kept), with concurrent writers so that writes share group commits.
 *
 * Usage: node group-durability-child.js <database file> <writers> [inline|background] [inline|worker]
 * (the store's WAL checkpoint mode, checkpointer.ts, default inline; who writes `write`s, ADR 0045,
 * default inline).
 * Each writer loops: creates a Patient, every fourth round a transaction of three creates, every third
 * round an update of its own counter Patient with the expected version. A line is printed only after
 * the store acknowledged the write: `<id>` for creates, `<id>@<version>` for updates, and
 * `largest <n>` whenever the largest group so far grew (a group on the store's connection or, for
 * `worker`, a batch of several writers' writes on the writer thread). The parent kills it with SIGKILL.
 */
import type { Patient } from 'fhir/r4';
import type { IndexEntry } from '../../search/index-entry';
import { openSqliteStore } from './sqlite-store';
import { CHECKPOINT_MODES, type CheckpointMode } from './checkpointer';
import { WRITER_MODES, type WriterMode } from './writer-thread';

async function main(file: string, writers: number, checkpoint: CheckpointMode, writes: WriterMode): Promise<void> {
  const store = openSqliteStore(file, { checkpoint, writes });
  const patient = (id: string, extra: Partial<Patient> = {}): Patient => ({ resourceType: 'Patient', id, name: [{ family: `Family ${id}` }], ...extra });
  const index = (id: string): IndexEntry[] => [{ kind: 'token', param: 'identifier', system: 'urn:durability', code: id }];
  let largest = 0;
  const print = (lines: string[]): void => {
    const seen = Math.max(store.groupStats.largestGroup, store.largestThreadBatch);
    if (seen > largest) {
      largest = seen;
      lines.push(`largest ${largest}`);
    }
    process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  };
  const writer = async (w: number): Promise<void> => {
    const counter = `c${w}`;
    let version = (await store.write({ kind: 'create', resourceType: 'Patient', id: counter, resource: patient(counter), index: index(counter) }))!.version.versionId;
    print([`${counter}@${version}`]);
    for (let round = 0; round < 1_000_000; round++) {
      if (round % 4 === 3) {
        const ids = [0, 1, 2].map((k) => `t${w}.${round}-${k}`);
        await store.withTransaction(async (tx) => {
          for (const id of ids) await tx.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: index(id) });
        });
        print(ids);
      } else if (round % 3 === 2) {
        const r = await store.write({ kind: 'update', resourceType: 'Patient', id: counter, resource: patient(counter, { birthDate: '2000-01-01' }), index: index(counter), expectedVersion: version });
        version = r!.version.versionId;
        print([`${counter}@${version}`]);
      } else {
        const id = `s${w}.${round}`;
        await store.write({ kind: 'create', resourceType: 'Patient', id, resource: patient(id), index: index(id) });
        print([id]);
      }
    }
  };
  process.stdout.write('ready\n');
  await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
  await store.close();
}

const [file, writers, mode = 'inline', writes = 'inline'] = process.argv.slice(2);
if (!file || !writers || !/^\d+$/.test(writers) || !(CHECKPOINT_MODES as readonly string[]).includes(mode) || !(WRITER_MODES as readonly string[]).includes(writes)) {
  process.stderr.write('usage: group-durability-child <database file> <writers> [inline|background] [inline|worker]\n');
  process.exit(2);
}
main(file, Number(writers), mode as CheckpointMode, writes as WriterMode).catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
