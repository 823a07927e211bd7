/**
 * Tar shards (WebDataset) beyond the root export's `OssIterableDataset.fromShards` / `fromTar` and
 * `OssMapDataset.fromTar`: the sample and option types, shard patterns, the tar reader and its errors, the tar
 * index (format, `buildTarIndex`), and the writers (`writeTar`, `ShardWriter`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { expandBraces, memberKey } from "./shards.ts";
 *
 * expect(expandBraces("oss://b01/train/shard-{000..002}.tar")).toHaveLength(3);
 * expect(memberKey("train/0001.seg.png")).toEqual({ key: "train/0001", ext: "seg.png" });
 * ```
 *
 * @module
 */
export { TarError } from "../tar/error.ts";
export { readTar, type ReadTarOptions, type TarMember } from "../tar/reader.ts";
export type { MemberPlacement } from "../tar/layout.ts";
export { DEFAULT_PREFETCH_SHARDS, type ShardDatasetOptions } from "../dataset/shard_dataset.ts";
export type { ShardCursor } from "../dataset/shard_cursor.ts";
export type { ShardStreamState } from "../dataset/shard_stream.ts";
export { expandBraces, type ShardSpec } from "../dataset/shard_list.ts";
export { memberKey, SampleError, type ShardSample } from "../dataset/shard_samples.ts";
export {
  formatTarIndex,
  parseTarIndex,
  TAR_INDEX_FORMAT,
  type TarIndex,
  type TarIndexEntry,
} from "../tar/index_format.ts";
export { TarPacker } from "../tar/writer.ts";
export {
  defaultIndexUri,
  type MemberData,
  ShardWriter,
  type ShardWriterOptions,
  type TarWriteOptions,
  type WritableSample,
  writeTar,
  type WrittenTar,
} from "../dataset/tar_write.ts";
export { buildTarIndex, readTarIndex } from "../dataset/tar_source.ts";
