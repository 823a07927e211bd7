/**
 * The shared sweep that times out attempts (src/request.ts): attempts join and leave a list in any order, some
 * while a sweep runs; every attempt still watched times out, none that finished does, and the sweep's timer
 * stops with the last attempt (Deno's sanitizer fails the test on a timer left behind).
 */
import { expect } from "expect";
import { mulberry32 } from "../src/server/faults.ts";
import { Attempt, SWEEP_MS, watchedAttempts } from "../src/request.ts";

/** Resolves when `a` is aborted, with its reason's name. */
function aborted(a: Attempt): Promise<string> {
  return new Promise((resolve) =>
    a.signal.addEventListener("abort", () => resolve((a.signal.reason as Error).name), { once: true })
  );
}

/** The deadline is the behaviour: every watched attempt must time out within its time plus a few sweeps. */
function within<T>(ms: number, p: Promise<T>): Promise<T | "late"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

Deno.test("attempts leaving the sweep in any order, some during a sweep: the watched time out, the finished never", async () => {
  const rand = mulberry32(23);
  const shuffled = <T>(xs: T[]) =>
    xs.map((x) => [rand(), x] as const).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
  // Batch A times out at the first sweeps; batch B later. Half of A finishes at once, in a random order.
  const a = Array.from({ length: 200 }, () => new Attempt(undefined, 1, 1));
  const b = Array.from({ length: 200 }, () => new Attempt(undefined, 4 * SWEEP_MS, 4 * SWEEP_MS));
  const aFinished = shuffled(a).slice(0, 100);
  for (const x of aFinished) x.done();
  // Half of B finishes inside the sweep that times A out (from A's first abort listener), in a random order.
  const bFinished = shuffled(b).slice(0, 100);
  const firstTimeout = new Promise<void>((resolve) =>
    a.find((x) => !aFinished.includes(x))!.signal.addEventListener("abort", () => {
      for (const x of bFinished) x.done();
      resolve();
    }, { once: true })
  );
  const watched = [...a.filter((x) => !aFinished.includes(x)), ...b.filter((x) => !bFinished.includes(x))];
  const reasons = await within(4 * SWEEP_MS + 2_000, Promise.all(watched.map(aborted)));
  await firstTimeout;
  expect(reasons).toEqual(watched.map(() => "TimeoutError"));
  expect([...aFinished, ...bFinished].filter((x) => x.signal.aborted)).toEqual([]);
  for (const x of watched) expect(x.timedOut).toBe(true);
  expect(watchedAttempts()).toBe(0); // nothing left behind in the list: the sweep's timer has stopped
});
