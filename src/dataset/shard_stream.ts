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
class ShardQueue<T> {
  readonly samples: { sample: T; bytes: number }[] = [];
  done = false;
  error: unknown = undefined;
  /** `index`: the shard's place in the list; `taken`: samples the consumer took (or a resumed pass skips). */
  constructor(readonly index: number, public taken: number) {}
}

/**
 * Where a {@linkcode streamShards} stands, JSON-serialisable and owned by its caller: updated in place at every
 * sample yielded, so that while the stream is suspended it says exactly what comes next. A stream given such a
 * state from an earlier pass (over the same shards, with the same `shards` count and interleaving) continues it:
 * each open shard is read again from its start and its first `taken` samples are passed over.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { ShardStreamState } from "./shard_stream.ts";
 * const fresh: ShardStreamState = { next: 0, turn: 0, open: [] };
 * expect(JSON.parse(JSON.stringify(fresh))).toEqual(fresh);
 * ```
 */
export interface ShardStreamState {
  /** The index of the next shard to open. */
  next: number;
  /** Whose turn it is among the open shards (interleaving). */
  turn: number;
  /** The open shards in rotation order: `[index, samples taken]`. */
  open: [number, number][];
  /** Those of the open shards read to their end and with every sample taken: a resumed stream reads them not. */
  ended?: number[];
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
export interface StreamShardsOptions<S, T = ShardSample> {
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
    push: (sample: T, bytes: number) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
  /** Where the stream stands (see {@linkcode ShardStreamState}): fresh (`{ next: 0, turn: 0, open: [] }`) or saved. */
  state?: ShardStreamState;
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
export async function* streamShards<S, T = ShardSample>(
  shards: readonly S[],
  opts: StreamShardsOptions<S, T>,
): AsyncGenerator<T, void, undefined> {
  const changed = new Signal();
  const ac = new AbortController();
  const onAbort = () => ac.abort(opts.signal.reason);
  opts.signal.addEventListener("abort", onAbort, { once: true });
  let held = 0;
  const st = opts.state ?? { next: 0, turn: 0, open: [] };
  const resumedEnded = st.ended ?? [];
  const open: ShardQueue<T>[] = [];
  const start = (q: ShardQueue<T>) => {
    let skip = q.taken; // a resumed shard: its samples the consumer already took
    const push = async (sample: T, bytes: number) => {
      if (skip > 0) return void skip--;
      // A shard with samples waiting holds back while the budget is spent; an empty one may always add one.
      while (q.samples.length > 0 && held + bytes > opts.maxBytes && !ac.signal.aborted) await changed.wait();
      ac.signal.throwIfAborted();
      held += bytes;
      q.samples.push({ sample, bytes });
      changed.notify();
    };
    opts.read(shards[q.index], push, ac.signal).then(
      () => q.done = true,
      (e) => (q.error = e, q.done = true),
    ).finally(() => changed.notify());
    return q;
  };
  /** Writes the rotation back to the caller's state (at each yield, where the stream can be suspended). */
  const save = () => {
    st.open = open.map((q) => [q.index, q.taken]);
  };
  // Read when the state is read: a shard that ended since the last yield is known ended at once.
  Object.defineProperty(st, "ended", {
    get: () =>
      open.filter((q) => q.done && q.error === undefined && q.samples.length === 0).map((q) => q.index),
    enumerable: true,
    configurable: true,
  });
  try {
    for (const [index, taken] of st.open) {
      const q = new ShardQueue<T>(index, taken);
      if (resumedEnded.includes(index)) q.done = true;
      open.push(q.done ? q : start(q));
    }
    while (open.length < opts.shards && st.next < shards.length) {
      open.push(start(new ShardQueue(st.next++, 0)));
    }
    while (open.length > 0) {
      const at = opts.interleave ? st.turn % open.length : 0;
      const q = open[at];
      if (q.samples.length > 0) {
        const { sample, bytes } = q.samples.shift()!;
        held -= bytes;
        changed.notify();
        q.taken++;
        st.turn = at + 1;
        save();
        yield sample;
        continue;
      }
      if (q.done) {
        if (q.error !== undefined) throw q.error;
        open.splice(at, 1);
        if (st.next < shards.length) {
          // The next shard joins the rotation where the finished one was.
          open.splice(opts.interleave ? at : open.length, 0, start(new ShardQueue(st.next++, 0)));
        }
        st.turn = at;
        save();
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
