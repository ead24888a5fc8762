/**
 * Driver errors of the MongoDB store mapped to FHIR outcomes (FHIR R4 §2.1.0 http.html "HTTP status
 * codes": 503 when the database cannot be reached; OperationOutcome issue code `transient`).
 *
 * Errors are recognised by the driver's error names, server codes and error labels (not by class),
 * so the same mapping applies to the real driver and to the test double.
 */
import { FhirError } from '../../fhir/outcome';

/** The error label the server puts on errors after which the whole transaction may be retried. */
export const TRANSIENT_TRANSACTION_ERROR = 'TransientTransactionError';
/** The label on a commit whose outcome is unknown: the commit (only) may be retried. */
export const UNKNOWN_TRANSACTION_COMMIT_RESULT = 'UnknownTransactionCommitResult';

export const DUPLICATE_KEY = 11000;
export const WRITE_CONFLICT = 112;

/** Driver errors meaning "the database cannot be reached now" (network, server selection, pool). */
const UNAVAILABLE_NAMES: ReadonlySet<string> = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
]);

/** Server codes of a primary that is stepping down or shutting down, or of a lost majority. */
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  64, // WriteConcernFailed (majority not reachable in time)
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  errorLabels?: unknown;
  hasErrorLabel?: unknown;
}

/** True when the driver error carries `label` (the driver's `hasErrorLabel`, or its `errorLabels`). */
export function hasErrorLabel(e: unknown, label: string): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as ErrorLike;
  if (typeof err.hasErrorLabel === 'function') return (err.hasErrorLabel as (l: string) => boolean).call(e, label);
  return Array.isArray(err.errorLabels) && err.errorLabels.includes(label);
}

export function errorCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const code = (e as ErrorLike).code;
  return typeof code === 'number' ? code : undefined;
}

export function isDuplicateKey(e: unknown): boolean {
  return errorCode(e) === DUPLICATE_KEY;
}

/** True for errors meaning the database is unreachable or has no writable primary now. */
export function isUnavailable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const name = (e as ErrorLike).name;
  if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
  const code = errorCode(e);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}

/**
 * Maps an error thrown by the driver to the error the store throws: a FhirError passes through; an
 * unreachable database becomes `busy` (503, `transient`, with Retry-After); anything else is
 * rethrown unchanged (the HTTP layer answers it as a 500 without leaking its text).
 */
export function mapDriverError(e: unknown): unknown {
  if (e instanceof FhirError) return e;
  if (isUnavailable(e)) {
    return new FhirError('busy', { code: 'transient', diagnostics: 'The database is temporarily unavailable; the request was not carried out. Retry later.' }, { headers: { 'Retry-After': '5' } });
  }
  return e;
}

/** Runs `fn`, mapping what it throws with `mapDriverError`. */
export async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapDriverError(e);
  }
}
