/**
 * What SQLite's errors mean to a FHIR client (FHIR R4 http.html §3.1.0.1.2 "HTTP status codes";
 * OperationOutcome issue types `transient` and `too-costly`). The one place where the SQLite store
 * turns a database error into a FhirError; every public method of the store (and of a transaction's
 * session) passes what it throws through `mapSqliteError`.
 *
 * - The database cannot take writes right now: the disk or the database's size limit is full
 *   (SQLITE_FULL), the file or its directory is read-only (SQLITE_READONLY*), a disk I/O error
 *   (SQLITE_IOERR*), another process holds the lock past the busy timeout (SQLITE_BUSY*,
 *   SQLITE_LOCKED*), a file cannot be opened (SQLITE_CANTOPEN*), memory ran out (SQLITE_NOMEM), or
 *   the group transaction was rolled back as a whole by SQLite (GroupRolledBackError): 503 with
 *   issue code `transient` and `Retry-After`. Nothing of the failed write was stored (its savepoint
 *   or transaction was rolled back); reads (on the read connection) go on, and writes succeed again
 *   as soon as the cause is gone.
 * - A statement beyond what SQLite accepts (SQLITE_TOOBIG: a value larger than SQLite's maximum;
 *   "Expression tree is too large", "too many SQL variables", "too many terms in ORDER BY" ...): the
 *   request asked too much, 413 / 400 `too-costly`. The request limits (docs/limits.md) keep queries
 *   within these; this is the safety net.
 * - Anything else (SQLITE_CORRUPT, a bug) is rethrown unchanged: a 500 with a logged request id.
 */
import { FhirError } from '../../fhir/outcome';
import { CreateFailed } from '../store';

/** SQLite result codes (primary and extended, e.g. `SQLITE_IOERR_FSYNC`) meaning "the database cannot write now". */
const UNAVAILABLE: ReadonlyArray<{ prefix: string; diagnostics: string; retryAfter: string }> = [
  { prefix: 'SQLITE_FULL', diagnostics: 'The database is full (no space left on its disk, or its size limit reached)', retryAfter: '30' },
  { prefix: 'SQLITE_READONLY', diagnostics: 'The database is read-only (its file or the data directory cannot be written)', retryAfter: '30' },
  { prefix: 'SQLITE_IOERR', diagnostics: 'The database had a disk I/O error', retryAfter: '30' },
  { prefix: 'SQLITE_CANTOPEN', diagnostics: 'The database could not open one of its files', retryAfter: '30' },
  { prefix: 'SQLITE_NOMEM', diagnostics: 'The database ran out of memory', retryAfter: '30' },
  { prefix: 'SQLITE_BUSY', diagnostics: 'The database is locked by another process', retryAfter: '1' },
  { prefix: 'SQLITE_LOCKED', diagnostics: 'The database is locked', retryAfter: '1' },
  { prefix: 'SQLITE_PROTOCOL', diagnostics: 'The database is locked by another process', retryAfter: '1' },
];

/** Messages of SQLITE_ERROR that mean the statement was larger than SQLite's compile-time limits. */
const TOO_COMPLEX = /Expression tree is too large|too many SQL variables|too many terms in (ORDER BY|compound SELECT)|too many columns|too many FROM clause terms|too many arguments on function|parser stack overflow|at most \d+ tables in a join/i;

/** Thrown by the group commit when SQLite rolled the group's transaction back by itself (e.g. on SQLITE_FULL). */
export class GroupRolledBackError extends Error {
  readonly code = 'SQLITE_ABORT_ROLLBACK';
  /** The error of the unit during which the transaction disappeared, when there was one. */
  readonly original: unknown;
  constructor(original?: unknown) {
    super('the group transaction was rolled back by SQLite');
    this.name = 'GroupRolledBackError';
    this.original = original;
  }
}

function codeOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The FhirError a SQLite error means for the client, or the error itself when it is none of the known kinds. */
export function mapSqliteError(e: unknown): unknown {
  if (e instanceof FhirError) return e;
  if (e instanceof CreateFailed) return new CreateFailed(e.index, mapSqliteError(e.error));
  if (e instanceof GroupRolledBackError) {
    const cause = e.original !== undefined ? mapSqliteError(e.original) : undefined;
    if (cause instanceof FhirError) return cause;
    return unavailable('The database rolled the write back (for example because its disk is full)', '30');
  }
  const code = codeOf(e);
  if (code === undefined || !code.startsWith('SQLITE_')) return e;
  for (const u of UNAVAILABLE) if (code === u.prefix || code.startsWith(`${u.prefix}_`)) return unavailable(u.diagnostics, u.retryAfter);
  if (code === 'SQLITE_TOOBIG') {
    return new FhirError('too-large', { code: 'too-costly', diagnostics: 'A value of the request is larger than the database can store; nothing was stored' });
  }
  if (code === 'SQLITE_ERROR' && e instanceof Error && TOO_COMPLEX.test(e.message)) {
    return new FhirError('too-costly', { diagnostics: 'The search is too complex for the database to run (too many parameters, values, sort keys or chain hops together); make it smaller' });
  }
  return e;
}

function unavailable(what: string, retryAfter: string): FhirError {
  return new FhirError(
    'busy',
    { code: 'transient', diagnostics: `${what}: the request was not carried out and nothing of it was stored. Reads still work; retry the write later.` },
    { headers: { 'Retry-After': retryAfter } },
  );
}

/** Runs `fn`, mapping what it throws (or rejects with) through `mapSqliteError`. */
export async function mapped<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapSqliteError(e);
  }
}
