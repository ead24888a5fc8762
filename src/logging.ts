/**
 * Structured logging (pino). One root logger per process, child loggers per request carry the
 * request id so a 500's generic OperationOutcome can be matched to its log line.
 */
import pino from 'pino';
import type { LogLevel } from './config/config';

export type Logger = pino.Logger;

export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'spine-fhir-server' }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that discards everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
