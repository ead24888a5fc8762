/**
 * Opening the SQLite database of the embedded store (FHIR R4 §3.1.0 http.html: an acknowledged write
 * must not be lost).
 *
 * A file database gets one write connection (WAL journal, synchronous FULL so a commit is on disk
 * before it is acknowledged, foreign keys, busy timeout) and one read-only connection that reads WAL
 * snapshots without waiting for writers. `:memory:` has a single connection shared by both roles.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createPrivateFile, restrictDatabaseFiles } from './file-mode';
import { migrate } from './schema';

export interface Connections {
  write: Database.Database;
  /** The read-only connection; the write connection itself for `:memory:`. */
  read: Database.Database;
  memory: boolean;
}

export const BUSY_TIMEOUT_MS = 5000;

export function openConnections(file: string): Connections {
  if (file === ':memory:') {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return { write: db, read: db, memory: true };
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // 0600 whatever the umask: the database holds patient data (its -wal/-shm inherit the mode).
  createPrivateFile(file);
  const write = new Database(file);
  try {
    write.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = write.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`SQLite refused WAL journal mode for ${file} (got ${String(mode)})`);
    write.pragma('synchronous = FULL');
    write.pragma('foreign_keys = ON');
    migrate(write);
    restrictDatabaseFiles(file);
  } catch (e) {
    write.close();
    throw e;
  }
  const read = new Database(file, { readonly: true, fileMustExist: true });
  read.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return { write, read, memory: false };
}

/** Prepared statements cached by SQL text (search SQL varies with the query's shape, not its values). */
export class StatementCache {
  private readonly cache = new Map<string, Database.Statement>();
  constructor(
    readonly db: Database.Database,
    private readonly max = 500,
  ) {}

  get(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (!st) {
      if (this.cache.size >= this.max) this.cache.clear();
      st = this.db.prepare(sql);
      this.cache.set(sql, st);
    }
    return st;
  }
}
