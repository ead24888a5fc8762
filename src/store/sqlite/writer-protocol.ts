/**
 * The messages between the SQLite store and its writer thread (ADR 0044 and 0045; writer-thread.ts,
 * writer-worker.ts), and how an error crosses the thread boundary so that the store maps it exactly
 * as if it had been thrown on its own connection (errors.ts: a `FhirError` keeps its category,
 * issues, headers and status; a SQLite error keeps its `code`).
 */
import { FhirError, type ErrorCategory, type IssueInput } from '../../fhir/outcome';
import type { UnitOutcome, WriteUnit } from './write-batch';

export interface WriterWorkerData {
  /** The database file (absolute path); the store has created and migrated it. */
  file: string;
  /** The write connection's `wal_autocheckpoint` (pages), so the WAL stays bounded the same way. */
  autocheckpointPages: number;
  busyTimeoutMs: number;
  /** A transaction takes no further batch once it holds this many writes (the store's group limit)... */
  maxOps: number;
  /** ... or once this many milliseconds have passed since its BEGIN. */
  maxMillis: number;
  /** Test hook: end the thread right after the first COMMIT, without answering. */
  exitAfterCommit: boolean;
}

/**
 * `batch`: write `units` (write-batch.ts: `all` or nothing, `transaction`, or `each` on its own),
 * handing out instants after `after` (the store's latest when it was posted) and after every instant
 * the thread handed out before. The thread writes the batches that are waiting when it takes one in
 * the same transaction (ADR 0049). `close`: close the connection and exit.
 */
export type WriterRequest = { kind: 'batch'; id: number; units: readonly WriteUnit[]; after: number } | { kind: 'close' };

/**
 * `done`: committed, with each unit's outcome, the latest instant the transaction used, how many
 * transactions the thread has committed (this one included) and how many writes this one held.
 * `failed`: the transaction as a whole failed and was rolled back: nothing of the batch is stored.
 */
export type WriterReply =
  | { kind: 'done'; id: number; units: Array<UnitOutcome<TransferredError>>; latest: number; commits: number; groupOps: number }
  | { kind: 'failed'; id: number; error: TransferredError };

export interface TransferredError {
  name: string;
  message: string;
  /** SQLite's result code (`SQLITE_FULL`, `SQLITE_IOERR_FSYNC` ...), when it was a SQLite error. */
  code?: string;
  fhir?: { category: ErrorCategory; issues: IssueInput[]; headers: Record<string, string>; status?: number };
}

/** What crosses to the store for an error thrown in the worker. */
export function transferError(e: unknown): TransferredError {
  if (e instanceof FhirError) {
    return {
      name: e.name,
      message: e.message,
      fhir: { category: e.category, issues: e.issues.map((i) => ({ ...i, diagnostics: i.diagnostics ?? '' })), headers: e.headers, ...(e.statusOverride !== undefined ? { status: e.statusOverride } : {}) },
    };
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(e) };
}

/** The error the store throws for a `TransferredError`: a FhirError again, or an Error with the same `code`. */
export function receivedError(t: TransferredError): Error {
  if (t.fhir) return new FhirError(t.fhir.category, t.fhir.issues, { headers: t.fhir.headers, ...(t.fhir.status !== undefined ? { status: t.fhir.status } : {}) });
  const e = new Error(t.message) as Error & { code?: string };
  e.name = t.name;
  if (t.code !== undefined) e.code = t.code;
  return e;
}
