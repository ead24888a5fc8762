/**
 * The audit trail writer (IHE BALP; FHIR R4 auditevent.html): AuditEvents are buffered and written
 * in one store transaction every `flushMs` or every `maxBatch` events, off the request path, straight
 * to the store (the API refuses AuditEvent writes; this is the only writer). `close()` writes what is
 * buffered: the composition root calls it on shutdown before the store closes, so a clean shutdown
 * loses no event. A failed flush is logged and its events are kept for the next one (bounded).
 * When the writer falls behind (more events arrive than it can store), new audited requests wait
 * for it (`admission`, applied by src/audit/index.ts): the load is slowed instead of events lost.
 */
import { newId } from '../fhir/new-id';
import type { AuditEvent } from 'fhir/r4';
import type { FhirServices } from '../fhir/context';
import type { Store, WriteOp } from '../store/store';

export interface AuditLogOptions {
  flushMs?: number;
  maxBatch?: number;
  /** Most events kept while the store refuses writes; older ones are dropped (and logged). */
  maxBuffered?: number;
  /**
   * Backpressure: while `highWater` (2 000) events wait to be written, new audited requests wait
   * (`admission`) until fewer than `lowWater` (default: one `maxBatch` less) do, at most
   * `maxAdmissionWaitMs` (so a store that refuses writes cannot hold requests for ever). Without it a
   * load the writer cannot keep up with grows the buffer until `maxBuffered` and events are dropped
   * (docs/audit.md "Load").
   */
  highWater?: number;
  lowWater?: number;
  maxAdmissionWaitMs?: number;
}

export class AuditLog {
  private buffer: AuditEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxBuffered: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxAdmissionWaitMs: number;
  private waiters: Array<() => void> = [];
  /** Events of the batch taken out of the buffer and being indexed, not yet being written. */
  private indexing = 0;
  /** Events written so far (for tests and the bench). */
  written = 0;
  /** Requests that waited for the writer to catch up (for tests and the bench). */
  admissionWaits = 0;

  constructor(
    private readonly services: FhirServices,
    opts: AuditLogOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 200;
    this.maxBatch = opts.maxBatch ?? 100;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    this.highWater = opts.highWater ?? 2_000;
    // One batch below the mark: a waiting request is let in once the batch being written is stored
    // (about 0.1 s here), not after the backlog has been halved (which measured p99 0.9 s).
    this.lowWater = Math.max(1, Math.min(opts.lowWater ?? this.highWater - this.maxBatch, this.highWater));
    this.maxAdmissionWaitMs = opts.maxAdmissionWaitMs ?? 2_000;
  }

  /** Events waiting to be written (the batch being written excluded; the next one, being indexed, included). */
  get buffered(): number {
    return this.buffer.length + this.indexing;
  }

  /** True when a new audited request should wait for `admission()` before it is handled. */
  get backlogged(): boolean {
    return !this.closed && this.buffered >= this.highWater;
  }

  /**
   * Resolves at once unless `backlogged`; then once fewer than `lowWater` events are buffered, or
   * after `maxAdmissionWaitMs`, whichever comes first.
   */
  admission(): Promise<void> {
    if (!this.backlogged) return Promise.resolve();
    this.admissionWaits++;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, this.maxAdmissionWaitMs);
      this.waiters.push(done);
    });
  }

  /** Lets the waiting requests in once the buffer is under `lowWater` (or the log is closed). */
  private admit(): void {
    if (this.waiters.length === 0 || (this.buffered >= this.lowWater && !this.closed)) return;
    for (const done of [...this.waiters]) done();
  }

  /** Queues an event (never throws, never waits). After `close()` the event is written at once. */
  add(event: AuditEvent): void {
    this.buffer.push(event);
    if (this.buffer.length > this.maxBuffered) {
      const dropped = this.buffer.length - this.maxBuffered;
      this.buffer.splice(0, dropped);
      this.services.log.error({ dropped }, 'audit: buffer full, oldest AuditEvents dropped');
    }
    if (this.closed || this.buffer.length >= this.maxBatch) {
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes every buffered event (chained after a flush in progress); resolves when they are stored or the failure is logged. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing = this.flushing.then(() => this.writeBuffered());
    return this.flushing;
  }

  /**
   * Writes the buffer batch by batch, in order. The next batch is indexed while the one before it is
   * being written: with the SQLite store's append writer (ADR 0044) the write runs on another
   * thread, so the two overlap instead of the trail waiting for each in turn.
   */
  private async writeBuffered(): Promise<void> {
    let next = this.takeBatch();
    while (next) {
      const current = next;
      next = undefined;
      let writing: Promise<void>;
      try {
        const ops = await current.ops;
        this.indexing = 0;
        writing = writeAll(this.services.store, ops);
      } catch (err) {
        this.failed(err, [current.batch]);
        return;
      }
      next = this.takeBatch();
      try {
        await writing;
      } catch (err) {
        this.failed(err, next ? [current.batch, next.batch] : [current.batch]);
        return;
      }
      this.written += current.batch.length;
      this.admit();
    }
  }

  /**
   * The next batch out of the buffer, with its creates being indexed (before any transaction, giving
   * the event loop turns, src/cooperative.ts: the evaluation of AuditEvent's search parameters is a
   * main cost of an event, and neither requests nor other writes wait for it).
   */
  private takeBatch(): { batch: AuditEvent[]; ops: Promise<WriteOp[]> } | undefined {
    if (this.buffer.length === 0) return undefined;
    const batch = this.buffer.splice(0, this.maxBatch);
    this.indexing = batch.length;
    const ops = this.createsOf(batch);
    // Awaited by writeBuffered, unless the batch before it failed (the batch is then kept, unindexed).
    ops.catch(() => undefined);
    return { batch, ops };
  }

  private async createsOf(batch: readonly AuditEvent[]): Promise<WriteOp[]> {
    const { indexer } = this.services;
    const ops: WriteOp[] = [];
    for (const event of batch) {
      const resource: AuditEvent = { ...event, id: event.id ?? newId() };
      const index = indexer.extractCooperatively ? await indexer.extractCooperatively(resource) : indexer.extract(resource);
      ops.push({ kind: 'create', resourceType: 'AuditEvent', id: resource.id!, resource, index, expectedVersion: 0 });
    }
    return ops;
  }

  /** Keeps the events of batches that were not written, in order, for a later flush. */
  private failed(err: unknown, batches: readonly AuditEvent[][]): void {
    const events = batches.flat();
    this.indexing = 0;
    this.services.log.error({ err, events: events.length }, 'audit: writing AuditEvents failed; kept for the next flush');
    this.buffer.unshift(...events);
    if (!this.closed && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs * 5);
      this.timer.unref();
    }
  }

  /** Stops the timer and writes what is buffered (clean shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    this.admit();
    // Events of responses that just finished are queued on the next turn (src/audit/index.ts).
    await new Promise((resolve) => setImmediate(resolve));
    await this.flush();
  }
}

/**
 * The creates of one batch in one store transaction, all or nothing, resolved once committed: the
 * store's batch path for server-recorded creates when it has one (`appendCreates`; on SQLite the
 * same rows without a savepoint and a session operation per event), else `withTransaction`.
 */
async function writeAll(store: Store, ops: readonly WriteOp[]): Promise<void> {
  if (store.appendCreates) {
    await store.appendCreates(ops);
    return;
  }
  await store.withTransaction(async (tx) => {
    for (const op of ops) await tx.write(op);
  });
}
