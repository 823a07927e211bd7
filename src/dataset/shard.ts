/**
 * Sharding for distributed training, with the semantics of PyTorch's `DistributedSampler`: `rank` of
 * `worldSize` takes every `worldSize`-th item of the dataset's order, so shard sizes differ by at most one, and
 * with `evenShards` (`"pad"`, the default, or `"drop"`) they are exactly equal — every rank must run the same
 * number of steps, or distributed training hangs at the last collective. With a seed, the order is a
 * permutation drawn from `(seed, epoch)`, so which rank reads which item changes every epoch.
 *
 * Two forms: {@linkcode distributedIndices} deals a list of known length (map datasets, and iterable datasets
 * shuffled globally, whose listing is read first); {@linkcode StreamDealer} / {@linkcode dealStream} deal a
 * stream as it arrives (a run of `worldSize` consecutive items gives each rank one item), so the first item
 * comes before the listing ends.
 *
 * @module
 */
import { epochSeed, hashSeed, permutation } from "./shuffle.ts";

/**
 * A validated shard: `0 <= rank < worldSize`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type Shard, shardIndices } from "./shard.ts";
 * const shard: Shard = { rank: 0, worldSize: 3 };
 * expect(Array.from(shardIndices(7, shard.rank, shard.worldSize))).toEqual([0, 3, 6]);
 * ```
 */
export interface Shard {
  /** This process's rank. */
  rank: number;
  /** Number of ranks. */
  worldSize: number;
}

/**
 * How shards are evened out when the dataset's size is not a multiple of `worldSize`, as PyTorch's
 * `DistributedSampler` does: `"pad"` (its default, `drop_last=False`) repeats items from the start of the
 * epoch's order so every rank gets `ceil(n / worldSize)`; `"drop"` (`drop_last=True`) leaves out the last
 * `n % worldSize` items of the order so every rank gets `floor(n / worldSize)`; `"none"` deals every item exactly
 * once and lets shard sizes differ by one (for one-off processing, not for training in lockstep).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type EvenShards, shardIndices } from "./shard.ts";
 * const even: EvenShards = "pad";
 * expect(Array.from(shardIndices(5, 1, 2, even))).toEqual([1, 3, 0]);
 * ```
 */
export type EvenShards = "pad" | "drop" | "none";

/** The values of {@linkcode EvenShards}. */
export const EVEN_SHARDS: readonly EvenShards[] = ["pad", "drop", "none"];

/**
 * Checks `rank`/`worldSize` (defaults 0 and 1) and returns them.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveShard } from "./shard.ts";
 * expect(resolveShard(1, 4)).toEqual({ rank: 1, worldSize: 4 });
 * ```
 */
export function resolveShard(rank: number | undefined, worldSize: number | undefined): Shard {
  const ws = worldSize ?? 1;
  const r = rank ?? 0;
  if (!Number.isInteger(ws) || ws < 1) {
    throw new RangeError(`worldSize must be a positive integer, got ${worldSize}`);
  }
  if (!Number.isInteger(r) || r < 0 || r >= ws) {
    throw new RangeError(`rank must be an integer in [0, ${ws - 1}] for worldSize ${ws}, got ${rank}`);
  }
  return { rank: r, worldSize: ws };
}

/**
 * Checks an {@linkcode EvenShards} value (default `"pad"`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveEvenShards } from "./shard.ts";
 * expect([resolveEvenShards(undefined), resolveEvenShards("drop")]).toEqual(["pad", "drop"]);
 * ```
 */
export function resolveEvenShards(even: unknown): EvenShards {
  if (even === undefined) return "pad";
  if (!EVEN_SHARDS.includes(even as EvenShards)) {
    throw new RangeError(`evenShards must be "pad", "drop" or "none", got ${JSON.stringify(even)}`);
  }
  return even as EvenShards;
}

/**
 * How many items of a dataset of `length` items each rank gets: `[min, max]` (equal unless `evenShards` is
 * `"none"`, where the first `length % worldSize` ranks get one more).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardSize } from "./shard.ts";
 * expect([shardSize(10, 4, "pad"), shardSize(10, 4, "drop"), shardSize(10, 4, "none")]).toEqual([[3, 3], [2, 2], [2, 3]]);
 * ```
 */
export function shardSize(length: number, worldSize: number, evenShards: EvenShards): [number, number] {
  const lo = Math.floor(length / worldSize), hi = Math.ceil(length / worldSize);
  return evenShards === "pad" ? [hi, hi] : evenShards === "drop" ? [lo, lo] : [lo, hi];
}

/** Options of {@linkcode distributedIndices} and {@linkcode StreamDealer}. */
export interface DealOptions extends Shard {
  /** How unequal shards are evened out. Default `"pad"`. */
  evenShards?: EvenShards;
  /**
   * When set, the order is shuffled from `(seed, epoch)`: a permutation of the whole list
   * ({@linkcode distributedIndices}), or of each run of `worldSize` items ({@linkcode StreamDealer}).
   */
  seed?: number;
  /** Epoch of the seeded order. Default 0. */
  epoch?: number;
}

/**
 * The indices of a list of `length` items that `rank` gets, in the order it visits them — what PyTorch's
 * `DistributedSampler(shuffle=seed !== undefined, seed, drop_last=evenShards === "drop")` yields after
 * `set_epoch(epoch)`: the epoch's order (`0 … length-1`, or a permutation drawn from `(seed, epoch)`), padded
 * with its own first items or cut to a multiple of `worldSize`, then every `worldSize`-th item from `rank`. The
 * shards of all ranks are disjoint (but for padding) and together are the list (but for dropped items).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { distributedIndices } from "./shard.ts";
 * const mine = (epoch: number) => Array.from(distributedIndices(10, { rank: 1, worldSize: 4, seed: 7, epoch }));
 * expect([mine(0).length, mine(1).length]).toEqual([3, 3]);
 * expect(Array.from(distributedIndices(10, { rank: 1, worldSize: 4, evenShards: "drop" }))).toEqual([1, 5]);
 * ```
 */
export function distributedIndices(length: number, opts: DealOptions): Uint32Array {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
  const { rank, worldSize } = resolveShard(opts.rank, opts.worldSize);
  const even = resolveEvenShards(opts.evenShards);
  const order = opts.seed === undefined
    ? undefined
    : permutation(length, epochSeed(opts.seed, opts.epoch ?? 0));
  const total = even === "pad"
    ? Math.ceil(length / worldSize) * worldSize
    : even === "drop"
    ? Math.floor(length / worldSize) * worldSize
    : length;
  const n = Math.max(0, Math.ceil((total - rank) / worldSize));
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const at = (rank + i * worldSize) % length; // past the end: padding from the start of the order
    out[i] = order === undefined ? at : order[at];
  }
  return out;
}

/**
 * The indices of `0 … length-1` owned by `rank`: `rank, rank + worldSize, …` — {@linkcode distributedIndices}
 * without a shuffle; `evenShards` defaults to `"none"` here (every index exactly once).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardIndices } from "./shard.ts";
 * expect(Array.from(shardIndices(10, 1, 4))).toEqual([1, 5, 9]);
 * ```
 */
export function shardIndices(
  length: number,
  rank: number,
  worldSize: number,
  evenShards: EvenShards = "none",
): Uint32Array {
  return distributedIndices(length, { rank, worldSize, evenShards });
}

/**
 * Deals a stream to one rank, item by item, keeping only what is needed to even the shards out at the end
 * (at most `worldSize` items). Run `k` is items `k·worldSize … k·worldSize + worldSize-1`; each rank gets one
 * item of every run: position `rank` without a seed, else the position given by a permutation drawn from
 * `(seed, epoch, k)`. So shard sizes differ by at most one whatever the stream's length, and exactly equal with
 * `evenShards` `"pad"` (ranks without an item in a short last run get one from the start of the stream) or
 * `"drop"` (a short last run is left out; a rank's item of a run is handed over once the run is complete).
 * Without a seed the result is exactly {@linkcode distributedIndices}' for the stream as a list.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { StreamDealer } from "./shard.ts";
 * const got: string[] = [];
 * const dealer = new StreamDealer<string>({ rank: 2, worldSize: 3, evenShards: "pad" });
 * for (const x of ["a", "b", "c", "d", "e"]) dealer.push(x, (item) => got.push(item));
 * dealer.end((item) => got.push(item));
 * expect(got).toEqual(["c", "a"]);
 * ```
 */
export class StreamDealer<T> {
  readonly #rank: number;
  readonly #worldSize: number;
  readonly #even: EvenShards;
  readonly #base: number | undefined;
  /** The first `worldSize` items: padding comes from them. */
  readonly #first: T[] = [];
  #count = 0;
  /** Owner of each position in the current run (a seeded deal), else undefined: position p goes to rank p. */
  #owners: Uint32Array | undefined;
  /** This rank's item of the current run while `"drop"` holds it back. */
  #held: { item: T } | undefined;

  constructor(opts: DealOptions) {
    const { rank, worldSize } = resolveShard(opts.rank, opts.worldSize);
    this.#rank = rank;
    this.#worldSize = worldSize;
    this.#even = resolveEvenShards(opts.evenShards);
    this.#base = opts.seed === undefined ? undefined : epochSeed(opts.seed, opts.epoch ?? 0);
  }

  /** Items seen so far. */
  get count(): number {
    return this.#count;
  }

  /** Takes the next item of the stream; calls `emit` with it when it is this rank's and due now. */
  push(item: T, emit: (item: T) => void): void {
    const ws = this.#worldSize;
    const pos = this.#count % ws;
    if (this.#count < ws) this.#first.push(item);
    if (pos === 0 && this.#base !== undefined) {
      this.#owners = permutation(ws, hashSeed(this.#base, this.#count / ws));
    }
    this.#count++;
    const mine = (this.#owners === undefined ? pos : this.#owners[pos]) === this.#rank;
    if (this.#even !== "drop") {
      if (mine) emit(item);
      return;
    }
    if (mine) this.#held = { item };
    if (pos === ws - 1 && this.#held !== undefined) {
      const held = this.#held.item;
      this.#held = undefined;
      emit(held);
    }
  }

  /** Ends the stream: with `"pad"`, calls `emit` with this rank's padding item when the last run was short. */
  end(emit: (item: T) => void): void {
    this.#held = undefined; // "drop": the short last run is left out
    const ws = this.#worldSize, m = this.#count % ws;
    if (this.#even !== "pad" || m === 0) return;
    // The positions m … ws-1 of the short last run are padding: position p repeats item (p - m) of the
    // stream, as DistributedSampler pads its order with the order's own first items.
    for (let p = m; p < ws; p++) {
      if ((this.#owners === undefined ? p : this.#owners[p]) === this.#rank) {
        emit(this.#first[(p - m) % this.#count]);
        return;
      }
    }
  }
}

/**
 * Deals a stream to `rank` with a {@linkcode StreamDealer}: the source is read once and in order, and every rank
 * reading the same source with the same options gets its share.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { dealStream } from "./shard.ts";
 * const mine: number[] = [];
 * for await (const x of dealStream([0, 1, 2, 3, 4, 5, 6], { rank: 1, worldSize: 2, evenShards: "none" })) mine.push(x);
 * expect(mine).toEqual([1, 3, 5]);
 * ```
 */
export async function* dealStream<T>(
  source: Iterable<T> | AsyncIterable<T>,
  opts: DealOptions,
): AsyncGenerator<T, void, undefined> {
  const dealer = new StreamDealer<T>(opts);
  if (opts.worldSize === 1) {
    yield* source;
    return;
  }
  const due: T[] = [];
  const emit = (item: T) => due.push(item);
  for await (const item of source) {
    dealer.push(item, emit);
    if (due.length > 0) yield due.pop()!;
  }
  dealer.end(emit);
  if (due.length > 0) yield due.pop()!;
}

/**
 * Deals a stream as a list (PyTorch's `DistributedSampler`): reads the whole source first, then yields the
 * items of {@linkcode distributedIndices}. The first item comes only after the source ends (for a prefix, after
 * the listing: references only, no object bytes), in exchange for a permutation of the whole dataset per epoch.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { dealList } from "./shard.ts";
 * const all = ["a", "b", "c", "d", "e"];
 * const ranks = await Promise.all([0, 1].map((rank) => Array.fromAsync(dealList(all, { rank, worldSize: 2, seed: 1 }))));
 * expect([ranks[0].length, ranks[1].length]).toEqual([3, 3]);
 * ```
 */
export async function* dealList<T>(
  source: Iterable<T> | AsyncIterable<T>,
  opts: DealOptions,
): AsyncGenerator<T, void, undefined> {
  const all: T[] = [];
  for await (const item of source) all.push(item);
  for (const i of distributedIndices(all.length, opts)) yield all[i];
}
