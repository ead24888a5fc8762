/**
 * Writer-thread sessions: the store's writes reach its writer thread while earlier ones are still
 * being written (ADR 0049; FHIR R4 §3.1.0 http.html "create", "update" and "transaction": nothing
 * acknowledged before the COMMIT that makes it durable, and writes never interleave).
 *
 * A session is ONE exclusive unit of the store's write queue (group-commit.ts): while it runs, the
 * store's own connection writes nothing, so the thread's connection is the only writer. The units
 * submitted before it starts (those of one event-loop turn) go to the thread as one batch when it
 * starts; a unit submitted while it runs is posted at once, so the thread writes it while the event
 * loop prepares the next request, instead of the two taking turns. The thread writes the batches
 * waiting for it in one transaction (writer-worker.ts), so commits still group when it falls behind.
 *
 * A session stays open while the queue has nothing else to run; once another unit is queued, later
 * writes queue behind that one (a new session), and the session ends when nothing it posted is
 * unanswered. A unit that writes a resource a unit in flight writes is held back until that one is
 * answered: two writes of one resource keep their call order, and should the thread end without
 * answering, each unanswered write is found, or not, under its own resource in the database
 * (sqlite-store.ts `afterThreadGone`).
 */
import type { WriteOp } from '../store';
import type { GroupCommitter } from './group-commit';
import type { InstantClock } from './rows';
import type { UnitOutcome, WriteUnit } from './write-batch';
import { WriterThreadGone, type WriterThread } from './writer-thread';

/** What the store makes of a unit the thread ended without answering (`after`: the store's instant when it was posted). */
export type RecoverUnit = (unit: WriteUnit, after: number) => UnitOutcome;

interface Submission {
  unit: WriteUnit;
  keys: readonly string[];
  resolve: (o: UnitOutcome) => void;
  reject: (e: unknown) => void;
}

interface Session {
  /** Submitted before the session's unit started: posted together when it starts. */
  waiting: Submission[];
  /** Submitted while a unit writing one of its resources was in flight or held: posted in order once none is. */
  held: Submission[];
  /** The resources of the units posted and not answered (with how many such units write each). */
  inFlight: Map<string, number>;
  /** Batches posted and not answered. */
  batches: number;
  /** The unit's end, once it started. */
  end: (() => void) | undefined;
  /** No unit joins any more: it ends when everything of it is answered. */
  closed: boolean;
}

const keyOf = (op: WriteOp): string => `${op.resourceType}/${op.id}`;

export class ThreadSessions {
  private current: Session | undefined;
  /** Set while this queues a session's own unit (which must not end the session before it). */
  private opening = false;

  constructor(
    private readonly queue: GroupCommitter,
    private readonly thread: WriterThread,
    private readonly clock: InstantClock,
    /** Called after each batch the thread committed (the background checkpointer is told). */
    private readonly committed: () => void,
    private readonly recover: RecoverUnit,
    /** At most this many writes wait for a session to start (the store's group limit). */
    private readonly maxWaiting: number,
  ) {
    queue.onQueued = () => {
      if (!this.opening && this.current) this.close(this.current);
    };
  }

  /** Writes `unit` on the thread; settles with its outcome after the COMMIT that holds it. */
  submit(unit: WriteUnit): Promise<UnitOutcome> {
    return new Promise((resolve, reject) => {
      const submission: Submission = { unit, keys: unit.ops.map(keyOf), resolve, reject };
      let s = this.current;
      if (!s || (!s.end && s.waiting.reduce((n, w) => n + w.unit.ops.length, 0) >= this.maxWaiting)) s = this.open();
      if (!s.end) s.waiting.push(submission);
      else if (submission.keys.some((k) => s.inFlight.has(k) || s.held.some((h) => h.keys.includes(k)))) s.held.push(submission);
      else this.post(s, [submission]);
    });
  }

  private open(): Session {
    if (this.current) this.close(this.current);
    const s: Session = { waiting: [], held: [], inFlight: new Map(), batches: 0, end: undefined, closed: false };
    this.current = s;
    this.opening = true;
    try {
      void this.queue.runExclusive(
        () =>
          new Promise<void>((end) => {
            s.end = end;
            this.postWaiting(s);
            this.endIfDone(s);
          }),
      );
    } finally {
      this.opening = false;
    }
    return s;
  }

  /** No unit joins `s` any more; it ends once everything of it is answered. */
  private close(s: Session): void {
    s.closed = true;
    if (this.current === s) this.current = undefined;
    this.endIfDone(s);
  }

  private endIfDone(s: Session): void {
    if (s.closed && s.end && s.batches === 0 && s.held.length === 0) s.end();
  }

  /** The units that waited for the session to start: one batch, except those writing a resource twice, which are held. */
  private postWaiting(s: Session): void {
    const batch: Submission[] = [];
    const keys = new Set<string>();
    for (const w of s.waiting) {
      // A unit writing a resource an earlier one writes is held, and keeps later ones behind it.
      (w.keys.some((k) => keys.has(k)) ? s.held : batch).push(w);
      for (const k of w.keys) keys.add(k);
    }
    s.waiting = [];
    if (batch.length > 0) this.post(s, batch);
  }

  /** The held units whose resources are no longer in flight, in the order they were submitted. */
  private postHeld(s: Session): void {
    const stillHeld: Submission[] = [];
    const blocked = new Set<string>();
    for (const h of s.held) {
      if (h.keys.some((k) => s.inFlight.has(k) || blocked.has(k))) {
        stillHeld.push(h);
        for (const k of h.keys) blocked.add(k);
      } else this.post(s, [h]);
    }
    s.held = stillHeld;
  }

  /** Posts one batch of `s` to the thread and settles its units when it is answered. */
  private post(s: Session, batch: readonly Submission[]): void {
    const after = this.clock.latest;
    s.batches++;
    for (const b of batch) for (const k of b.keys) s.inFlight.set(k, (s.inFlight.get(k) ?? 0) + 1);
    this.thread.run(batch.map((b) => b.unit), after).then(
      (done) => {
        this.clock.advanceTo(done.latest);
        this.committed();
        batch.forEach((b, i) => b.resolve(done.units[i]!));
        this.answered(s, batch);
      },
      (e: unknown) => {
        // The thread ended with the batch unanswered: still inside the session's unit, the store
        // finds out from the database what it stored and writes the rest itself.
        for (const b of batch) {
          if (!(e instanceof WriterThreadGone)) {
            b.reject(e);
            continue;
          }
          try {
            b.resolve(this.recover(b.unit, after));
          } catch (error) {
            b.reject(error);
          }
        }
        this.answered(s, batch);
      },
    );
  }

  private answered(s: Session, batch: readonly Submission[]): void {
    s.batches--;
    for (const b of batch) {
      for (const k of b.keys) {
        const n = s.inFlight.get(k)! - 1;
        if (n === 0) s.inFlight.delete(k);
        else s.inFlight.set(k, n);
      }
    }
    if (s.held.length > 0) this.postHeld(s);
    this.endIfDone(s);
  }
}
