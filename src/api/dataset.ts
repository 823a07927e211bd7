/**
 * Dataset building blocks beyond the root export's `OssIterableDataset` and `OssMapDataset`: manifest parsers
 * and formats, object references, shuffling options, and the URL-list client.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { keyLabelParser } from "./dataset.ts";
 *
 * expect(keyLabelParser("cat/1.jpg cat", 1)).toMatchObject({ path: "cat/1.jpg", label: "cat" });
 * ```
 *
 * @module
 */
export type { ObjectRef } from "../dataset/item.ts";
export {
  indexParser,
  jsonLinesParser,
  keyLabelParser,
  type ManifestEntry,
  type ManifestFormat,
  type ManifestParser,
} from "../dataset/manifest.ts";
export type { ShuffleOptions } from "../dataset/shuffle.ts";
export { type DealOptions, distributedIndices, type EvenShards, type Shard } from "../dataset/shard.ts";
export type { DatasetClient } from "../dataset/sources.ts";
export { UrlFetchClient, type UrlFetchOptions } from "../dataset/url_client.ts";
export type { UrlList } from "../dataset/url_source.ts";
export { snapshotLine, type SnapshotResult, writeSnapshot } from "../dataset/snapshot.ts";
export type { PassState } from "../dataset/iterable.ts";
