/**
 * The document model of the MongoDB store (FHIR R4 §3.1.0 http.html "vread", "history": every
 * version kept, deletes as versions without content; docs/decisions/0009-mongodb-document-model.md).
 *
 * `resources`: one document per (type, id), the current version or a delete tombstone, with the
 * typed search index `x` of the current version. `versions`: every version, ordered for history by a
 * global sequence `s`. The resource JSON is stored as a string (`j`): `$`-prefixed and dotted keys in
 * user data round-trip exactly and are never interpreted as operators or paths.
 */
import type { StoredVersion } from '../store';
import type { Doc } from './driver';

export const RESOURCES = 'resources';
export const VERSIONS = 'versions';
export const COUNTERS = 'counters';
export const CLAIMS = 'claims';

/** The `_id` of the counters document that numbers versions for history order. */
export const VERSION_SEQUENCE = 'version-sequence';

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

export type ResourceDoc = VersionFields & {
  _id: string;
  /** The IndexDocs of the current version (see ./search); [] when deleted. */
  x: unknown[];
};

export type VersionDoc = VersionFields & {
  _id: string;
  s: number;
};

export const resourceKey = (type: string, id: string): string => `${type}/${id}`;
export const versionKey = (type: string, id: string, v: number): string => `${type}/${id}/${v}`;

/** The projection of a version's fields (the index array `x` is never read back). */
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

export function toResourceDoc(version: StoredVersion, index: unknown[]): ResourceDoc {
  return { _id: resourceKey(version.resourceType, version.id), ...versionFields(version), x: version.deleted ? [] : index };
}

export function toVersionDoc(version: StoredVersion, sequence: number): VersionDoc {
  return { _id: versionKey(version.resourceType, version.id, version.versionId), ...versionFields(version), s: sequence };
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
