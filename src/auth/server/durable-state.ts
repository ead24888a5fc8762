/**
 * The part of the authorization server's state that must survive a restart (RFC 7009 §2.2: a revoked
 * token stays invalid; RFC 7523 §3 item 7 and SMART App Launch 2.0.0 backend-services.html: a client
 * assertion `jti` is never accepted twice; OAuth 2.0 Security BCP, RFC 9700 §2.2.2 and §4.14):
 * revoked access token `jti`s and used client assertion `jti`s, each kept until it expires.
 *
 * They live in a small SQLite database beside the keys, `DATA_DIR/auth-state.sqlite` (0600, its
 * -wal/-shm too; WAL with synchronous FULL: a revocation or an accepted assertion that was answered
 * is on disk), or in a `:memory:` database when the server has no data directory. Every answer
 * comes from the database (one primary-key lookup), so two servers over the same directory agree.
 * Expired rows are deleted at start and then at most once a minute.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createPrivateFile, restrictDatabaseFiles } from '../../store/sqlite/file-mode';

export const AUTH_STATE_FILE = 'auth-state.sqlite';
const SWEEP_EVERY_MS = 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS revoked_access_token (
  jti TEXT PRIMARY KEY,
  expires INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS used_client_assertion (
  client_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revoked_access_token_expires ON revoked_access_token (expires);
CREATE INDEX IF NOT EXISTS used_client_assertion_expires ON used_client_assertion (expires);
`;

export class DurableAuthState {
  private lastSweep = 0;
  private readonly st: {
    revoke: Database.Statement<[string, number]>;
    revoked: Database.Statement<[string, number]>;
    remember: Database.Statement<[string, string, number, number]>;
    sweepRevoked: Database.Statement<[number]>;
    sweepAssertions: Database.Statement<[number]>;
  };

  private constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
    /** The database file, or `:memory:`. */
    readonly location: string,
  ) {
    db.exec(SCHEMA);
    this.st = {
      // A revocation only ever lengthens what is remembered.
      revoke: db.prepare('INSERT INTO revoked_access_token (jti, expires) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET expires = max(expires, excluded.expires)'),
      revoked: db.prepare('SELECT 1 FROM revoked_access_token WHERE jti = ? AND expires > ?'),
      // Inserted, or replacing an expired row: one change; a live row of the same jti: none (a replay).
      remember: db.prepare(
        'INSERT INTO used_client_assertion (client_id, jti, expires) VALUES (?, ?, ?) ON CONFLICT (client_id, jti) DO UPDATE SET expires = excluded.expires WHERE used_client_assertion.expires <= ?',
      ),
      sweepRevoked: db.prepare('DELETE FROM revoked_access_token WHERE expires <= ?'),
      sweepAssertions: db.prepare('DELETE FROM used_client_assertion WHERE expires <= ?'),
    };
    this.sweep(true);
  }

  /** Opens (creating it 0600 when absent) `dataDir/auth-state.sqlite`, or a memory database when `dataDir` is undefined. */
  static open(dataDir: string | undefined, now: () => number): DurableAuthState {
    if (dataDir === undefined) return new DurableAuthState(new Database(':memory:'), now, ':memory:');
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, AUTH_STATE_FILE);
    createPrivateFile(file);
    const db = new Database(file);
    try {
      db.pragma('busy_timeout = 5000');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`SQLite refused WAL journal mode for ${file} (got ${String(mode)})`);
      db.pragma('synchronous = FULL');
      const state = new DurableAuthState(db, now, file);
      restrictDatabaseFiles(file);
      return state;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** Remembers a revoked access token `jti` until `expiresMs`. */
  revoke(jti: string, expiresMs: number): void {
    this.st.revoke.run(jti, Math.ceil(expiresMs));
    this.sweep();
  }

  isRevoked(jti: string): boolean {
    return this.st.revoked.get(jti, this.now()) !== undefined;
  }

  /** Records a client assertion `jti` until `expiresMs`; false when it is already recorded and unexpired (a replay). */
  rememberAssertion(clientId: string, jti: string, expiresMs: number): boolean {
    const now = this.now();
    const changed = this.st.remember.run(clientId, jti, Math.ceil(expiresMs), now).changes > 0;
    this.sweep();
    return changed;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private sweep(force = false): void {
    const now = this.now();
    if (!force && now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    this.st.sweepRevoked.run(now);
    this.st.sweepAssertions.run(now);
  }
}
