/**
 * Fault injection for the local server: per-request latency, a bandwidth cap on every response and
 * request body, and errors at a chosen rate drawn from a seeded PRNG; `match` limits all three to chosen
 * requests.
 *
 * Error kinds:
 * - `slowdown`: a 503 `SlowDown` OSS error instead of running the request (no side effect).
 * - `reset`: the connection is closed before any response byte, without running the request. Under
 *   {@linkcode serveEmulator} this is a real TCP close (the server sits behind a small connection proxy
 *   that drops both sides); with `app.request()` the returned promise rejects; under a plain
 *   `Deno.serve(app.fetch)` Deno answers 500.
 * - `truncate`: the request runs, and the response declares its full `Content-Length` but the body
 *   stops after half of it and the connection is aborted. A response without a body is reset instead
 *   (after the request took effect: the client cannot know whether it did).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { sleep } from "../retry.ts";

/**
 * Kinds of injected errors.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { FaultInjector, type FaultKind } from "./faults.ts";
 * const kind: FaultKind = "truncate";
 * const faults = new FaultInjector({ errorRate: 1, errorKinds: [kind] });
 * expect(faults.decide("GET", "k", "GetObject")).toEqual("truncate");
 * ```
 */
export type FaultKind = "slowdown" | "reset" | "truncate";

/**
 * All fault kinds, the default of {@linkcode FaultOptions.errorKinds}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { FAULT_KINDS } from "./faults.ts";
 * expect(FAULT_KINDS).toEqual(["slowdown", "reset", "truncate"]);
 * ```
 */
export const FAULT_KINDS: readonly FaultKind[] = ["slowdown", "reset", "truncate"];

/**
 * Fault injection settings.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { FaultInjector, type FaultOptions } from "./faults.ts";
 * const opts: FaultOptions = { latencyMs: 20, errorRate: 0.1, seed: 42, match: (method) => method === "GET" };
 * expect(new FaultInjector(opts).plan("PUT", "k", "PutObject")).toEqual({ latencyMs: 0 });
 * ```
 */
export interface FaultOptions {
  /**
   * Delay before every request is handled, ms. Default 0. A client that closes its connection meanwhile ends the
   * wait (the request's signal); Deno warns once about its legacy request abort unless run with
   * `--unstable-no-legacy-abort` (this repository's `deno.json` sets `"unstable": ["no-legacy-abort"]`).
   */
  latencyMs?: number;
  /** Cap on every response body and request body, bytes per second. Default unlimited. */
  bandwidthBytesPerSec?: number;
  /** Probability in [0, 1] that a (matching) request gets a fault. Default 0. */
  errorRate?: number;
  /** Kinds to draw from, uniformly. Default all of {@linkcode FAULT_KINDS}. */
  errorKinds?: FaultKind[];
  /** PRNG seed: the same seed and request sequence give the same faults. Default 1. */
  seed?: number;
  /**
   * Extra latency of `ms` for a share `rate` in [0, 1] of the (matching) requests, seeded like the errors.
   * Default none.
   */
  latencySpike?: LatencySpike;
  /** Limits every injected behaviour (latency, bandwidth cap, errors) to requests for which this returns true. */
  match?: (method: string, key: string, operation: string) => boolean;
}

/** A latency spike: `ms` more latency for a share `rate` of requests. */
export interface LatencySpike {
  /** Probability in [0, 1] that a (matching) request is delayed. */
  rate: number;
  /** Extra delay, ms. */
  ms: number;
}

/**
 * Mulberry32: a small, fast, seedable PRNG returning numbers in [0, 1).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { mulberry32 } from "./faults.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * expect(a() === b()).toBe(true);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function check(opts: FaultOptions): void {
  const nonNegative = (name: keyof FaultOptions) => {
    const v = opts[name];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) {
      throw new ConfigError(`faults.${name}: expected a finite number >= 0, got ${String(v)}`);
    }
  };
  nonNegative("latencyMs");
  nonNegative("bandwidthBytesPerSec");
  nonNegative("seed");
  if (opts.errorRate !== undefined && !(opts.errorRate >= 0 && opts.errorRate <= 1)) {
    throw new ConfigError(`faults.errorRate: expected a number in [0, 1], got ${String(opts.errorRate)}`);
  }
  const spike = opts.latencySpike;
  if (spike !== undefined) {
    if (spike === null || typeof spike !== "object") {
      throw new ConfigError(`faults.latencySpike: expected { rate, ms }, got ${String(spike)}`);
    }
    if (!(typeof spike.rate === "number" && spike.rate >= 0 && spike.rate <= 1)) {
      throw new ConfigError(
        `faults.latencySpike.rate: expected a number in [0, 1], got ${String(spike.rate)}`,
      );
    }
    if (!(typeof spike.ms === "number" && Number.isFinite(spike.ms) && spike.ms >= 0)) {
      throw new ConfigError(
        `faults.latencySpike.ms: expected a finite number >= 0, got ${String(spike.ms)}`,
      );
    }
  }
  if (opts.bandwidthBytesPerSec === 0) {
    throw new ConfigError(
      "faults.bandwidthBytesPerSec: expected a positive number (omit it for no cap), got 0",
    );
  }
  for (const k of opts.errorKinds ?? []) {
    if (!FAULT_KINDS.includes(k)) {
      throw new ConfigError(
        `faults.errorKinds: expected each of ${FAULT_KINDS.join(", ")}, got "${String(k)}"`,
      );
    }
  }
  if (opts.errorKinds?.length === 0) throw new ConfigError("faults.errorKinds: expected at least one kind");
}

/**
 * Decides per request which fault (if any) to inject. Settings can be changed while the server runs.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { FaultInjector } from "./faults.ts";
 * const faults = new FaultInjector({ errorRate: 1, errorKinds: ["slowdown"], seed: 3 });
 * expect(faults.decide("GET", "k", "GetObject")).toEqual("slowdown");
 * faults.update({ errorRate: 0 });
 * expect(faults.decide("GET", "k", "GetObject")).toBeUndefined();
 * ```
 */
export class FaultInjector {
  #opts: FaultOptions = {};
  #rng: () => number = mulberry32(1);
  #spikes = 0;

  /** Latency spikes planned so far (see {@linkcode FaultOptions.latencySpike}). */
  get latencySpikes(): number {
    return this.#spikes;
  }

  /** Validates `opts` (throws ConfigError) and seeds the PRNG. */
  constructor(opts: FaultOptions = {}) {
    this.update(opts, true);
  }

  /** Current settings. */
  get options(): Readonly<FaultOptions> {
    return this.#opts;
  }

  /** Merges new settings; the PRNG restarts when `seed` is given or `reseed` is true. */
  update(opts: FaultOptions, reseed: boolean = opts.seed !== undefined): void {
    const next = { ...this.#opts, ...opts };
    check(next);
    this.#opts = next;
    if (reseed) this.#rng = mulberry32(next.seed ?? 1);
  }

  /** Latency to wait before handling a (matching) request, ms. */
  get latencyMs(): number {
    return this.#opts.latencyMs ?? 0;
  }

  /** Bandwidth cap of (matching) requests in bytes per second, undefined for none. */
  get bandwidth(): number | undefined {
    return this.#opts.bandwidthBytesPerSec;
  }

  /**
   * What to inject into one request: latency, bandwidth cap and fault kind; nothing unless `match` accepts
   * the request. The PRNG is drawn from only when an error rate (or a latency spike) is set and the request
   * matches.
   */
  plan(method: string, key: string, operation: string): FaultPlan {
    const o = this.#opts;
    if (o.match && !o.match(method, key, operation)) return NO_FAULTS;
    let latencyMs = o.latencyMs ?? 0;
    const spike = o.latencySpike;
    if (spike && spike.rate > 0 && this.#rng() < spike.rate) {
      latencyMs += spike.ms;
      this.#spikes++;
    }
    let fault: FaultKind | undefined;
    const rate = o.errorRate ?? 0;
    if (rate > 0) {
      const roll = this.#rng();
      const kinds = o.errorKinds ?? FAULT_KINDS;
      const pick = kinds[Math.floor(this.#rng() * kinds.length)];
      if (roll < rate) fault = pick;
    }
    return { latencyMs, bytesPerSec: o.bandwidthBytesPerSec, fault };
  }

  /** The fault kind for a request (see {@linkcode FaultInjector.plan}). */
  decide(method: string, key: string, operation: string): FaultKind | undefined {
    return this.plan(method, key, operation).fault;
  }
}

/**
 * What {@linkcode FaultInjector.plan} decided for one request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { FaultInjector, type FaultPlan } from "./faults.ts";
 * const faults = new FaultInjector({ latencyMs: 5, bandwidthBytesPerSec: 1_000_000 });
 * const plan: FaultPlan = faults.plan("GET", "k", "GetObject");
 * expect(plan).toEqual({ latencyMs: 5, bytesPerSec: 1000000, fault: undefined });
 * ```
 */
export interface FaultPlan {
  /** Delay before handling, ms. */
  latencyMs: number;
  /** Bandwidth cap for the request and response bodies, bytes per second. */
  bytesPerSec?: number;
  /** Error to inject, if any. */
  fault?: FaultKind;
}

const NO_FAULTS: FaultPlan = Object.freeze({ latencyMs: 0 });

/** How far ahead of its bandwidth cap a metered stream may run before it waits, in ms. */
const PACE_SLACK_MS = 2;

/** Options of {@linkcode meteredStream}. */
export interface MeterOptions {
  /** Bandwidth cap, bytes per second. */
  bytesPerSec?: number;
  /** Deliver only this many bytes, then error the stream (a truncated response). */
  truncateAfter?: number;
  /** Called with the size of every chunk delivered. */
  onBytes?: (n: number) => void;
  /** Called once when the stream ends, errors or is cancelled. */
  onEnd?: () => void;
  /** Error to raise when the stream exceeds `limit` bytes. */
  limit?: { bytes: number; error: () => Error };
  /** Errors the stream when aborted (server shutdown). */
  signal?: AbortSignal;
  /** Maps an error reading `source` to the one the stream errors with (default: as it is). */
  readError?: (err: unknown) => unknown;
}

/**
 * Re-streams `source` under a bandwidth cap, optionally cut short, counting bytes and reporting its end.
 * Pacing: a slice of at most 1/20 s worth of bytes is released when the running average would stay
 * within the cap.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { meteredStream } from "./faults.ts";
 * const t0 = Date.now();
 * const s = meteredStream(new Blob([new Uint8Array(2000)]).stream(), { bytesPerSec: 10_000 });
 * await new Response(s).arrayBuffer();
 * expect(Date.now() - t0 >= 150).toBe(true);
 * ```
 */
export function meteredStream(
  source: ReadableStream<Uint8Array>,
  opts: MeterOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const rate = opts.bytesPerSec;
  const slice = rate ? Math.max(1, Math.floor(rate / 20)) : Infinity;
  let pending: Uint8Array | undefined;
  let sent = 0;
  let started = 0;
  let ended = false;
  let detach = () => {};
  const end = () => {
    if (ended) return;
    ended = true;
    detach();
    opts.onEnd?.();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const signal = opts.signal;
      if (!signal) return;
      const abort = () => {
        end();
        reader.cancel(signal.reason).catch(() => {});
        controller.error(signal.reason);
      };
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
      detach = () => signal.removeEventListener("abort", abort);
    },
    async pull(controller) {
      try {
        if (!pending || pending.byteLength === 0) {
          const { done, value } = await reader.read().catch((err) => {
            throw opts.readError ? opts.readError(err) : err;
          });
          if (done) {
            end();
            controller.close();
            return;
          }
          pending = value;
        }
        let chunk = pending.byteLength > slice ? pending.subarray(0, slice) : pending;
        if (opts.truncateAfter !== undefined && sent + chunk.byteLength > opts.truncateAfter) {
          chunk = chunk.subarray(0, opts.truncateAfter - sent);
          if (chunk.byteLength > 0) {
            sent += chunk.byteLength;
            opts.onBytes?.(chunk.byteLength);
            controller.enqueue(chunk);
          }
          end();
          reader.cancel().catch(() => {});
          controller.error(new Error("ossflow emulator: truncated response (injected fault)"));
          return;
        }
        if (opts.limit && sent + chunk.byteLength > opts.limit.bytes) throw opts.limit.error();
        pending = pending.subarray(chunk.byteLength);
        if (rate) {
          if (started === 0) started = performance.now();
          // Waits only when ahead of the cap by PACE_SLACK_MS or more: timers fire a millisecond late or worse,
          // so sleeping for every small lead (a chunked body arrives as 64 KiB pieces and 9-byte frame
          // remnants) would hold a connection well below its cap. The average stays within the cap.
          const lead = started + (sent / rate) * 1000 - performance.now();
          if (lead >= PACE_SLACK_MS) await sleep(lead);
        }
        sent += chunk.byteLength;
        opts.onBytes?.(chunk.byteLength);
        controller.enqueue(chunk);
      } catch (err) {
        end();
        reader.cancel(err).catch(() => {});
        throw err;
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
