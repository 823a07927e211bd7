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
import { checkShardCursor, type PlacedSample, restoreBuffer, type ShardCursor } from "./shard_cursor.ts";
import { type ShardStreamState, streamShards } from "./shard_stream.ts";
import { epochSeed, hashSeed, shuffleBuffer, type ShuffleState, shuffleState } from "./shuffle.ts";
import { type DatasetClient, listIdentity } from "./sources.ts";
import { parseUri } from "../uri.ts";

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
 * How a {@linkcode CustomPass} is resumed and saved: `from` is where to start (the items of the pass to pass
 * over, and the pass's own cursor from a saved state), and `run` sets `cursor` to a function returning its own
 * JSON-serialisable cursor as of its latest yield.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { PassTrack } from "./shard_dataset.ts";
 * const track: PassTrack = { from: { position: 0 }, position: 0 };
 * track.cursor = () => ({ next: 1 });
 * expect(track.cursor()).toEqual({ next: 1 });
 * ```
 */
export interface PassTrack {
  /** Where the pass starts: items already delivered (or skipped), and its cursor from a saved state. */
  readonly from: { position: number; cursor?: unknown };
  /** Items of the pass delivered or dropped by a failing transform so far: `run` counts them, before it yields. */
  position: number;
  /** Set by `run`: its cursor as of its latest yield. */
  cursor?: () => unknown;
}

/** A dataset pass that is not a stream of object references. */
export interface CustomPass<R> {
  /** Names the kind of pass in saved states ("shards", "tar"). */
  readonly kind: string;
  /** For messages. */
  readonly description: string;
  /** Passes over a list: a digest of it, which a saved pass state must match. */
  identity?(): string;
  /** The dataset options to resolve (client, logger, shard, shuffle, budget). */
  readonly options: DatasetOptions<R>;
  /**
   * Yields this rank's items of `epoch`, continuing from `track.from`; calls `onSkip` for each item dropped by
   * `onSampleError: "skip"`.
   */
  run(
    o: ResolvedDatasetOptions<R>,
    epoch: number,
    signal: AbortSignal,
    onSkip: () => void,
    track: PassTrack,
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
  // A list is read once here: each pass (and a resumed one) must see the same shards.
  if (typeof spec !== "string" && spec !== null && typeof spec === "object" && Symbol.iterator in spec) {
    spec = [...spec];
  }
  const list = spec;
  return {
    kind: "shards",
    description: typeof spec === "string" ? spec : "a list of shards",
    identity: typeof list === "string"
      ? undefined
      : () =>
        listIdentity(Array.from(list, (u) => typeof u === "string" ? parseUri(u) : { bucket: "", key: "" })),
    options: { ...rest, evenShards } as DatasetOptions<R>,
    async *run(o, epoch, signal, onSkip, track) {
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
      const bufferSize = sh?.bufferSize ?? null;
      if (track.from.position > 0 && track.from.cursor === undefined) {
        throw new ConfigError("iterate: resumeFrom: a state of a shard pass needs its cursor");
      }
      const saved = track.from.cursor === undefined
        ? undefined
        : checkShardCursor(track.from.cursor, { prefetchShards, bufferSize, shards: mine.length });
      const skip = (shard: string, key: string, error: unknown) => {
        onSkip();
        o.logger.warn("bad sample skipped", { shard, key, error });
      };
      /** Reads shard `index` of this rank, pushing its good samples in order; bad ones before the `quiet`-th good
       * one are not reported (the pass a resumed one continues reported them). */
      const readShard = async (
        index: number,
        push: (sample: ShardSample) => Promise<void> | void,
        signal: AbortSignal,
        quiet = 0,
      ) => {
        const ref = mine[index];
        const res = await client.get(ref.bucket, ref.key, { signal });
        const shard = { ...ref, etag: res.etag || ref.etag };
        const uri = `${ref.scheme ?? "oss"}://${ref.bucket}/${ref.key}`;
        let good = 0;
        for await (const r of groupSamples(readTar(res.body, { uri }), shard)) {
          if (!("bad" in r)) {
            good++;
            await push(r.sample);
          } else if (onSampleError === "throw") throw r.bad;
          else if (good >= quiet) skip(uri, r.bad.key, r.bad.message);
        }
      };
      const stream: ShardStreamState = saved
        ? { next: saved.next, turn: saved.turn, open: saved.open.map(([i, n]) => [i, n]), ended: saved.ended }
        : { next: 0, turn: 0, open: [] };
      const resumedAt = new Map(stream.open);
      let samples: AsyncIterable<PlacedSample> = streamShards(mine.map((_, i) => i), {
        shards: prefetchShards,
        maxBytes: o.maxBytesInFlight,
        interleave: sh !== undefined,
        signal,
        state: stream,
        read(index, push, signal) {
          let ordinal = 0;
          const place = (sample: ShardSample) =>
            push({ sample, at: [index, ordinal++] }, sampleBytes(sample));
          return readShard(index, place, signal, resumedAt.get(index) ?? 0);
        },
      });
      let shuffle: ShuffleState<PlacedSample> | undefined;
      if (sh) {
        shuffle = saved
          ? {
            buffer: await restoreBuffer(saved.buffer!, (i, push, s) => readShard(i, push, s, Infinity), {
              concurrency: prefetchShards,
              signal,
            }),
            rng: [...saved.rng!],
          }
          : shuffleState(hashSeed(epochSeed(sh.seed, epoch), o.shard.rank));
        samples = shuffleBuffer(samples, { bufferSize: sh.bufferSize, state: shuffle });
      }
      track.cursor = (): ShardCursor => ({
        prefetchShards,
        bufferSize,
        next: stream.next,
        turn: stream.turn,
        open: stream.open.map(([i, n]) => [i, n]),
        ended: [...stream.ended ?? []],
        ...(shuffle ? { buffer: shuffle.buffer.map((p) => p.at), rng: [...shuffle.rng] } : {}),
      });
      for await (const { sample } of samples) {
        track.position++;
        if (!transform) {
          yield sample as R;
          continue;
        }
        let value: R;
        try {
          value = await transform(sample);
        } catch (e) {
          const uri = `${sample.shard}#${sample.key}`;
          if (onSampleError === "throw") throw new TransformError({ key: sample.key, uri }, e);
          skip(sample.shard, sample.key, e);
          continue;
        }
        yield value;
      }
    },
  };
}
