/**
 * Header conventions of object requests and responses in both API forms: user metadata, the object
 * headers of GET/HEAD/PUT, `Range` and copy-source parsing.
 *
 * @module
 */
import { EmulatorError } from "../error.ts";
import type { ByteRange, ObjectHeaders, ObjectMeta } from "../store/types.ts";
import type { ApiForm } from "./xml_responses.ts";

/** Header prefix of the form's own headers. */
export function vendor(form: ApiForm): "x-oss-" | "x-amz-" {
  return form === "s3" ? "x-amz-" : "x-oss-";
}

/**
 * User metadata of a request: `x-oss-meta-*` and `x-amz-meta-*` headers, names lower-cased without the
 * prefix.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { userMetaFrom } from "./object_headers.ts";
 * expect(userMetaFrom(new Headers({ "x-oss-meta-Owner": "me" }))).toEqual({ owner: "me" });
 * ```
 */
export function userMetaFrom(headers: Headers): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-oss-meta-") || name.startsWith("x-amz-meta-")) meta[name.slice(11)] = value;
  }
  return meta;
}

const STANDARD_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
] as const;

/**
 * The standard headers of a request that are stored with the object (Cache-Control, Content-Disposition,
 * Content-Encoding, Content-Language, Expires). `aws-chunked` is dropped from Content-Encoding: it names
 * how the request body was framed, not how the object is encoded (S3 drops it too).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { standardHeadersFrom } from "./object_headers.ts";
 * const h = new Headers({ "content-encoding": "aws-chunked,gzip", "cache-control": "no-cache", "x-other": "1" });
 * expect(standardHeadersFrom(h)).toEqual({ "cache-control": "no-cache", "content-encoding": "gzip" });
 * ```
 */
export function standardHeadersFrom(headers: Headers): ObjectHeaders {
  const out: ObjectHeaders = {};
  for (const name of STANDARD_HEADERS) {
    let value = headers.get(name);
    if (value !== null && name === "content-encoding") {
      value = value.split(",").map((s) => s.trim()).filter((s) =>
        s !== "" && s.toLowerCase() !== "aws-chunked"
      )
        .join(",");
    }
    if (value) out[name] = value;
  }
  return out;
}

/**
 * Response headers describing an object: ETag, size, type, dates, CRC-64, object type and metadata.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { objectHeaders } from "./object_headers.ts";
 * const h = objectHeaders("oss", {
 *   key: "k", size: 1, etag: "abc", crc64: "5", lastModified: 0, contentType: "text/plain",
 *   objectType: "Normal", userMeta: { a: "b" },
 * });
 * expect([h.get("etag"), h.get("x-oss-meta-a")]).toEqual(["\"abc\"", "b"]);
 * ```
 */
export function objectHeaders(form: ApiForm, meta: ObjectMeta): Headers {
  const h = new Headers({
    "etag": `"${meta.etag}"`,
    "last-modified": new Date(meta.lastModified).toUTCString(),
    "content-type": meta.contentType,
    "accept-ranges": "bytes",
    "x-oss-hash-crc64ecma": meta.crc64,
    "x-oss-object-type": meta.objectType,
    "x-oss-storage-class": "Standard",
  });
  if (meta.objectType === "Appendable") h.set("x-oss-next-append-position", String(meta.size));
  for (const [name, value] of Object.entries(meta.headers ?? {})) h.set(name, value);
  const prefix = `${vendor(form)}meta-`;
  for (const [name, value] of Object.entries(meta.userMeta)) h.set(prefix + name, value);
  return h;
}

/**
 * Parses a `Range` header. Returns undefined for a missing or unusable header (multiple ranges,
 * bad syntax, first > last), which — as on OSS and S3 — means "the whole object".
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseRange } from "./object_headers.ts";
 * expect([parseRange("bytes=0-9"), parseRange("bytes=-5"), parseRange("bytes=7-")]).toEqual([{start:0,end:9}, {suffix:5}, {start:7}]);
 * ```
 */
export function parseRange(header: string | null): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  if (m[2] === "") return { start };
  const end = Number(m[2]);
  return end < start ? undefined : { start, end };
}

/**
 * Parses `x-oss-copy-source` / `x-amz-copy-source`: `/bucket/url-encoded-key` (leading "/" optional,
 * `?versionId=` ignored).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseCopySource } from "./object_headers.ts";
 * expect(parseCopySource("/src/a%20b.txt")).toEqual({ bucket: "src", key: "a b.txt" });
 * ```
 */
export function parseCopySource(value: string): { bucket: string; key: string } {
  const path = value.replace(/^\//, "").replace(/\?versionId=.*$/, "");
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) {
    throw new EmulatorError(
      "InvalidArgument",
      `Copy Source must mention the source bucket and key: "${value}".`,
    );
  }
  try {
    return {
      bucket: decodeURIComponent(path.slice(0, slash)),
      key: decodeURIComponent(path.slice(slash + 1)),
    };
  } catch {
    throw new EmulatorError("InvalidArgument", `Copy Source is not a valid URL-encoded path: "${value}".`);
  }
}

/** The copy-source header of a request in either form, or null. */
export function copySourceHeader(headers: Headers): string | null {
  return headers.get("x-oss-copy-source") ?? headers.get("x-amz-copy-source");
}

/**
 * Reads the copy-source conditions of a request for {@linkcode checkConditions}: `if-match` reads
 * `x-amz-copy-source-if-match` or `x-oss-copy-source-if-match` (the request's form first).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { copySourceCondition } from "./object_headers.ts";
 * const read = copySourceCondition(new Headers({ "x-oss-copy-source-if-match": '"e"' }), "oss");
 * expect(read("if-match")).toEqual("\"e\"");
 * ```
 */
export function copySourceCondition(headers: Headers, form: ApiForm): (name: string) => string | null {
  return (name) => formHeader(headers, form, `copy-source-${name}`);
}

/** A header in the request's form, falling back to the other form's name. */
export function formHeader(headers: Headers, form: ApiForm, suffix: string): string | null {
  const other = form === "s3" ? "x-oss-" : "x-amz-";
  return headers.get(vendor(form) + suffix) ?? headers.get(other + suffix);
}

function etagList(value: string): string[] {
  return value.split(",").map((s) => s.trim().replace(/^W\//, "").replaceAll('"', ""));
}

function preconditionFailed(): EmulatorError {
  return new EmulatorError(
    "PreconditionFailed",
    "At least one of the pre-conditions you specified did not hold.",
  );
}

/**
 * Applies conditional headers to an object about to be read or copied. `header(name)` reads `if-match`,
 * `if-none-match`, `if-modified-since` and `if-unmodified-since` (for copies: their `copy-source-` forms).
 * A failed If-Match or If-Unmodified-Since answers 412 PreconditionFailed; a failed If-None-Match or
 * If-Modified-Since answers 304 NotModified, or 412 when `notModified` is 412 (S3's copy-source
 * conditions, OSS UploadPartCopy). If-Match takes precedence over If-Unmodified-Since and If-None-Match
 * over If-Modified-Since, as RFC 9110 and S3 specify.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkConditions } from "./object_headers.ts";
 * const meta = { key: "k", size: 1, etag: "abc", crc64: "0", lastModified: 0, contentType: "", objectType: "Normal" as const, userMeta: {} };
 * const h = new Headers({ "x-amz-copy-source-if-match": '"other"' });
 * try {
 *   checkConditions(meta, (name) => h.get(`x-amz-copy-source-${name}`), 412);
 * } catch (err) {
 *   expect((err as { status: number }).status).toEqual(412);
 * }
 * ```
 */
export function checkConditions(
  meta: ObjectMeta,
  header: (name: string) => string | null,
  notModified: 304 | 412 = 304,
): void {
  const ifMatch = header("if-match");
  if (ifMatch !== null && !etagList(ifMatch).some((e) => e === "*" || e === meta.etag)) {
    throw preconditionFailed();
  }
  const since = (name: string) => {
    const v = header(name);
    const t = v === null ? NaN : Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  };
  const seconds = Math.floor(meta.lastModified / 1000) * 1000;
  const unmodified = since("if-unmodified-since");
  if (ifMatch === null && unmodified !== undefined && seconds > unmodified) throw preconditionFailed();
  const fail = () =>
    notModified === 412 ? preconditionFailed() : new EmulatorError("NotModified", "Not Modified", {
      status: 304,
      headers: { etag: `"${meta.etag}"` },
    });
  const ifNoneMatch = header("if-none-match");
  if (ifNoneMatch !== null) {
    if (etagList(ifNoneMatch).some((e) => e === "*" || e === meta.etag)) throw fail();
    return;
  }
  const modified = since("if-modified-since");
  if (modified !== undefined && seconds <= modified) throw fail();
}
