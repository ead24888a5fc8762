/**
 * The transaction retry loop of the MongoDB store (FHIR R4 §3.1.0 http.html "transaction": all or
 * nothing; MongoDB "Transactions: retry TransientTransactionError and UnknownTransactionCommitResult").
 *
 * Like the driver's `session.withTransaction`, but with a bounded number of attempts and a small
 * jittered back-off, written out so it can be tested with fake errors:
 * - the callback, or anything in it, fails with the label `TransientTransactionError` (a write
 *   conflict with another transaction, a primary step-down): abort, and run the whole callback again;
 * - the commit fails with `UnknownTransactionCommitResult`: retry the commit only (commits are
 *   idempotent); with `TransientTransactionError`: run the whole callback again;
 * - anything else aborts the transaction and is rethrown at once.
 */
import type { DriverSession } from './driver';
import { hasErrorLabel, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT } from './errors';

export interface RetryOptions {
  /** Attempts of the whole callback (and, separately, of one commit). At least 1. */
  maxAttempts: number;
  /** Options of each `startTransaction`. */
  transactionOptions?: Parameters<DriverSession['startTransaction']>[0];
  /** Waits before a retry (tests pass a recorder); default: jittered exponential back-off, at most 100 ms. */
  sleep?: (attempt: number) => Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 8;

export function backoff(attempt: number): Promise<void> {
  const ms = Math.min(100, 2 ** attempt) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The errors of the attempts of a transaction that never committed (the last one is `cause`). */
export class TransactionRetriesExhausted extends Error {
  constructor(
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(`the transaction did not commit after ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'TransactionRetriesExhausted';
  }
}

async function abortQuietly(session: DriverSession): Promise<void> {
  if (!session.inTransaction()) return;
  try {
    await session.abortTransaction();
  } catch {
    // The server already aborted it (or is unreachable): nothing is committed either way.
  }
}

/**
 * Runs `fn` in a transaction on `session`, committing at the end, retrying as described above.
 * Returns what `fn` returned in the attempt that committed.
 */
export async function runTransaction<T>(session: DriverSession, fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const max = Math.max(1, options.maxAttempts);
  const sleep = options.sleep ?? backoff;
  let last: unknown;
  for (let attempt = 1; attempt <= max; attempt++) {
    if (attempt > 1) await sleep(attempt - 1);
    session.startTransaction(options.transactionOptions);
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      await abortQuietly(session);
      if (hasErrorLabel(e, TRANSIENT_TRANSACTION_ERROR)) {
        last = e;
        continue;
      }
      throw e;
    }
    const committed = await commit(session, max, sleep);
    if (committed.ok) return result;
    await abortQuietly(session);
    if (!hasErrorLabel(committed.error, TRANSIENT_TRANSACTION_ERROR)) throw committed.error;
    last = committed.error;
  }
  throw new TransactionRetriesExhausted(max, last);
}

async function commit(session: DriverSession, max: number, sleep: (attempt: number) => Promise<void>): Promise<{ ok: true } | { ok: false; error: unknown }> {
  for (let attempt = 1; ; attempt++) {
    try {
      await session.commitTransaction();
      return { ok: true };
    } catch (e) {
      if (hasErrorLabel(e, UNKNOWN_TRANSACTION_COMMIT_RESULT) && attempt < max) {
        await sleep(attempt);
        continue;
      }
      return { ok: false, error: e };
    }
  }
}
