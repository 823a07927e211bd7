/**
 * {@linkcode OssSafetensors}: a safetensors model on OSS opened by its header alone, then read tensor by tensor
 * (coalesced ranged GETs in parallel) or whole (the checkpoint reader, CRC-64 checked). A single file or a
 * sharded set through its `model.safetensors.index.json`.
 *
 * @module
 */
import {
  anySignal,
  type CheckpointTarget,
  OssCheckpoint,
  type OssCheckpointOptions,
} from "../checkpoint/mod.ts";
import { ConfigError, OssError, SafetensorsError } from "../errors.ts";
import { prefetch } from "../prefetch.ts";
import { requireLittleEndian, type Tensor } from "./dtypes.ts";
import { type FileRead, runReads, SafetensorsFile, type SafetensorsReadStats, tensorOf } from "./file.ts";
import { MAX_HEADER_BYTES, type TensorInfo } from "./header.ts";
import { INDEX_SUFFIX } from "./layout.ts";
import { parseIndex, readSmallObject, type SafetensorsIndex } from "./sharded.ts";

/** Default {@linkcode OssSafetensorsOptions.maxGap}: 1 MiB, about what one more request costs on a link. */
export const DEFAULT_MAX_GAP: number = 1024 * 1024;
/** Default {@linkcode OssSafetensorsOptions.headerProbeBytes}: 64 KiB, the whole header of most files. */
export const DEFAULT_HEADER_PROBE: number = 64 * 1024;
/** Shard headers read at once when opening a sharded set. */
const SHARD_OPEN_CONCURRENCY = 16;

/**
 * Options of {@linkcode OssSafetensors.open} (and of `saveSafetensors`): how to reach the store (as for
 * `OssCheckpoint`, or an `OssCheckpoint` to share), and how to read.
 */
export interface OssSafetensorsOptions extends OssCheckpointOptions {
  /** Read and write through this checkpoint (its client and settings); the connection options are then unused. */
  checkpoint?: OssCheckpoint;
  /**
   * Tensors at most this many bytes apart are fetched by one ranged GET, the bytes between them included (the
   * tensors then view that one buffer, which stays in memory while any of them does). Default 1 MiB
   * ({@linkcode DEFAULT_MAX_GAP}); 0 fetches only the tensors' own bytes.
   */
  maxGap?: number;
  /** Bytes asked for by the first header GET (at least 8). Default 64 KiB; a longer header takes a second GET. */
  headerProbeBytes?: number;
  /** Longest header accepted, bytes: a longer one is a SafetensorsError. Default (and most) 100,000,000. */
  maxHeaderBytes?: number;
}

/**
 * Per-call options of {@linkcode OssSafetensors.get}, `getMany` and `loadAll`.
 */
export interface SafetensorsReadOptions {
  /** Aborts the call's requests. */
  signal?: AbortSignal;
}

/**
 * One file of an opened model.
 */
export interface SafetensorsFileInfo {
  /** The file's URI. */
  uri: string;
  /** Its size in bytes. */
  size: number;
  /** Its ETag when opened: every later read is pinned to it. */
  etag: string;
}

/**
 * A safetensors model on OSS (or an S3-compatible store): one file, or a sharded set through its index.
 *
 * `open` reads only headers: a file's with at most two ranged GETs (the first 64 KiB, then the rest of a
 * longer header), and a set's index and then every shard's header in parallel. The header is validated in full
 * (see `SafetensorsError`). Then:
 *
 * - `get(name)` / `getMany(names)` fetch only those tensors: neighbours at most `maxGap` bytes apart share a
 *   ranged GET, ranges longer than the part size are split, and all run in parallel (`prefetchConcurrency`).
 *   Ranged reads cannot be checked against the whole object's CRC-64, so each is pinned to the ETag seen at
 *   open (`If-Match`): a file replaced since fails with an `IntegrityError` instead of mixing versions.
 * - `loadAll()` reads every file whole through the checkpoint reader: parallel ranges, the object's CRC-64
 *   checked, and pinned to the same ETag.
 *
 * Tensors come as the typed array of their dtype (see `TensorArray`): a view of the fetched bytes when they are
 * aligned for it (always for files saved by ossflow or the reference writer), a copy otherwise.
 *
 * @example
 * ```ts
 * import { OssSafetensors, saveSafetensors } from "./mod.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { expect } from "expect";
 *
 * const server = await serveEmulator({ buckets: ["models"] });
 * const opts = { endpoint: server.url, region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "s" } };
 * await saveSafetensors("oss://models/tiny.safetensors", {
 *   "embed.weight": { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 *   "head.bias": { dtype: "I64", shape: [2], data: new BigInt64Array([7n, 8n]) },
 * }, { ...opts, metadata: { format: "pt" } });
 *
 * const model = await OssSafetensors.open("oss://models/tiny.safetensors", opts);
 * expect(model.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
 *   ["head.bias", "I64", [2]], // in data order: 8-byte elements before 4-byte ones
 *   ["embed.weight", "F32", [2, 2]],
 * ]);
 * const bias = await model.get("head.bias"); // one ranged GET of 16 bytes
 * expect(bias.data).toEqual(new BigInt64Array([7n, 8n]));
 * await server.close();
 * ```
 */
export class OssSafetensors {
  /** The URI opened (a file, or an index). */
  readonly uri: string;
  /** Every tensor: for a set, shard by shard in the index's order of shards; within a file, in data order. */
  readonly tensors: readonly TensorInfo[];
  /** The file's `__metadata__`; for a set, the first shard's. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The files read: one, or the set's shards. */
  readonly files: readonly SafetensorsFileInfo[];
  /** The index of a sharded set. */
  readonly index?: Readonly<SafetensorsIndex & { uri: string }>;
  /** Requests and bytes fetched so far (see {@linkcode SafetensorsReadStats}). */
  readonly stats: SafetensorsReadStats;
  readonly #checkpoint: OssCheckpoint;
  readonly #files: SafetensorsFile[];
  readonly #byName: Map<string, TensorInfo>;
  readonly #maxGap: number;

  readonly #ownSignal?: AbortSignal;

  private constructor(
    init: Common & {
      uri: string;
      files: SafetensorsFile[];
      tensors: TensorInfo[];
      index?: SafetensorsIndex & { uri: string };
    },
  ) {
    this.#ownSignal = init.signal;
    this.uri = init.uri;
    this.#checkpoint = init.checkpoint;
    this.#files = init.files;
    this.tensors = init.tensors;
    this.#byName = new Map(init.tensors.map((t) => [t.name, t]));
    this.metadata = init.files[0]?.metadata ?? {};
    this.files = init.files.map((f) => ({ uri: f.uri, size: f.size, etag: f.etag }));
    this.index = init.index;
    this.#maxGap = init.maxGap;
    this.stats = init.stats;
  }

  /**
   * Opens `uri`: a `.safetensors` file, or a sharded set by its `.safetensors.index.json`. A `.safetensors`
   * URI that does not exist opens `<uri>.index.json` instead, so the URI a sharded set was saved under opens it.
   * Rejects with a {@linkcode SafetensorsError} for a file or index that breaks the format, an `OssError` for a
   * failed request, a {@linkcode ConfigError} for bad options.
   */
  static async open(uri: string, opts: OssSafetensorsOptions = {}): Promise<OssSafetensors> {
    const maxGap = nonNegativeInteger(opts.maxGap ?? DEFAULT_MAX_GAP, "maxGap");
    const probeBytes = nonNegativeInteger(opts.headerProbeBytes ?? DEFAULT_HEADER_PROBE, "headerProbeBytes");
    if (probeBytes < 8) {
      throw new ConfigError(`OssSafetensors: headerProbeBytes: expected at least 8, got ${probeBytes}`);
    }
    const maxHeaderBytes = nonNegativeInteger(opts.maxHeaderBytes ?? MAX_HEADER_BYTES, "maxHeaderBytes");
    if (maxHeaderBytes > MAX_HEADER_BYTES) {
      throw new ConfigError(
        `OssSafetensors: maxHeaderBytes: expected at most ${MAX_HEADER_BYTES}, got ${maxHeaderBytes}`,
      );
    }
    const probe = { probeBytes, maxHeaderBytes };
    const checkpoint = opts.checkpoint ?? new OssCheckpoint(opts);
    const target = await checkpoint.target(uri);
    requireLittleEndian(target.uri);
    const stats: SafetensorsReadStats = { requests: 0, bytesFetched: 0 };
    const signal = anySignal(target.signal, opts.signal);
    const common: Common = { checkpoint, maxGap, stats, signal };
    if (target.key.endsWith(INDEX_SUFFIX)) {
      return await OssSafetensors.#openSet(target, probe, common);
    }
    try {
      const file = await SafetensorsFile.open(target, probe, stats, signal);
      return new OssSafetensors({ ...common, uri: target.uri, files: [file], tensors: file.tensors });
    } catch (err) {
      if (!(err instanceof OssError && err.status === 404 && err.code !== "NoSuchBucket")) throw err;
      const indexTarget = await checkpoint.target(target.uri + INDEX_SUFFIX);
      try {
        return await OssSafetensors.#openSet(indexTarget, probe, common);
      } catch (indexErr) {
        if (!(indexErr instanceof SafetensorsError && indexErr.cause === MISSING_INDEX)) throw indexErr;
        throw new SafetensorsError(`no such file, and no index ${indexTarget.uri} either`, {
          file: target.uri,
          cause: err,
        });
      }
    }
  }

  static async #openSet(
    target: CheckpointTarget,
    probe: { probeBytes: number; maxHeaderBytes: number },
    common: Common,
  ): Promise<OssSafetensors> {
    const { client, bucket, key, uri } = target;
    const found = await readSmallObject(client, bucket, key, uri, common.signal);
    common.stats.requests++;
    if (found === undefined) throw new SafetensorsError("no such index", { file: uri, cause: MISSING_INDEX });
    common.stats.bytesFetched += found.bytes.length;
    const index = parseIndex(uri, found.bytes);
    const dir = key.slice(0, key.lastIndexOf("/") + 1);
    const shardNames = [...new Set(index.weightMap.values())];
    const files: SafetensorsFile[] = [];
    const opening = prefetch(shardNames, async (name) => {
      const shard = await common.checkpoint.target(siblingUri(target, dir + name));
      return await SafetensorsFile.open(shard, probe, common.stats, common.signal);
    }, { concurrency: Math.min(SHARD_OPEN_CONCURRENCY, target.prefetchConcurrency), signal: common.signal });
    for await (const file of opening) files.push(file);
    const byShard = new Map(shardNames.map((name, i) => [name, files[i]]));
    for (const [tensor, name] of index.weightMap) {
      if (!byShard.get(name)!.tensors.some((t) => t.name === tensor)) {
        throw new SafetensorsError(`weight_map puts it in ${name}, which has no such tensor`, {
          file: uri,
          tensor,
        });
      }
    }
    const tensors = files.flatMap((f, i) =>
      f.tensors.filter((t) => index.weightMap.get(t.name) === shardNames[i])
    );
    return new OssSafetensors({ ...common, uri, files, tensors, index: { ...index, uri } });
  }

  /**
   * Fetches one tensor (see {@linkcode OssSafetensors.getMany}). An unknown name rejects with a
   * {@linkcode SafetensorsError} naming it.
   */
  async get(name: string, opts: SafetensorsReadOptions = {}): Promise<Tensor> {
    return (await this.getMany([name], opts)).get(name)!;
  }

  /**
   * Fetches only the tensors named, in ranges coalesced across neighbours at most `maxGap` bytes apart, all in
   * parallel; resolves with a map in the order asked. Unknown names reject with a {@linkcode SafetensorsError}
   * before any request; a file replaced since `open` rejects with an `IntegrityError`.
   */
  async getMany(names: Iterable<string>, opts: SafetensorsReadOptions = {}): Promise<Map<string, Tensor>> {
    const wanted = [...new Set(names)].map((n) => this.#info(n));
    const reads: FileRead[] = [];
    for (const file of this.#files) {
      const mine = wanted.filter((t) => t.file === file.uri);
      if (mine.length > 0) reads.push(...file.plan(mine, this.#maxGap));
    }
    const concurrency = this.#files[0]?.target.prefetchConcurrency ?? 1;
    const got = await runReads(reads, concurrency, this.#signal(opts.signal));
    const out = new Map<string, Tensor>();
    for (const t of wanted) out.set(t.name, got.get(t.name) ?? tensorOf(t, new Uint8Array(0)));
    return out;
  }

  /**
   * Every tensor, each file read whole through the checkpoint reader (parallel ranges, CRC-64 of the whole
   * object checked), one file after another. Tensors are views of each file's one buffer where aligned.
   */
  async loadAll(opts: SafetensorsReadOptions = {}): Promise<Map<string, Tensor>> {
    const signal = this.#signal(opts.signal);
    const loaded = new Map<string, Tensor>();
    for (const file of this.#files) {
      for (const [name, t] of await file.loadAll(this.#checkpoint, signal)) loaded.set(name, t);
    }
    return new Map(this.tensors.map((t) => [t.name, loaded.get(t.name)!]));
  }

  #info(name: string): TensorInfo {
    const info = this.#byName.get(name);
    if (info === undefined) {
      throw new SafetensorsError(`no such tensor (${this.tensors.length} tensors here)`, {
        file: this.uri,
        tensor: String(name),
      });
    }
    return info;
  }

  #signal(signal: AbortSignal | undefined): AbortSignal | undefined {
    return anySignal(this.#ownSignal, signal);
  }
}

/** What every file of an opened model shares. */
interface Common {
  checkpoint: OssCheckpoint;
  maxGap: number;
  stats: SafetensorsReadStats;
  /** The checkpoint's signal and the one given to open, combined. */
  signal?: AbortSignal;
}

/** Marks "no index there" (as opposed to a broken one) when a missing file falls back to its index. */
const MISSING_INDEX = Symbol("missing index");

/** The URI of `key` in the same bucket (and endpoint) as `target`. */
export function siblingUri(target: CheckpointTarget, key: string): string {
  return target.uri.slice(0, target.uri.length - target.key.length) + key;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`OssSafetensors: ${name}: expected an integer >= 0, got ${String(value)}`);
  }
  return value;
}
