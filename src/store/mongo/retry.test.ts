/**
 * The transaction retry loop (FHIR R4 §3.1.0 http.html "transaction"; MongoDB transient transaction
 * errors): which errors retry the callback, which retry only the commit, and the bound on attempts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DriverSession } from './driver';
import { runTransaction, TransactionRetriesExhausted } from './retry';

class FakeError extends Error {
  constructor(readonly errorLabels: string[]) {
    super(`fake ${errorLabels.join(',') || 'plain'} error`);
  }
}
const transient = (): FakeError => new FakeError(['TransientTransactionError']);
const unknownCommit = (): FakeError => new FakeError(['UnknownTransactionCommitResult']);

/** A session whose commits fail with the queued errors; records what happened. */
class FakeSession implements DriverSession {
  log: string[] = [];
  open = false;
  constructor(private readonly commitErrors: Error[] = []) {}
  startTransaction(): void {
    assert.equal(this.open, false, 'no transaction is started while one is open');
    this.open = true;
    this.log.push('start');
  }
  async commitTransaction(): Promise<void> {
    const e = this.commitErrors.shift();
    this.log.push(e ? 'commit-failed' : 'commit');
    if (e) throw e;
    this.open = false;
  }
  async abortTransaction(): Promise<void> {
    this.log.push('abort');
    this.open = false;
  }
  inTransaction(): boolean {
    return this.open;
  }
  async endSession(): Promise<void> {}
}

const noWait = async (): Promise<void> => {};

describe('mongo store: transaction retry loop', () => {
  it('commits once when nothing fails and returns the callback result', async () => {
    const s = new FakeSession();
    assert.equal(await runTransaction(s, async () => 42, { maxAttempts: 3, sleep: noWait }), 42);
    assert.deepEqual(s.log, ['start', 'commit']);
  });

  it('reruns the whole callback after a TransientTransactionError in it', async () => {
    const s = new FakeSession();
    let calls = 0;
    const r = await runTransaction(
      s,
      async () => {
        calls++;
        if (calls < 3) throw transient();
        return 'ok';
      },
      { maxAttempts: 5, sleep: noWait },
    );
    assert.equal(r, 'ok');
    assert.equal(calls, 3);
    assert.deepEqual(s.log, ['start', 'abort', 'start', 'abort', 'start', 'commit']);
  });

  it('retries only the commit after UnknownTransactionCommitResult', async () => {
    const s = new FakeSession([unknownCommit(), unknownCommit()]);
    let calls = 0;
    await runTransaction(s, async () => void calls++, { maxAttempts: 5, sleep: noWait });
    assert.equal(calls, 1);
    assert.deepEqual(s.log, ['start', 'commit-failed', 'commit-failed', 'commit']);
  });

  it('reruns the callback when the commit fails with TransientTransactionError', async () => {
    const s = new FakeSession([transient()]);
    let calls = 0;
    await runTransaction(s, async () => void calls++, { maxAttempts: 5, sleep: noWait });
    assert.equal(calls, 2);
    assert.deepEqual(s.log, ['start', 'commit-failed', 'abort', 'start', 'commit']);
  });

  it('aborts and rethrows any other error at once, from the callback or the commit', async () => {
    const s = new FakeSession();
    const boom = new Error('boom');
    await assert.rejects(runTransaction(s, async () => Promise.reject(boom), { maxAttempts: 5, sleep: noWait }), (e: unknown) => e === boom);
    assert.deepEqual(s.log, ['start', 'abort']);
    const plain = new FakeError([]);
    const c = new FakeSession([plain]);
    await assert.rejects(runTransaction(c, async () => 1, { maxAttempts: 5, sleep: noWait }), (e: unknown) => e === plain);
    assert.deepEqual(c.log, ['start', 'commit-failed', 'abort']);
  });

  it('gives up after maxAttempts with the last error as cause, waiting between attempts', async () => {
    const s = new FakeSession();
    const waits: number[] = [];
    const last = transient();
    let calls = 0;
    await assert.rejects(
      runTransaction(
        s,
        async () => {
          calls++;
          throw calls === 4 ? last : transient();
        },
        { maxAttempts: 4, sleep: async (a) => void waits.push(a) },
      ),
      (e: unknown) => e instanceof TransactionRetriesExhausted && e.attempts === 4 && e.cause === last,
    );
    assert.equal(calls, 4);
    assert.deepEqual(waits, [1, 2, 3]);
    assert.equal(s.open, false, 'no transaction is left open');
  });

  it('property: any sequence of transient failures either commits exactly once or exhausts the attempts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('ok', 'transient-in-callback', 'transient-commit', 'unknown-commit'), { maxLength: 12 }), fc.integer({ min: 1, max: 6 }), async (script, max) => {
        const steps = [...script];
        const commitErrors: Error[] = [];
        const s = new FakeSession(commitErrors);
        let commitsWanted = 0;
        const fn = async (): Promise<string> => {
          const step = steps.shift() ?? 'ok';
          if (step === 'transient-in-callback') throw transient();
          if (step === 'transient-commit') commitErrors.push(transient());
          if (step === 'unknown-commit') commitErrors.push(unknownCommit());
          commitsWanted++;
          return 'done';
        };
        try {
          assert.equal(await runTransaction(s, fn, { maxAttempts: max, sleep: noWait }), 'done');
          assert.equal(s.log.filter((l) => l === 'commit').length, 1);
        } catch (e) {
          assert.ok(e instanceof TransactionRetriesExhausted || (e instanceof FakeError && e.errorLabels.includes('UnknownTransactionCommitResult')), String(e));
          assert.equal(s.log.filter((l) => l === 'commit').length, 0);
        }
        assert.ok(s.log.filter((l) => l === 'start').length <= max);
        assert.equal(s.open, false);
        assert.ok(commitsWanted <= max);
      }),
    );
  });
});
