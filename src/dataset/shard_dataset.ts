/**
 * The pass of a shard dataset (`OssIterableDataset.fromShards`): resolve the shards, deal them to this rank
 * (`distributedIndices`: disjoint, together all, counts differing by at most one, re-dealt per `(seed, epoch)`),
 * read each with one GET (resumed with a Range after a broken body, CRC-64 checked at its end), parse it as a
 * Web stream into WebDataset samples, prefetch the next shards within a count and a byte budget, optionally
 * shuffle samples across the shards in flight, and apply the transform to whole samples.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { readTar } from "../tar/reader.ts";
import { TransformError } from "./item.ts";
import type { DatasetOptions, ResolvedDatasetOptions } from "./options.ts";
import { distributedIndices } from "./shard.ts";
import { resolveShards, type ShardSpec } from "./shard_list.ts";
import { groupSamples, type ShardSample } from "./shard_samples.ts";
import { streamShards } from "./shard_stream.ts";
import { epochSeed, hashSeed, shuffleBuffer } from "./shuffle.ts";
import type { DatasetClient } from "./sources.ts";

/** Default number of shards read at once: the one consumed and three ahead. */
export const DEFAULT_PREFETCH_SHARDS = 4;

/**
 * Options of `OssIterableDataset.fromShards`: the dataset options (endpoint, credentials, rank, worldSize,
 * shuffle, maxBytesInFlight, …) with a transform of whole samples, and:
 *
 * - `prefetchShards`: shards read at once, the one consumed included (default 4);
 * - `onSampleError`: `"throw"` (default) ends the pass on a bad sample (a member without an extension, two
 *   members with one extension, a failing transform); `"skip"` logs a warning naming the shard and the key,
 *   counts it in `skipped`, and goes on;
 * - `evenShards`: as for objects, but the default is `"none"` — padding would repeat a whole shard.
 *
 * With `shuffle`, the shards are dealt in a permutation drawn from `(seed, epoch)`, samples of the shards in
 * flight are interleaved, and a shuffle buffer of `shuffle.bufferSize` samples (default 1024) mixes them.
 * Shards are read inline (`prefetchWorker` does not apply).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { ShardDatasetOptions } from "./shard_dataset.ts";
 * const opts: ShardDatasetOptions<string> = { prefetchShards: 2, onSampleError: "skip", transform: (s) => s.key };
 * expect(opts.prefetchShards).toEqual(2);
 * ```
 */
export type ShardDatasetOptions<R = ShardSample> =
  & Omit<DatasetOptions<R>, "transform" | "onTransformError" | "prefetchWorker" | "prefetchWorkerUrl">
  & {
    /** Applied to each whole sample; its result is what iteration yields. */
    transform?: (sample: ShardSample) => R | Promise<R>;
    /** What a bad sample does: `"throw"` (default) or `"skip"` (logged and counted). */
    onSampleError?: "throw" | "skip";
    /** Shards read at once, the one consumed included. Default 4. */
    prefetchShards?: number;
  };

/**
 * How far a custom pass got: `position` counts its items delivered or dropped by a failing transform, each
 * counted before it is yielded. A pass started with `position` n passes over its first n items (they are read,
 * not transformed or delivered): the order of a pass is a function of its seed, epoch and rank.
 */
export interface PassCursor {
  position: number;
}

/**
 * `items` after the first `at`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resumeAt } from "./shard_dataset.ts";
 * expect(await Array.fromAsync(resumeAt([1, 2, 3, 4], 3))).toEqual([4]);
 * ```
 */
export async function* resumeAt<T>(items: AsyncIterable<T> | Iterable<T>, at: number): AsyncGenerator<T> {
  let n = 0;
  for await (const item of items) if (n++ >= at) yield item;
}

/** A dataset pass that is not a stream of object references. */
export interface CustomPass<R> {
  /** For messages. */
  readonly description: string;
  /** The dataset options to resolve (client, logger, shard, shuffle, budget). */
  readonly options: DatasetOptions<R>;
  /**
   * Yields this rank's items of `epoch` from `cursor.position` on, counting them in `cursor`; calls `onSkip` for
   * each item dropped by `onSampleError: "skip"`.
   */
  run(
    o: ResolvedDatasetOptions<R>,
    epoch: number,
    signal: AbortSignal,
    onSkip: () => void,
    cursor: PassCursor,
  ): AsyncGenerator<R, void, undefined>;
}

/** Bytes a sample holds. */
function sampleBytes(s: ShardSample): number {
  let n = 0;
  for (const m of Object.values(s.members)) n += m.size;
  return n;
}

/**
 * The pass of `fromShards`.
 *
 * @throws {ConfigError} at once for a bad `onSampleError` or `prefetchShards`, or a malformed brace pattern.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { shardsPass } from "./shard_dataset.ts";
 * expect(shardsPass("oss://b01/s-{0..9}.tar", {}).description).toEqual("oss://b01/s-{0..9}.tar");
 * ```
 */
export function shardsPass<R>(spec: ShardSpec, opts: ShardDatasetOptions<R>): CustomPass<R> {
  const { transform, onSampleError = "throw", prefetchShards = DEFAULT_PREFETCH_SHARDS, ...rest } = opts;
  if (onSampleError !== "throw" && onSampleError !== "skip") {
    throw new ConfigError(
      `fromShards: onSampleError: expected "throw" or "skip", got ${JSON.stringify(onSampleError)}`,
    );
  }
  if (!Number.isInteger(prefetchShards) || prefetchShards < 1) {
    throw new ConfigError(
      `fromShards: prefetchShards: expected an integer >= 1, got ${JSON.stringify(prefetchShards)}`,
    );
  }
  if (transform !== undefined && typeof transform !== "function") {
    throw new ConfigError(`fromShards: transform: expected a function of a sample, got ${typeof transform}`);
  }
  const evenShards = rest.evenShards ?? "none";
  return {
    description: typeof spec === "string" ? spec : "a list of shards",
    options: { ...rest, evenShards } as DatasetOptions<R>,
    async *run(o, epoch, signal, onSkip, cursor) {
      const client = o.client as DatasetClient;
      const all = await resolveShards(spec, client, signal);
      const sh = o.shuffle;
      const mine = Array.from(
        distributedIndices(all.length, { ...o.shard, evenShards: o.evenShards, seed: sh?.seed, epoch }),
        (i) => all[i],
      );
      o.logger.info("shard dataset dealt", {
        source: this.description,
        shards: all.length,
        mine: mine.length,
      });
      const skip = (shard: string, key: string, error: unknown) => {
        onSkip();
        o.logger.warn("bad sample skipped", { shard, key, error });
      };
      let samples: AsyncIterable<ShardSample> = streamShards(mine, {
        shards: prefetchShards,
        maxBytes: o.maxBytesInFlight,
        interleave: sh !== undefined,
        signal,
        async read(ref, push, signal) {
          const res = await client.get(ref.bucket, ref.key, { signal });
          const shard = { ...ref, etag: res.etag || ref.etag };
          const uri = `${ref.scheme ?? "oss"}://${ref.bucket}/${ref.key}`;
          for await (const r of groupSamples(readTar(res.body, { uri }), shard)) {
            if ("bad" in r) {
              if (onSampleError === "throw") throw r.bad;
              skip(uri, r.bad.key, r.bad.message);
              continue;
            }
            await push(r.sample, sampleBytes(r.sample));
          }
        },
      });
      if (sh) {
        samples = shuffleBuffer(samples, {
          bufferSize: sh.bufferSize,
          seed: hashSeed(epochSeed(sh.seed, epoch), o.shard.rank),
        });
      }
      for await (const sample of resumeAt(samples, cursor.position)) {
        if (!transform) {
          cursor.position++;
          yield sample as R;
          continue;
        }
        let value: R;
        try {
          value = await transform(sample);
        } catch (e) {
          const uri = `${sample.shard}#${sample.key}`;
          if (onSampleError === "throw") throw new TransformError({ key: sample.key, uri }, e);
          cursor.position++;
          skip(sample.shard, sample.key, e);
          continue;
        }
        cursor.position++;
        yield value;
      }
    },
  };
}
