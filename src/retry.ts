/**
 * Retry policy of the request path: which failures are retried, capped exponential backoff with jitter,
 * and an abortable sleep.
 *
 * @module
 */
import { addAbortWaiter, removeAbortWaiter } from "./abort.ts";

/**
 * What a retry is about to repeat: a whole request, or the rest of a GET body that broke mid-stream.
 */
export interface RetryEvent {
  /** `"request"`: a request failed and is sent again; `"resume"`: a GET body broke and is resumed with a Range. */
  kind: "request" | "resume";
  /** How many attempts have failed so far (1 on the first retry). */
  attempt: number;
  /** The delay before the next attempt, in milliseconds. */
  delayMs: number;
  /** HTTP method of the request. */
  method: string;
  /** Bucket of the request, if any. */
  bucket?: string;
  /** Object key of the request, if any. */
  key?: string;
  /** HTTP status of the failed attempt; absent for network errors, timeouts and broken bodies. */
  status?: number;
  /** The network error, timeout or broken-body error of the failed attempt. */
  error?: unknown;
}

/**
 * How failed requests are retried. A request is retried on HTTP 5xx, 429, network errors (a `TypeError` from
 * `fetch`) and per-attempt timeouts, if its body can be sent again (bytes, strings and Blobs can; a one-shot
 * `ReadableStream` cannot). The delay before retry `n` (1-based) is
 * `d = min(maxDelayMs, minDelayMs * multiplier ** (n - 1))`, shortened by a random share of up to `jitter`:
 * `d * (1 - jitter * random())`. A `Retry-After` header (seconds) raises the delay, still capped by `maxDelayMs`.
 */
export interface RetryOptions {
  /** Attempts in all, the first one included; 1 disables retries. Default 5. */
  maxAttempts?: number;
  /** Base delay before the first retry, in ms. Default 100. */
  minDelayMs?: number;
  /** Upper bound of any delay, in ms. Default 5000. */
  maxDelayMs?: number;
  /** Growth factor of the delay per retry. Default 2. */
  multiplier?: number;
  /** Share of the delay that is randomised, 0 (none) to 1 ("full jitter"). Default 1. */
  jitter?: number;
  /** Called before each retry (and each resume of a broken GET body), e.g. to count or log them. */
  onRetry?: (event: RetryEvent) => void;
}

/** {@linkcode RetryOptions} with every default filled in. */
export type RetryPolicy = Required<Omit<RetryOptions, "onRetry">> & Pick<RetryOptions, "onRetry">;

/** The part of a {@linkcode RetryPolicy} that sets the delays. */
export type Backoff = Pick<RetryPolicy, "minDelayMs" | "maxDelayMs" | "multiplier" | "jitter">;

/**
 * Defaults of {@linkcode RetryOptions}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_RETRY } from "./retry.ts";
 * expect([DEFAULT_RETRY.maxAttempts, DEFAULT_RETRY.minDelayMs, DEFAULT_RETRY.maxDelayMs]).toEqual([5, 100, 5000]);
 * ```
 */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  minDelayMs: 100,
  maxDelayMs: 5_000,
  multiplier: 2,
  jitter: 1,
});

/**
 * Fills in defaults and validates `options`; the error names the offending option.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveRetryOptions } from "./retry.ts";
 * expect(resolveRetryOptions({ maxAttempts: 3 }).minDelayMs).toEqual(100);
 * ```
 */
export function resolveRetryOptions(options: RetryOptions = {}): RetryPolicy {
  const p: RetryPolicy = { ...DEFAULT_RETRY, ...stripUndefined(options) };
  if (!Number.isInteger(p.maxAttempts) || p.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts: expected an integer >= 1, got ${p.maxAttempts}`);
  }
  for (const name of ["minDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(p[name]) || p[name] < 0) {
      throw new RangeError(`retry.${name}: expected a finite number >= 0, got ${p[name]}`);
    }
  }
  if (!Number.isFinite(p.multiplier) || p.multiplier < 1) {
    throw new RangeError(`retry.multiplier: expected a finite number >= 1, got ${p.multiplier}`);
  }
  if (!(p.jitter >= 0 && p.jitter <= 1)) {
    throw new RangeError(`retry.jitter: expected a number from 0 to 1, got ${p.jitter}`);
  }
  if (p.onRetry !== undefined && typeof p.onRetry !== "function") {
    throw new TypeError(`retry.onRetry: expected a function, got ${typeof p.onRetry}`);
  }
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The delay before retry number `retry` (1-based), in ms. `retryAfterMs` (from a `Retry-After` header) raises it.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { backoffDelay, resolveRetryOptions } from "./retry.ts";
 * const policy = resolveRetryOptions({ jitter: 0 });
 * expect([backoffDelay(1, policy), backoffDelay(3, policy)]).toEqual([100, 400]);
 * ```
 */
export function backoffDelay(
  retry: number,
  policy: Backoff,
  random: () => number = Math.random,
  retryAfterMs = 0,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.multiplier ** (retry - 1));
  const delay = exp * (1 - policy.jitter * random());
  return Math.min(policy.maxDelayMs, Math.max(delay, retryAfterMs));
}

/**
 * Whether a response status is worth retrying: any 5xx, and 429 (throttled).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isRetryableStatus } from "./retry.ts";
 * expect([isRetryableStatus(503), isRetryableStatus(404)]).toEqual([true, false]);
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/**
 * `Retry-After` in ms when it holds a number of seconds, else 0 (HTTP dates are ignored).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { retryAfterMs } from "./retry.ts";
 * expect(retryAfterMs(new Headers({ "retry-after": "2" }))).toEqual(2000);
 * ```
 */
export function retryAfterMs(headers: Headers): number {
  const v = headers.get("retry-after");
  if (v === null) return 0;
  const s = Number(v);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 0;
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal` aborts (the timer is cleared).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { sleep } from "./retry.ts";
 * await sleep(10, AbortSignal.timeout(1_000));
 * await expect(sleep(10_000, AbortSignal.abort(new Error("stop")))).rejects.toThrow("stop");
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      removeAbortWaiter(signal, onAbort);
      resolve();
    }, ms);
    addAbortWaiter(signal, onAbort); // shared with the other requests of a pass that back off at once
  });
}

/**
 * Returned (not thrown) by an attempt of {@linkcode retrying} to ask for another one: the status or error of
 * the failed attempt, and the wait the server asked for (`Retry-After`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Retry } from "./retry.ts";
 * expect(new Retry({ status: 503, afterMs: 1000 }).why.status).toBe(503);
 * ```
 */
export class Retry {
  /**
   * Why the attempt failed, and how long to wait at least; `now`: try again at once, without a wait or a retry
   * event (the attempt fixed the cause itself, e.g. signed again with fresh credentials).
   */
  constructor(readonly why: { status?: number; error?: unknown; afterMs?: number; now?: boolean } = {}) {}
}

/** What {@linkcode retrying} reports each retry as, and with which signal it waits. */
export interface RetryingOptions {
  /** The request the attempts make, for the retry events. */
  request: { method: string; bucket?: string; key?: string };
  /** Called before each retry. */
  onRetry?: (event: RetryEvent) => void;
  /** Aborts the wait between attempts (rejecting with its reason). */
  signal?: AbortSignal;
}

/**
 * The one retry loop: runs `attempt(n, last)` (n from 1; `last` when no retry may follow) until it returns
 * something other than a {@linkcode Retry}, waiting {@linkcode backoffDelay} between attempts (at least the
 * `Retry-After` the attempt reported) and reporting each retry. An attempt decides what is worth retrying and
 * what its final failure is (it throws, or returns a failure value, when `last`); the policy and the waits live
 * here. A `Retry` from the last attempt is a bug in the caller and throws its error.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Retry, retrying } from "./retry.ts";
 * const policy = { maxAttempts: 3, minDelayMs: 1, maxDelayMs: 1, multiplier: 2, jitter: 0 };
 * const events: number[] = [];
 * const got = await retrying(policy, async (n) => n < 3 ? new Retry({ status: 503 }) : `ok after ${n}`, {
 *   request: { method: "GET", bucket: "b", key: "k" },
 *   onRetry: (e) => events.push(e.status!),
 * });
 * expect([got, events]).toEqual(["ok after 3", [503, 503]]);
 * ```
 */
export async function retrying<T>(
  policy: Backoff & { maxAttempts: number },
  attempt: (n: number, last: boolean) => Promise<T | Retry>,
  opts: RetryingOptions,
): Promise<T> {
  for (let n = 1;; n++) {
    const last = n >= policy.maxAttempts;
    const r = await attempt(n, last);
    if (!(r instanceof Retry)) return r;
    if (last) throw r.why.error ?? new Error(`attempt ${n} of ${policy.maxAttempts} asked for another`);
    if (r.why.now) continue;
    const delayMs = backoffDelay(n, policy, Math.random, r.why.afterMs ?? 0);
    const { method, bucket, key } = opts.request;
    const { status, error } = r.why;
    opts.onRetry?.({ kind: "request", attempt: n, delayMs, method, bucket, key, status, error });
    await sleep(delayMs, opts.signal);
  }
}
