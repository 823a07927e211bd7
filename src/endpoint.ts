/**
 * Endpoints: normalisation, the region an endpoint names, and request URLs in virtual-hosted style
 * (`https://bucket.oss-cn-hangzhou.aliyuncs.com/key`) or path style (`http://127.0.0.1:9000/bucket/key`).
 *
 * Endpoint forms recognised for the region (OSS "Regions and endpoints" and the AWS S3 endpoint list):
 * `oss-<region>.aliyuncs.com`, `oss-<region>-internal.aliyuncs.com`, the dual-stack
 * `<region>.oss.aliyuncs.com`, OSS's S3-compatible `s3.oss-<region>.aliyuncs.com`,
 * `s3.<region>.amazonaws.com` (also `s3-<region>`, `s3.dualstack.<region>`, `.amazonaws.com.cn`), and
 * `s3.amazonaws.com` (us-east-1). The global acceleration endpoints (`oss-accelerate.aliyuncs.com`,
 * `oss-accelerate-overseas.aliyuncs.com`) and custom hosts (MinIO, the local emulator) name no region: the
 * client's `region` option supplies it, else {@link defaultRegion} for the local and custom hosts that take any.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/**
 * A normalised endpoint.
 */
export interface Endpoint {
  /** Scheme, host and port, no trailing slash: `https://oss-cn-hangzhou.aliyuncs.com`. */
  origin: string;
  /** Host with the port when it is not the scheme's default: `127.0.0.1:9000`. */
  host: string;
  /** Region named by the host, e.g. `cn-hangzhou`; undefined for custom hosts. */
  region?: string;
  /** Put the bucket in the path (`/bucket/key`) instead of the host name. */
  pathStyle: boolean;
}

/**
 * Options of {@link parseEndpoint}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseEndpoint, type ParseEndpointOptions } from "./endpoint.ts";
 * const opts: ParseEndpointOptions = { pathStyle: true };
 * expect(parseEndpoint("oss-cn-hangzhou.aliyuncs.com", opts).pathStyle).toBe(true);
 * ```
 */
export interface ParseEndpointOptions {
  /**
   * Force path style (true) or virtual-hosted style (false). Default: path style for IP addresses,
   * `localhost` and single-label hosts such as `minio` (no DNS name can exist per bucket), virtual-hosted
   * style otherwise.
   */
  pathStyle?: boolean;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isIpOrLocal(hostname: string): boolean {
  return IPV4.test(hostname) || hostname.startsWith("[") || hostname === "localhost" ||
    hostname.endsWith(".localhost");
}

/** The input with any `user:password@` masked, so that an error never repeats a password. */
function redactUserinfo(input: string): string {
  return input.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/?#@]*@/, "$1***@");
}

/**
 * Normalises an endpoint given with or without a scheme: `oss-cn-hangzhou.aliyuncs.com`,
 * `https://oss-cn-hangzhou-internal.aliyuncs.com`, `127.0.0.1:9000`, `http://localhost:9000/`.
 * Without a scheme, `http` is assumed for IP addresses and localhost, `https` otherwise.
 * An {@link Endpoint} object is returned as it is (with `opts.pathStyle` applied).
 *
 * @throws {ConfigError} naming the endpoint when it has a path, query, fragment, credentials, a bad port or
 *   a scheme other than http/https.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseEndpoint } from "./endpoint.ts";
 * expect(parseEndpoint("oss-cn-hangzhou.aliyuncs.com")).toEqual({ origin: "https://oss-cn-hangzhou.aliyuncs.com", host: "oss-cn-hangzhou.aliyuncs.com", region: "cn-hangzhou", pathStyle: false });
 * expect(parseEndpoint("127.0.0.1:9000").origin).toEqual("http://127.0.0.1:9000");
 * ```
 */
export function parseEndpoint(input: string | Endpoint, opts: ParseEndpointOptions = {}): Endpoint {
  if (input !== null && typeof input === "object" && typeof input.origin === "string") {
    return opts.pathStyle === undefined || opts.pathStyle === input.pathStyle
      ? input
      : { ...input, pathStyle: opts.pathStyle };
  }
  if (typeof input !== "string") {
    throw new ConfigError(
      `invalid endpoint: expected a string like "oss-cn-hangzhou.aliyuncs.com", got ${
        input === null ? "null" : typeof input
      }`,
    );
  }
  const raw = input.trim();
  const shown = JSON.stringify(redactUserinfo(raw));
  const bad = (what: string): never => {
    throw new ConfigError(`invalid endpoint ${shown}: ${what}`);
  };
  if (raw === "") bad('expected a host such as "oss-cn-hangzhou.aliyuncs.com" or "127.0.0.1:9000"');

  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw);
  let text = raw;
  if (schemeMatch) {
    const scheme = schemeMatch[1].toLowerCase();
    if (scheme !== "http" && scheme !== "https") bad(`expected http:// or https://, got ${scheme}://`);
  } else {
    const hostPart = raw.split(/[/?#]/, 1)[0].replace(/^.*@/, "");
    const hostname = hostPart.startsWith("[")
      ? hostPart.slice(0, hostPart.indexOf("]") + 1)
      : hostPart.split(":")[0];
    text = `${isIpOrLocal(hostname.toLowerCase()) ? "http" : "https"}://${raw}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const port = /:(\d+)(?:[/?#]|$)/.exec(text.slice(text.indexOf("//") + 2));
    if (port && Number(port[1]) > 65535) bad(`port ${port[1]}: expected 1-65535`);
    return bad("expected host[:port] with an optional http:// or https:// (not a valid URL)");
  }
  if (url.username !== "" || url.password !== "") {
    bad("expected no user name or password in the endpoint (pass credentials separately)");
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    bad(`expected no path, got ${JSON.stringify(url.pathname)} (the bucket and key are added per request)`);
  }
  if (url.search !== "" || text.includes("?")) bad("expected no query string");
  if (url.hash !== "" || text.includes("#")) bad("expected no fragment");
  if (url.hostname === "") bad("expected a host name");
  if (url.port !== "" && Number(url.port) === 0) bad("port 0: expected 1-65535");
  const hostname = url.hostname;
  const pathStyle = opts.pathStyle ?? (isIpOrLocal(hostname) || !hostname.includes("."));
  const ep: Endpoint = { origin: url.origin, host: url.host, pathStyle };
  const region = regionFromEndpoint(hostname);
  if (region !== undefined) ep.region = region;
  return ep;
}

/**
 * The region an endpoint host names, or undefined (custom hosts, global acceleration endpoints). A bucket
 * prefix (`bucket.oss-cn-hangzhou.aliyuncs.com`) and a port are ignored.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { regionFromEndpoint } from "./endpoint.ts";
 * expect(regionFromEndpoint("oss-cn-hangzhou-internal.aliyuncs.com")).toEqual("cn-hangzhou");
 * expect(regionFromEndpoint("cn-shanghai.oss.aliyuncs.com")).toEqual("cn-shanghai");
 * expect(regionFromEndpoint("s3.eu-west-1.amazonaws.com")).toEqual("eu-west-1");
 * expect(regionFromEndpoint("oss-accelerate.aliyuncs.com")).toBeUndefined();
 * ```
 */
export function regionFromEndpoint(host: string): string | undefined {
  let h = host.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  h = h.split(/[/?#]/, 1)[0].replace(/:\d+$/, "").replace(/\.$/, "");
  let m = /(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(h);
  if (m) return m[1] === "accelerate" || m[1] === "accelerate-overseas" ? undefined : m[1];
  m = /(?:^|\.)([a-z]+-[a-z0-9-]+?)(?:-internal)?\.oss\.aliyuncs\.com$/.exec(h);
  if (m) return m[1];
  m = /(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z0-9]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/.exec(h);
  if (m) return m[1];
  if (/(?:^|\.)s3(?:-external-1)?\.amazonaws\.com$/.test(h)) return "us-east-1";
  return undefined;
}

/**
 * The region to sign with when none is given: the one the endpoint names; else, for hosts that are not a cloud
 * provider's — IP addresses, `localhost` and other custom hosts such as the local server or MinIO — a default:
 * `cn-hangzhou` for OSS4 (what the local server reports; it accepts any region unless told to check) and
 * `us-east-1` for SigV4 (what S3-compatible stores default to). Undefined where a region is truly needed:
 * `*.aliyuncs.com` and `*.amazonaws.com` hosts that name none (the global acceleration endpoints), and custom
 * domains signed with OSS4 (a bucket's own domain on OSS, whose region only the user knows).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { defaultRegion, parseEndpoint } from "./endpoint.ts";
 * expect(defaultRegion(parseEndpoint("http://127.0.0.1:9000"), "oss4")).toEqual("cn-hangzhou");
 * expect(defaultRegion(parseEndpoint("http://minio.internal:9000"), "s3v4")).toEqual("us-east-1");
 * expect(defaultRegion(parseEndpoint("oss-accelerate.aliyuncs.com"), "oss4")).toBeUndefined();
 * ```
 */
export function defaultRegion(ep: Endpoint, signatureVersion: "oss4" | "s3v4"): string | undefined {
  if (ep.region !== undefined) return ep.region;
  const hostname = new URL(ep.origin).hostname.toLowerCase();
  if (/(?:^|\.)(?:aliyuncs\.com|amazonaws\.com(?:\.cn)?)$/.test(hostname)) return undefined;
  if (signatureVersion === "s3v4") return "us-east-1";
  return isIpOrLocal(hostname) || !hostname.includes(".") ? "cn-hangzhou" : undefined;
}

/**
 * Percent-encodes per RFC 3986: everything but `A-Z a-z 0-9 - . _ ~`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeRfc3986 } from "./endpoint.ts";
 * expect(encodeRfc3986("a b*(c)!'")).toEqual("a%20b%2A%28c%29%21%27");
 * ```
 */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** Characters RFC 3986 leaves unencoded, plus "/". */
const PLAIN_KEY = /^[A-Za-z0-9\-._~/]*$/;
/** A "." or ".." path segment. */
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;
/** A bucket name that needs no encoding. */
const PLAIN_BUCKET = /^[A-Za-z0-9\-._~]+$/;

/**
 * Encodes an object key for a URL path: RFC 3986, keeping "/" — except that a key with a "." or ".."
 * segment gets every "/" encoded as `%2F`, because URL parsers (and `fetch`) would otherwise remove dot
 * segments and address a different object. Servers decode `%2F` in the object path back to "/".
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { encodeKey } from "./endpoint.ts";
 * expect(encodeKey("train/cat 1.jpg")).toEqual("train/cat%201.jpg");
 * expect(encodeKey("a/../b")).toEqual("a%2F..%2Fb");
 * ```
 */
export function encodeKey(key: string): string {
  // Most keys need no encoding at all: answer them without splitting (a GET per small object pays this).
  if (PLAIN_KEY.test(key) && !DOT_SEGMENT.test(key)) return key;
  const parts = key.split("/");
  const dotSegment = parts.some((p) => p === "." || p === "..");
  return parts.map(encodeRfc3986).join(dotSegment ? "%2F" : "/");
}

/**
 * The URL of a bucket or object request. Virtual-hosted style: `https://bucket.host/key`; path style:
 * `http://host/bucket/key`. The key is encoded by {@link encodeKey}; query parameters are RFC 3986 encoded
 * (a space is `%20`, never `+`), and a parameter with an empty value is written bare (`?uploads`).
 *
 * `bucket` undefined addresses the service (`/`); `key` undefined addresses the bucket (`/` in
 * virtual-hosted style, `/bucket` in path style); `key` `""` gives `/` or `/bucket/`.
 *
 * @throws {ConfigError} when the bucket name cannot appear in a URL, or the key is exactly "." or "..".
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { objectUrl, parseEndpoint } from "./endpoint.ts";
 * const oss = parseEndpoint("oss-cn-hangzhou.aliyuncs.com");
 * expect(objectUrl(oss, "my-bucket", "a b/c.jpg").href).toEqual("https://my-bucket.oss-cn-hangzhou.aliyuncs.com/a%20b/c.jpg");
 * const local = parseEndpoint("127.0.0.1:9000");
 * expect(objectUrl(local, "my-bucket", undefined, new URLSearchParams({ "list-type": "2", prefix: "a b" })).href).toEqual("http://127.0.0.1:9000/my-bucket?list-type=2&prefix=a%20b");
 * ```
 */
export function objectUrl(
  ep: Endpoint,
  bucket: string | undefined,
  key: string | undefined,
  query?: URLSearchParams,
): URL {
  let url: string;
  if (bucket === undefined) {
    url = `${ep.origin}/`;
  } else {
    if (
      typeof bucket !== "string" || !PLAIN_BUCKET.test(bucket) || bucket === "." ||
      bucket === ".." || (!ep.pathStyle && !/^[a-z0-9.-]+$/.test(bucket))
    ) {
      throw new ConfigError(
        `invalid bucket name ${
          JSON.stringify(String(bucket))
        } for a request URL: expected lowercase letters, ` +
          `digits, hyphens (and for S3, dots)`,
      );
    }
    if (key === "." || key === "..") {
      throw new ConfigError(
        `object key ${
          JSON.stringify(key)
        } cannot be addressed by URL: URL parsers remove "." and ".." segments`,
      );
    }
    const path = key === undefined ? "" : `/${encodeKey(key)}`;
    if (ep.pathStyle) {
      url = `${ep.origin}/${bucket}${path}`;
    } else {
      const scheme = ep.origin.slice(0, ep.origin.indexOf("//") + 2);
      url = `${scheme}${bucket}.${ep.host}${path === "" ? "/" : path}`;
    }
  }
  if (query) {
    const parts: string[] = [];
    for (const [k, v] of query) {
      parts.push(v === "" ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`);
    }
    if (parts.length > 0) url += `?${parts.join("&")}`;
  }
  return new URL(url);
}
