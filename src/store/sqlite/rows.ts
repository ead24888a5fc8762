/**
 * Mapping between SQLite rows and stored versions (FHIR R4 §3.1.0 http.html "vread" and "history":
 * versionId, lastUpdated, and deletes recorded as versions without content).
 */
import type { StoredVersion } from '../store';

/** The columns shared by the `resource` and `version` tables. */
export interface VersionRow {
  type: string;
  id: string;
  version: number;
  last_updated: number;
  deleted: number;
  method: string;
  json: string | null;
}

export const VERSION_COLUMNS = 'type, id, version, last_updated, deleted, method, json';

export function toStoredVersion(row: VersionRow): StoredVersion {
  return {
    resourceType: row.type,
    id: row.id,
    versionId: row.version,
    lastUpdated: new Date(row.last_updated).toISOString(),
    deleted: row.deleted !== 0,
    json: row.json ?? undefined,
    method: row.method as StoredVersion['method'],
  };
}

/** Strictly increasing instants (epoch ms): never two versions with the same lastUpdated in one store. */
export class InstantClock {
  constructor(private last: number) {}

  /** The last instant handed out (or the one the clock started after). */
  get latest(): number {
    return this.last;
  }

  /**
   * Continues after `t`, the latest instant another connection's clock handed out for the same
   * database while this one was idle (the writer thread, writer-thread.ts): the store's instants stay
   * strictly increasing in commit order across both.
   */
  advanceTo(t: number): void {
    if (t > this.last) this.last = t;
  }

  next(): number {
    const now = Date.now();
    this.last = now > this.last ? now : this.last + 1;
    return this.last;
  }
}
