/**
 * The SQLite statements of a group commit (FHIR R4 §3.1.0 http.html "transaction": all or nothing):
 * BEGIN IMMEDIATE, one SAVEPOINT per unit, COMMIT. See group-commit.ts for the protocol.
 */
import type Database from 'better-sqlite3';
import type { GroupDriver } from './group-commit';

/** The savepoint name of a unit; better-sqlite3's own nested savepoints use a different name. */
const UNIT = 'group_unit';

export class SqliteGroupDriver implements GroupDriver {
  private readonly beginSt: Database.Statement;
  private readonly savepointSt: Database.Statement;
  private readonly releaseSt: Database.Statement;
  private readonly rollbackToSt: Database.Statement;
  private readonly commitSt: Database.Statement;
  private readonly rollbackSt: Database.Statement;

  /** `onCommit` runs after each successful COMMIT (the background checkpointer is told). */
  constructor(
    private readonly db: Database.Database,
    private readonly onCommit?: () => void,
  ) {
    this.beginSt = db.prepare('BEGIN IMMEDIATE');
    this.savepointSt = db.prepare(`SAVEPOINT ${UNIT}`);
    this.releaseSt = db.prepare(`RELEASE ${UNIT}`);
    this.rollbackToSt = db.prepare(`ROLLBACK TO ${UNIT}`);
    this.commitSt = db.prepare('COMMIT');
    this.rollbackSt = db.prepare('ROLLBACK');
  }

  begin(): void {
    this.beginSt.run();
  }

  savepoint(): void {
    this.savepointSt.run();
  }

  release(): void {
    this.releaseSt.run();
  }

  rollbackToSavepoint(): void {
    this.rollbackToSt.run();
    this.releaseSt.run();
  }

  commit(): void {
    this.commitSt.run();
    this.onCommit?.();
  }

  rollback(): void {
    this.rollbackSt.run();
  }

  inTransaction(): boolean {
    return this.db.inTransaction;
  }
}
