/**
 * Cooperative scheduling (src/cooperative.ts; FHIR R4 http.html "transaction": a long request must
 * not freeze the others): a long loop that calls `pause()` lets other callbacks run, and a generator
 * of steps gives the same result run at once or cooperatively. Ordering is asserted, never wall-clock
 * durations.
 */
import assert from 'node:assert/strict';
import { pause, runCooperatively, runSync, SLICE_MS, yieldNow } from './cooperative';

/** Busy work until at least `ms` have passed. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

describe('cooperative scheduling', () => {
  it('a loop that pauses lets a timer scheduled before it run while it is still going', async () => {
    await yieldNow();
    let fired = false;
    let stepsBeforeTimer = -1;
    setImmediate(() => {
      fired = true;
    });
    for (let step = 0; step < 20; step++) {
      spin(SLICE_MS / 2);
      await pause();
      if (fired && stepsBeforeTimer < 0) stepsBeforeTimer = step;
    }
    assert.ok(fired && stepsBeforeTimer >= 0 && stepsBeforeTimer < 19, `the timer ran during the loop (after step ${stepsBeforeTimer})`);
  });

  it('runSync and runCooperatively give the same result; only the cooperative one lets others run', async () => {
    function* steps(n: number): Generator<void, number, void> {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        spin(1);
        sum += i;
        yield;
      }
      return sum;
    }
    await yieldNow();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      assert.equal(runSync(steps(3 * SLICE_MS)), ((3 * SLICE_MS - 1) * 3 * SLICE_MS) / 2);
      assert.equal(ticks, 0, 'runSync never yields');
      assert.equal(await runCooperatively(steps(3 * SLICE_MS)), ((3 * SLICE_MS - 1) * 3 * SLICE_MS) / 2);
      assert.ok(ticks > 0, 'runCooperatively yielded');
    } finally {
      clearInterval(timer);
    }
  });
});
