/**
 * Tar shards (WebDataset) beyond the root export's `OssIterableDataset.fromShards`: the sample and option types,
 * shard patterns, the tar reader and its errors.
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
export { expandBraces, type ShardSpec } from "../dataset/shard_list.ts";
export { memberKey, SampleError, type ShardSample } from "../dataset/shard_samples.ts";
