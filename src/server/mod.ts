/**
 * The OSS-compatible local server: {@linkcode createEmulator} (a Hono app), {@linkcode serveEmulator}
 * (listening on 127.0.0.1), the object stores behind it and its fault injection; and the dataset preview app
 * ({@linkcode createPreviewApp}): list a prefix, preview objects, hand out presigned URLs to a browser page.
 *
 * @example
 * ```ts
 * import { serveEmulator } from "./mod.ts";
 * const server = await serveEmulator({ buckets: ["data"], faults: { latencyMs: 5 } });
 * const put = await fetch(`${server.url}/data/hello.txt`, { method: "PUT", body: "hi" });
 * await put.body?.cancel();
 * console.log(put.headers.get("x-oss-hash-crc64ecma") !== null); // true
 * await server.close();
 * ```
 *
 * @module
 */
export {
  type CorsOptions,
  createEmulator,
  type EmulatorBindings,
  type EmulatorEnv,
  type EmulatorOptions,
  type RunningEmulator,
  serveEmulator,
  type ServeEmulatorOptions,
} from "./emulator.ts";
export { EmulatorError, type EmulatorErrorInit } from "./emulator_error.ts";
export {
  createPreviewApp,
  type ObjectPreview,
  type PreviewAppOptions,
  type PreviewPresigner,
} from "./preview.ts";
export { EmulatorStats } from "./stats.ts";
export type { ApiForm } from "./xml_responses.ts";
export { FAULT_KINDS, FaultInjector, type FaultKind, type FaultOptions, type FaultPlan } from "./faults.ts";
export {
  BlobObjectStore,
  type BodyDigest,
  type BucketRecord,
  type ByteRange,
  type CompletePart,
  type CopyOptions,
  DirectoryStore,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListResult,
  MemoryStore,
  type ObjectHeaders,
  type ObjectMeta,
  type ObjectRecord,
  type ObjectStore,
  type ObjectType,
  type PartInfo,
  type PartRecord,
  type ReadBody,
  type Segment,
  type StoreBody,
  type StoreState,
  type UploadInfo,
  type UploadRecord,
  type WriteOptions,
} from "./store.ts";
