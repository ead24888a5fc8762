/**
 * Cooperative scheduling of long work (FHIR R4 http.html §3.1.0.11 "transaction": a large Bundle must
 * not stop the server answering everyone else; docs/limits.md, ADR 14).
 *
 * Node.js runs every request on one event loop: a loop that works for seconds without giving the
 * loop back freezes every other request, even `GET /metadata`. Long loops (the entries of a Bundle,
 * the search parameters of one resource's index, the index rows of one write) call `pause()` at
 * safe points: once `SLICE_MS` have passed since the event loop last had a turn, it waits for the
 * check phase (`setImmediate`), after pending I/O callbacks (new requests, answers to write) ran.
 * Cheap loops never wait; a slice of work is at most a little over `SLICE_MS`, plus whatever one
 * step costs (one entry, one search parameter, a few hundred index rows).
 *
 * The clock is shared by every caller in the process, so two long tasks running at once still give
 * the loop back every `SLICE_MS` between them.
 *
 * A long computation is written once as a generator of steps (`yield` at each safe point) and run
 * either to its end at once (`runSync`) or cooperatively (`runCooperatively`, a `pause()` between
 * steps), so the synchronous and the cooperative code cannot drift apart.
 */
import { setImmediate as immediate } from 'node:timers/promises';

/** Most milliseconds of work between two turns of the event loop in cooperative loops. */
export const SLICE_MS = 10;

let lastTurn = performance.now();

/** Whether the current slice is used up (`pause()` would wait). */
export function sliceUsed(): boolean {
  return performance.now() - lastTurn >= SLICE_MS;
}

/** Gives the event loop a turn when the current slice is used up; otherwise returns at once (a resolved promise). */
export async function pause(): Promise<void> {
  if (!sliceUsed()) return;
  await immediate();
  lastTurn = performance.now();
}

/** Gives the event loop a turn now. */
export async function yieldNow(): Promise<void> {
  await immediate();
  lastTurn = performance.now();
}

/** Runs the steps of `steps` to the end without yielding; returns its result. */
export function runSync<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs the steps of `steps`, giving the event loop a turn between steps whenever a slice is used up. */
export async function runCooperatively<T>(steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (sliceUsed()) await pause();
  }
}
