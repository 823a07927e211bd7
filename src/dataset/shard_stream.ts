/**
 * Reading several shards at once, bounded: up to `shards` shards are open (the one being consumed and the next
 * ones), each parsed into samples as its single GET streams in; the samples waiting in memory are bounded by
 * `maxBytes` (a shard whose queue is empty may always add one sample, so the consumer never waits on a budget
 * held by shards ahead of it).
 *
 * @module
 */
import type { ShardSample } from "./shard_samples.ts";

/** Samples of one shard as they are parsed, waiting for the consumer. */
class ShardQueue {
  readonly samples: { sample: ShardSample; bytes: number }[] = [];
  done = false;
  error: unknown = undefined;
}

/** Wakes everyone waiting for a change (a sample queued or taken, a shard ended). */
class Signal {
  #waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }
  notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}

/** Options of {@linkcode streamShards}. */
export interface StreamShardsOptions<S> {
  /** Shards read at once (the one consumed and those prefetched). */
  shards: number;
  /** Bytes of parsed samples held at once (beyond one per open shard). */
  maxBytes: number;
  /** Interleave samples of the open shards in turn (for a shuffle across shards); default: shard by shard. */
  interleave?: boolean;
  /** Stops every read. */
  signal: AbortSignal;
  /** Reads one shard: calls `push` for each sample (awaiting it is the backpressure). */
  read(
    shard: S,
    push: (sample: ShardSample, bytes: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
}

/**
 * Yields the samples of `shards` in order (shard by shard, or interleaved), reading ahead within the bounds.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { streamShards } from "./shard_stream.ts";
 * const sample = (key: string) => ({ key, shard: "s", members: {} });
 * const out = streamShards(["a", "b"], {
 *   shards: 2,
 *   maxBytes: 10,
 *   signal: new AbortController().signal,
 *   read: async (s, push) => { await push(sample(s + "1"), 1); await push(sample(s + "2"), 1); },
 * });
 * expect((await Array.fromAsync(out)).map((s) => s.key)).toEqual(["a1", "a2", "b1", "b2"]);
 * ```
 */
export async function* streamShards<S>(
  shards: readonly S[],
  opts: StreamShardsOptions<S>,
): AsyncGenerator<ShardSample, void, undefined> {
  const changed = new Signal();
  const ac = new AbortController();
  const onAbort = () => ac.abort(opts.signal.reason);
  opts.signal.addEventListener("abort", onAbort, { once: true });
  let held = 0;
  let next = 0;
  const open: ShardQueue[] = [];
  const start = () => {
    const q = new ShardQueue();
    const shard = shards[next++];
    const push = async (sample: ShardSample, bytes: number) => {
      // A shard with samples waiting holds back while the budget is spent; an empty one may always add one.
      while (q.samples.length > 0 && held + bytes > opts.maxBytes && !ac.signal.aborted) await changed.wait();
      ac.signal.throwIfAborted();
      held += bytes;
      q.samples.push({ sample, bytes });
      changed.notify();
    };
    opts.read(shard, push, ac.signal).then(
      () => q.done = true,
      (e) => (q.error = e, q.done = true),
    ).finally(() => changed.notify());
    open.push(q);
  };
  try {
    while (open.length < opts.shards && next < shards.length) start();
    let turn = 0;
    while (open.length > 0) {
      const at = opts.interleave ? turn % open.length : 0;
      const q = open[at];
      if (q.samples.length > 0) {
        const { sample, bytes } = q.samples.shift()!;
        held -= bytes;
        changed.notify();
        turn = at + 1;
        yield sample;
        continue;
      }
      if (q.done) {
        if (q.error !== undefined) throw q.error;
        open.splice(at, 1);
        if (next < shards.length) {
          // The next shard joins the rotation where the finished one was.
          start();
          if (opts.interleave) open.splice(at, 0, open.pop()!);
        }
        turn = at;
        continue;
      }
      await changed.wait();
    }
  } finally {
    if (!ac.signal.aborted) ac.abort(new DOMException("iteration stopped", "AbortError"));
    opts.signal.removeEventListener("abort", onAbort);
    changed.notify();
  }
}
