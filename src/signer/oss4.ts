/**
 * OSS Signature Version 4 (`OSS4-HMAC-SHA256`), in the Authorization header and in presigned URLs.
 *
 * The steps follow the Alibaba Cloud documentation ("Include a V4 signature in the Authorization header",
 * "Include a V4 signature in a URL") and can be checked against it line by line:
 *
 * 1. canonical request = method, canonical URI (`/bucket/key`), canonical query, canonical headers
 *    (`x-oss-*`, `content-type`, `content-md5` and the additional headers), additional header names,
 *    hashed payload (`x-oss-content-sha256`, normally `UNSIGNED-PAYLOAD`), joined by newlines;
 * 2. string to sign = `OSS4-HMAC-SHA256`, timestamp, scope (`yyyymmdd/region/oss/aliyun_v4_request`),
 *    hex SHA-256 of the canonical request;
 * 3. signing key = HMAC chain over `"aliyun_v4" + secret`, date, region, `oss`, `aliyun_v4_request`
 *    (cached per secret, date and region: it changes once a day);
 * 4. signature = hex HMAC-SHA256 of the string to sign under the signing key.
 *
 * hash-wasm or WebCrypto (see crypto.ts); no Node built-ins.
 *
 * @module
 */

import type { Credentials } from "../credentials.ts";
import { ConfigError } from "../errors.ts";
import { type HmacKey, hmacKey, hmacSha256, sha256Hex, toHex } from "./crypto.ts";
import { canonicalQueryString, encodeRfc3986, encodeUriPath } from "./encoding.ts";
import type { HeaderMap } from "./header_map.ts";
import { checkExpires, checkSigningInputs, describeInput } from "./inputs.ts";

/** The algorithm name of OSS Signature V4. */
export const OSS4_ALGORITHM = "OSS4-HMAC-SHA256";
/** The hashed-payload value that tells OSS the body is not part of the signature. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
/** The query parameter that carries the signature of a presigned URL. */
export const OSS4_SIGNATURE_PARAM = "x-oss-signature";

const TERMINATOR = "aliyun_v4_request";
const PRESIGN_PARAMS = [
  "x-oss-signature-version",
  "x-oss-credential",
  "x-oss-date",
  "x-oss-expires",
  "x-oss-signature",
  "x-oss-additional-headers",
  "x-oss-security-token",
];

/**
 * A request to sign: what the signer reads (and, for header signing, the headers it adds to).
 * `bucket` and `key` give the OSS canonical URI `/bucket/key`, which is the same whether the URL is
 * virtual-hosted (`https://bucket.oss-cn-hangzhou.aliyuncs.com/key`) or path style.
 */
export interface SignableRequest {
  /** HTTP method; upper-cased in the canonical request. */
  method: string;
  /** The URL the request goes to; only its query is signed (OSS) or its path, host and query (S3). */
  url: URL;
  /** Request headers; header signing adds the date, token, payload hash and Authorization headers. */
  headers: Headers;
  /** Bucket name, omitted for service-level requests such as ListBuckets. */
  bucket?: string;
  /** Object key, raw (not URL-encoded); omitted for bucket-level requests. */
  key?: string;
}

/**
 * A {@linkcode SignableRequest} whose headers are any {@linkcode HeaderMap} rather than a `Headers` object: the
 * signers accept both (`OssClient` signs a plain record, which `fetch` reads faster).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { HeaderRecord } from "./header_map.ts";
 * import { type HeaderMapRequest, signOss4 } from "./oss4.ts";
 * const req: HeaderMapRequest = { method: "GET", url: new URL("https://b.oss-cn-hangzhou.aliyuncs.com/k"), headers: new HeaderRecord(), bucket: "b", key: "k" };
 * await signOss4(req, { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "cn-hangzhou" });
 * expect(req.headers.get("authorization")?.startsWith("OSS4-HMAC-SHA256 Credential=ak/")).toBe(true);
 * ```
 */
export type HeaderMapRequest = Omit<SignableRequest, "headers"> & { headers: HeaderMap };

/**
 * Options of {@link signOss4}.
 */
export interface Oss4SignOptions {
  /** The key pair (and STS token) to sign with. */
  credentials: Credentials;
  /** Region id as in the scope, e.g. `cn-hangzhou` (not `oss-cn-hangzhou`). */
  region: string;
  /** Signing time; default now. */
  date?: Date;
  /**
   * Further headers to sign, e.g. `["host", "content-length"]`. Names are lower-cased, deduplicated and
   * sorted; names that are signed anyway (`x-oss-*`, `content-type`, `content-md5`) or absent from the request
   * are skipped, as the official SDKs do.
   */
  additionalHeaders?: readonly string[];
  /** Service name in the scope; default `oss` (`oss-cloudbox` for CloudBox). */
  product?: string;
}

/**
 * Options of {@link presignOss4}.
 */
export interface Oss4PresignOptions extends Oss4SignOptions {
  /** Lifetime of the URL in whole seconds, 1 to 604800 (7 days). */
  expires: number;
}

/**
 * Whether OSS signs a header whatever the additional headers say: `x-oss-*`, `content-type`, `content-md5`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { isDefaultSignedHeaderOss4 } from "./oss4.ts";
 * expect([isDefaultSignedHeaderOss4("x-oss-meta-a"), isDefaultSignedHeaderOss4("range")]).toEqual([true, false]);
 * ```
 */
export function isDefaultSignedHeaderOss4(lowerName: string): boolean {
  return lowerName.startsWith("x-oss-") || lowerName === "content-type" || lowerName === "content-md5";
}

/**
 * The additional headers actually signed for a request: the requested names lower-cased, without duplicates,
 * without the default-signed ones, without those the request lacks (or has empty), sorted. `host` is always
 * kept: when the headers lack it, the canonical request takes it from the URL, as `fetch` sends it.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { additionalHeadersOss4 } from "./oss4.ts";
 * const headers = new Headers({ abc: "v", ZAbc: "v", "x-oss-head1": "v" });
 * expect(additionalHeadersOss4(headers, ["ZAbc", "abc", "x-oss-head1", "missing"])).toEqual(["abc", "zabc"]);
 * ```
 */
export function additionalHeadersOss4(headers: HeaderMap, names: readonly string[] | undefined): string[] {
  // `host` is always there on the wire (fetch sets it from the URL), though never in a fetch Headers object.
  if (names === undefined || names.length === 0) return [];
  const out = new Set<string>();
  for (const name of names) {
    const lower = typeof name === "string" ? name.toLowerCase() : "";
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(lower)) {
      throw new ConfigError(`additionalHeaders: ${describeInput(name)} is not a valid header name`);
    }
    if (lower === "authorization" || isDefaultSignedHeaderOss4(lower)) continue;
    if (lower === "host" || headers.get(lower)) out.add(lower);
  }
  return [...out].sort();
}

/**
 * The OSS canonical URI: `/bucket/key` URI-encoded with `/` kept, `/bucket/` for a bucket, `/` for the
 * service. Without a bucket it is the URL's own path (right for service-level and path-style requests).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { canonicalUriOss4 } from "./oss4.ts";
 * const url = new URL("https://bucket.oss-cn-hangzhou.aliyuncs.com/");
 * expect(canonicalUriOss4({ url, bucket: "bucket", key: "a b+c.txt" })).toEqual("/bucket/a%20b%2Bc.txt");
 * ```
 */
export function canonicalUriOss4(req: { url: URL; bucket?: string; key?: string }): string {
  if (req.bucket === undefined || req.bucket === "") {
    return req.url.pathname === "/" ? "/" : encodeUriPath(decodeURIComponent(req.url.pathname));
  }
  return encodeUriPath(`/${req.bucket}/${req.key ?? ""}`);
}

/**
 * The canonical request of OSS Signature V4 (step 1). `additionalHeaders` must already be resolved
 * (lower-case, sorted, present; see {@link additionalHeadersOss4}); a listed `host` missing from the headers
 * is taken from the URL. A presigned URL's own `x-oss-signature`
 * parameter is never part of it. Throws `URIError` when the URL's query is not valid percent-encoding.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { canonicalRequestOss4 } from "./oss4.ts";
 * const canonical = canonicalRequestOss4({
 *   method: "GET",
 *   url: new URL("https://bucket.oss-cn-hangzhou.aliyuncs.com/a.txt?versionId=v1"),
 *   headers: new Headers({ "x-oss-date": "20231216T162057Z", "x-oss-content-sha256": "UNSIGNED-PAYLOAD" }),
 *   bucket: "bucket",
 *   key: "a.txt",
 * });
 * expect(canonical.split("\n")[1]).toEqual("/bucket/a.txt");
 * ```
 */
export function canonicalRequestOss4(
  req: SignableRequest | HeaderMapRequest,
  additionalHeaders: readonly string[] = [],
): string {
  let headers = req.headers;
  if (additionalHeaders.includes("host") && !headers.has("host")) {
    headers = new Headers([...headers]);
    headers.set("host", req.url.host);
  }
  let canonicalHeaders = "";
  // Headers iterate in lower-case name order, repeated headers already joined: the canonical order.
  for (const [name, value] of headers) {
    if (isDefaultSignedHeaderOss4(name) || additionalHeaders.includes(name)) {
      canonicalHeaders += `${name}:${value}\n`;
    }
  }
  return `${req.method.toUpperCase()}\n${canonicalUriOss4(req)}\n${
    canonicalQueryString(req.url.search, OSS4_SIGNATURE_PARAM)
  }\n${canonicalHeaders}\n${additionalHeaders.join(";")}\n${
    req.headers.get("x-oss-content-sha256") ?? UNSIGNED_PAYLOAD
  }`;
}

/**
 * The credential scope: `yyyymmdd/region/oss/aliyun_v4_request`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { scopeOss4 } from "./oss4.ts";
 * expect(scopeOss4("20231216", "cn-hangzhou")).toEqual("20231216/cn-hangzhou/oss/aliyun_v4_request");
 * ```
 */
export function scopeOss4(shortDate: string, region: string, product = "oss"): string {
  return `${shortDate}/${region}/${product}/${TERMINATOR}`;
}

/**
 * The string to sign (step 2): algorithm, timestamp, scope and the hex SHA-256 of the canonical request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { stringToSignOss4 } from "./oss4.ts";
 * const sts = await stringToSignOss4("20231216T162057Z", "20231216/cn-hangzhou/oss/aliyun_v4_request", "GET\n/\n\n\n\nUNSIGNED-PAYLOAD");
 * expect(sts.split("\n").length).toEqual(4);
 * ```
 */
export async function stringToSignOss4(
  longDate: string,
  scope: string,
  canonicalRequest: string,
): Promise<string> {
  return `${OSS4_ALGORITHM}\n${longDate}\n${scope}\n${await sha256Hex(canonicalRequest)}`;
}

const SIGNING_KEY_CACHE_LIMIT = 64;
const signingKeys = new Map<string, Promise<HmacKey>>();

async function deriveSigningKey(secret: string, shortDate: string, region: string, product: string) {
  const kDate = await hmacSha256(await hmacKey(`aliyun_v4${secret}`), shortDate);
  const kRegion = await hmacSha256(await hmacKey(kDate), region);
  const kProduct = await hmacSha256(await hmacKey(kRegion), product);
  return hmacKey(await hmacSha256(await hmacKey(kProduct), TERMINATOR), { reuse: true });
}

/**
 * The signing key (step 3) as a non-extractable HMAC key, derived once per (secret, date, region, product)
 * and then served from a small in-memory cache; concurrent callers share one derivation.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signingKeyOss4 } from "./oss4.ts";
 * const a = await signingKeyOss4("sk", "20231216", "cn-hangzhou");
 * const b = await signingKeyOss4("sk", "20231216", "cn-hangzhou");
 * expect(a === b).toBe(true);
 * ```
 */
export function signingKeyOss4(
  secret: string,
  shortDate: string,
  region: string,
  product = "oss",
): Promise<HmacKey> {
  const id = `${shortDate}\n${region}\n${product}\n${secret}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    if (signingKeys.size >= SIGNING_KEY_CACHE_LIMIT) signingKeys.delete(signingKeys.keys().next().value!);
    key = deriveSigningKey(secret, shortDate, region, product);
    signingKeys.set(id, key);
    key.catch(() => signingKeys.delete(id));
  }
  return key;
}

/**
 * Steps 2 to 4: the hex signature of a canonical request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signatureOss4 } from "./oss4.ts";
 * const sig = await signatureOss4("sk", "20231216T162057Z", "cn-hangzhou", "GET\n/\n\n\n\nUNSIGNED-PAYLOAD");
 * expect(sig.length).toEqual(64);
 * ```
 */
export async function signatureOss4(
  secret: string,
  longDate: string,
  region: string,
  canonicalRequest: string,
  product = "oss",
): Promise<string> {
  const shortDate = longDate.slice(0, 8);
  const [stringToSign, key] = await Promise.all([
    stringToSignOss4(longDate, scopeOss4(shortDate, region, product), canonicalRequest),
    signingKeyOss4(secret, shortDate, region, product),
  ]);
  return toHex(await hmacSha256(key, stringToSign));
}

function canonicalOrThrow(req: SignableRequest | HeaderMapRequest, additional: readonly string[]): string {
  try {
    return canonicalRequestOss4(req, additional);
  } catch (err) {
    throw new ConfigError(
      `url: the query or path of ${req.url.origin}${req.url.pathname} is not valid percent-encoded UTF-8`,
      { cause: err },
    );
  }
}

/**
 * Signs a request in the Authorization header. Sets on `req.headers`: `x-oss-date`,
 * `x-oss-content-sha256: UNSIGNED-PAYLOAD` (unless the caller set a payload hash), `x-oss-security-token`
 * (removed when the credentials have none) and `Authorization`. Set `content-type` before signing: it is
 * always signed, and `fetch` adds one for string bodies.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signOss4 } from "./oss4.ts";
 * const req = {
 *   method: "GET",
 *   url: new URL("https://bucket.oss-cn-hangzhou.aliyuncs.com/a.txt"),
 *   headers: new Headers(),
 *   bucket: "bucket",
 *   key: "a.txt",
 * };
 * await signOss4(req, { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "cn-hangzhou" });
 * expect(req.headers.get("authorization")?.startsWith("OSS4-HMAC-SHA256 Credential=ak/")).toBe(true);
 * ```
 */
export async function signOss4(
  req: SignableRequest | HeaderMapRequest,
  opts: Oss4SignOptions,
): Promise<void> {
  const { credentials, region, product = "oss" } = opts;
  const { longDate, shortDate } = checkSigningInputs(credentials, region, opts.date);
  const headers = req.headers;
  headers.set("x-oss-date", longDate);
  if (!headers.has("x-oss-content-sha256")) headers.set("x-oss-content-sha256", UNSIGNED_PAYLOAD);
  if (credentials.securityToken) headers.set("x-oss-security-token", credentials.securityToken);
  else headers.delete("x-oss-security-token");
  headers.delete("authorization");
  const additional = additionalHeadersOss4(headers, opts.additionalHeaders);
  const canonical = canonicalOrThrow(req, additional);
  const signature = await signatureOss4(credentials.accessKeySecret, longDate, region, canonical, product);
  headers.set(
    "authorization",
    `${OSS4_ALGORITHM} Credential=${credentials.accessKeyId}/${scopeOss4(shortDate, region, product)}${
      additional.length > 0 ? `,AdditionalHeaders=${additional.join(";")}` : ""
    },Signature=${signature}`,
  );
}

/** `search` without the parameters a previous presign added, so that presigning twice gives one signature. */
function withoutPresignParams(search: string): string {
  if (!search.includes("x-oss-")) return search.slice(1);
  return search.slice(1).split("&").filter((part) => {
    const eq = part.indexOf("=");
    return part !== "" && !PRESIGN_PARAMS.includes(eq < 0 ? part : part.slice(0, eq));
  }).join("&");
}

/**
 * Presigns a request: returns a copy of `req.url` with `x-oss-signature-version`, `x-oss-credential`,
 * `x-oss-date`, `x-oss-expires`, `x-oss-additional-headers` (when any), `x-oss-security-token` (when the
 * credentials have one) and `x-oss-signature`. Headers given in `req.headers` that OSS signs (`x-oss-*`,
 * `content-type`, `content-md5`, additional headers) must be sent unchanged with the URL.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { presignOss4 } from "./oss4.ts";
 * const url = await presignOss4(
 *   { method: "GET", url: new URL("https://bucket.oss-cn-hangzhou.aliyuncs.com/a.txt"), bucket: "bucket", key: "a.txt" },
 *   { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "cn-hangzhou", expires: 900 },
 * );
 * expect(url.searchParams.get("x-oss-expires")).toEqual("900");
 * ```
 */
export async function presignOss4(
  req: Omit<SignableRequest, "headers"> & { headers?: Headers },
  opts: Oss4PresignOptions,
): Promise<URL> {
  const { credentials, region, product = "oss" } = opts;
  const { longDate, shortDate } = checkSigningInputs(credentials, region, opts.date);
  checkExpires(opts.expires);
  const headers = req.headers ?? new Headers();
  const additional = additionalHeadersOss4(headers, opts.additionalHeaders);
  const url = new URL(req.url);
  let search = withoutPresignParams(url.search);
  search += `${search === "" ? "" : "&"}x-oss-signature-version=${OSS4_ALGORITHM}&x-oss-credential=${
    encodeRfc3986(`${credentials.accessKeyId}/${scopeOss4(shortDate, region, product)}`)
  }&x-oss-date=${longDate}&x-oss-expires=${opts.expires}`;
  if (additional.length > 0) search += `&x-oss-additional-headers=${encodeRfc3986(additional.join(";"))}`;
  if (credentials.securityToken) {
    search += `&x-oss-security-token=${encodeRfc3986(credentials.securityToken)}`;
  }
  url.search = search;
  const canonical = canonicalOrThrow(
    { method: req.method, url, headers, bucket: req.bucket, key: req.key },
    additional,
  );
  const signature = await signatureOss4(credentials.accessKeySecret, longDate, region, canonical, product);
  url.search = `${search}&${OSS4_SIGNATURE_PARAM}=${signature}`;
  return url;
}
