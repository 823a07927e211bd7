/**
 * Sharding for distributed training: `rank` of `worldSize` gets a disjoint part of the dataset, and the parts of
 * all ranks together are the whole dataset. Works on a stream (the listing is read once, items are dealt as they
 * arrive) and on indices (map datasets).
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
 * The indices of `0 … length-1` owned by `rank`: `rank, rank + worldSize, …` (strided, so shard lengths differ by
 * at most one).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardIndices } from "./shard.ts";
 * expect(Array.from(shardIndices(10, 1, 4))).toEqual([1, 5, 9]);
 * ```
 */
export function shardIndices(length: number, rank: number, worldSize: number): Uint32Array {
  const { rank: r, worldSize: ws } = resolveShard(rank, worldSize);
  const n = Math.max(0, Math.ceil((length - r) / ws));
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = r + i * ws;
  return out;
}

/** Options of {@linkcode dealBlocks}. */
export interface DealOptions extends Shard {
  /** Consecutive items dealt together. Default 1. */
  blockSize?: number;
  /** When set, each run of `worldSize` blocks is dealt in a seeded order (changing with `epoch`). */
  seed?: number;
  /** Epoch of the seeded deal. Default 0. */
  epoch?: number;
}

/**
 * Deals a stream to ranks in blocks and yields the items of `rank`. The source is read once and in order; every
 * rank reading the same source with the same options gets a disjoint part, and all parts together are the source.
 *
 * Without `seed`, block `b` goes to rank `b % worldSize`. With `seed`, each run of `worldSize` consecutive blocks
 * is dealt by a permutation drawn from `(seed, epoch, run)`, so which rank reads which blocks changes every epoch.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { dealBlocks } from "./shard.ts";
 * const mine: number[] = [];
 * for await (const x of dealBlocks([0, 1, 2, 3, 4, 5, 6, 7], { rank: 1, worldSize: 2, blockSize: 2 })) mine.push(x);
 * expect(mine).toEqual([2, 3, 6, 7]);
 * ```
 */
export async function* dealBlocks<T>(
  source: Iterable<T> | AsyncIterable<T>,
  opts: DealOptions,
): AsyncGenerator<T, void, undefined> {
  const { rank, worldSize } = resolveShard(opts.rank, opts.worldSize);
  const blockSize = opts.blockSize ?? 1;
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(`blockSize must be a positive integer, got ${opts.blockSize}`);
  }
  if (worldSize === 1) {
    yield* source;
    return;
  }
  const base = opts.seed === undefined ? undefined : epochSeed(opts.seed, opts.epoch ?? 0);
  let i = 0;
  let run = -1;
  let owners: Uint32Array | undefined;
  for await (const item of source) {
    const block = Math.floor(i / blockSize);
    i++;
    const pos = block % worldSize;
    let owner = pos;
    if (base !== undefined) {
      const r = Math.floor(block / worldSize);
      if (r !== run) {
        run = r;
        owners = permutation(worldSize, hashSeed(base, r));
      }
      owner = owners![pos];
    }
    if (owner === rank) yield item;
  }
}
