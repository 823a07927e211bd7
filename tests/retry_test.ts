import { expect } from "expect";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  resolveRetryOptions,
  Retry,
  retryAfterMs,
  type RetryEvent,
  retrying,
  sleep,
} from "../src/retry.ts";

Deno.test("resolveRetryOptions fills the documented defaults", () => {
  expect(resolveRetryOptions()).toEqual({
    maxAttempts: 5,
    minDelayMs: 100,
    maxDelayMs: 5000,
    multiplier: 2,
    jitter: 1,
  });
  expect(resolveRetryOptions({ maxAttempts: 2, minDelayMs: undefined })).toMatchObject({
    maxAttempts: 2,
    minDelayMs: 100,
  });
  expect(DEFAULT_RETRY.maxAttempts).toBe(5);
});

Deno.test("resolveRetryOptions rejects bad values naming the option", () => {
  expect(() => resolveRetryOptions({ maxAttempts: 0 })).toThrow(
    "retry.maxAttempts: expected an integer >= 1, got 0",
  );
  expect(() => resolveRetryOptions({ maxAttempts: 1.5 })).toThrow("retry.maxAttempts");
  expect(() => resolveRetryOptions({ minDelayMs: -1 })).toThrow(
    "retry.minDelayMs: expected a finite number >= 0",
  );
  expect(() => resolveRetryOptions({ maxDelayMs: Infinity })).toThrow("retry.maxDelayMs");
  expect(() => resolveRetryOptions({ multiplier: 0.5 })).toThrow(
    "retry.multiplier: expected a finite number >= 1",
  );
  expect(() => resolveRetryOptions({ jitter: 2 })).toThrow(
    "retry.jitter: expected a number from 0 to 1, got 2",
  );
  expect(() => resolveRetryOptions({ jitter: NaN })).toThrow("retry.jitter");
});

Deno.test("backoffDelay grows exponentially and is capped by maxDelayMs", () => {
  const p = resolveRetryOptions({ jitter: 0, minDelayMs: 100, maxDelayMs: 1000 });
  expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, p))).toEqual([100, 200, 400, 800, 1000, 1000]);
});

Deno.test("backoffDelay with full jitter stays within (0, cap] and with partial jitter above the floor", () => {
  const full = resolveRetryOptions({ minDelayMs: 100 });
  expect(backoffDelay(3, full, () => 0)).toBe(400);
  expect(backoffDelay(3, full, () => 0.999)).toBeCloseTo(0.4, 5);
  const half = resolveRetryOptions({ minDelayMs: 100, jitter: 0.5 });
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(2, half);
    expect(d).toBeGreaterThanOrEqual(100);
    expect(d).toBeLessThanOrEqual(200);
  }
});

Deno.test("backoffDelay honours Retry-After, still capped by maxDelayMs", () => {
  const p = resolveRetryOptions({ jitter: 0, maxDelayMs: 3000 });
  expect(backoffDelay(1, p, Math.random, 2000)).toBe(2000);
  expect(backoffDelay(1, p, Math.random, 60_000)).toBe(3000);
  expect(retryAfterMs(new Headers({ "retry-after": "1.5" }))).toBe(1500);
  expect(retryAfterMs(new Headers({ "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" }))).toBe(0);
  expect(retryAfterMs(new Headers())).toBe(0);
});

Deno.test("isRetryableStatus: 5xx and 429 yes, other 4xx no", () => {
  expect([500, 502, 503, 504, 429].every(isRetryableStatus)).toBe(true);
  expect([400, 403, 404, 409, 412, 416].some(isRetryableStatus)).toBe(false);
});

Deno.test("sleep rejects with the abort reason at once and clears its timer", async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  const p = sleep(10_000, ac.signal);
  setTimeout(() => ac.abort(), 10);
  await expect(p).rejects.toMatchObject({ name: "AbortError" });
  expect(performance.now() - t0).toBeLessThan(1000);
  await expect(sleep(5, AbortSignal.abort(new Error("already")))).rejects.toThrow("already");
  await sleep(1); // and without a signal
});

Deno.test("retrying: one attempt per call until a value, at most maxAttempts, each retry reported in order", async () => {
  const policy = { maxAttempts: 4, minDelayMs: 0, maxDelayMs: 0, multiplier: 2, jitter: 0 };
  const events: RetryEvent[] = [];
  const lasts: boolean[] = [];
  const request = { method: "GET", bucket: "b", key: "k" };
  const got = await retrying(policy, (n, last) => {
    lasts.push(last);
    return Promise.resolve(n < 3 ? new Retry({ status: 500 + n, error: n === 2 ? "boom" : undefined }) : n);
  }, { request, onRetry: (e) => events.push(e) });
  expect(got).toBe(3);
  expect(lasts).toEqual([false, false, false]);
  expect(events.map((e) => [e.kind, e.attempt, e.status, e.error, e.method, e.bucket, e.key])).toEqual([
    ["request", 1, 501, undefined, "GET", "b", "k"],
    ["request", 2, 502, "boom", "GET", "b", "k"],
  ]);
  // The last attempt is told so; a Retry from it throws its error instead of looping on.
  const seen: boolean[] = [];
  const failing = retrying(policy, (_n, last) => {
    seen.push(last);
    return Promise.resolve(new Retry({ error: new RangeError("still failing") }));
  }, { request });
  await expect(failing).rejects.toThrow("still failing");
  expect(seen).toEqual([false, false, false, true]);
});

Deno.test("retrying waits Retry-After between attempts and an abort ends the wait with its reason", async () => {
  const policy = { maxAttempts: 2, minDelayMs: 0, maxDelayMs: 60_000, multiplier: 2, jitter: 0 };
  const delays: number[] = [];
  const ac = new AbortController();
  const waiting = retrying(policy, () => Promise.resolve(new Retry({ status: 503, afterMs: 30_000 })), {
    request: { method: "PUT" },
    onRetry: (e) => {
      delays.push(e.delayMs);
      queueMicrotask(() => ac.abort(new Error("stopped")));
    },
    signal: ac.signal,
  });
  await expect(waiting).rejects.toThrow("stopped");
  expect(delays).toEqual([30_000]);
});

Deno.test("retrying: a Retry marked now runs the next attempt at once, counted but neither waited nor reported", async () => {
  const policy = { maxAttempts: 3, minDelayMs: 60_000, maxDelayMs: 60_000, multiplier: 2, jitter: 0 };
  const events: RetryEvent[] = [];
  const got = await retrying(
    policy,
    (n) => Promise.resolve(n === 1 ? new Retry({ status: 403, now: true }) : `attempt ${n}`),
    { request: { method: "GET" }, onRetry: (e) => events.push(e) },
  );
  expect([got, events.length]).toEqual(["attempt 2", 0]);
});
