/**
 * Create, update and delete of the SQLite store (FHIR R4 §3.1.0 http.html "create", "update",
 * "delete", "Managing Resource Contention" (version-aware updates) and "versionId"/"lastUpdated").
 *
 * `applyWrite` is synchronous and must run inside a SQLite transaction or savepoint held by the caller,
 * so the resource row, the version row and the index rows change together or not at all.
 */
import type { Resource } from 'fhir/r4';
import { FhirError } from '../../fhir/outcome';
import type { IndexEntry } from '../../search/index-entry';
import type { StoredVersion, WriteOp, WriteResult } from '../store';
import type { StatementCache } from './connection';
import { deleteIndexRows, deleteParamRows, indexRowSteps, planIndexRows } from './index-rows';
import { runSync } from '../../cooperative';
import type { InstantClock } from './rows';

interface CurrentRow {
  rid: number;
  version: number;
  deleted: number;
  index_digest: string | null;
}

const DEFAULT_METHOD: Readonly<Record<WriteOp['kind'], StoredVersion['method']>> = { create: 'POST', update: 'PUT', delete: 'DELETE' };

export function applyWrite(st: StatementCache, clock: InstantClock, op: WriteOp): WriteResult | undefined {
  return runSync(writeSteps(st, clock, op));
}

/**
 * The statements of `applyWrite` as steps (`yield` between chunks of index rows): run by
 * `runCooperatively`, a write of a resource with very many index entries gives the event loop a turn
 * between chunks while its caller holds the write connection in a transaction or savepoint. The
 * caller must not use the connection for anything else until the steps are done. `recordDigest`
 * false: no index digest is stored (see index-rows.ts `planIndexRows`).
 */
export function* writeSteps(st: StatementCache, clock: InstantClock, op: WriteOp, recordDigest = true): Generator<void, WriteResult | undefined, void> {
  const ref = `${op.resourceType}/${op.id}`;
  const cur = st.get('SELECT rid, version, deleted, index_digest FROM resource WHERE type = ? AND id = ?').get(op.resourceType, op.id) as CurrentRow | undefined;
  const live = cur !== undefined && cur.deleted === 0;
  checkExpectedVersion(ref, cur, live, op.expectedVersion);
  const method = op.method ?? DEFAULT_METHOD[op.kind];

  if (op.kind === 'delete') {
    if (!cur || !live) return undefined;
    const t = clock.next();
    const version = cur.version + 1;
    st.get('UPDATE resource SET version = ?, last_updated = ?, deleted = 1, method = ?, json = NULL, index_digest = NULL WHERE rid = ?').run(version, t, method, cur.rid);
    insertVersion(st, op.resourceType, op.id, version, t, true, method, null);
    deleteIndexRows(st, cur.rid);
    return { version: stored(op.resourceType, op.id, version, t, method, undefined), created: false };
  }

  if (!op.resource) throw new FhirError('fault', `a ${op.kind} of ${ref} was given no resource`);
  if (op.resource.resourceType !== op.resourceType) {
    throw new FhirError('invalid', `the resource is a ${op.resource.resourceType} but was written as ${op.resourceType}`);
  }
  if (op.kind === 'create' && live && op.expectedVersion === undefined) {
    throw new FhirError('conflict', `${ref} already exists (version ${cur.version})`);
  }
  const t = clock.next();
  const version = cur ? cur.version + 1 : 1;
  const json = serialiseWithMeta(op.resource, op.id, version, new Date(t).toISOString());
  // Only the rows of parameters whose entries changed are rewritten (index-rows.ts planIndexRows).
  const plan = planIndexRows(op.index ?? [], cur?.index_digest, live, recordDigest);
  let rid: number;
  if (cur) {
    rid = cur.rid;
    st.get('UPDATE resource SET version = ?, last_updated = ?, deleted = 0, method = ?, json = ?, index_digest = ? WHERE rid = ?').run(version, t, method, json, plan.digest, rid);
    if (plan.full) deleteIndexRows(st, rid);
    else deleteParamRows(st, rid, plan.remove);
  } else {
    rid = Number(
      st.get('INSERT INTO resource (type, id, version, last_updated, deleted, method, json, index_digest) VALUES (?, ?, ?, ?, 0, ?, ?, ?)').run(op.resourceType, op.id, version, t, method, json, plan.digest)
        .lastInsertRowid,
    );
  }
  insertVersion(st, op.resourceType, op.id, version, t, false, method, json);
  yield* indexRowSteps(st, rid, op.resourceType, plan.insert);
  return { version: stored(op.resourceType, op.id, version, t, method, json), created: !live };
}

/** Replaces the index rows of the live resource at `versionId` (no new version); false when it is not current. */
export function applyReindex(st: StatementCache, resourceType: string, id: string, versionId: number, index: readonly IndexEntry[]): boolean {
  return runSync(reindexSteps(st, resourceType, id, versionId, index));
}

/** `applyReindex` as steps (see writeSteps). */
export function* reindexSteps(st: StatementCache, resourceType: string, id: string, versionId: number, index: readonly IndexEntry[]): Generator<void, boolean, void> {
  const cur = st.get('SELECT rid, version, deleted, index_digest FROM resource WHERE type = ? AND id = ?').get(resourceType, id) as CurrentRow | undefined;
  if (!cur || cur.deleted !== 0 || cur.version !== versionId) return false;
  // A reindex rewrites every row (the parameters themselves may have changed) and records the new digest.
  const plan = planIndexRows(index, null, true);
  deleteIndexRows(st, cur.rid);
  st.get('UPDATE resource SET index_digest = ? WHERE rid = ?').run(plan.digest, cur.rid);
  yield* indexRowSteps(st, cur.rid, resourceType, plan.insert);
  return true;
}

function checkExpectedVersion(ref: string, cur: CurrentRow | undefined, live: boolean, expected: number | undefined): void {
  if (expected === undefined) return;
  if (expected === 0) {
    if (live) throw new FhirError('precondition', `${ref} already exists (version ${cur!.version}) but was expected not to exist`);
    return;
  }
  if (!live) {
    const state = cur ? `is deleted (version ${cur.version})` : 'does not exist';
    throw new FhirError('precondition', `version ${expected} of ${ref} was expected to be current, but the resource ${state}`);
  }
  if (cur!.version !== expected) {
    throw new FhirError('precondition', `version ${expected} of ${ref} was expected to be current, but the current version is ${cur!.version}`);
  }
}

function insertVersion(st: StatementCache, type: string, id: string, version: number, t: number, deleted: boolean, method: string, json: string | null): void {
  st.get('INSERT INTO version (type, id, version, last_updated, deleted, method, json) VALUES (?, ?, ?, ?, ?, ?, ?)').run(type, id, version, t, deleted ? 1 : 0, method, json);
}

function stored(resourceType: string, id: string, versionId: number, t: number, method: StoredVersion['method'], json: string | undefined): StoredVersion {
  return { resourceType, id, versionId, lastUpdated: new Date(t).toISOString(), deleted: json === undefined, json, method };
}

/**
 * Serialises the resource once with `id`, `meta.versionId` and `meta.lastUpdated` set. Every other
 * property keeps its place and value; a missing `meta` is inserted after `id`.
 */
export function serialiseWithMeta(resource: Resource, id: string, versionId: number, lastUpdated: string): string {
  const meta = { ...(resource.meta ?? {}), versionId: String(versionId), lastUpdated };
  const src = resource as unknown as Record<string, unknown>;
  // No prototype: a `__proto__` key of the resource is stored as a key, never as the object's prototype.
  const out = Object.create(null) as Record<string, unknown>;
  const hasId = Object.prototype.hasOwnProperty.call(src, 'id');
  const hasMeta = src.meta !== undefined;
  for (const [k, v] of Object.entries(src)) {
    if (k === 'id') out.id = id;
    else if (k === 'meta') out.meta = hasMeta ? meta : undefined;
    else out[k] = v;
    if (k === 'resourceType' && !hasId) out.id = id;
    if (!hasMeta && (k === 'id' || (k === 'resourceType' && !hasId))) out.meta = meta;
  }
  if (out.id === undefined) out.id = id;
  if (out.meta === undefined) out.meta = meta;
  return JSON.stringify(out);
}
