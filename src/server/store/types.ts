/**
 * The storage interface behind the local server, and the name rules every backend enforces.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";

/**
 * How an object was written: OSS reports it as `x-oss-object-type`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ObjectType } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const type: ObjectType = (await store.append("data", "log.txt", 0, new Uint8Array([1]))).objectType;
 * expect(type).toEqual("Appendable");
 * ```
 */
export type ObjectType = "Normal" | "Appendable" | "Multipart";

/**
 * Standard HTTP headers stored with an object and returned on GET and HEAD, by lower-case name: what a
 * client sent as `Cache-Control`, `Content-Disposition`, `Content-Encoding`, `Content-Language` and
 * `Expires` on PutObject, InitiateMultipartUpload, AppendObject or CopyObject with `REPLACE`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ObjectHeaders } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const headers: ObjectHeaders = { "cache-control": "max-age=60", "content-language": "en" };
 * expect((await store.put("data", "a.txt", new Uint8Array(1), { headers })).headers).toEqual(headers);
 * ```
 */
export type ObjectHeaders = Partial<
  Record<
    "cache-control" | "content-disposition" | "content-encoding" | "content-language" | "expires",
    string
  >
>;

/**
 * Metadata of a committed object.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ObjectMeta } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const meta: ObjectMeta = await store.put("data", "a.txt", new TextEncoder().encode("hi"));
 * expect([meta.size, meta.etag, meta.objectType]).toEqual([2, "49f68a5c8493ec2c0bf489821c21fc3b", "Normal"]);
 * ```
 */
export interface ObjectMeta {
  /** Object key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** ETag without quotes: MD5 hex for a simple PUT, `<md5 of part md5s>-<parts>` for a multipart upload. */
  etag: string;
  /** CRC-64/XZ of the content as a decimal string (`x-oss-hash-crc64ecma`). */
  crc64: string;
  /** Last modification time, epoch milliseconds. */
  lastModified: number;
  /** `Content-Type` given at upload. */
  contentType: string;
  /** `Normal`, `Appendable` or `Multipart`. */
  objectType: ObjectType;
  /** User metadata: lower-case names without the `x-oss-meta-` / `x-amz-meta-` prefix. */
  userMeta: Record<string, string>;
  /** Standard headers stored with the object; absent when none were given. */
  headers?: ObjectHeaders;
}

/**
 * Digests of an uploaded body, handed to {@linkcode WriteOptions.verify} before the write commits.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { BodyDigest } from "./types.ts";
 * const store = new MemoryStore(), seen: BodyDigest[] = [];
 * await store.createBucket("data");
 * await store.put("data", "a.txt", new TextEncoder().encode("hi"), { verify: (d) => void seen.push(d) });
 * expect(seen[0]).toEqual({ size: 2, md5: "49f68a5c8493ec2c0bf489821c21fc3b", crc64: "5234813050979658238" });
 * ```
 */
export interface BodyDigest {
  /** Bytes received. */
  size: number;
  /** MD5 of the body, hex. */
  md5: string;
  /** CRC-64/XZ of the body, decimal. */
  crc64: string;
}

/**
 * Options of a write (PUT, append, part upload, multipart initiate).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { WriteOptions } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const opts: WriteOptions = { contentType: "text/plain", userMeta: { owner: "ml" } };
 * expect((await store.put("data", "a.txt", new Uint8Array(2), opts)).userMeta).toEqual({ owner: "ml" });
 * ```
 */
export interface WriteOptions {
  /** Content type recorded with the object; default `application/octet-stream`. */
  contentType?: string;
  /** User metadata (names without prefix). */
  userMeta?: Record<string, string>;
  /** Standard headers to store with the object. */
  headers?: ObjectHeaders;
  /** Runs after the body was received and before it becomes visible; throwing aborts the write. */
  verify?: (digest: BodyDigest) => void | Promise<void>;
}

/**
 * Options of {@linkcode ObjectStore.copy}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { CopyOptions } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "a", new Uint8Array(1), { userMeta: { v: "1" } });
 * const opts: CopyOptions = { metadata: { contentType: "text/plain", userMeta: { v: "2" } } };
 * expect((await store.copy({ bucket: "data", key: "a" }, { bucket: "data", key: "b" }, opts)).userMeta).toEqual({ v: "2" });
 * ```
 */
export interface CopyOptions {
  /** The copy's metadata (CopyObject with `REPLACE`); absent: the source's metadata is kept (`COPY`). */
  metadata?: Pick<WriteOptions, "contentType" | "userMeta" | "headers">;
  /** Runs against the source's metadata before anything is copied (copy-source conditions); may throw. */
  check?: (source: ObjectMeta) => void;
}

/**
 * A byte range as parsed from a `Range: bytes=` header.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveRange } from "./records.ts";
 * import type { ByteRange } from "./types.ts";
 * const range: ByteRange = { start: 2 }; // "Range: bytes=2-"
 * expect(resolveRange(range, 10, {})).toEqual({ start: 2, end: 9 });
 * ```
 */
export type ByteRange =
  | { start: number; end?: number /* inclusive; open when absent */ }
  | { suffix: number /* the last N bytes */ };

/**
 * Options of {@linkcode ObjectStore.get}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { GetOptions } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "k", new Uint8Array([1, 2, 3]));
 * const opts: GetOptions = { range: { suffix: 2 } };
 * expect((await store.get("data", "k", opts)).range).toEqual({ start: 1, end: 2 });
 * ```
 */
export interface GetOptions {
  /** Requested range; unsatisfiable ranges throw `InvalidRange`. */
  range?: ByteRange;
  /** Runs against the metadata before the body is opened (conditional requests); may throw. */
  check?: (meta: ObjectMeta) => void;
}

/**
 * The result of {@linkcode ObjectStore.get}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { GetResult } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * await store.put("data", "k", new Uint8Array([1, 2, 3]));
 * const res: GetResult = await store.get("data", "k");
 * expect([res.meta.size, await new Response(res.body).bytes()]).toEqual([3, new Uint8Array([1, 2, 3])]);
 * ```
 */
export interface GetResult {
  /** Metadata of the object read. */
  meta: ObjectMeta;
  /**
   * The requested bytes: a byte array for small reads (up to 256 KiB, read at once so HTTP servers can send
   * them without streaming), a stream otherwise (cancel it if unread).
   */
  body: ReadBody;
  /** The inclusive byte range delivered when a range was requested. */
  range?: { start: number; end: number };
}

/**
 * Options of {@linkcode ObjectStore.list}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ListOptions } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * for (const key of ["a/1", "a/2", "b"]) await store.put("data", key, new Uint8Array());
 * const opts: ListOptions = { delimiter: "/", maxKeys: 100 };
 * expect((await store.list("data", opts)).commonPrefixes).toEqual(["a/"]);
 * ```
 */
export interface ListOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys (and common prefixes) sorting strictly after this. */
  startAfter?: string;
  /** Groups keys sharing the text up to the first delimiter after the prefix into common prefixes. */
  delimiter?: string;
  /** Maximum entries (objects plus common prefixes) returned. */
  maxKeys: number;
}

/**
 * One page of a listing.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ListResult } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * for (const key of ["a", "b"]) await store.put("data", key, new Uint8Array());
 * const page: ListResult = await store.list("data", { maxKeys: 1 });
 * expect([page.objects.length, page.isTruncated, page.nextMarker]).toEqual([1, true, "a"]);
 * ```
 */
export interface ListResult {
  /** Objects in key order. */
  objects: ObjectMeta[];
  /** Common prefixes in order. */
  commonPrefixes: string[];
  /** Whether more entries follow. */
  isTruncated: boolean;
  /** The last key or common prefix returned: the marker of the next page. */
  nextMarker?: string;
}

/**
 * A multipart upload in progress.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { UploadInfo } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const up: UploadInfo = await store.createUpload("data", "big.bin");
 * expect([up.bucket, up.key, (await store.listUploads("data")).length]).toEqual(["data", "big.bin", 1]);
 * ```
 */
export interface UploadInfo {
  /** Upload id. */
  uploadId: string;
  /** Bucket. */
  bucket: string;
  /** Object key. */
  key: string;
  /** Initiation time, epoch milliseconds. */
  initiated: number;
}

/**
 * An uploaded part.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { PartInfo } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const { uploadId } = await store.createUpload("data", "big.bin");
 * const part: PartInfo = await store.uploadPart("data", "big.bin", uploadId, 1, new TextEncoder().encode("hi"));
 * expect([part.partNumber, part.size, part.etag]).toEqual([1, 2, "49f68a5c8493ec2c0bf489821c21fc3b"]);
 * ```
 */
export interface PartInfo {
  /** Part number, 1..10000. */
  partNumber: number;
  /** MD5 hex of the part, without quotes. */
  etag: string;
  /** Size in bytes. */
  size: number;
  /** CRC-64/XZ of the part, decimal. */
  crc64: string;
  /** Upload time, epoch milliseconds. */
  lastModified: number;
}

/**
 * A part named in a CompleteMultipartUpload request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { CompletePart } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const { uploadId } = await store.createUpload("data", "big.bin");
 * const { etag } = await store.uploadPart("data", "big.bin", uploadId, 1, new TextEncoder().encode("hi"));
 * const parts: CompletePart[] = [{ partNumber: 1, etag: `"${etag}"` }];
 * expect((await store.completeUpload("data", "big.bin", uploadId, parts)).objectType).toEqual("Multipart");
 * ```
 */
export interface CompletePart {
  /** Part number. */
  partNumber: number;
  /** ETag as the client sent it (quotes optional). */
  etag: string;
}

/**
 * Body returned by reads: a stream, or one byte array for small reads.
 */
export type ReadBody = ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer>;

/**
 * Request body accepted by writes.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { StoreBody } from "./types.ts";
 * const store = new MemoryStore();
 * await store.createBucket("data");
 * const body: StoreBody = new Blob(["hello"]).stream();
 * expect((await store.put("data", "a.txt", body)).size).toEqual(5);
 * ```
 */
export type StoreBody = ReadableStream<Uint8Array> | Uint8Array;

/**
 * Object storage behind the emulator. Every write stages its body and commits atomically: a reader sees
 * the old object or the new one, never a partial one. Errors are {@linkcode EmulatorError}s.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { MemoryStore } from "./memory.ts";
 * import type { ObjectStore } from "./types.ts";
 * const store: ObjectStore = new MemoryStore();
 * await store.createBucket("data");
 * expect([await store.hasBucket("data"), await store.delete("data", "missing")]).toEqual([true, false]);
 * ```
 */
export interface ObjectStore {
  /** Creates a bucket; no-op when it exists. */
  createBucket(bucket: string): Promise<void>;
  /** Deletes an empty bucket (`BucketNotEmpty` otherwise, `NoSuchBucket` if absent). */
  deleteBucket(bucket: string): Promise<void>;
  /** Whether the bucket exists. */
  hasBucket(bucket: string): Promise<boolean>;
  /** All buckets with their creation time (epoch ms). */
  listBuckets(): Promise<{ name: string; created: number }[]>;
  /** Metadata of an object, undefined when absent (`NoSuchBucket` when the bucket is absent). */
  head(bucket: string, key: string): Promise<ObjectMeta | undefined>;
  /** Reads an object or a range of it (`NoSuchKey`, `InvalidRange`). */
  get(bucket: string, key: string, opts?: GetOptions): Promise<GetResult>;
  /** Writes an object; visible once the returned promise resolves. */
  put(bucket: string, key: string, body: StoreBody, opts?: WriteOptions): Promise<ObjectMeta>;
  /** Appends at `position` (must equal the current size; 0 creates an appendable object). */
  append(
    bucket: string,
    key: string,
    position: number,
    body: StoreBody,
    opts?: WriteOptions,
  ): Promise<ObjectMeta>;
  /** Copies an object, keeping its metadata unless `opts.metadata` replaces it. */
  copy(
    src: { bucket: string; key: string },
    dst: { bucket: string; key: string },
    opts?: CopyOptions,
  ): Promise<ObjectMeta>;
  /** Deletes an object; resolves false when it did not exist. */
  delete(bucket: string, key: string): Promise<boolean>;
  /** Lists objects in key order (UTF-8 byte order). */
  list(bucket: string, opts: ListOptions): Promise<ListResult>;
  /** Starts a multipart upload. */
  createUpload(bucket: string, key: string, opts?: WriteOptions): Promise<UploadInfo>;
  /** Uploads (or replaces) a part (`NoSuchUpload`). */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: StoreBody,
    opts?: WriteOptions,
  ): Promise<PartInfo>;
  /** Parts uploaded so far, by part number. */
  listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]>;
  /** Assembles the named parts into the object (`InvalidPart`, `InvalidPartOrder`, `EntityTooSmall`). */
  completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
    opts?: { minPartSize?: number },
  ): Promise<ObjectMeta>;
  /** Discards an upload and its parts (`NoSuchUpload`). */
  abortUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  /** Uploads in progress in a bucket, by key then initiation. */
  listUploads(bucket: string, opts?: { prefix?: string }): Promise<UploadInfo[]>;
  /** Releases resources (open files, timers). */
  close(): Promise<void>;
}

const OSS_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const S3_BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Throws `InvalidBucketName` unless `name` is a valid bucket name under the rules of `service`: OSS allows
 * 3-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit; S3 (the default, what
 * the stores accept) also allows "." except two in a row and names shaped like an IP address.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { validateBucketName } from "./types.ts";
 * validateBucketName("my-bucket");
 * validateBucketName("logs.example.com"); // an S3 name
 * try {
 *   validateBucketName("logs.example.com", "oss");
 * } catch (err) {
 *   expect((err as { code: string }).code).toEqual("InvalidBucketName");
 * }
 * ```
 */
export function validateBucketName(name: string, service: "oss" | "s3" = "s3"): void {
  const ok = service === "oss"
    ? OSS_BUCKET_NAME.test(name)
    : S3_BUCKET_NAME.test(name) && !name.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!ok) {
    const rule = service === "oss"
      ? 'expected 3-63 characters of a-z, 0-9 and "-" (no "."), starting and ending with a letter or digit'
      : 'expected 3-63 characters of a-z, 0-9, "-" and ".", starting and ending with a letter or digit, no ".." and not an IP address';
    throw new EmulatorError("InvalidBucketName", `The bucket name is invalid: ${rule}.`, { bucket: name });
  }
}

const encoder = new TextEncoder();

/**
 * Throws `InvalidObjectName` unless `key` is a safe object key: 1-1023 UTF-8 bytes, no NUL, no leading
 * "/" or "\", and no "." or ".." segment (segments split at "/" and "\").
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { validateKey } from "./types.ts";
 * expect(() => validateKey("images/0001.jpg")).not.toThrow();
 * expect(() => validateKey("")).toThrow();
 * ```
 */
export function validateKey(key: string): void {
  let why: string | undefined;
  if (key.length === 0) why = "the key is empty";
  else if (key.length > 341 && encoder.encode(key).length > 1023) why = "the key is longer than 1023 bytes";
  else if (key.includes("\0")) why = "the key contains a NUL character";
  else if (key[0] === "/" || key[0] === "\\") why = 'the key starts with "/" or "\\"';
  else if (/(?:^|[/\\])\.\.?(?:[/\\]|$)/.test(key)) why = 'the key has a "." or ".." segment';
  if (why) throw new EmulatorError("InvalidObjectName", `The object name is invalid: ${why}.`, { key });
}

export { compareKeys } from "../../key_order.ts";
