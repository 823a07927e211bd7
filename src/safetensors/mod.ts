/**
 * Model files on OSS in the safetensors format: {@linkcode OssSafetensors} opens a file (or a sharded set
 * through its `model.safetensors.index.json`) by its header alone and fetches only the tensors asked for;
 * {@linkcode saveSafetensors} streams tensors into a file, a sharded set (the Hugging Face layout), or one
 * rank's part of a distributed checkpoint that rank 0 commits by writing the index last.
 *
 * The commit protocol of distributed saves, in short (the whole of it is in `commit.ts`):
 * every rank reads the current index and saves generation g + 1 under file names no committed index uses,
 * writes its shards and a record of them (size, CRC-64, tensors); rank 0 waits for every record (at most
 * `commitTimeoutMs`), checks every shard by HEAD against its record, and writes the index: the commit. The
 * other ranks resolve when they see it. A rank that dies before its record leaves no index behind, so the
 * previous checkpoint stays the one that loads; the next successful commit removes the leftovers.
 *
 * @example
 * ```ts
 * import { OssSafetensors, saveSafetensors } from "./mod.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * import { expect } from "expect";
 *
 * const server = await serveEmulator({ buckets: ["ckpt"] });
 * const opts = { endpoint: server.url, region: "cn-hangzhou", credentials: { accessKeyId: "id", accessKeySecret: "s" } };
 * // Two ranks of one job (here in one process), each saving its own tensors.
 * const ranks = [0, 1].map((rank) =>
 *   saveSafetensors("oss://ckpt/step-10/model.safetensors", {
 *     [`layer.${rank}.weight`]: { dtype: "F32", shape: [4], data: new Float32Array(4).fill(rank) },
 *   }, { ...opts, rank, worldSize: 2 })
 * );
 * const [committed] = await Promise.all(ranks); // every rank resolves once rank 0 has written the index
 * expect(committed.uri).toBe("oss://ckpt/step-10/model.safetensors.index.json");
 * const model = await OssSafetensors.open(committed.uri, opts);
 * expect([...(await model.get("layer.1.weight")).data]).toEqual([1, 1, 1, 1]);
 * await server.close();
 * ```
 *
 * @module
 */
export { type Dtype, DTYPE_BITS, isDtype, LITTLE_ENDIAN, type Tensor, type TensorArray } from "./dtypes.ts";
export { MAX_HEADER_BYTES, type TensorInfo } from "./header.ts";
export type { SafetensorsReadStats } from "./file.ts";
export {
  DEFAULT_HEADER_PROBE,
  DEFAULT_MAX_GAP,
  OssSafetensors,
  type OssSafetensorsOptions,
  type SafetensorsFileInfo,
  type SafetensorsReadOptions,
} from "./reader.ts";
export type { SafetensorsIndex } from "./sharded.ts";
export {
  DEFAULT_COMMIT_TIMEOUT_MS,
  DEFAULT_POLL_INTERVAL_MS,
  type SavedFile,
  saveSafetensors,
  type SaveSafetensorsOptions,
  type SaveSafetensorsResult,
  type TensorsToSave,
} from "./writer.ts";
