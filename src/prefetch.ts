/**
 * A bounded concurrent map over an (async) iterable — Deno std's `pooledMap` with the knobs a data loader needs:
 * results in input order or in completion order, a limit on tasks in flight and on bytes in flight, backpressure
 * from the consumer, and cancellation of everything in flight when the consumer stops or a signal aborts.
 *
 * @module
 */

/**
 * Options of {@linkcode prefetch}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { prefetch, type PrefetchOptions } from "./prefetch.ts";
 * const opts: PrefetchOptions<string> = { concurrency: 2, maxBytesInFlight: 1 << 20, sizeOf: (s) => s.length };
 * expect(await Array.fromAsync(prefetch(["a", "bb"], (s) => s.toUpperCase(), opts))).toEqual(["A", "BB"]);
 * ```
 */
export interface PrefetchOptions<T> {
  /** Most tasks running at once. Default 24 (the OSS connector's `prefetchConcurrency`). */
  concurrency?: number;
  /** `true` (default): results come in input order. `false`: in completion order. */
  ordered?: boolean;
  /**
   * Most results held ahead of the consumer (finished but not yet taken) plus tasks running. When the consumer
   * is slow, no new task starts once this many are pending. Default `2 * concurrency`.
   */
  maxPending?: number;
  /**
   * Byte budget: the sum of {@linkcode PrefetchOptions.sizeOf} over tasks running, results waiting, and the result
   * the consumer holds (until it asks for the next) never exceeds it, except that one task always may run (an object larger than the budget is fetched alone).
   * Default: no limit.
   */
  maxBytesInFlight?: number;
  /** Estimated bytes of an input's result, asked when its task is about to start. Default `() => 0`. */
  sizeOf?: (input: T) => number;
  /** Aborts every task and ends the iteration with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * What a task function receives besides its input.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { prefetch, type PrefetchContext } from "./prefetch.ts";
 * const task = (s: string, ctx: PrefetchContext) => `${ctx.index}:${s}:${ctx.signal.aborted}`;
 * expect(await Array.fromAsync(prefetch(["a", "b"], task))).toEqual(["0:a:false", "1:b:false"]);
 * ```
 */
export interface PrefetchContext {
  /** Aborted when the consumer stops early, the outer signal aborts, or another task failed. */
  signal: AbortSignal;
  /** Position of the input in the source. */
  index: number;
}

interface Settled<R> {
  index: number;
  size: number;
  ok: boolean;
  value?: R;
  error?: unknown;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`prefetch: ${name} must be a positive integer, got ${v}`);
  }
  return v;
}

/**
 * Maps `fn` over `source` with at most `concurrency` calls running, yielding results as an async iterable.
 *
 * The source is pulled lazily (one item at a time, only when a slot is free), so a streaming listing is
 * consumed no faster than the consumer and the bounds allow. When the consumer `break`s, throws, or
 * `signal` aborts, every running task's signal aborts, the source iterator is closed, and the iteration
 * settles only after all running tasks have settled — nothing stays in flight behind the consumer's back.
 * A failing task ends the iteration with its error (in ordered mode, after the results before it).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { prefetch } from "./prefetch.ts";
 * const urls = ["https://example.com/a", "https://example.com/b"];
 * const fetchLen = async (u: string, { signal }: { signal: AbortSignal }) => u.length + (signal.aborted ? 1 : 0);
 * expect(await Array.fromAsync(prefetch(urls, fetchLen, { concurrency: 8 }))).toEqual([21, 21]); // in input order
 * ```
 */
export function prefetch<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: (input: T, ctx: PrefetchContext) => R | Promise<R>,
  options: PrefetchOptions<T> = {},
): AsyncGenerator<R, void, undefined> {
  const concurrency = positiveInt("concurrency", options.concurrency, 24);
  const limits: Limits = {
    concurrency,
    maxPending: Math.max(concurrency, positiveInt("maxPending", options.maxPending, 2 * concurrency)),
    maxBytes: options.maxBytesInFlight ?? Infinity,
  };
  if (!(limits.maxBytes > 0)) {
    throw new RangeError(`prefetch: maxBytesInFlight must be > 0, got ${limits.maxBytes}`);
  }
  if (typeof fn !== "function") throw new TypeError("prefetch: fn must be a function");
  return run(source, fn, options, limits);
}

interface Limits {
  concurrency: number;
  maxPending: number;
  maxBytes: number;
}

async function* run<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: (input: T, ctx: PrefetchContext) => R | Promise<R>,
  options: PrefetchOptions<T>,
  { concurrency, maxPending, maxBytes }: Limits,
): AsyncGenerator<R, void, undefined> {
  const sizeOf = options.sizeOf ?? (() => 0);
  const ordered = options.ordered ?? true;
  const outer = options.signal;
  outer?.throwIfAborted();

  const ac = new AbortController();
  const onOuterAbort = () => {
    ac.abort(outer!.reason);
    wake();
  };
  outer?.addEventListener("abort", onOuterAbort, { once: true });

  const asyncIt = Symbol.asyncIterator in source
    ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
    : undefined;
  const syncIt = asyncIt ? undefined : (source as Iterable<T>)[Symbol.iterator]();

  let nextIndex = 0; // index given to the next input pulled
  let yieldIndex = 0; // ordered mode: index the consumer waits for
  let running = 0;
  let buffered = 0; // finished, not yet taken
  let bytes = 0;
  let pulling = false;
  let sourceDone = false;
  let failed = false; // a task or the source failed: start nothing new
  let sourceError: { index: number; error: unknown } | undefined;
  let held: { input: T; index: number } | undefined; // pulled, waiting for room
  const done = new Map<number, Settled<R>>(); // ordered
  const queue: Settled<R>[] = []; // completion order
  let waiter: (() => void) | undefined;

  function wake(): void {
    const w = waiter;
    waiter = undefined;
    w?.();
  }

  function roomFor(size: number): boolean {
    return running < concurrency && running + buffered < maxPending &&
      (bytes === 0 || bytes + size <= maxBytes);
  }

  function start(input: T, index: number, size: number): void {
    running++;
    bytes += size;
    const settle = (s: Settled<R>) => {
      running--;
      buffered++;
      if (!s.ok) failed = true;
      if (ordered) done.set(s.index, s);
      else queue.push(s);
      fill();
      wake();
    };
    // Each task settles exactly once, through `settle` (which never throws): `running` counts the tasks in flight.
    try {
      Promise.resolve(fn(input, { signal: ac.signal, index })).then(
        (value) => settle({ index, size, ok: true, value }),
        (error) => settle({ index, size, ok: false, error }),
      );
    } catch (error) {
      queueMicrotask(() => settle({ index, size, ok: false, error }));
    }
  }

  function onPulled(r: IteratorResult<T>): void {
    if (r.done) {
      sourceDone = true;
      return;
    }
    held = { input: r.value, index: nextIndex++ };
  }

  function onSourceError(error: unknown): void {
    sourceDone = true;
    failed = true;
    sourceError = { index: nextIndex, error };
  }

  // Starts as many tasks as the bounds allow, pulling inputs as needed.
  function fill(): void {
    try {
      fillUnsafe();
    } catch (error) {
      // Only sizeOf can throw here: fail at the held item's position, like a failing source.
      const index = held?.index ?? nextIndex;
      held = undefined;
      sourceDone = true;
      failed = true;
      sourceError = { index, error };
      wake();
    }
  }

  function fillUnsafe(): void {
    while (!ac.signal.aborted && !failed) {
      if (held) {
        // Sized when it can start, not when pulled: a guess (e.g. a mean of sizes seen) improves meanwhile.
        const size = sizeOf(held.input);
        if (!roomFor(size)) return;
        const h = held;
        held = undefined;
        start(h.input, h.index, size);
        continue;
      }
      if (sourceDone || pulling || !roomFor(0)) return;
      if (syncIt) {
        try {
          onPulled(syncIt.next());
        } catch (error) {
          onSourceError(error);
        }
        continue;
      }
      pulling = true;
      asyncIt!.next().then(
        (r) => {
          pulling = false;
          onPulled(r);
          fill();
          wake();
        },
        (error) => {
          pulling = false;
          onSourceError(error);
          wake();
        },
      );
      return;
    }
  }

  function take(): Settled<R> | undefined {
    if (!ordered) return queue.shift();
    const s = done.get(yieldIndex);
    if (s) {
      done.delete(yieldIndex);
      yieldIndex++;
    }
    return s;
  }

  let finishedNormally = false;
  try {
    fill();
    while (true) {
      if (ac.signal.aborted) throw ac.signal.reason;
      const s = take();
      if (s) {
        buffered--;
        if (!s.ok) throw s.error;
        fill();
        // The consumer holds this result until it asks for the next one: its bytes count until then.
        yield s.value as R;
        if (s.size !== 0) {
          bytes -= s.size;
          fill();
        }
        continue;
      }
      const idle = running === 0 && !pulling && !held;
      if (sourceError && (!ordered ? idle : yieldIndex >= sourceError.index)) throw sourceError.error;
      if (sourceDone && idle && buffered === 0) {
        finishedNormally = true;
        return;
      }
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
    if (!finishedNormally) {
      if (!ac.signal.aborted) ac.abort(new DOMException("prefetch consumer stopped", "AbortError"));
      if (!sourceDone) {
        // An async generator queues return() behind a pending next(): don't wait for a page still loading
        // (its owner aborts it through its own signal); otherwise let the source clean up before we settle.
        const closing = Promise.resolve().then(() => (syncIt ?? asyncIt)?.return?.()).catch(() => {});
        if (!pulling) await closing;
      }
    }
    // Nothing stays in flight behind the consumer: wait until every running task has settled (each wakes us).
    while (running > 0) await new Promise<void>((resolve) => (waiter = resolve));
  }
}
