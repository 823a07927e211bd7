/**
 * Seeded randomness for datasets: a small fast PRNG, seed derivation per epoch, Fisher–Yates permutations, and
 * a streaming shuffle buffer. Everything is reproducible from `(seed, epoch)` on every runtime.
 *
 * @module
 */

/**
 * Options of a seeded shuffle.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shuffleBuffer, type ShuffleOptions } from "./shuffle.ts";
 * const opts: ShuffleOptions = { seed: 7, mode: "buffer", bufferSize: 4 };
 * const pass = () => Array.fromAsync(shuffleBuffer([1, 2, 3, 4, 5, 6], opts));
 * expect((await pass()).join() === (await pass()).join()).toBe(true);
 * ```
 */
export interface ShuffleOptions {
  /** Seed of the shuffle; the same seed and epoch give the same order everywhere. Default 0. */
  seed?: number;
  /**
   * Iterable datasets: `"global"` (default) reads the whole listing (references only, no object bytes) before
   * the first item, then deals a permutation of all items drawn from `(seed, epoch)` to the ranks, as PyTorch's
   * `DistributedSampler` does; `"buffer"` streams: each run of `worldSize` listed items is dealt to the ranks
   * in a seeded order, and each rank mixes its items in a shuffle buffer of `bufferSize` — the first item comes
   * before the listing ends and memory stays bounded however long the listing, but the mix is local (an item
   * moves about `bufferSize` places). Map datasets always permute their whole (listed) shard.
   */
  mode?: "global" | "buffer";
  /**
   * Iterable datasets with `mode: "buffer"`: references held in the shuffle buffer (references only — bytes are
   * fetched after shuffling, so the buffer costs no object memory). Default 1024.
   */
  bufferSize?: number;
}

/**
 * Mixes numbers into one 32-bit seed (murmur3's finaliser over a running hash).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { hashSeed } from "./shuffle.ts";
 * expect([hashSeed(1, 2) === hashSeed(1, 2), hashSeed(1, 2) !== hashSeed(2, 1)]).toEqual([true, true]);
 * ```
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    // Split doubles into two words so 2**40 and 2**40 + 1 differ.
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    for (const w of [lo, hi]) {
      h = Math.imul(h ^ w, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/**
 * A seeded PRNG (sfc32: small, fast, passes PractRand to 2^40 and beyond). Returns `next()` in `[0, 1)`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createRng } from "./shuffle.ts";
 * const a = createRng(42), b = createRng(42);
 * expect(a() === b()).toBe(true);
 * ```
 */
export function createRng(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`createRng: seed must be a finite number, got ${seed}`);
  return rngFrom(shuffleState(seed).rng);
}

/**
 * The sfc32 generator over `words` (`[a, b, c, d]`), which it updates in place: the four numbers are its whole
 * state, so copying them saves it and {@linkcode rngFrom} over the copy continues the same sequence.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { rngFrom } from "./shuffle.ts";
 * const words = [1, 2, 3, 4];
 * const rng = rngFrom(words);
 * rng();
 * const saved = [...words];
 * expect(rngFrom(saved)()).toEqual(rng());
 * ```
 */
export function rngFrom(words: number[]): () => number {
  return () => {
    const [a, b, c, d] = words;
    const t = (((a + b) | 0) + d) | 0;
    words[3] = (d + 1) | 0;
    words[0] = b ^ (b >>> 9);
    words[1] = (c + (c << 3)) | 0;
    const c2 = (c << 21) | (c >>> 11);
    words[2] = (c2 + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/**
 * The state of a {@linkcode shuffleBuffer} that its caller owns: the items held, in slot order, and the
 * generator's four words. The shuffle updates it in place, so at any point where the shuffle is suspended it
 * says exactly what the shuffle would do next; a shuffle given a copy (with the same items) continues the same.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shuffleBuffer, shuffleState } from "./shuffle.ts";
 * const state = shuffleState<number>(7);
 * const first = shuffleBuffer([1, 2, 3, 4, 5, 6], { bufferSize: 3, state });
 * const head = [(await first.next()).value, (await first.next()).value];
 * const copy = { buffer: [...state.buffer], rng: [...state.rng] };
 * const rest = await Array.fromAsync(shuffleBuffer([6], { bufferSize: 3, state: copy }));
 * expect([...head, ...rest]).toEqual(await Array.fromAsync(shuffleBuffer([1, 2, 3, 4, 5, 6], { bufferSize: 3, seed: 7 })));
 * ```
 */
export interface ShuffleState<T> {
  /** The items held, in slot order. */
  buffer: T[];
  /** The generator's state (see {@linkcode rngFrom}). */
  rng: number[];
}

/**
 * A fresh {@linkcode ShuffleState} for `seed`: an empty buffer and the generator `createRng(seed)` starts with.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shuffleState } from "./shuffle.ts";
 * expect(shuffleState(1).buffer).toEqual([]);
 * ```
 */
export function shuffleState<T>(seed: number): ShuffleState<T> {
  if (!Number.isFinite(seed)) throw new RangeError(`shuffle: seed must be a finite number, got ${seed}`);
  const rng = [hashSeed(seed, 1), hashSeed(seed, 2), hashSeed(seed, 3), 1];
  const next = rngFrom(rng);
  for (let i = 0; i < 12; i++) next(); // warm up away from the seeding state
  return { buffer: [], rng };
}

/** A uniform integer in `[0, n)`. */
function below(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/**
 * A seeded permutation of `0 … n-1` (Fisher–Yates).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { permutation } from "./shuffle.ts";
 * expect(Array.from(permutation(5, 7)).sort()).toEqual([0, 1, 2, 3, 4]);
 * ```
 */
export function permutation(n: number, seed: number): Uint32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`permutation: n must be a non-negative integer, got ${n}`);
  }
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = createRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = below(rng, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * The seed of one epoch of a shuffle: epochs of one seed, and seeds of one epoch, all differ.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { epochSeed } from "./shuffle.ts";
 * expect(epochSeed(1, 0) !== epochSeed(1, 1)).toBe(true);
 * ```
 */
export function epochSeed(seed: number, epoch: number): number {
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
  }
  return hashSeed(seed, epoch, 0x5eed);
}

/**
 * A streaming shuffle: fills a buffer of `bufferSize` items, then for each further item yields a random buffered
 * one and puts the new one in its place; drains the rest in random order at the end. Memory is `bufferSize` items. With `state` (see
 * {@linkcode ShuffleState}) the caller owns the buffer and the generator, to save and continue a shuffle.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shuffleBuffer } from "./shuffle.ts";
 * const out: number[] = [];
 * for await (const x of shuffleBuffer([1, 2, 3, 4, 5], { bufferSize: 3, seed: 1 })) out.push(x);
 * expect(out.sort()).toEqual([1, 2, 3, 4, 5]);
 * ```
 */
export async function* shuffleBuffer<T>(
  source: Iterable<T> | AsyncIterable<T>,
  opts: { bufferSize?: number; seed?: number; state?: ShuffleState<T> } = {},
): AsyncGenerator<T, void, undefined> {
  const size = opts.bufferSize ?? 1024;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`shuffleBuffer: bufferSize must be a positive integer, got ${opts.bufferSize}`);
  }
  const state = opts.state ?? shuffleState<T>(opts.seed ?? 0);
  const rng = rngFrom(state.rng);
  const buf = state.buffer;
  for await (const item of source) {
    if (buf.length < size) {
      buf.push(item);
      continue;
    }
    const j = below(rng, size);
    const out = buf[j];
    buf[j] = item;
    yield out;
  }
  while (buf.length > 0) {
    const j = below(rng, buf.length);
    const out = buf[j];
    buf[j] = buf[buf.length - 1];
    buf.pop();
    yield out;
  }
}
