/**
 * The mapping of SQLite errors to FHIR answers (src/store/sqlite/errors.ts; FHIR R4 http.html status
 * codes, OperationOutcome `transient` / `too-costly`): real errors of a real database for the codes
 * that can be provoked here, and the code table for the others.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { FhirError } from '../../fhir/outcome';
import { GroupRolledBackError, mapSqliteError } from './errors';

function sqliteError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected SQLite to refuse');
}

describe('SQLite errors as FHIR answers', () => {
  it('a full database (SQLITE_FULL) and a read-only one (SQLITE_READONLY) are 503 transient with Retry-After', () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (v TEXT)');
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      const full = mapSqliteError(sqliteError(() => db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000))));
      assert.ok(full instanceof FhirError);
      assert.equal(full.status, 503);
      assert.equal(full.issues[0]!.code, 'transient');
      assert.match(full.issues[0]!.diagnostics!, /full/);
      assert.ok(Number(full.headers['Retry-After']) > 0);
      db.pragma('query_only = ON');
      const readonly = mapSqliteError(sqliteError(() => db.prepare('INSERT INTO t VALUES (?)').run('y')));
      assert.ok(readonly instanceof FhirError && readonly.status === 503 && /read-only/.test(readonly.message));
    } finally {
      db.close();
    }
  });

  it('extended I/O, busy and lock codes are 503 too; a rolled-back group carries its cause', () => {
    for (const code of ['SQLITE_IOERR', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_WRITE', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_NOMEM']) {
      const e = mapSqliteError(new Database.SqliteError('boom', code));
      assert.ok(e instanceof FhirError && e.status === 503 && e.issues[0]!.code === 'transient' && e.headers['Retry-After'] !== undefined, code);
    }
    const rolled = mapSqliteError(new GroupRolledBackError(new Database.SqliteError('database or disk is full', 'SQLITE_FULL')));
    assert.ok(rolled instanceof FhirError && rolled.status === 503 && /full/.test(rolled.message));
    assert.ok(mapSqliteError(new GroupRolledBackError()) instanceof FhirError);
  });

  it('statements beyond SQLite\'s compile-time limits are 400 too-costly; other errors are left alone (500)', () => {
    const db = new Database(':memory:');
    try {
      const deep = mapSqliteError(sqliteError(() => db.prepare(`SELECT ${Array.from({ length: 1200 }, () => '1').join(' OR ')}`).get()));
      assert.ok(deep instanceof FhirError && deep.status === 400 && deep.issues[0]!.code === 'too-costly', String(deep));
      const vars = mapSqliteError(sqliteError(() => db.prepare(`SELECT ${Array.from({ length: 33000 }, () => '?').join(' + ')}`)));
      assert.ok(vars instanceof FhirError && vars.status === 400, String(vars));
      const syntax = sqliteError(() => db.prepare('SELEKT 1'));
      assert.equal(mapSqliteError(syntax), syntax);
      const corrupt = new Database.SqliteError('database disk image is malformed', 'SQLITE_CORRUPT');
      assert.equal(mapSqliteError(corrupt), corrupt);
      const plain = new Error('not SQLite');
      assert.equal(mapSqliteError(plain), plain);
    } finally {
      db.close();
    }
  });
});
