/**
 * Datasets over OSS: {@linkcode OssIterableDataset} (streamed) and {@linkcode OssMapDataset} (random access),
 * built from a prefix, a list of URIs, a manifest or a list of (presigned) URLs; their items
 * ({@linkcode DataObject}), manifests, sharding and seeded shuffling.
 *
 * @example
 * ```ts ignore
 * import { OssIterableDataset } from "./mod.ts";
 * const ds = OssIterableDataset.fromManifestFile("oss://my-bucket/train.jsonl", "jsonl", "oss://my-bucket/", {
 *   endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
 *   credPath: "/root/.alibabacloud/credentials",
 * });
 * for await (const item of ds) console.log(item.key, item.label, item.size);
 * ```
 *
 * @module
 */
export { DataObject, type DataObjectInit, type ObjectRef, TransformError } from "./item.ts";
export { type IterateOptions, OssIterableDataset } from "./iterable.ts";
export { OssMapDataset } from "./map.ts";
export {
  DEFAULT_MAX_LINE_LENGTH,
  detectManifestFormat,
  indexParser,
  jsonLinesParser,
  keyLabelParser,
  LineSplitStream,
  LineTooLongError,
  type ManifestEntry,
  ManifestError,
  type ManifestFormat,
  type ManifestParser,
  openManifest,
  readManifest,
} from "./manifest.ts";
export { type DatasetOptions, type ItemTransform } from "./options.ts";
export {
  dealList,
  type DealOptions,
  dealStream,
  distributedIndices,
  type EvenShards,
  resolveShard,
  type Shard,
  shardIndices,
  shardSize,
  StreamDealer,
} from "./shard.ts";
export { createRng, epochSeed, permutation, shuffleBuffer, type ShuffleOptions } from "./shuffle.ts";
export {
  type DatasetClient,
  type DatasetSource,
  manifestArgs,
  type ManifestDatasetOptions,
  manifestSource,
  objectsSource,
  prefixSource,
} from "./sources.ts";
export { UrlFetchClient, type UrlFetchOptions } from "./url_client.ts";
export { redactQuery, type UrlList, urlRef, type UrlRefOptions, urlsSource } from "./url_source.ts";
