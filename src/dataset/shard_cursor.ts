/**
 * Where a shard pass stands, so that it can be continued exactly: which shards are open and how many samples
 * of each the pass took (the position inside a shard), the next shard to open, and — with a shuffle — which
 * samples the shuffle buffer holds (as `[shard, sample]` pairs) and its generator's state. Small and
 * JSON-serialisable; resuming reads each open shard again from its start (passing over the samples taken) and
 * reads the shards that hold buffered samples to pick them out again.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import type { ShardSample } from "./shard_samples.ts";
import type { ShardStreamState } from "./shard_stream.ts";

/** A sample with its place in the pass: `[shard index in this rank's list, sample ordinal in that shard]`. */
export interface PlacedSample {
  /** The sample. */
  sample: ShardSample;
  /** `[shard, ordinal]`. */
  at: [number, number];
}

/**
 * The cursor of a shard pass (`PassState.cursor` of `fromShards`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkShardCursor, type ShardCursor } from "./shard_cursor.ts";
 * const cursor: ShardCursor = { prefetchShards: 4, bufferSize: null, next: 5, turn: 0, open: [[1, 3], [2, 0]] };
 * expect(checkShardCursor(cursor, { prefetchShards: 4, bufferSize: null, shards: 8 })).toEqual(cursor);
 * ```
 */
export interface ShardCursor extends ShardStreamState {
  /** Shards read at once: the rotation of an interleaved pass depends on it. */
  prefetchShards: number;
  /** The shuffle buffer's size, or null without a shuffle. */
  bufferSize: number | null;
  /** The shuffle buffer's samples in slot order, as `[shard, ordinal]` (with a shuffle). */
  buffer?: [number, number][];
  /** The shuffle generator's state (with a shuffle). */
  rng?: number[];
}

function isPair(x: unknown, shards: number): x is [number, number] {
  return Array.isArray(x) && x.length === 2 && Number.isSafeInteger(x[0]) && x[0] >= 0 && x[0] < shards &&
    Number.isSafeInteger(x[1]) && x[1] >= 0;
}

/**
 * Checks a saved cursor against the pass about to continue it, naming what does not fit.
 *
 * @throws {ConfigError} when the cursor is malformed, or was saved with another `prefetchShards` or shuffle
 * buffer size, or names a shard beyond this rank's list.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkShardCursor } from "./shard_cursor.ts";
 * const saved = { prefetchShards: 2, bufferSize: null, next: 2, turn: 0, open: [[0, 1], [1, 0]] };
 * expect(() => checkShardCursor(saved, { prefetchShards: 4, bufferSize: null, shards: 8 }))
 *   .toThrow("its prefetchShards is 2, this dataset's 4");
 * ```
 */
export function checkShardCursor(
  cursor: unknown,
  pass: { prefetchShards: number; bufferSize: number | null; shards: number },
): ShardCursor {
  const bad = (what: string) => new ConfigError(`iterate: resumeFrom.cursor: ${what}`);
  if (cursor === null || typeof cursor !== "object") {
    throw bad(`expected the cursor of a shard pass, got ${JSON.stringify(cursor)}`);
  }
  const c = cursor as ShardCursor;
  for (const field of ["prefetchShards", "bufferSize"] as const) {
    if (c[field] !== pass[field]) {
      throw bad(
        `a state of another pass: its ${field} is ${JSON.stringify(c[field])}, this dataset's ${
          JSON.stringify(pass[field])
        }`,
      );
    }
  }
  const shards = pass.shards;
  if (!Number.isSafeInteger(c.next) || c.next < 0 || c.next > shards) {
    throw bad(`next: expected a shard index from 0 to ${shards}, got ${JSON.stringify(c.next)}`);
  }
  if (!Number.isSafeInteger(c.turn) || c.turn < 0) {
    throw bad(`turn: expected an integer >= 0, got ${JSON.stringify(c.turn)}`);
  }
  if (
    !Array.isArray(c.open) || c.open.length > pass.prefetchShards || !c.open.every((p) => isPair(p, shards))
  ) {
    throw bad(`open: expected up to ${pass.prefetchShards} [shard, samples] pairs of ${shards} shards`);
  }
  if (
    c.ended !== undefined &&
    (!Array.isArray(c.ended) || !c.ended.every((i) => c.open.some(([o]) => o === i)))
  ) {
    throw bad(`ended: expected indices of open shards, got ${JSON.stringify(c.ended)}`);
  }
  if (pass.bufferSize !== null) {
    if (
      !Array.isArray(c.buffer) || c.buffer.length > pass.bufferSize ||
      !c.buffer.every((p) => isPair(p, shards))
    ) {
      throw bad(`buffer: expected up to ${pass.bufferSize} [shard, sample] pairs of ${shards} shards`);
    }
    if (!Array.isArray(c.rng) || c.rng.length !== 4 || !c.rng.every((w) => Number.isInteger(w))) {
      throw bad(`rng: expected the shuffle generator's four integers, got ${JSON.stringify(c.rng)}`);
    }
  }
  return c;
}

/**
 * Reads again the samples a saved shuffle buffer held, in its slot order: each shard named is read whole (so
 * its CRC-64 is checked, as in a pass), `concurrency` shards at once, keeping only the samples named.
 *
 * @throws {ConfigError} when a shard no longer has a sample the buffer named (the shards changed).
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { restoreBuffer } from "./shard_cursor.ts";
 * const read = async (shard: number, push: (s: { key: string; shard: string; members: {} }) => void) => {
 *   for (let i = 0; i < 3; i++) push({ key: `${shard}-${i}`, shard: `s${shard}`, members: {} });
 * };
 * const got = await restoreBuffer([[1, 2], [0, 0]], read, { concurrency: 2, signal: new AbortController().signal });
 * expect(got.map((p) => p.sample.key)).toEqual(["1-2", "0-0"]);
 * ```
 */
export async function restoreBuffer(
  entries: [number, number][],
  read: (shard: number, push: (sample: ShardSample) => void, signal: AbortSignal) => Promise<void>,
  opts: { concurrency: number; signal: AbortSignal },
): Promise<PlacedSample[]> {
  const wanted = new Map<number, Set<number>>();
  for (const [shard, ordinal] of entries) {
    let set = wanted.get(shard);
    if (!set) wanted.set(shard, set = new Set());
    set.add(ordinal);
  }
  const found = new Map<string, ShardSample>();
  const reads = prefetch(wanted.keys(), async (shard, { signal }) => {
    const set = wanted.get(shard)!;
    let ordinal = 0;
    await read(shard, (sample) => {
      if (set.has(ordinal)) found.set(`${shard}:${ordinal}`, sample);
      ordinal++;
    }, signal);
  }, { concurrency: opts.concurrency, signal: opts.signal });
  for await (const _ of reads) { /* each shard read whole */ }
  return entries.map(([shard, ordinal]) => {
    const sample = found.get(`${shard}:${ordinal}`);
    if (sample === undefined) {
      throw new ConfigError(
        `iterate: resumeFrom: shard ${shard} of this rank has no sample ${ordinal} any more (the shards changed)`,
      );
    }
    return { sample, at: [shard, ordinal] };
  });
}
