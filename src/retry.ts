/**
 * Retry policy of the request path: which failures are retried, capped exponential backoff with jitter,
 * and an abortable sleep.
 *
 * @module
 */
import { addAbortWaiter, removeAbortWaiter } from "./abort.ts";

/**
 * What a retry is about to repeat: a whole request, or the rest of a GET body that broke mid-stream.
 *
 * @example
 * ```ts
 * import type { RetryEvent } from "./retry.ts";
 * const event: RetryEvent = { kind: "request", attempt: 1, delayMs: 100, method: "GET", status: 503 };
 * console.log(`retry ${event.attempt} of ${event.method} after ${event.status}`); // "retry 1 of GET after 503"
 * ```
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
 *
 * @example
 * ```ts
 * import type { RetryOptions } from "./retry.ts";
 * const retry: RetryOptions = { maxAttempts: 8, minDelayMs: 50, maxDelayMs: 2_000, jitter: 0.5 };
 * ```
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

/**
 * Defaults of {@linkcode RetryOptions}.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY } from "./retry.ts";
 * console.log(DEFAULT_RETRY.maxAttempts, DEFAULT_RETRY.minDelayMs, DEFAULT_RETRY.maxDelayMs); // 5 100 5000
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
 * import { resolveRetryOptions } from "./retry.ts";
 * console.log(resolveRetryOptions({ maxAttempts: 3 }).minDelayMs); // 100
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
 * import { backoffDelay, resolveRetryOptions } from "./retry.ts";
 * const policy = resolveRetryOptions({ jitter: 0 });
 * console.log(backoffDelay(1, policy), backoffDelay(3, policy)); // 100 400
 * ```
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
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
 * import { isRetryableStatus } from "./retry.ts";
 * console.log(isRetryableStatus(503), isRetryableStatus(404)); // true false
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
 * import { retryAfterMs } from "./retry.ts";
 * console.log(retryAfterMs(new Headers({ "retry-after": "2" }))); // 2000
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
 * import { sleep } from "./retry.ts";
 * await sleep(10, AbortSignal.timeout(1_000));
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
