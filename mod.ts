/**
 * ossflow: stream machine-learning datasets and checkpoints from Alibaba Cloud OSS and S3-compatible stores
 * with Web Platform APIs only (fetch, Web Streams, WebCrypto, Web Workers).
 *
 * @example
 * ```ts
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
 * for await (const line of dataset) console.log(line); // train/0.bin: 1 bytes ...
 * await server.close();
 * ```
 *
 * The OSS-compatible local server lives in the `./server` export (`src/server/mod.ts`).
 *
 * @module
 */
export { ConfigError, IntegrityError, OssError, type OssErrorInit, SafetensorsError } from "./src/errors.ts";
export {
  formatUri,
  type ObjectUri,
  parsePrefixUri,
  parseUri,
  type ParseUriOptions,
  type UriScheme,
} from "./src/uri.ts";
export {
  defaultRegion,
  type Endpoint,
  objectUrl,
  parseEndpoint,
  type ParseEndpointOptions,
  regionFromEndpoint,
} from "./src/endpoint.ts";
export {
  chainCredentials,
  type Credentials,
  type CredentialsProvider,
  envCredentials,
  SafeCredentials,
  staticCredentials,
  toCredentialsProvider,
} from "./src/credentials.ts";
export {
  defaultCredentials,
  type DefaultCredentialsOptions,
  fileCredentials,
  type FileCredentialsOptions,
  loadCredentialFile,
  parseCredentialFile,
} from "./src/credential_file.ts";
export {
  type CheckpointConfig,
  configSchema,
  type DatasetConfig,
  defaultConfig,
  loadConfig,
  type LogLevel,
  type OssflowConfig,
  parseConfig,
  type ParseConfigOptions,
} from "./src/config.ts";
export {
  type Oss4PresignOptions,
  type Oss4SignOptions,
  presignOss4,
  type SignableRequest,
  signOss4,
} from "./src/signer/oss4.ts";
export { presignS3v4, type S3v4PresignOptions, type S3v4SignOptions, signS3v4 } from "./src/signer/s3v4.ts";
export { OssClient } from "./src/client.ts";
export {
  DEFAULT_PRESIGN_EXPIRES,
  type Presigner,
  type PresignOptions,
  presignUrl,
  resolvePresignOptions,
} from "./src/presign.ts";
export type {
  AppendResult,
  ByteRange,
  CompletedPart,
  GetBytesResult,
  GetObjectResult,
  GetOptions,
  ListOptions,
  ListPage,
  ListUploadsOptions,
  ObjectMeta,
  ObjectSummary,
  OssClientOptions,
  PartInfo,
  PutBody,
  PutOptions,
  PutResult,
  RequestOptions,
  SignedRequest,
  UploadInfo,
  UploadPartOptions,
} from "./src/client_types.ts";
export { DEFAULT_RETRY, type RetryEvent, type RetryOptions } from "./src/retry.ts";
export { Crc64, crc64, crc64Combine, Crc64Stream } from "./src/crc64.ts";
export { prefetch, type PrefetchContext, type PrefetchOptions } from "./src/prefetch.ts";
export {
  auditedFetch,
  AuditLog,
  type AuditRecord,
  Logger,
  type LogLevelName,
  type LogRecord,
  redact,
} from "./src/log.ts";
export {
  DataObject,
  type DatasetOptions,
  distributedIndices,
  type EvenShards,
  indexParser,
  type ItemTransform,
  type IterateOptions,
  jsonLinesParser,
  keyLabelParser,
  type ManifestDatasetOptions,
  type ManifestEntry,
  ManifestError,
  type ManifestFormat,
  type ManifestParser,
  type ObjectRef,
  OssIterableDataset,
  OssMapDataset,
  type ShuffleOptions,
  TransformError,
  UrlFetchClient,
  type UrlFetchOptions,
  type UrlList,
} from "./src/dataset/mod.ts";
export {
  type CheckpointReaderOptions,
  type CheckpointReaderStats,
  type CheckpointTarget,
  type CheckpointWriterOptions,
  type CheckpointWriterStats,
  DEFAULT_PART_SIZE,
  type KnownObject,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  OssCheckpoint,
  type OssCheckpointOptions,
  OssCheckpointReader,
  OssCheckpointWriter,
} from "./src/checkpoint/mod.ts";
export {
  DEFAULT_COMMIT_TIMEOUT_MS,
  DEFAULT_HEADER_PROBE,
  DEFAULT_MAX_GAP,
  DEFAULT_POLL_INTERVAL_MS,
  type Dtype,
  DTYPE_BITS,
  isDtype,
  LITTLE_ENDIAN,
  MAX_HEADER_BYTES,
  OssSafetensors,
  type OssSafetensorsOptions,
  type SafetensorsFileInfo,
  type SafetensorsIndex,
  type SafetensorsReadOptions,
  type SafetensorsReadStats,
  type SavedFile,
  saveSafetensors,
  type SaveSafetensorsOptions,
  type SaveSafetensorsResult,
  type Tensor,
  type TensorArray,
  type TensorInfo,
  type TensorsToSave,
} from "./src/safetensors/mod.ts";
