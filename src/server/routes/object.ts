/**
 * Object operations: GetObject, HeadObject, PutObject, CopyObject, AppendObject, DeleteObject.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import {
  bucketOf,
  buffered,
  empty,
  type EmulatorContext,
  type EmulatorRuntime,
  keyOf,
  query,
  xml,
} from "../context.ts";
import {
  checkConditions,
  copySourceCondition,
  copySourceHeader,
  formHeader,
  objectHeaders,
  parseCopySource,
  parseRange,
  standardHeadersFrom,
  userMetaFrom,
} from "./object_headers.ts";
import { requestBody } from "../http/request_body.ts";
import { isAwsChunked } from "../http/aws_chunked.ts";
import { validateBucketName, type WriteOptions } from "../store/types.ts";
import { copyResultXml } from "./xml_responses.ts";

/** Headers that make an S3 copy of an object onto itself a change (S3 refuses a self-copy without one). */
const S3_COPY_CHANGES = [
  "x-amz-storage-class",
  "x-amz-website-redirect-location",
  "x-amz-server-side-encryption",
  "x-amz-server-side-encryption-customer-algorithm",
];

/** A route handler. */
export type Route = (c: EmulatorContext) => Promise<Response>;

const RESPONSE_OVERRIDES = [
  "content-type",
  "content-language",
  "expires",
  "cache-control",
  "content-disposition",
  "content-encoding",
];

/** Creates a bucket named under the rules of the request's form (OSS refuses "." in names, S3 allows it). */
export async function createBucket(rt: EmulatorRuntime, c: EmulatorContext): Promise<void> {
  validateBucketName(bucketOf(c), c.get("form"));
  await rt.store.createBucket(bucketOf(c));
}

/** Creates the addressed bucket on first write when the server auto-creates buckets. */
export async function ensureBucket(rt: EmulatorRuntime, c: EmulatorContext): Promise<void> {
  if (rt.autoCreateBuckets && !(await rt.store.hasBucket(bucketOf(c)))) await createBucket(rt, c);
}

/** The metadata a write request sets: content type, user metadata and standard headers. */
export function writeMetadataFrom(h: Headers): Pick<WriteOptions, "contentType" | "userMeta" | "headers"> {
  return {
    contentType: h.get("content-type") ?? undefined,
    userMeta: userMetaFrom(h),
    headers: standardHeadersFrom(h),
  };
}

/**
 * Request body prepared with the server's limits. In the S3 form a chunked body (not `aws-chunked`) is refused
 * as AWS S3 refuses it: 501 NotImplemented, naming the `Transfer-Encoding` header.
 */
export function bodyOf(rt: EmulatorRuntime, c: EmulatorContext): ReturnType<typeof requestBody> {
  const h = c.req.raw.headers;
  if (c.get("form") === "s3" && /chunked/i.test(h.get("transfer-encoding") ?? "") && !isAwsChunked(h)) {
    throw new EmulatorError(
      "NotImplemented",
      "A header you provided implies functionality that is not implemented: Transfer-Encoding",
    );
  }
  return requestBody(c.req.raw, {
    maxBodyBytes: rt.maxBodyBytes,
    bytesPerSec: c.get("plan")?.bytesPerSec,
    onBytes: (n) => (rt.stats.bytesReceived += n),
    signal: rt.signal,
  });
}

/** Headers answering a write: ETag, CRC-64 and (for simple objects) Content-MD5. */
export function writeHeaders(meta: { etag: string; crc64: string }): Record<string, string> {
  const h: Record<string, string> = { "etag": `"${meta.etag}"`, "x-oss-hash-crc64ecma": meta.crc64 };
  if (/^[0-9a-f]{32}$/.test(meta.etag)) h["content-md5"] = btoa(String.fromCharCode(...hexBytes(meta.etag)));
  return h;
}

function hexBytes(hex: string): number[] {
  return Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

/**
 * Handlers of the object operations.
 *
 * @example
 * ```ts ignore
 * const routes = objectRoutes(runtime);
 * return await routes.GetObject(c);
 * ```
 */
export function objectRoutes(rt: EmulatorRuntime): Record<string, Route> {
  return {
    async GetObject(c) {
      const h = c.req.raw.headers;
      const r = await rt.store.get(bucketOf(c), keyOf(c), {
        range: parseRange(h.get("range")),
        check: (meta) => checkConditions(meta, (name) => h.get(name)),
      });
      const headers = objectHeaders(c.get("form"), r.meta);
      if (c.get("url").search.length > 1) {
        for (const name of RESPONSE_OVERRIDES) {
          const v = query(c, `response-${name}`);
          if (v !== undefined) headers.set(name, v);
        }
      }
      let status = 200;
      if (r.range) {
        const { start, end } = r.range;
        headers.set("content-range", `bytes ${start}-${end}/${r.meta.size}`);
        status = 206;
      }
      headers.set("content-length", String(r.range ? r.range.end - r.range.start + 1 : r.meta.size));
      // A byte array (small reads) lets the HTTP server send the body natively.
      const res = new Response(r.body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, {
        status,
        headers,
      });
      return r.body instanceof Uint8Array ? buffered(res) : res;
    },

    async HeadObject(c) {
      const meta = await rt.store.head(bucketOf(c), keyOf(c));
      if (!meta) {
        throw new EmulatorError("NoSuchKey", "The specified key does not exist.", {
          bucket: bucketOf(c),
          key: keyOf(c),
        });
      }
      checkConditions(meta, (name) => c.req.raw.headers.get(name));
      const headers = objectHeaders(c.get("form"), meta);
      headers.set("content-length", String(meta.size));
      return buffered(new Response(null, { status: 200, headers }));
    },

    async PutObject(c) {
      const bucket = bucketOf(c), key = keyOf(c), h = c.req.raw.headers;
      await ensureBucket(rt, c);
      const noOverwrite = formHeader(h, c.get("form"), "forbid-overwrite") === "true";
      if ((noOverwrite || h.get("if-none-match") === "*") && await rt.store.head(bucket, key)) {
        if (noOverwrite) {
          throw new EmulatorError("FileAlreadyExists", "The object you specified already exists.");
        }
        throw new EmulatorError(
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold.",
        );
      }
      const body = bodyOf(rt, c);
      const meta = await rt.store.put(bucket, key, body.stream, {
        ...writeMetadataFrom(h),
        verify: body.verify,
      });
      return empty(200, writeHeaders(meta));
    },

    async CopyObject(c) {
      const h = c.req.raw.headers;
      const src = parseCopySource(copySourceHeader(h)!);
      await ensureBucket(rt, c);
      const directive = (formHeader(h, c.get("form"), "metadata-directive") ?? "COPY").toUpperCase();
      if (directive !== "COPY" && directive !== "REPLACE") {
        throw new EmulatorError(
          "InvalidArgument",
          `Unknown metadata directive "${directive}": use COPY or REPLACE.`,
        );
      }
      const form = c.get("form"), dst = { bucket: bucketOf(c), key: keyOf(c) };
      const replace = directive === "REPLACE";
      // OSS copies an object onto itself by updating its metadata; S3 refuses it when nothing would change.
      const self = src.bucket === dst.bucket && src.key === dst.key;
      if (form === "s3" && self && !replace && !S3_COPY_CHANGES.some((name) => h.has(name))) {
        throw new EmulatorError(
          "InvalidRequest",
          "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        );
      }
      const meta = await rt.store.copy(src, dst, {
        metadata: replace ? writeMetadataFrom(h) : undefined,
        // S3 answers 412 to every failed copy-source condition; OSS CopyObject answers 304 to the
        // If-None-Match and If-Modified-Since ones, as for a GET.
        check: (source) => checkConditions(source, copySourceCondition(h, form), form === "s3" ? 412 : 304),
      });
      return xml(
        copyResultXml(c.get("form"), "CopyObjectResult", meta.etag, meta.lastModified),
        200,
        writeHeaders(meta),
      );
    },

    async AppendObject(c) {
      const bucket = bucketOf(c), key = keyOf(c), h = c.req.raw.headers;
      const raw = query(c, "position") ?? "";
      const position = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(position)) {
        throw new EmulatorError("InvalidArgument", `position must be a non-negative integer, got "${raw}".`);
      }
      await ensureBucket(rt, c);
      const body = bodyOf(rt, c);
      const meta = await rt.store.append(bucket, key, position, body.stream, {
        ...writeMetadataFrom(h),
        verify: body.verify,
      });
      return empty(200, {
        "etag": `"${meta.etag}"`,
        "x-oss-next-append-position": String(meta.size),
        "x-oss-hash-crc64ecma": meta.crc64,
      });
    },

    async DeleteObject(c) {
      await rt.store.delete(bucketOf(c), keyOf(c));
      return empty(204);
    },
  };
}
