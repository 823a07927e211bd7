/**
 * `oss://` and `s3://` object URIs.
 *
 * Forms understood:
 * - `oss://bucket/key` and `s3://bucket/key`;
 * - `oss://bucket.oss-cn-hangzhou.aliyuncs.com/key`, the form of OSS manifests: everything after the first
 *   dot of the authority is the endpoint host (OSS bucket names cannot contain dots, so this is unambiguous;
 *   S3 bucket names can, so `s3://` has no such form);
 * - `oss://bucket` or `oss://bucket/` with an empty key, for prefixes (see {@link parsePrefixUri}).
 *
 * Keys are taken literally: everything after the "/" that ends the bucket is the key, byte for byte. There is
 * no percent-decoding and `?` and `#` are ordinary characters, as in the `oss://` URIs of the OSS tools and
 * of OSS Connector for AI/ML, so `oss://b/a%20b?x#y` names the key `a%20b?x#y`. {@link formatUri} is the
 * exact inverse: `parseUri(formatUri(u))` equals `u`.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/**
 * A URI scheme: `oss` for Alibaba Cloud OSS, `s3` for S3-compatible stores.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { bucketNameProblem, type UriScheme } from "./uri.ts";
 * const scheme: UriScheme = "s3";
 * expect(bucketNameProblem("my.bucket", scheme)).toBeUndefined();
 * ```
 */
export type UriScheme = "oss" | "s3";

/**
 * A parsed object (or prefix) URI.
 */
export interface ObjectUri {
  /** `oss` or `s3`. */
  scheme: UriScheme;
  /** Bucket name. */
  bucket: string;
  /** Object key, or a prefix (possibly empty) for prefix URIs. */
  key: string;
  /** Endpoint host (with port, if any) from the `oss://bucket.endpoint/key` form. */
  endpoint?: string;
}

/**
 * Options of {@link parseUri}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseUri, type ParseUriOptions } from "./uri.ts";
 * const opts: ParseUriOptions = { allowEmptyKey: true };
 * expect(parseUri("oss://my-bucket/", opts).key).toEqual("");
 * ```
 */
export interface ParseUriOptions {
  /** Accept an empty key (`oss://bucket` or `oss://bucket/`), as prefix URIs do. Default false. */
  allowEmptyKey?: boolean;
}

const OSS_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::(\d{1,5}))?$/;
const encoder = new TextEncoder();

function show(s: string): string {
  return JSON.stringify(s.length > 160 ? s.slice(0, 160) + "…" : s);
}

/**
 * Why a bucket name breaks the naming rules, or undefined when it follows them. OSS: 3-63 lowercase
 * letters, digits and hyphens, starting and ending with a letter or digit. S3 also allows dots (not two in
 * a row, not shaped like an IP address).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { bucketNameProblem } from "./uri.ts";
 * expect(bucketNameProblem("my-bucket")).toBeUndefined();
 * expect(bucketNameProblem("My_Bucket")).toMatch(/^expected 3-63 lowercase letters, digits and hyphens/);
 * ```
 */
export function bucketNameProblem(name: string, scheme: UriScheme = "oss"): string | undefined {
  if (scheme === "oss") {
    if (OSS_BUCKET.test(name)) return undefined;
    return "expected 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit" +
      (name.includes(".") ? " (OSS bucket names have no dots)" : "");
  }
  if (!S3_BUCKET.test(name)) {
    return "expected 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit";
  }
  if (name.includes("..")) return "expected no two adjacent dots";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return "expected a name, not an IP address";
  return undefined;
}

/**
 * Why an object key breaks the naming rules, or undefined when it follows them: well-formed Unicode,
 * 1-1023 UTF-8 bytes for OSS (1-1024 for S3), and for OSS no leading "/" or "\".
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { objectKeyProblem } from "./uri.ts";
 * expect(objectKeyProblem("a/b c.txt")).toBeUndefined();
 * expect(objectKeyProblem("/abs")).toEqual("expected no leading \"/\" or \"\\\" (OSS object naming rules)");
 * ```
 */
export function objectKeyProblem(
  key: string,
  scheme: UriScheme = "oss",
  opts: { allowEmpty?: boolean } = {},
): string | undefined {
  if (key === "") return opts.allowEmpty ? undefined : "expected a non-empty object key";
  const max = scheme === "oss" ? 1023 : 1024;
  if (!isWellFormed(key)) return "expected well-formed Unicode (the key has an unpaired surrogate)";
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (key.length * 3 > max) {
    const bytes = encoder.encode(key).length;
    if (bytes > max) return `expected at most ${max} UTF-8 bytes, got ${bytes}`;
  }
  if (scheme === "oss" && (key[0] === "/" || key[0] === "\\")) {
    return 'expected no leading "/" or "\\" (OSS object naming rules)';
  }
  return undefined;
}

function isWellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  if (native) return native.call(s);
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

function fail(uri: string, what: string): never {
  throw new ConfigError(`invalid object URI ${show(uri)}: ${what}`);
}

/**
 * Parses `oss://bucket/key`, `oss://bucket.endpoint-host/key` or `s3://bucket/key`. The scheme is matched
 * case-insensitively; bucket and key are validated and otherwise kept literally (see the module notes).
 *
 * @throws {ConfigError} naming the URI and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseUri } from "./uri.ts";
 * expect(parseUri("oss://my-bucket.oss-cn-hangzhou.aliyuncs.com/train/cat 1.jpg")).toEqual({ scheme: "oss", bucket: "my-bucket", key: "train/cat 1.jpg", endpoint: "oss-cn-hangzhou.aliyuncs.com" });
 * ```
 */
export function parseUri(uri: string, opts: ParseUriOptions = {}): ObjectUri {
  if (typeof uri !== "string") {
    throw new ConfigError(`invalid object URI: expected a string like "oss://bucket/key", got ${typeof uri}`);
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri);
  if (!m) {
    const hint = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) ? ' (the scheme must be followed by "//")' : "";
    fail(uri, `expected "oss://bucket/key" or "s3://bucket/key"${hint}`);
  }
  const scheme = m[1].toLowerCase();
  if (scheme !== "oss" && scheme !== "s3") {
    fail(uri, `expected the scheme oss:// or s3://, got ${scheme}://`);
  }
  const rest = uri.slice(m[0].length);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (authority === "") fail(uri, "expected a bucket name after the scheme, got nothing");

  let bucket = authority;
  let endpoint: string | undefined;
  if (scheme === "oss" && authority.includes(".")) {
    const dot = authority.indexOf(".");
    bucket = authority.slice(0, dot);
    endpoint = authority.slice(dot + 1).toLowerCase();
    const hm = HOST.exec(endpoint);
    if (!hm || (hm[1] !== undefined && (Number(hm[1]) < 1 || Number(hm[1]) > 65535))) {
      fail(
        uri,
        `endpoint ${
          show(endpoint)
        }: expected a host name with an optional :port, like oss-cn-hangzhou.aliyuncs.com`,
      );
    }
  }
  const bucketProblem = bucketNameProblem(bucket, scheme);
  if (bucketProblem) fail(uri, `bucket ${show(bucket)}: ${bucketProblem}`);
  const keyProblem = objectKeyProblem(key, scheme, { allowEmpty: opts.allowEmptyKey });
  if (keyProblem) {
    fail(
      uri,
      key === ""
        ? "expected an object key after the bucket, got none (only a prefix may be empty)"
        : `key: ${keyProblem}`,
    );
  }
  const out: ObjectUri = { scheme, bucket, key };
  if (endpoint !== undefined) out.endpoint = endpoint;
  return out;
}

/**
 * Parses a prefix URI: like {@link parseUri}, but the key (the prefix) may be empty.
 *
 * @throws {ConfigError} naming the URI and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parsePrefixUri } from "./uri.ts";
 * expect(parsePrefixUri("oss://my-bucket").key).toEqual("");
 * expect(parsePrefixUri("oss://my-bucket/images/").key).toEqual("images/");
 * ```
 */
export function parsePrefixUri(uri: string): ObjectUri {
  return parseUri(uri, { allowEmptyKey: true });
}

/**
 * Formats an {@link ObjectUri}, the inverse of {@link parseUri}: the key is written literally. An empty
 * key gives `oss://bucket/`.
 *
 * @throws {ConfigError} when the bucket, key or endpoint breaks the rules {@link parseUri} checks.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { formatUri } from "./uri.ts";
 * expect(formatUri({ scheme: "oss", bucket: "my-bucket", key: "a b/c.jpg" })).toEqual("oss://my-bucket/a b/c.jpg");
 * expect(formatUri({ scheme: "oss", bucket: "b01", key: "k", endpoint: "oss-cn-beijing.aliyuncs.com" })).toEqual("oss://b01.oss-cn-beijing.aliyuncs.com/k");
 * ```
 */
export function formatUri(u: ObjectUri): string {
  const where = `cannot format object URI for ${
    u && typeof u === "object" ? `bucket ${show(String(u.bucket))}, key ${show(String(u.key))}` : String(u)
  }`;
  if (u === null || typeof u !== "object") throw new ConfigError(`${where}: expected an object`);
  if (u.scheme !== "oss" && u.scheme !== "s3") {
    throw new ConfigError(`${where}: scheme: expected "oss" or "s3", got ${show(String(u.scheme))}`);
  }
  const bucketProblem = typeof u.bucket === "string"
    ? bucketNameProblem(u.bucket, u.scheme)
    : "expected a string";
  if (bucketProblem) throw new ConfigError(`${where}: bucket: ${bucketProblem}`);
  const keyProblem = typeof u.key === "string"
    ? objectKeyProblem(u.key, u.scheme, { allowEmpty: true })
    : "expected a string";
  if (keyProblem) throw new ConfigError(`${where}: key: ${keyProblem}`);
  let authority = u.bucket;
  if (u.endpoint !== undefined) {
    if (u.scheme !== "oss") {
      throw new ConfigError(
        `${where}: endpoint: only oss:// URIs carry an endpoint (S3 bucket names may contain dots)`,
      );
    }
    const hm = HOST.exec(String(u.endpoint).toLowerCase());
    if (!hm || (hm[1] !== undefined && (Number(hm[1]) < 1 || Number(hm[1]) > 65535))) {
      throw new ConfigError(
        `${where}: endpoint ${
          show(String(u.endpoint))
        }: expected a host name with an optional :port, no scheme`,
      );
    }
    authority += "." + String(u.endpoint).toLowerCase();
  }
  return `${u.scheme}://${authority}/${u.key}`;
}
