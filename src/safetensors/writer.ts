/**
 * {@linkcode saveSafetensors}: tensors to a safetensors file (or a sharded set, or one rank's part of a
 * distributed checkpoint), streamed through the checkpoint writer header first, tensor by tensor.
 *
 * @module
 */
import { anySignal, OssCheckpoint } from "../checkpoint/mod.ts";
import { ConfigError, SafetensorsError } from "../errors.ts";
import { type CheckedTensor, checkTensor, requireLittleEndian, type Tensor } from "./dtypes.ts";
import { type SavedFile, writeFile } from "./file_writer.ts";
import { INDEX_SUFFIX, layoutOf } from "./layout.ts";
import type { OssSafetensorsOptions } from "./reader.ts";
import { removeSet } from "./cleanup.ts";
import { saveSet } from "./commit.ts";

export type { SavedFile } from "./file_writer.ts";

/** Default {@linkcode SaveSafetensorsOptions.commitTimeoutMs}: 10 minutes. */
export const DEFAULT_COMMIT_TIMEOUT_MS = 600_000;
/** Default {@linkcode SaveSafetensorsOptions.pollIntervalMs}: 1 s. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * Options of {@linkcode saveSafetensors}: how to reach the store (as for `OssCheckpoint`, or a `checkpoint`),
 * what to write, and for a distributed save, who this process is.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { SaveSafetensorsOptions } from "./writer.ts";
 * const opts: SaveSafetensorsOptions = {
 *   endpoint: "https://oss-cn-hangzhou-internal.aliyuncs.com",
 *   metadata: { format: "pt" },
 *   maxShardBytes: 5 * 1024 ** 3, // shards of at most 5 GiB of tensors
 *   rank: 3,
 *   worldSize: 8,
 * };
 * expect(opts.rank).toEqual(3);
 * ```
 */
export interface SaveSafetensorsOptions extends OssSafetensorsOptions {
  /** `__metadata__` of every file written: strings only. Hugging Face loaders expect `{ format: "pt" }`. */
  metadata?: Record<string, string>;
  /**
   * Most tensor bytes per shard: tensors are dealt into shards in the order given, a new shard starting when
   * the next tensor would overflow the current one (a larger tensor gets a shard of its own), as Hugging Face's
   * `max_shard_size` does. A save whose tensors fit saves one file, without index. Default: no limit.
   */
  maxShardBytes?: number;
  /** This process's rank in a distributed save, 0 … `worldSize - 1`. Give both or neither. */
  rank?: number;
  /** Processes taking part in a distributed save; each saves its own tensors, rank 0 commits the index. */
  worldSize?: number;
  /**
   * How long, after writing its own shards, rank 0 waits for every other rank's record, and any other rank
   * for the committed index; then the save rejects and nothing is committed. Default 10 minutes.
   */
  commitTimeoutMs?: number;
  /** Longest pause between two polls of the commit (they start at 50 ms and double). Default 1 s. */
  pollIntervalMs?: number;
  /**
   * An id every rank of this save shares and no earlier attempt used, e.g. the launcher's run id with the
   * step. Rank 0 then accepts only records carrying it, so a record left by a failed attempt of the same
   * save can never be committed with this one. Default: none (records are told apart by generation only).
   */
  saveId?: string;
}

/**
 * What {@linkcode saveSafetensors} did.
 */
export interface SaveSafetensorsResult {
  /** What to open: the file, or the index of the set. */
  uri: string;
  /** The generation of a sharded set (1 for the first set saved at this name). */
  generation?: number;
  /** The files this process wrote. */
  files: SavedFile[];
}

/** Tensors to save: a `Map` or a plain object of name → tensor, or an iterable of `[name, tensor]`. */
export type TensorsToSave = Map<string, Tensor> | Record<string, Tensor> | Iterable<[string, Tensor]>;

/**
 * Saves `tensors` to `uri` (a key ending in `.safetensors`, or `.safetensors.index.json` to ask for an index
 * whatever the size) in the safetensors format: the header (8-byte little-endian length, JSON with
 * `__metadata__` first, padded with spaces to a multiple of 8), then the tensors back to back, streamed through
 * the checkpoint writer (multipart upload, CRC-64 checked) without assembling the file in memory.
 *
 * Data order: by element size, widest first, and in the order given within a size (the reference writer also
 * sorts by dtype, then by name). Every tensor then starts at a multiple of its element size, so readers can view
 * it in place; the header lists the tensors in that same order.
 *
 * - One file when the tensors fit `maxShardBytes` (or there is no limit) and no `worldSize` is given.
 * - Otherwise a sharded set: shards `model-00001-of-0000N.safetensors` … beside `uri`, committed by writing
 *   `model.safetensors.index.json` last (see the module comment of `mod.ts` for the layout and commit).
 * - With `rank` and `worldSize`, a distributed save: every rank calls this with its own tensors; each writes
 *   its shards, rank 0 verifies every shard (size and CRC-64 by HEAD) and commits the index; every call
 *   resolves once the index is committed. Without the index nothing changed: the previous checkpoint loads.
 *
 * Bad tensors or metadata reject with a {@linkcode SafetensorsError} naming the file and tensor, before any
 * request. The tensors must not change until the promise settles.
 *
 * @example
 * ```ts
 * import { OssSafetensors, saveSafetensors } from "./mod.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { expect } from "expect";
 *
 * const server = await serveEmulator({ buckets: ["models"] });
 * const opts = { endpoint: server.url, region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "s" } };
 * const layer = (i: number) => ({ dtype: "F32" as const, shape: [256], data: new Float32Array(256).fill(i) });
 * const saved = await saveSafetensors("oss://models/net/model.safetensors", {
 *   "layer.0": layer(0),
 *   "layer.1": layer(1),
 *   "layer.2": layer(2),
 * }, { ...opts, maxShardBytes: 2048 }); // 1 KiB per tensor: two shards
 * expect(saved.files.map((f) => f.uri)).toEqual([
 *   "oss://models/net/model-00001-of-00002.safetensors",
 *   "oss://models/net/model-00002-of-00002.safetensors",
 * ]);
 * const model = await OssSafetensors.open("oss://models/net/model.safetensors", opts); // through the index
 * expect((await model.get("layer.2")).data[0]).toBe(2);
 * await server.close();
 * ```
 */
export async function saveSafetensors(
  uri: string,
  tensors: TensorsToSave,
  opts: SaveSafetensorsOptions = {},
): Promise<SaveSafetensorsResult> {
  const checkpoint = opts.checkpoint ?? new OssCheckpoint(opts);
  const target = await checkpoint.target(uri);
  const layout = layoutOf(target.key, target.uri);
  requireLittleEndian(target.uri);
  const checked = checkTensors(target.uri, tensors);
  const metadata = checkMetadata(target.uri, opts.metadata);
  const { rank, worldSize, maxShardBytes } = checkSaveOptions(opts);
  const signal = anySignal(target.signal, opts.signal);
  const prefix = target.uri.slice(0, target.uri.length - target.key.length);
  const total = checked.reduce((n, t) => n + t.bytes.length, 0);
  const sharded = (worldSize ?? 1) > 1 || target.key.endsWith(INDEX_SUFFIX) ||
    (maxShardBytes !== undefined && total > maxShardBytes);
  if (!sharded) {
    const file = await writeFile(checkpoint, prefix + layout.fileKey, checked, metadata, signal);
    await removeSet(checkpoint, prefix, layout, signal); // a set saved here before is superseded
    return { uri: file.uri, files: [file] };
  }
  return await saveSet({
    checkpoint,
    prefix,
    layout,
    tensors: checked,
    metadata,
    maxShardBytes,
    rank: (worldSize ?? 1) > 1 ? rank : undefined,
    worldSize: (worldSize ?? 1) > 1 ? worldSize : undefined,
    saveId: opts.saveId,
    timeoutMs: opts.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS,
    pollMs: opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    signal,
  });
}

function checkTensors(file: string, tensors: TensorsToSave): CheckedTensor[] {
  if (tensors === null || typeof tensors !== "object") {
    throw new SafetensorsError(
      `tensors: expected a Map or an object of name → { dtype, shape, data }, got ${String(tensors)}`,
      { file },
    );
  }
  const entries = tensors instanceof Map || Symbol.iterator in tensors
    ? [...tensors as Iterable<[string, Tensor]>]
    : Object.entries(tensors);
  const seen = new Set<string>();
  return entries.map((entry) => {
    const [name, tensor] = Array.isArray(entry) ? entry : [undefined, undefined];
    if (typeof name !== "string" || name === "__metadata__" || !name.isWellFormed()) {
      throw new SafetensorsError(
        `tensors: expected tensor names as well-formed strings other than "__metadata__", got ${
          typeof name === "string" ? JSON.stringify(name.slice(0, 200)) : typeof name
        }`,
        { file },
      );
    }
    if (seen.has(name)) throw new SafetensorsError("given twice", { file, tensor: name });
    seen.add(name);
    return checkTensor(file, name, tensor);
  });
}

function checkMetadata(file: string, metadata: unknown): Record<string, string> | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new SafetensorsError(`metadata: expected an object of strings, got ${String(metadata)}`, { file });
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string" || !k.isWellFormed() || !v.isWellFormed()) {
      throw new SafetensorsError(
        `metadata: every value must be a string (the format allows nothing else), got ${typeof v} for ${
          JSON.stringify(k.slice(0, 200))
        }`,
        { file },
      );
    }
  }
  return metadata as Record<string, string>;
}

function checkSaveOptions(opts: SaveSafetensorsOptions) {
  const { rank, worldSize, maxShardBytes, commitTimeoutMs, pollIntervalMs, saveId } = opts;
  const positiveInt = (v: unknown, name: string) => {
    if (v !== undefined && !(typeof v === "number" && Number.isSafeInteger(v) && v > 0)) {
      throw new ConfigError(`saveSafetensors: ${name}: expected a positive integer, got ${String(v)}`);
    }
  };
  positiveInt(worldSize, "worldSize");
  positiveInt(maxShardBytes, "maxShardBytes");
  positiveInt(commitTimeoutMs, "commitTimeoutMs");
  positiveInt(pollIntervalMs, "pollIntervalMs");
  if ((rank === undefined) !== (worldSize === undefined)) {
    throw new ConfigError("saveSafetensors: give both rank and worldSize, or neither");
  }
  if (rank !== undefined && !(Number.isSafeInteger(rank) && rank >= 0 && rank < worldSize!)) {
    throw new ConfigError(
      `saveSafetensors: rank: expected an integer from 0 to ${worldSize! - 1}, got ${rank}`,
    );
  }
  if (saveId !== undefined && !(typeof saveId === "string" && saveId.length > 0 && saveId.length <= 256)) {
    throw new ConfigError(`saveSafetensors: saveId: expected a string of 1 to 256 characters`);
  }
  return { rank, worldSize, maxShardBytes };
}
