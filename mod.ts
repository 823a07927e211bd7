/**
 * ossflow: stream machine-learning datasets and checkpoints from Alibaba Cloud OSS and S3-compatible stores
 * with Web Platform APIs only (fetch, Web Streams, WebCrypto, Web Workers).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient, OssIterableDataset } from "./mod.ts";
 * import { serveEmulator } from "./src/server/mod.ts";
 *
 * const server = await serveEmulator({ buckets: ["demo"] }); // or a real endpoint: "oss-cn-hangzhou.aliyuncs.com"
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou" });
 * for (let i = 0; i < 3; i++) await client.put("demo", `train/${i}.bin`, new Uint8Array(i + 1));
 * const dataset = OssIterableDataset.fromPrefix("oss://demo/train/", {
 *   client,
 *   transform: async (item) => `${item.key}: ${(await item.bytes()).length} bytes`,
 * });
 * const lines = await Array.fromAsync(dataset);
 * expect(lines).toEqual(["train/0.bin: 1 bytes", "train/1.bin: 2 bytes", "train/2.bin: 3 bytes"]);
 * await server.close();
 * ```
 *
 * This root export carries what the README uses: the client, the datasets, the checkpoint and safetensors
 * classes, presigning, credentials, config loading, the errors, and their option and result types. The rest
 * lives at named subpaths: `./client` (the client's other types, retry policy), `./dataset` (manifest parsers,
 * URL lists), `./checkpoint` and `./safetensors` (bounds, statistics, dtypes), `./config` (config parsing,
 * credential files, URIs, endpoints), `./signer` (OSS V4 and SigV4 signing), `./crc64`, `./prefetch`, `./log`;
 * the local server is `./server` and its object stores `./server/store`.
 *
 * @module
 */
export { ConfigError, IntegrityError, OssError, OssflowError, SafetensorsError } from "./src/errors.ts";
export { ManifestError } from "./src/dataset/manifest.ts";
export { DataObject, TransformError } from "./src/dataset/item.ts";
export { OssClient } from "./src/client.ts";
export type {
  GetObjectResult,
  ObjectMeta,
  ObjectSummary,
  OssClientOptions,
  PutOptions,
  PutResult,
} from "./src/client_types.ts";
export type { RetryOptions } from "./src/retry.ts";
export { type PresignOptions, presignUrl } from "./src/presign.ts";
export {
  chainCredentials,
  type Credentials,
  type CredentialsProvider,
  envCredentials,
  staticCredentials,
} from "./src/credentials.ts";
export { defaultCredentials, fileCredentials } from "./src/credential_file.ts";
export { loadConfig, type OssflowConfig } from "./src/config.ts";
export { type IterateOptions, OssIterableDataset } from "./src/dataset/iterable.ts";
export { OssMapDataset } from "./src/dataset/map.ts";
export type { DatasetOptions, ItemTransform } from "./src/dataset/options.ts";
export {
  type CheckpointReaderOptions,
  type CheckpointTarget,
  type CheckpointWriterOptions,
  OssCheckpoint,
  type OssCheckpointOptions,
  OssCheckpointReader,
  OssCheckpointWriter,
} from "./src/checkpoint/mod.ts";
export { OssSafetensors, type OssSafetensorsOptions } from "./src/safetensors/reader.ts";
export { saveSafetensors, type SaveSafetensorsOptions } from "./src/safetensors/writer.ts";
export type { Tensor } from "./src/safetensors/dtypes.ts";
