/**
 * Options and result types of {@linkcode OssClient} (see `client.ts`).
 *
 * @module
 */
import type { Credentials, CredentialsProvider } from "./credentials.ts";
import type { Endpoint } from "./endpoint.ts";
import type { RetryEvent, RetryOptions } from "./retry.ts";

/**
 * How an {@linkcode OssClient} reaches its store.
 */
export interface OssClientOptions {
  /** `https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`, or a parsed endpoint. */
  endpoint: string | Endpoint;
  /**
   * Signing region; default: the one the endpoint names (`oss-<region>.aliyuncs.com`, `s3.<region>.amazonaws.com`),
   * else for local and custom hosts `cn-hangzhou` (OSS4) or `us-east-1` (SigV4); see `defaultRegion`. An OSS
   * endpoint that names no region (global acceleration, a bucket's own domain) needs it given.
   */
  region?: string;
  /** Credentials or a provider; omitted: requests are sent unsigned (anonymous). */
  credentials?: Credentials | CredentialsProvider;
  /** `"oss4"` (default): OSS4-HMAC-SHA256 and `x-oss-*` headers; `"s3v4"`: AWS SigV4 and `x-amz-*` headers. */
  signatureVersion?: "oss4" | "s3v4";
  /** Force path-style (`host/bucket/key`) or virtual-hosted URLs; default: path style for IPs and localhost. */
  pathStyle?: boolean;
  /** Retry policy; see {@linkcode RetryOptions} for the defaults. */
  retry?: RetryOptions;
  /**
   * The `fetch` to use; default `globalThis.fetch`. It is called with the URL and an init whose `headers` is a
   * plain record of lower-case names (signed, Authorization included), not a `Headers` object: read it with
   * `new Headers(init.headers)`.
   */
  fetch?: typeof fetch;
  /**
   * Per-attempt inactivity limit in ms (default 30 000): the longest wait for response headers (extended by
   * 1 s per MiB of request body; for a streamed body, of its `size` when given) or, while a body streams,
   * between two chunks. An attempt that exceeds it is
   * aborted and retried.
   */
  timeoutMs?: number;
}

/**
 * Options every operation accepts.
 */
export interface RequestOptions {
  /** Aborts the request, its retries and backoff sleeps, and (for `get`) the body stream. */
  signal?: AbortSignal;
  /**
   * Called before each retry of this request (after the client-wide `RetryOptions.onRetry`): tells, e.g., that
   * a non-idempotent request such as InitiateMultipartUpload may have taken effect more than once.
   */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * A byte range: `{ start, end }` (both inclusive; `end` omitted: to the end of the object) or the last `suffix`
 * bytes.
 */
export type ByteRange = { start: number; end?: number } | { suffix: number };

/**
 * Options of `get`.
 */
export interface GetOptions extends RequestOptions {
  /** Read only these bytes (a 206 response). */
  range?: ByteRange;
  /**
   * Read only if the object's ETag is this one (`If-Match`), e.g. the ETag an earlier read saw: an object
   * replaced since then rejects with an OssError `PreconditionFailed` (412) instead of mixing two versions.
   */
  ifMatch?: string;
}

/**
 * The response of `get`. The body resumes by itself (Range + If-Match) when the connection breaks.
 */
export interface GetObjectResult {
  /** The object bytes; cancel it if you stop reading early. */
  body: ReadableStream<Uint8Array>;
  /** 200, or 206 for a range. */
  status: number;
  /** Bytes in `body` (Content-Length); -1 when the server did not say. */
  size: number;
  /** Size of the whole object (from Content-Range for a range); -1 when unknown. */
  objectSize: number;
  /** ETag as the server sent it, quotes included. */
  etag: string;
  /** `x-oss-hash-crc64ecma` of the whole object, when sent. */
  crc64?: string;
  /** Content-Type of the object. */
  contentType?: string;
  /** Last-Modified of the object. */
  lastModified?: Date;
  /** The absolute inclusive byte range delivered, for a 206 response. */
  range?: { start: number; end: number };
  /** All response headers of the first response. */
  headers: Headers;
  /** `x-oss-request-id` / `x-amz-request-id` of the first response. */
  requestId?: string;
}

/**
 * The response of `getBytes`: what `get` reports, with the bytes instead of a stream.
 */
export interface GetBytesResult extends Omit<GetObjectResult, "body"> {
  /** The object bytes (or the bytes of the range). */
  bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Object metadata, from `head`.
 */
export interface ObjectMeta {
  /** Size in bytes. */
  size: number;
  /** ETag as the server sent it, quotes included. */
  etag: string;
  /** Last-Modified. */
  lastModified?: Date;
  /** `x-oss-hash-crc64ecma`, when sent. */
  crc64?: string;
  /** Content-Type. */
  contentType?: string;
  /** `x-oss-object-type`: `Normal`, `Appendable` or `Multipart`. */
  objectType?: string;
  /** `x-oss-next-append-position` of an appendable object. */
  nextAppendPosition?: number;
  /** Request id of the response. */
  requestId?: string;
}

/**
 * A request signed by {@linkcode OssClient.signRequest} for another context to send, e.g. a prefetch Web Worker:
 * everything `fetch` needs, and no secret (the signature is good for this one request, for 15 minutes).
 *
 * @example
 * ```ts
 * import type { SignedRequest } from "./client_types.ts";
 * const req: SignedRequest = { url: "http://127.0.0.1:9000/data/a.bin", headers: [["authorization", "OSS4-HMAC-SHA256 …"]] };
 * const init: RequestInit = { headers: req.headers }; // fetch(req.url, init)
 * ```
 */
export interface SignedRequest {
  /** The full URL. */
  url: string;
  /** Headers including Authorization (none for a client without credentials). */
  headers: [string, string][];
}

/**
 * A request body. Bytes, strings and Blobs are sent with a Content-Length and retried on failure. A
 * `ReadableStream` is one-shot, so by default it is first read into memory (and then retried like bytes); with
 * `{ stream: true }` it is sent as it arrives with chunked transfer encoding and never retried.
 */
export type PutBody = Uint8Array | string | Blob | ReadableStream<Uint8Array>;

/**
 * Options of `put`, `append` and `initiateMultipart`.
 */
export interface PutOptions extends RequestOptions {
  /** Content-Type of the object; default `application/octet-stream` (a Blob's own type, if it has one). */
  contentType?: string;
  /**
   * Send a `ReadableStream` body as it arrives (chunked transfer encoding) instead of buffering it; never
   * retried. OSS accepts chunked uploads; AWS S3 refuses them (501 NotImplemented) unless `size` is given.
   * Browsers cannot stream a request body over HTTP/1.1, so there the body is buffered anyway. Default false.
   */
  stream?: boolean;
  /**
   * The byte length of a `ReadableStream` body. A streamed body then goes with a `Content-Length` instead of
   * chunked transfer encoding, so that stores which refuse chunked bodies (AWS S3) take it, where the runtime's
   * `fetch` can send one (Deno, Node.js, Bun; elsewhere it still goes chunked). A stream that gives other than
   * `size` bytes fails the request with an `IntegrityError`; for other bodies `size` must be their length.
   */
  size?: number;
  /**
   * `Content-MD5` of the body (base64 of the 16-byte MD5), for a streamed body whose MD5 the caller knows.
   * `put` and `append` compute it themselves for every other body; the store then refuses a body that changed
   * on the way (`BadDigest`, sent again while attempts remain) before it replaces anything. A streamed body
   * without it is checked afterwards against the CRC-64 the store reports (an `IntegrityError` when they differ:
   * the object then holds other bytes than were sent).
   */
  contentMd5?: string;
}

/**
 * Options of `uploadPart`.
 */
export interface UploadPartOptions extends RequestOptions {
  /** As {@linkcode PutOptions.stream}. */
  stream?: boolean;
  /** As {@linkcode PutOptions.size}. */
  size?: number;
}

/**
 * The response of `put`, `uploadPart` and `completeMultipart`.
 */
export interface PutResult {
  /** ETag of the new object (or part), quotes included. */
  etag: string;
  /** `x-oss-hash-crc64ecma`, when sent. */
  crc64?: string;
  /** Request id of the response. */
  requestId?: string;
}

/**
 * The response of `append`.
 */
export interface AppendResult {
  /** Where the next append must start (`x-oss-next-append-position`). */
  nextPosition: number;
  /** `x-oss-hash-crc64ecma` of the whole object so far, when sent. */
  crc64?: string;
  /** Request id of the response. */
  requestId?: string;
}

/**
 * Options of `listPages` and `list` (ListObjectsV2).
 */
export interface ListOptions extends RequestOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Group keys up to the next delimiter (after the prefix) into `commonPrefixes`, e.g. `"/"`. */
  delimiter?: string;
  /** Only keys after this one (lexicographically). */
  startAfter?: string;
  /** Resume a listing from a page's `nextContinuationToken`. */
  continuationToken?: string;
  /** Keys (plus common prefixes) per page, 1..1000; default 1000. */
  maxKeys?: number;
}

/**
 * One object of a listing.
 */
export interface ObjectSummary {
  /** Object key (URL-decoded when the server URL-encoded it). */
  key: string;
  /** Size in bytes. */
  size: number;
  /** ETag, quotes included. */
  etag: string;
  /** Last-Modified. */
  lastModified: Date;
  /** Storage class, when reported. */
  storageClass?: string;
}

/**
 * One page of a listing.
 */
export interface ListPage {
  /** The objects of this page, in key order. */
  objects: ObjectSummary[];
  /** Common prefixes of this page (with a delimiter). */
  commonPrefixes: string[];
  /** Whether more pages follow. */
  isTruncated: boolean;
  /** The token for the next page, when truncated. */
  nextContinuationToken?: string;
}

/**
 * A part to assemble in `completeMultipart`.
 */
export interface CompletedPart {
  /** 1..10000. */
  partNumber: number;
  /** ETag returned by `uploadPart`. */
  etag: string;
}

/**
 * A part reported by `listParts`.
 */
export interface PartInfo {
  /** 1..10000. */
  partNumber: number;
  /** ETag of the part, quotes included. */
  etag: string;
  /** Size in bytes. */
  size: number;
  /** When the part was uploaded. */
  lastModified?: Date;
}

/**
 * An unfinished multipart upload reported by `listUploads`.
 */
export interface UploadInfo {
  /** Object key of the upload. */
  key: string;
  /** Upload id. */
  uploadId: string;
  /** When the upload was initiated. */
  initiated?: Date;
}

/**
 * Options of `listUploads`.
 */
export interface ListUploadsOptions extends RequestOptions {
  /** Only uploads whose key starts with this. */
  prefix?: string;
}
