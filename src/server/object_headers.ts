/**
 * Header conventions of object requests and responses in both API forms: user metadata, the object
 * headers of GET/HEAD/PUT, `Range` and copy-source parsing.
 *
 * @module
 */
import { EmulatorError } from "./emulator_error.ts";
import type { ByteRange, ObjectMeta } from "./store_types.ts";
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
 * import { userMetaFrom } from "./object_headers.ts";
 * console.log(userMetaFrom(new Headers({ "x-oss-meta-Owner": "me" }))); // { owner: "me" }
 * ```
 */
export function userMetaFrom(headers: Headers): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-oss-meta-") || name.startsWith("x-amz-meta-")) meta[name.slice(11)] = value;
  }
  return meta;
}

/**
 * Response headers describing an object: ETag, size, type, dates, CRC-64, object type and metadata.
 *
 * @example
 * ```ts
 * import { objectHeaders } from "./object_headers.ts";
 * const h = objectHeaders("oss", {
 *   key: "k", size: 1, etag: "abc", crc64: "5", lastModified: 0, contentType: "text/plain",
 *   objectType: "Normal", userMeta: { a: "b" },
 * });
 * console.log(h.get("etag"), h.get("x-oss-meta-a")); // "\"abc\"" "b"
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
 * import { parseRange } from "./object_headers.ts";
 * console.log(parseRange("bytes=0-9"), parseRange("bytes=-5"), parseRange("bytes=7-")); // {start:0,end:9} {suffix:5} {start:7}
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
 * import { parseCopySource } from "./object_headers.ts";
 * console.log(parseCopySource("/src/a%20b.txt")); // { bucket: "src", key: "a b.txt" }
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

/** A header in the request's form, falling back to the other form's name. */
export function formHeader(headers: Headers, form: ApiForm, suffix: string): string | null {
  const other = form === "s3" ? "x-oss-" : "x-amz-";
  return headers.get(vendor(form) + suffix) ?? headers.get(other + suffix);
}
