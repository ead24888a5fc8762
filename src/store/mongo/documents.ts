/**
 * The document model of the MongoDB store (FHIR R4 §3.1.0 http.html "vread", "history": every
 * version kept, deletes as versions without content; docs/decisions/0009-mongodb-document-model.md).
 *
 * `resources`: one document per (type, id), the current version or a delete tombstone, with the
 * typed search index of the current version split by kind into the arrays `xt`, `xs`, ... (see
 * ./search/index-docs.ts). `versions`: every version, ordered for history by (`u` = lastUpdated in
 * epoch ms, then `_id` = `type/id/version`): no global sequence, so writes share no document. `u`
 * grows strictly with each version of one resource (writes.ts), so instance history in `u` order is
 * version order. The resource JSON is stored as a string (`j`): `$`-prefixed and dotted keys in
 * user data round-trip exactly and are never interpreted as operators or paths.
 */
import type { StoredVersion } from '../store';
import type { Doc } from './driver';

export const RESOURCES = 'resources';
export const VERSIONS = 'versions';
export const CLAIMS = 'claims';

export type Method = StoredVersion['method'];

/** The fields shared by `resources` and `versions` documents. */
// A type alias (not an interface) so the documents are assignable to the driver's `Doc`.
export type VersionFields = {
  t: string;
  i: string;
  v: number;
  u: number;
  lu: string;
  d: boolean;
  m: Method;
  j?: string;
};

/**
 * The search index of the current version: one array of IndexDocs per kind (`xt`, `xs`, ...; see
 * ./search/index-docs.ts), only the non-empty ones; none when deleted.
 */
export type IndexFields = Record<string, unknown[]>;

/** A `resources` document: the version fields and the index arrays of IndexFields. */
export type ResourceDoc = VersionFields & { _id: string; [indexArray: string]: unknown };

export type VersionDoc = VersionFields & { _id: string };

/** History order, newest first: lastUpdated, then `_id` (unique) as the tiebreak. */
export const HISTORY_ORDER: Readonly<Record<string, -1>> = Object.freeze({ u: -1, _id: -1 });

export const resourceKey = (type: string, id: string): string => `${type}/${id}`;
export const versionKey = (type: string, id: string, v: number): string => `${type}/${id}/${v}`;

/** The projection of a version's fields (the index arrays are never read back). */
export const VERSION_PROJECTION: Readonly<Record<string, 1>> = Object.freeze({ t: 1, i: 1, v: 1, u: 1, lu: 1, d: 1, m: 1, j: 1 });

export function versionFields(version: StoredVersion): VersionFields {
  const f: VersionFields = {
    t: version.resourceType,
    i: version.id,
    v: version.versionId,
    u: Date.parse(version.lastUpdated),
    lu: version.lastUpdated,
    d: version.deleted,
    m: version.method,
  };
  if (version.json !== undefined) f.j = version.json;
  return f;
}

export function toResourceDoc(version: StoredVersion, index: IndexFields): ResourceDoc {
  return { ...(version.deleted ? {} : index), ...versionFields(version), _id: resourceKey(version.resourceType, version.id) };
}

export function toVersionDoc(version: StoredVersion): VersionDoc {
  return { _id: versionKey(version.resourceType, version.id, version.versionId), ...versionFields(version) };
}

const METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Maps a `resources` or `versions` document back to a stored version; a malformed one is a fault. */
export function toStoredVersion(doc: Doc): StoredVersion {
  const { t, i, v, lu, d, m, j } = doc;
  if (typeof t !== 'string' || typeof i !== 'string' || typeof v !== 'number' || typeof lu !== 'string' || typeof d !== 'boolean' || typeof m !== 'string' || !METHODS.has(m)) {
    throw new Error(`malformed stored document ${String(doc._id)}`);
  }
  if (!d && typeof j !== 'string') throw new Error(`stored document ${String(doc._id)} is live but has no JSON`);
  return { resourceType: t, id: i, versionId: v, lastUpdated: lu, deleted: d, json: d ? undefined : (j as string), method: m as Method };
}
