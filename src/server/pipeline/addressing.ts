/**
 * Which bucket, key, API form and operation a request addresses. Path style
 * (`http://127.0.0.1:PORT/bucket/key`) always works; virtual-hosted style (`Host: bucket.<service host>`)
 * is recognised for `bucket.localhost`, `bucket.oss-<region>.aliyuncs.com` (what `ali-oss` sends when
 * its endpoint is an IP address) and any extra service hosts configured.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { EmulatorContext, EmulatorEnv, EmulatorRuntime } from "../context.ts";
import { EmulatorError } from "../error.ts";
import { unsupportedSubresource } from "../routes/subresources.ts";
import type { ApiForm } from "../routes/xml_responses.ts";

/** The routing facts of a request. */
export interface Address {
  /** `oss` (x-oss-* headers, OSS XML) or `s3` (x-amz-* headers, S3 XML). */
  form: ApiForm;
  /** Bucket, absent for service-level requests. */
  bucket?: string;
  /** Object key (decoded), absent for bucket-level requests. */
  key?: string;
  /** Operation name, e.g. `GetObject`, `ListObjectsV2`, `NotImplemented`. */
  operation: string;
  /** For `NotImplemented`: the sub-resource the server does not implement for this method and target. */
  subresource?: string;
}

const OSS_SERVICE_HOST = /^oss-[a-z0-9-]+\.aliyuncs\.com$/;

/**
 * The API form of a request: S3 when it is signed with SigV4/V2 or carries `x-amz-*` headers or
 * presign parameters, OSS otherwise.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { detectForm } from "./addressing.ts";
 * expect(detectForm(new URL("http://h/b/k"), new Headers({ "x-amz-date": "x" }))).toEqual("s3");
 * ```
 */
export function detectForm(url: URL, headers: Headers): ApiForm {
  const auth = headers.get("authorization");
  if (auth) return auth.startsWith("AWS") ? "s3" : "oss";
  if (url.search.length > 1) {
    const q = url.searchParams;
    if (q.has("X-Amz-Signature") || q.has("X-Amz-Algorithm") || q.has("AWSAccessKeyId")) return "s3";
    if (q.has("x-oss-signature") || q.has("OSSAccessKeyId")) return "oss";
  }
  for (const name of headers.keys()) {
    if (name.startsWith("x-amz-")) return "s3";
  }
  return "oss";
}

/**
 * The bucket named by a virtual-hosted `host` (without port), or undefined for path style.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { bucketFromHost } from "./addressing.ts";
 * expect(bucketFromHost("data.oss-cn-hangzhou.aliyuncs.com", [])).toEqual("data");
 * expect(bucketFromHost("127.0.0.1", [])).toBeUndefined();
 * ```
 */
export function bucketFromHost(host: string, serviceHosts: readonly string[]): string | undefined {
  const dot = host.indexOf(".");
  if (dot <= 0) return undefined;
  const rest = host.slice(dot + 1).toLowerCase();
  if (rest === "localhost" || OSS_SERVICE_HOST.test(rest) || serviceHosts.includes(rest)) {
    return host.slice(0, dot);
  }
  return undefined;
}

function operation(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  url: URL,
  h: Headers,
) {
  const q = url.searchParams;
  const has = (name: string) => url.search.length > 1 && q.has(name);
  if (method === "OPTIONS") return "Options";
  if (bucket === undefined) return method === "GET" ? "ListBuckets" : "MethodNotAllowed";
  const copy = h.has("x-oss-copy-source") || h.has("x-amz-copy-source");
  if (key === undefined) {
    switch (method) {
      case "GET":
        if (has("uploads")) return "ListMultipartUploads";
        if (has("location")) return "GetBucketLocation";
        return q.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
      case "HEAD":
        return "HeadBucket";
      case "PUT":
        return "PutBucket";
      case "DELETE":
        return "DeleteBucket";
      case "POST":
        return has("delete") ? "DeleteMultipleObjects" : "MethodNotAllowed";
    }
    return "MethodNotAllowed";
  }
  switch (method) {
    case "GET":
      return has("uploadId") ? "ListParts" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "PUT":
      if (has("uploadId")) return copy ? "UploadPartCopy" : "UploadPart";
      return copy ? "CopyObject" : "PutObject";
    case "POST":
      if (has("append")) return "AppendObject";
      if (has("uploads")) return "InitiateMultipartUpload";
      if (has("uploadId")) return "CompleteMultipartUpload";
      return "MethodNotAllowed";
    case "DELETE":
      return has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  }
  return "MethodNotAllowed";
}

/**
 * Resolves bucket, key, form and operation of a request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolveAddress } from "./addressing.ts";
 * const a = resolveAddress("GET", new URL("http://127.0.0.1:9000/data/a%20b.txt?list-type=2"), new Headers(), []);
 * expect(a).toEqual({ form: "oss", bucket: "data", key: "a b.txt", operation: "GetObject" });
 * ```
 */
export function resolveAddress(
  method: string,
  url: URL,
  headers: Headers,
  serviceHosts: readonly string[],
): Address {
  const form = detectForm(url, headers);
  let bucket = bucketFromHost(url.hostname, serviceHosts);
  let rawKey: string | undefined;
  const path = url.pathname;
  if (bucket !== undefined) {
    rawKey = path.length > 1 ? path.slice(1) : undefined;
  } else if (path.length > 1) {
    const slash = path.indexOf("/", 1);
    bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
    rawKey = slash < 0 || slash === path.length - 1 ? undefined : path.slice(slash + 1);
  }
  let key: string | undefined;
  try {
    if (bucket !== undefined) bucket = decodeURIComponent(bucket);
    if (rawKey !== undefined) key = decodeURIComponent(rawKey);
  } catch {
    throw new EmulatorError("InvalidURI", `Couldn't parse the specified URI: ${url.pathname.slice(0, 200)}`);
  }
  if (method !== "OPTIONS" && url.search.length > 1) {
    const target = bucket === undefined ? "service" : key === undefined ? "bucket" : "object";
    const subresource = unsupportedSubresource(method, target, url.searchParams);
    if (subresource !== undefined) return { form, bucket, key, operation: "NotImplemented", subresource };
  }
  return { form, bucket, key, operation: operation(method, bucket, key, url, headers) };
}

/**
 * The addressing middleware: waits for the buckets created at start, refuses an oversized header section
 * (`maxHeaderBytes`) and an unparsable URL, then resolves and records the request's URL, bucket, key, API
 * form and operation, and counts the operation.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { createEmulator } from "../emulator.ts";
 * const app = createEmulator({ buckets: ["data"], maxHeaderBytes: 64 }); // addressing(...) is a stage
 * expect((await app.request("/data/a.txt", { headers: { "x-big": "x".repeat(100) } })).status).toBe(400);
 * ```
 */
export function addressing(
  rt: EmulatorRuntime,
  opts: { ready?: Promise<unknown>; maxHeaderBytes?: number },
): MiddlewareHandler<EmulatorEnv> {
  let ready = opts.ready;
  ready?.then(() => (ready = undefined), () => {});
  return async (c, next) => {
    if (ready) await ready;
    checkHeaderSize(c, opts.maxHeaderBytes);
    // A Host header that is not a host name ("a b") makes the request URL unparsable: a client error.
    const url = URL.parse(c.req.url);
    if (!url) {
      throw new EmulatorError("InvalidURI", "Couldn't parse the specified URI (check the Host header).");
    }
    c.set("url", url);
    const a = resolveAddress(c.req.method, url, c.req.raw.headers, rt.virtualHosts);
    c.set("form", a.form);
    c.set("bucket", a.bucket);
    c.set("key", a.key);
    c.set("op", a.operation);
    c.set("subresource", a.subresource);
    rt.stats.count(a.operation);
    await next();
  };
}

function checkHeaderSize(c: EmulatorContext, max: number | undefined): void {
  if (max === undefined) return;
  let size = 0;
  for (const [name, value] of c.req.raw.headers) size += name.length + value.length + 4;
  if (size > max) {
    throw new EmulatorError(
      "RequestHeaderSectionTooLarge",
      `Your request header section exceeds ${max} bytes.`,
    );
  }
}
