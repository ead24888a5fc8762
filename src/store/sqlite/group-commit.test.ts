/**
 * The group-commit queue (FHIR R4 §3.1.0 http.html "transaction": all or nothing, writes never
 * interleave, nothing acknowledged before it is durable), against a model driver that records every
 * statement and keeps a committed log, so the protocol is checked without SQLite.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { GroupCommitter, type GroupDriver, type GroupLimits } from './group-commit';

/** A model database: a committed log of unit names, the open transaction, and its savepoint marks. */
class ModelDriver implements GroupDriver {
  readonly log: string[] = [];
  committed: string[] = [];
  tx: string[] | undefined;
  private mark = 0;
  /** Outcomes of the next COMMITs: false makes that commit throw. */
  commitPlan: boolean[] = [];

  begin(): void {
    assert.equal(this.tx, undefined, 'BEGIN inside a transaction');
    this.tx = [];
    this.log.push('begin');
  }
  savepoint(): void {
    assert.ok(this.tx, 'SAVEPOINT outside a transaction');
    this.mark = this.tx.length;
    this.log.push('savepoint');
  }
  release(): void {
    this.log.push('release');
  }
  rollbackToSavepoint(): void {
    assert.ok(this.tx);
    this.tx.length = this.mark;
    this.log.push('rollback-to');
  }
  commit(): void {
    assert.ok(this.tx);
    this.log.push('commit');
    if (this.commitPlan.shift() === false) {
      // Like SQLite after a failed COMMIT: the transaction stays open until ROLLBACK.
      throw new Error('commit failed');
    }
    this.committed.push(...this.tx);
    this.tx = undefined;
  }
  rollback(): void {
    this.tx = undefined;
    this.log.push('rollback');
  }
  inTransaction(): boolean {
    return this.tx !== undefined;
  }
  /** A unit's work: a row in the open transaction. */
  put(name: string): void {
    assert.ok(this.tx, `${name} ran outside a transaction`);
    this.tx.push(name);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(limits: GroupLimits = { maxUnits: 64, maxMillis: 1000 }, beforeCommit?: () => void) {
  const driver = new ModelDriver();
  return { driver, q: new GroupCommitter(driver, limits, beforeCommit) };
}

describe('GroupCommitter', () => {
  it('runs a lone unit in its own transaction and resolves it only after COMMIT', async () => {
    const { driver, q } = setup();
    const value = await q.runInGroup(() => {
      driver.put('a');
      return 42;
    });
    driver.log.push('resolved');
    assert.equal(value, 42);
    assert.deepEqual(driver.log, ['begin', 'commit', 'resolved'], 'a lone unit needs no savepoint');
    assert.deepEqual(driver.committed, ['a']);
  });

  it('does not make a lone unit wait for a timer: it settles before the next check phase', async () => {
    const { driver, q } = setup();
    let settled = false;
    void q.runInGroup(() => driver.put('a')).then(() => (settled = true));
    await tick();
    assert.equal(settled, true);
  });

  it('runs units queued together in one transaction, in arrival order, and settles them after the one COMMIT', async () => {
    const { driver, q } = setup();
    const order: string[] = [];
    const units = ['a', 'b', 'c', 'd'].map((n) =>
      q.runInGroup(() => {
        order.push(`run ${n}`);
        driver.put(n);
        return n;
      }).then((v) => order.push(`resolved ${v}`)),
    );
    await Promise.all(units);
    assert.deepEqual(order, ['run a', 'run b', 'run c', 'run d', 'resolved a', 'resolved b', 'resolved c', 'resolved d']);
    assert.equal(driver.log.filter((s) => s === 'begin').length, 1);
    assert.equal(driver.log.filter((s) => s === 'commit').length, 1);
    assert.deepEqual(q.stats, { groups: 1, units: 4, largestGroup: 4, failedGroups: 0 });
  });

  it('rolls back only a failing unit in the middle of a group; the others commit', async () => {
    const { driver, q } = setup();
    const boom = new Error('b failed');
    const results = await Promise.allSettled([
      q.runInGroup(() => driver.put('a')),
      q.runInGroup(() => {
        driver.put('b');
        throw boom;
      }),
      q.runInGroup(async () => {
        driver.put('c');
        await tick();
        driver.put('c2');
      }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((results[1] as PromiseRejectedResult).reason, boom);
    assert.deepEqual(driver.committed, ['a', 'c', 'c2']);
    assert.deepEqual(driver.log, ['begin', 'savepoint', 'rollback-to', 'savepoint', 'release', 'commit']);
  });

  it('rolls back the transaction when the first unit fails, and runs the others in the next group', async () => {
    const { driver, q } = setup();
    const results = await Promise.allSettled([
      q.runInGroup(() => {
        driver.put('a');
        throw new Error('a failed');
      }),
      q.runInGroup(() => driver.put('b')),
      q.runInGroup(() => driver.put('c')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled']);
    assert.deepEqual(driver.committed, ['b', 'c']);
    assert.deepEqual(driver.log, ['begin', 'rollback', 'begin', 'savepoint', 'release', 'commit']);
    assert.deepEqual(q.stats, { groups: 2, units: 3, largestGroup: 2, failedGroups: 0 });
  });

  it('rejects every unit of a group whose COMMIT fails, then keeps serving', async () => {
    let hookRan = 0;
    const { driver, q } = setup(undefined, () => hookRan++);
    driver.commitPlan = [false];
    const own = new Error('own failure');
    const results = await Promise.allSettled([
      q.runInGroup(() => driver.put('a')),
      q.runInGroup(() => {
        throw own;
      }),
      q.runInGroup(() => driver.put('c')),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')), ['commit failed', 'own failure', 'commit failed']);
    assert.deepEqual(driver.committed, []);
    assert.equal(driver.tx, undefined, 'the failed transaction was rolled back');
    assert.equal(driver.log.at(-1), 'rollback');
    assert.equal(q.stats.failedGroups, 1);
    await q.runInGroup(() => driver.put('d'));
    assert.deepEqual(driver.committed, ['d']);
    assert.equal(hookRan, 2);
  });

  it('rejects every unit when the beforeCommit hook throws', async () => {
    const { driver, q } = setup(undefined, () => {
      throw new Error('forced');
    });
    const results = await Promise.allSettled([q.runInGroup(() => driver.put('a')), q.runInGroup(() => driver.put('b'))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.deepEqual(driver.committed, []);
    assert.equal(driver.log.includes('commit'), false);
  });

  it('rejects the whole group when the database rolled the transaction back by itself', async () => {
    const { driver, q } = setup();
    const results = await Promise.allSettled([
      q.runInGroup(() => driver.put('a')),
      q.runInGroup(() => {
        driver.put('b');
        driver.tx = undefined; // what SQLite does on SQLITE_FULL / SQLITE_IOERR
        throw new Error('disk full');
      }),
      q.runInGroup(() => driver.put('c')),
    ]);
    assert.deepEqual(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')), ['disk full', 'disk full', 'ok']);
    assert.deepEqual(driver.committed, ['c'], 'the unit after the lost group runs in a new group');
    assert.equal(q.stats.failedGroups, 1);
  });

  it('bounds a group by maxUnits', async () => {
    const { driver, q } = setup({ maxUnits: 3, maxMillis: 1000 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => q.runInGroup(() => driver.put(String(i)))));
    assert.deepEqual(q.stats, { groups: 4, units: 10, largestGroup: 3, failedGroups: 0 });
    assert.deepEqual(driver.committed, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('bounds a group by maxMillis of work', async () => {
    const { driver, q } = setup({ maxUnits: 64, maxMillis: 2 });
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => q.runInGroup(() => (busy(3), driver.put(String(i))))));
    assert.equal(q.stats.largestGroup, 1, 'each unit takes longer than maxMillis, so none joins a group');
    assert.equal(q.stats.groups, 6);
  });

  it('lets units queued while an async unit awaits join its group after it, never inside it', async () => {
    const { driver, q } = setup();
    const order: string[] = [];
    const tx = q.runInGroup(async () => {
      order.push('tx start');
      await tick();
      await tick();
      order.push('tx end');
    });
    await tick(); // the transaction is now running and awaiting
    const w = q.runInGroup(() => order.push('w'));
    await Promise.all([tx, w]);
    assert.deepEqual(order, ['tx start', 'tx end', 'w']);
    assert.equal(q.stats.groups, 1);
    assert.equal(driver.log.filter((s) => s === 'commit').length, 1);
  });

  it('runs an exclusive unit alone, after the group before it committed', async () => {
    const { driver, q } = setup();
    let seen: string[] = [];
    let inTx = true;
    await Promise.all([
      q.runInGroup(() => driver.put('a')),
      q.runExclusive(() => {
        seen = [...driver.committed];
        inTx = driver.inTransaction();
      }),
      q.runInGroup(() => driver.put('b')),
    ]);
    assert.deepEqual(seen, ['a']);
    assert.equal(inTx, false);
    assert.equal(q.stats.groups, 2);
  });

  it('marks the queue as held inside a unit only, and runs each unit in its caller async context', async () => {
    const { q } = setup();
    const als = new AsyncLocalStorage<string>();
    assert.equal(q.heldByCaller(), false);
    const seen = await Promise.all(['x', 'y'].map((name) => als.run(name, () => q.runInGroup(async () => (await tick(), [als.getStore(), q.heldByCaller()] as const)))));
    assert.deepEqual(seen, [
      ['x', true],
      ['y', true],
    ]);
    assert.equal(q.heldByCaller(), false);
  });

  it('acknowledges nothing before its COMMIT and commits exactly what it acknowledged (property)', async () => {
    interface Step {
      kind: 'ok' | 'fail' | 'async' | 'exclusive';
      /** Ticks to wait before enqueueing this step. */
      gap: number;
    }
    const step = fc.record({ kind: fc.constantFrom<Step['kind']>('ok', 'ok', 'fail', 'async', 'exclusive'), gap: fc.nat({ max: 2 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.array(fc.boolean(), { maxLength: 10 }), fc.integer({ min: 1, max: 5 }), async (steps, plan, maxUnits) => {
        const { driver, q } = setup({ maxUnits, maxMillis: 1000 });
        driver.commitPlan = [...plan];
        const ran: string[] = [];
        const resolved: string[] = [];
        const pending: Promise<unknown>[] = [];
        for (const [i, s] of steps.entries()) {
          for (let g = 0; g < s.gap; g++) await tick();
          const name = `u${i}`;
          if (s.kind === 'exclusive') {
            pending.push(q.runExclusive(() => assert.equal(driver.inTransaction(), false)));
            continue;
          }
          const p = q.runInGroup(async () => {
            ran.push(name);
            driver.put(name);
            if (s.kind === 'async') await tick();
            if (s.kind === 'fail') throw new Error(name);
          });
          pending.push(
            p.then(
              () => {
                assert.ok(driver.committed.includes(name), `${name} resolved before its commit`);
                resolved.push(name);
              },
              () => undefined,
            ),
          );
        }
        await Promise.all(pending);
        const units = steps.map((s, i) => ({ s, name: `u${i}` })).filter((u) => u.s.kind !== 'exclusive').map((u) => u.name);
        assert.deepEqual(ran, units, 'units ran one at a time in arrival order');
        assert.deepEqual(driver.committed, resolved, 'exactly the resolved units are committed, in order');
        assert.equal(driver.tx, undefined);
      }),
      { numRuns: 150 },
    );
  });
});
