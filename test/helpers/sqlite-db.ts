/**
 * Test access to a SqliteStore's own write connection: its raw rows, and a way to make its COMMITs
 * fail for real on any connection to the same file (the writer thread's included).
 */
import type Database from 'better-sqlite3';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store';

/** The store's write connection. */
export const dbOf = (store: SqliteStore): Database.Database => (store as unknown as { conns: { write: Database.Database } }).conns.write;

/**
 * Makes every COMMIT of a transaction that created or updated a resource whose id starts with
 * `prefix` fail, on any connection: a deferred foreign key that such a write violates is checked at
 * COMMIT.
 */
export function failCommitsOf(store: SqliteStore, prefix: string): void {
  dbOf(store).exec(`
    CREATE TABLE commit_guard_target (id INTEGER PRIMARY KEY);
    CREATE TABLE commit_guard (ref INTEGER REFERENCES commit_guard_target(id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TRIGGER commit_guard_insert AFTER INSERT ON version WHEN NEW.id LIKE '${prefix}%' BEGIN INSERT INTO commit_guard VALUES (1); END;`);
}
