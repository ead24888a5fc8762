/**
 * Create, update and delete of the MongoDB store (FHIR R4 §3.1.0 http.html "create", "update",
 * "delete", "Managing Resource Contention" (version-aware updates), "versionId" and "lastUpdated").
 *
 * One write touches two documents: the `resources` document (replaced only if its version is still
 * the one read: a compare-and-swap, so two writers never both win even without a transaction) and
 * the new `versions` document. No document is shared by writes of different resources (history is
 * ordered by lastUpdated then `_id`, not by a global counter), so writes of different resources
 * never conflict. Inside a transaction (the default) the two commit together. lastUpdated is
 * strictly greater than the previous version's, whatever the clocks of other instances. Semantics mirror src/store/sqlite/writes.ts.
 */
import { FhirError } from '../../fhir/outcome';
import type { IndexEntry } from '../../search/index-entry';
import type { StoredVersion, WriteOp, WriteResult } from '../store';
import { serialiseWithMeta } from '../sqlite/writes';
import type { InstantClock } from '../sqlite/rows';
import type { DriverCollection, DriverSession, WriteOptions } from './driver';
import { resourceKey, toResourceDoc, toVersionDoc, type IndexFields } from './documents';
import { isDuplicateKey } from './errors';

export interface WriteTarget {
  resources: DriverCollection;
  versions: DriverCollection;
  /** The transaction's session, or undefined for a write without a transaction. */
  session: DriverSession | undefined;
  /** Write concern of writes outside a transaction (a transaction carries its own). */
  writeConcern: WriteOptions['writeConcern'];
  clock: InstantClock;
  toIndexDocs: (entries: IndexEntry[]) => IndexFields;
  /** The names of every index array toIndexDocs may produce (reindex unsets the absent ones). */
  indexArrays: readonly string[];
}

interface Current {
  v: number;
  d: boolean;
  u: number;
}

const DEFAULT_METHOD: Readonly<Record<WriteOp['kind'], StoredVersion['method']>> = { create: 'POST', update: 'PUT', delete: 'DELETE' };

function options(w: WriteTarget): WriteOptions {
  if (w.session) return { session: w.session };
  return w.writeConcern ? { writeConcern: w.writeConcern } : {};
}

export async function readCurrent(w: Pick<WriteTarget, 'resources' | 'session'>, type: string, id: string): Promise<Current | undefined> {
  const doc = await w.resources.findOne({ _id: resourceKey(type, id) }, { ...(w.session ? { session: w.session } : {}), projection: { v: 1, d: 1, u: 1 } });
  if (!doc) return undefined;
  return { v: Number(doc.v), d: doc.d === true, u: Number(doc.u) };
}

export async function applyWrite(w: WriteTarget, op: WriteOp): Promise<WriteResult | undefined> {
  const ref = resourceKey(op.resourceType, op.id);
  const cur = await readCurrent(w, op.resourceType, op.id);
  const live = cur !== undefined && !cur.d;
  checkExpectedVersion(ref, cur, live, op.expectedVersion);
  const method = op.method ?? DEFAULT_METHOD[op.kind];

  let version: StoredVersion;
  let index: IndexFields = {};
  if (op.kind === 'delete') {
    if (!cur || !live) return undefined;
    const t = nextInstant(w.clock, cur);
    version = stored(op.resourceType, op.id, cur.v + 1, t, method, undefined);
  } else {
    if (!op.resource) throw new FhirError('fault', `a ${op.kind} of ${ref} was given no resource`);
    if (op.resource.resourceType !== op.resourceType) {
      throw new FhirError('invalid', `the resource is a ${op.resource.resourceType} but was written as ${op.resourceType}`);
    }
    if (op.kind === 'create' && live && op.expectedVersion === undefined) {
      throw new FhirError('conflict', `${ref} already exists (version ${cur.v})`);
    }
    const t = nextInstant(w.clock, cur);
    const versionId = cur ? cur.v + 1 : 1;
    const json = serialiseWithMeta(op.resource, op.id, versionId, new Date(t).toISOString());
    version = stored(op.resourceType, op.id, versionId, t, method, json);
    index = w.toIndexDocs(op.index ?? []);
  }
  await swapResource(w, ref, cur, toResourceDoc(version, index));
  await w.versions.insertOne(toVersionDoc(version), options(w));
  return { version, created: op.kind !== 'delete' && !live };
}

/**
 * Replaces (or inserts) the `resources` document only if it is still at the version read. Losing
 * that race (possible only without a transaction, or across instances) is a 409, never a lost update.
 */
async function swapResource(w: WriteTarget, ref: string, cur: Current | undefined, doc: Record<string, unknown>): Promise<void> {
  const conflict = (): FhirError => new FhirError('conflict', `${ref} was changed by a concurrent write; retry the request`);
  if (!cur) {
    try {
      await w.resources.insertOne(doc, options(w));
    } catch (e) {
      if (isDuplicateKey(e)) throw conflict();
      throw e;
    }
    return;
  }
  const r = await w.resources.replaceOne({ _id: ref, v: cur.v }, doc, options(w));
  if (r.matchedCount !== 1) throw conflict();
}

/** Strictly after the previous version of this resource too, whatever the clocks of other instances. */
function nextInstant(clock: InstantClock, cur: Current | undefined): number {
  const t = clock.next();
  return cur && cur.u >= t ? cur.u + 1 : t;
}

function checkExpectedVersion(ref: string, cur: Current | undefined, live: boolean, expected: number | undefined): void {
  if (expected === undefined) return;
  if (expected === 0) {
    if (live) throw new FhirError('precondition', `${ref} already exists (version ${cur!.v}) but was expected not to exist`);
    return;
  }
  if (!live) {
    const state = cur ? `is deleted (version ${cur.v})` : 'does not exist';
    throw new FhirError('precondition', `version ${expected} of ${ref} was expected to be current, but the resource ${state}`);
  }
  if (cur!.v !== expected) {
    throw new FhirError('precondition', `version ${expected} of ${ref} was expected to be current, but the current version is ${cur!.v}`);
  }
}

function stored(resourceType: string, id: string, versionId: number, t: number, method: StoredVersion['method'], json: string | undefined): StoredVersion {
  return { resourceType, id, versionId, lastUpdated: new Date(t).toISOString(), deleted: json === undefined, json, method };
}

/** Replaces the index of the live resource at `versionId` (no new version); false when it is not current. */
export async function applyReindex(w: Pick<WriteTarget, 'resources' | 'session' | 'writeConcern' | 'toIndexDocs' | 'indexArrays'>, type: string, id: string, versionId: number, entries: IndexEntry[]): Promise<boolean> {
  const opts: WriteOptions = w.session ? { session: w.session } : w.writeConcern ? { writeConcern: w.writeConcern } : {};
  const fields = w.toIndexDocs(entries);
  // Every index array is set or unset: an array of a kind the new index no longer has must go.
  const unset: Record<string, ''> = {};
  for (const name of w.indexArrays) if (!(name in fields)) unset[name] = '';
  const update: Record<string, unknown> = { $set: fields };
  if (Object.keys(unset).length > 0) update.$unset = unset;
  if (Object.keys(fields).length === 0) delete update.$set;
  const r = await w.resources.updateOne({ _id: resourceKey(type, id), v: versionId, d: false }, update, opts);
  return r.matchedCount === 1;
}
