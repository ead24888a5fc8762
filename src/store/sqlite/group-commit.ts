/**
 * Group commit for the SQLite store's writers (FHIR R4 §3.1.0 http.html "transaction" and
 * "Managing Resource Contention": writes never interleave, and what the server acknowledged is kept).
 *
 * Writers queue "units" (one `write(op)`, one whole `withTransaction` callback, one `reindex`). The
 * units waiting when the queue is served run one after another, in arrival order, inside ONE database
 * transaction: BEGIN IMMEDIATE; per unit after the first a SAVEPOINT that is released when the unit
 * succeeds or rolled back when it throws (so only that unit fails; a failing first unit rolls back the
 * transaction, which then holds nothing else, and the group ends with it); one COMMIT; then every unit
 * is settled. Nothing is
 * acknowledged (resolved) before the COMMIT that makes it durable, and failures are reported after
 * the group's outcome too, so no caller ever learns anything based on state that was not committed.
 * When the COMMIT fails, every unit that had succeeded is rejected with the commit's error.
 *
 * Groups are bounded (`maxUnits`, and no new unit joins once `maxMillis` of work have elapsed) so
 * latency stays bounded. Serving starts on `setImmediate`, not a timer: a lone write waits only for
 * the end of the current event-loop turn, while the writes of every request that became ready in
 * that turn share the group. Between groups the queue yields to the event loop once.
 *
 * "Exclusive" units run alone outside any transaction, after the group before them has committed
 * (the `:memory:` store's reads, which must not see uncommitted writes, and `close`).
 *
 * The holder of the queue (the code running inside a unit) is tracked with AsyncLocalStorage so
 * re-entry (which would deadlock) can be refused; each unit runs in its caller's async context. One
 * AsyncLocalStorage serves every queue: in Node 20 each enabled instance stays registered for the
 * life of the process and is copied onto every new async resource, so one per store would make every
 * promise cost grow with the number of stores ever opened.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { GroupRolledBackError } from './errors';

/** The transaction statements of the database; `SqliteGroupDriver` is the real one. */
export interface GroupDriver {
  /** Starts the group's transaction (BEGIN IMMEDIATE). */
  begin(): void;
  /** Opens the savepoint of one unit. */
  savepoint(): void;
  /** Releases the savepoint of a unit that succeeded. */
  release(): void;
  /** Rolls back to, then releases, the savepoint of a unit that failed. */
  rollbackToSavepoint(): void;
  /** Commits the group; throws when the commit failed. */
  commit(): void;
  /** Rolls the whole group back (only called while a transaction is open). */
  rollback(): void;
  /** False when SQLite rolled the whole transaction back by itself (e.g. SQLITE_FULL, SQLITE_IOERR). */
  inTransaction(): boolean;
}

export interface GroupLimits {
  /** At most this many units share one commit. */
  maxUnits: number;
  /** No unit joins a group after this many milliseconds since its BEGIN. */
  maxMillis: number;
}

export const DEFAULT_GROUP_LIMITS: Readonly<GroupLimits> = Object.freeze({ maxUnits: 64, maxMillis: 5 });

/** Counters for tests and diagnostics. */
export interface GroupStats {
  /** Groups that reached COMMIT (committed or not). */
  groups: number;
  /** Units run inside groups. */
  units: number;
  largestGroup: number;
  /** Groups whose COMMIT failed or that SQLite rolled back as a whole. */
  failedGroups: number;
}

interface Unit {
  exclusive: boolean;
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** The queue whose unit the current async context is running in. */
const holder = new AsyncLocalStorage<GroupCommitter>();

type Outcome = { unit: Unit; ok: true; value: unknown } | { unit: Unit; ok: false; error: unknown };

export class GroupCommitter {
  private readonly queue: Unit[] = [];
  private serving = false;
  private readonly counters: GroupStats = { groups: 0, units: 0, largestGroup: 0, failedGroups: 0 };

  constructor(
    private readonly driver: GroupDriver,
    private readonly limits: GroupLimits = DEFAULT_GROUP_LIMITS,
    /** Called just before each COMMIT; a throw fails the commit (a test hook for commit failures). */
    private readonly beforeCommit?: () => void,
  ) {
    if (!(limits.maxUnits >= 1) || !(limits.maxMillis >= 0)) throw new Error(`invalid group limits ${JSON.stringify(limits)}`);
  }

  /** True when the current async context runs inside a unit of this queue. */
  heldByCaller(): boolean {
    return holder.getStore() === this;
  }

  /** Units queued and not yet started. */
  get pending(): number {
    return this.queue.length;
  }

  /** Called after each unit is queued (the writer thread's sessions end to let it run: thread-sessions.ts). */
  onQueued: (() => void) | undefined;

  get stats(): Readonly<GroupStats> {
    return { ...this.counters };
  }

  /** Runs `fn` inside a group transaction under its own savepoint; settles after the group's COMMIT. */
  runInGroup<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.enqueue(false, fn);
  }

  /** Runs `fn` alone, outside any transaction, once every unit queued before it is settled. */
  runExclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.enqueue(true, fn);
  }

  private enqueue<T>(exclusive: boolean, fn: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Bound to the caller's async context, with this queue marked as held.
      const run = AsyncResource.bind(() => holder.run(this, fn));
      this.queue.push({ exclusive, run, resolve: resolve as (value: unknown) => void, reject });
      this.onQueued?.();
      if (!this.serving) {
        this.serving = true;
        setImmediate(() => void this.serve());
      }
    });
  }

  private async serve(): Promise<void> {
    try {
      for (;;) {
        const head = this.queue[0];
        if (!head) break;
        if (head.exclusive) {
          this.queue.shift();
          await this.runExclusiveUnit(head);
        } else {
          await this.runGroup();
        }
        if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.serving = false;
    }
  }

  private async runExclusiveUnit(unit: Unit): Promise<void> {
    try {
      unit.resolve(await unit.run());
    } catch (e) {
      unit.reject(e);
    }
  }

  private async runGroup(): Promise<void> {
    const first = this.queue.shift()!;
    try {
      this.driver.begin();
    } catch (e) {
      first.reject(e);
      return;
    }
    const started = performance.now();
    // The first unit needs no savepoint: when it fails, rolling back the whole transaction undoes
    // exactly that unit. This spares a lone write the savepoint's statement journal.
    const head = await this.runFirstUnit(first);
    if (!head.ok) {
      this.count(1);
      head.unit.reject(head.error);
      return;
    }
    const outcomes: Outcome[] = [head];
    let lost: unknown;
    let unit = this.nextMember(outcomes.length, started);
    while (unit) {
      const outcome = await this.runUnit(unit);
      outcomes.push(outcome);
      if (!this.driver.inTransaction()) {
        // SQLite rolled the whole transaction back (or a savepoint statement failed): every unit is lost.
        lost = outcome.ok ? new GroupRolledBackError() : outcome.error;
        break;
      }
      unit = this.nextMember(outcomes.length, started);
    }
    this.count(outcomes.length);
    // The first unit may have caught a statement error after which SQLite rolled the transaction back.
    if (lost === undefined && !this.driver.inTransaction()) lost = new GroupRolledBackError();
    if (lost === undefined) {
      try {
        this.beforeCommit?.();
        this.driver.commit();
      } catch (e) {
        lost = e;
        this.rollbackQuietly();
      }
    }
    if (lost !== undefined) this.counters.failedGroups++;
    for (const o of outcomes) {
      if (!o.ok) o.unit.reject(o.error);
      else if (lost !== undefined) o.unit.reject(lost);
      else o.unit.resolve(o.value);
    }
  }

  private count(size: number): void {
    this.counters.groups++;
    this.counters.units += size;
    this.counters.largestGroup = Math.max(this.counters.largestGroup, size);
  }

  /** Runs the first unit of a group without a savepoint; when it fails the transaction is rolled back. */
  private async runFirstUnit(unit: Unit): Promise<Outcome> {
    try {
      return { unit, ok: true, value: await unit.run() };
    } catch (error) {
      this.rollbackQuietly();
      return { unit, ok: false, error };
    }
  }

  /** The next unit of the running group, or undefined when the group should commit now. */
  private nextMember(size: number, started: number): Unit | undefined {
    const head = this.queue[0];
    if (!head || head.exclusive || size >= this.limits.maxUnits || performance.now() - started >= this.limits.maxMillis) return undefined;
    return this.queue.shift();
  }

  private async runUnit(unit: Unit): Promise<Outcome> {
    try {
      this.driver.savepoint();
    } catch (e) {
      return { unit, ok: false, error: e };
    }
    try {
      const value = await unit.run();
      this.driver.release();
      return { unit, ok: true, value };
    } catch (error) {
      if (this.driver.inTransaction()) {
        try {
          this.driver.rollbackToSavepoint();
        } catch {
          // Leaves the transaction in an unknown state: give up the whole group.
          this.rollbackQuietly();
        }
      }
      return { unit, ok: false, error };
    }
  }

  private rollbackQuietly(): void {
    try {
      if (this.driver.inTransaction()) this.driver.rollback();
    } catch {
      // Nothing more can be done; the next BEGIN reports a broken connection.
    }
  }
}
