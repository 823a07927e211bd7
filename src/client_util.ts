/**
 * Argument checks and response-header readers shared by the operations of `client.ts`. Internal.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";
import { IntegrityError } from "./errors.ts";
import type { ByteRange, ObjectMeta, PutBody } from "./client_types.ts";

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || v === undefined || typeof v === "number") return String(v);
  return Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

/** Throws a TypeError naming `op` and `bucket` unless it is a non-empty string without `/`. */
export function checkBucket(op: string, bucket: unknown): asserts bucket is string {
  if (typeof bucket !== "string" || bucket === "" || bucket.includes("/")) {
    throw new TypeError(
      `OssClient.${op}: bucket: expected a non-empty bucket name without "/", got ${show(bucket)}`,
    );
  }
}

/** Checks a bucket and a non-empty key (`name` is the argument's name, e.g. `srcKey`). */
export function checkObject(op: string, bucket: unknown, key: unknown, name = "key"): asserts key is string {
  checkBucket(op, bucket);
  if (typeof key !== "string" || key === "") {
    throw new TypeError(`OssClient.${op}: ${name}: expected a non-empty object key, got ${show(key)}`);
  }
}

/** Throws a RangeError unless `v` is an integer in `min..max`. */
export function checkInt(
  op: string,
  name: string,
  v: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const bound = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`OssClient.${op}: ${name}: expected an integer ${bound}, got ${show(v)}`);
  }
  return v;
}

/** Throws a TypeError unless `v` is undefined or a string. */
export function checkOptionalString(op: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== "string") {
    throw new TypeError(`OssClient.${op}: ${name}: expected a string, got ${show(v)}`);
  }
}

/** Checks a non-empty upload id. */
export function checkUploadId(op: string, uploadId: unknown): asserts uploadId is string {
  if (typeof uploadId !== "string" || uploadId === "") {
    throw new TypeError(
      `OssClient.${op}: uploadId: expected the non-empty id from initiateMultipart, got ${show(uploadId)}`,
    );
  }
}

/** Throws a TypeError unless `md5` is a `Content-MD5` value: base64 of 16 bytes. */
export function checkContentMd5(op: string, md5: unknown): void {
  if (typeof md5 !== "string" || !/^[A-Za-z0-9+/]{22}==$/.test(md5)) {
    throw new TypeError(
      `OssClient.${op}: contentMd5: expected the base64 of a 16-byte MD5 (24 characters ending in "=="), got ${
        show(md5)
      }`,
    );
  }
}

/** The `Range` header value for `range`, after checking it. */
export function rangeHeader(op: string, range: ByteRange): string {
  if (range === null || typeof range !== "object") {
    throw new TypeError(`OssClient.${op}: range: expected { start, end? } or { suffix }, got ${show(range)}`);
  }
  if ("suffix" in range) {
    return `bytes=-${checkInt(op, "range.suffix", range.suffix, 1)}`;
  }
  const start = checkInt(op, "range.start", range.start, 0);
  if (range.end === undefined) return `bytes=${start}-`;
  const end = checkInt(op, "range.end", range.end, 0);
  if (end < start) {
    throw new RangeError(
      `OssClient.${op}: range: expected start <= end (end is inclusive), got ${start} > ${end}`,
    );
  }
  return `bytes=${start}-${end}`;
}

const encoder = new TextEncoder();

/**
 * A request body ready for `fetch`: strings become bytes, a ReadableStream is read into memory unless `stream`.
 * With `size`, a body that is not a stream must have that length (a stream is held to it when it is sent).
 */
export async function toBody(
  op: string,
  body: PutBody,
  stream: boolean | undefined,
  signal: AbortSignal | undefined,
  size?: number,
): Promise<Uint8Array | Blob | ReadableStream<Uint8Array>> {
  if (size !== undefined) checkInt(op, "size", size, 0);
  const data = await bodyData(op, body, stream, signal);
  if (size === undefined || data instanceof ReadableStream) return data;
  const length = data instanceof Blob ? data.size : data.byteLength;
  if (length === size) return data;
  if (body instanceof ReadableStream) {
    throw new IntegrityError(`OssClient.${op}: body: the stream gave ${length} bytes, its size is ${size}`, {
      expected: String(size),
      actual: String(length),
    });
  }
  throw new RangeError(`OssClient.${op}: size: expected the body's length, ${length}, got ${size}`);
}

async function bodyData(
  op: string,
  body: PutBody,
  stream: boolean | undefined,
  signal: AbortSignal | undefined,
): Promise<Uint8Array | Blob | ReadableStream<Uint8Array>> {
  if (body instanceof Uint8Array || body instanceof Blob) return body;
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof ReadableStream) {
    return stream && requestStreamsWork() ? body : await collect(body, signal);
  }
  throw new TypeError(
    `OssClient.${op}: body: expected a Uint8Array, string, Blob or ReadableStream<Uint8Array>, got ${
      show(body)
    }`,
  );
}

/**
 * Whether this runtime's `fetch` can send a `ReadableStream` request body over HTTP/1.1: Deno, Node, Bun and
 * Cloudflare workerd can; browsers cannot (Chromium streams request bodies only over HTTP/2 and fails with
 * `ERR_ALPN_NEGOTIATION_FAILED` otherwise; Firefox and Safari do not stream them at all), so streamed bodies are
 * buffered there.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { requestStreamsWork } from "./client_util.ts";
 * expect(requestStreamsWork()).toBe(true); // in Deno; false in browsers over HTTP/1.1
 * ```
 */
export function requestStreamsWork(): boolean {
  const g = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: string } };
    navigator?: { userAgent?: string };
  };
  return g.Deno !== undefined || g.Bun !== undefined || g.process?.versions?.node !== undefined ||
    g.navigator?.userAgent === "Cloudflare-Workers";
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  }
  return concatBytes(chunks, size);
}

/** `/bucket/key` for `x-oss-copy-source` / `x-amz-copy-source`, the key percent-encoded with `/` kept. */
export function copySource(bucket: string, key: string): string {
  return `/${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** `x-oss-request-id`, else `x-amz-request-id`. */
export function requestIdOf(h: Headers): string | undefined {
  return h.get("x-oss-request-id") ?? h.get("x-amz-request-id") ?? undefined;
}

/** A non-negative integer header, else -1. */
export function intHeader(h: Headers, name: string): number {
  const v = h.get(name);
  if (v === null || v === "") return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/** The metadata of a HEAD (or GET) response. */
export function metaOf(h: Headers): ObjectMeta {
  const meta: ObjectMeta = { size: intHeader(h, "content-length"), etag: h.get("etag") ?? "" };
  const lm = h.get("last-modified");
  if (lm) meta.lastModified = new Date(lm);
  const crc = h.get("x-oss-hash-crc64ecma");
  if (crc) meta.crc64 = crc;
  const type = h.get("content-type");
  if (type) meta.contentType = type;
  const objectType = h.get("x-oss-object-type");
  if (objectType) meta.objectType = objectType;
  const next = intHeader(h, "x-oss-next-append-position");
  if (next >= 0) meta.nextAppendPosition = next;
  const rid = requestIdOf(h);
  if (rid) meta.requestId = rid;
  return meta;
}
