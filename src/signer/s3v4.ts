/**
 * AWS Signature Version 4 (`AWS4-HMAC-SHA256`) for S3-compatible endpoints (including OSS's own S3 API),
 * in the Authorization header and in presigned URLs, through `@smithy/signature-v4` with a small
 * SHA-256/HMAC adapter ({@link Sha256Checksum}).
 *
 * `@smithy/signature-v4` is imported on first use, so programs that only speak OSS4 never load it.
 * The canonical URI is the URL's path exactly as sent (S3 does not double-encode or normalise it), so the
 * URL's path must already be RFC 3986-encoded, as `objectUrl` builds it.
 *
 * @module
 */

import type { SignatureV4 } from "@smithy/signature-v4";
import type { Credentials } from "../credentials.ts";
import { ConfigError } from "../errors.ts";
import { checkExpires, checkSigningInputs } from "./inputs.ts";
import type { HeaderMap } from "./header_map.ts";
import type { HeaderMapRequest, SignableRequest } from "./oss4.ts";
import { Sha256Checksum } from "./sha256_checksum.ts";

/** The algorithm name of AWS Signature V4. */
export const S3V4_ALGORITHM = "AWS4-HMAC-SHA256";

type SmithyRequest = Parameters<SignatureV4["presign"]>[0];
/**
 * A query as `@smithy/signature-v4` holds it: decoded names to a value or, for repeated names, a list.
 */
export type S3v4Query = Record<string, string | string[] | null>;
let smithy: Promise<typeof import("@smithy/signature-v4")> | undefined;

function newSigner(credentials: Credentials, region: string, service: string): Promise<SignatureV4> {
  smithy ??= import("@smithy/signature-v4");
  return smithy.then(({ SignatureV4 }) =>
    new SignatureV4({
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.accessKeySecret,
        sessionToken: credentials.securityToken || undefined,
      },
      region,
      service,
      sha256: Sha256Checksum,
      // S3 signs the path as sent: no normalisation, no second round of encoding.
      uriEscapePath: false,
      applyChecksum: false,
    })
  );
}

/**
 * The parts of a request as `@smithy/signature-v4` wants them. Query names and values are decoded (smithy
 * encodes them again), repeated names become arrays, a bare name gets an empty value.
 */
function toSmithyRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  skipQuery: readonly string[] = [],
): SmithyRequest {
  const query: S3v4Query = {};
  if (url.search.length > 1) {
    for (const [name, value] of url.searchParams) {
      if (skipQuery.includes(name)) continue;
      const prior = query[name];
      if (prior === undefined || prior === null) query[name] = value;
      else query[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
    }
  }
  return {
    method: method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === "" ? undefined : Number(url.port),
    path: url.pathname,
    query,
    headers,
  };
}

/**
 * Lower-cased headers for smithy: the request's own plus `host` (which `fetch` sends but never exposes).
 * Headers the signer itself sets are left out so that signing twice gives one signature.
 */
function signableHeaders(url: URL, headers: HeaderMap | undefined): Record<string, string> {
  const out: Record<string, string> = { host: url.host };
  if (headers !== undefined) {
    for (const [name, value] of headers) {
      if (name !== "authorization" && name !== "x-amz-date" && name !== "x-amz-security-token") {
        out[name] = value;
      }
    }
  }
  return out;
}

/** S3 presign query parameters a previous presign added, dropped before presigning again. */
export const S3V4_PRESIGN_PARAMS: readonly string[] = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
  "X-Amz-Security-Token",
];

/**
 * Options of {@link signS3v4}.
 */
export interface S3v4SignOptions {
  /** The key pair (and session token) to sign with. */
  credentials: Credentials;
  /** Signing region, e.g. `us-east-1`, or `oss-cn-hangzhou` for OSS's S3 API. */
  region: string;
  /** Signing time; default now. */
  date?: Date;
  /** Service name in the scope; default `s3`. */
  service?: string;
}

/**
 * Options of {@link presignS3v4}.
 */
export interface S3v4PresignOptions extends S3v4SignOptions {
  /** Lifetime of the URL in whole seconds, 1 to 604800 (7 days). */
  expires: number;
}

/**
 * Signs a request with AWS SigV4 in the Authorization header. Sets on `req.headers`: `x-amz-date`,
 * `x-amz-content-sha256: UNSIGNED-PAYLOAD` (unless the caller set a payload hash), `x-amz-security-token`
 * (removed when the credentials have none) and `Authorization`. Every header present is signed except the
 * ones AWS never signs (`user-agent`, `connection`, ...), plus `host` from the URL.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signS3v4 } from "./s3v4.ts";
 * const req = { method: "GET", url: new URL("http://127.0.0.1:9000/bucket/a.txt"), headers: new Headers() };
 * await signS3v4(req, { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "us-east-1" });
 * expect(req.headers.get("authorization")?.startsWith("AWS4-HMAC-SHA256 Credential=ak/")).toBe(true);
 * ```
 */
export async function signS3v4(
  req: SignableRequest | HeaderMapRequest,
  opts: S3v4SignOptions,
): Promise<void> {
  const { credentials, region, service = "s3" } = opts;
  checkSigningInputs(credentials, region, opts.date);
  const headers = req.headers;
  if (!headers.has("x-amz-content-sha256")) headers.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
  const signer = await newSigner(credentials, region, service);
  const signed = await signer.sign(toSmithyRequest(req.method, req.url, signableHeaders(req.url, headers)), {
    signingDate: opts.date ?? new Date(),
  });
  headers.set("x-amz-date", signed.headers["x-amz-date"]);
  headers.set("authorization", signed.headers["authorization"]);
  if (credentials.securityToken) headers.set("x-amz-security-token", credentials.securityToken);
  else headers.delete("x-amz-security-token");
}

/**
 * Presigns a request with AWS SigV4: returns a copy of `req.url` with `X-Amz-Algorithm`,
 * `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Security-Token` (when the
 * credentials have one) and `X-Amz-Signature`. The payload is `UNSIGNED-PAYLOAD`. `host` is always signed;
 * headers given in `req.headers` are signed too and must be sent with the URL.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { presignS3v4 } from "./s3v4.ts";
 * const url = await presignS3v4(
 *   { method: "GET", url: new URL("https://examplebucket.s3.amazonaws.com/test.txt") },
 *   { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "us-east-1", expires: 86400 },
 * );
 * expect(url.searchParams.get("X-Amz-SignedHeaders")).toEqual("host");
 * ```
 */
export async function presignS3v4(
  req: Omit<SignableRequest, "headers"> & { headers?: Headers },
  opts: S3v4PresignOptions,
): Promise<URL> {
  const { credentials, region, service = "s3" } = opts;
  checkSigningInputs(credentials, region, opts.date);
  checkExpires(opts.expires);
  const query = await presignQueryS3v4({
    method: req.method,
    url: req.url,
    headers: signableHeaders(req.url, req.headers),
    credentials,
    region,
    service,
    date: opts.date ?? new Date(),
    expires: opts.expires,
  });
  return withQuery(req.url, query);
}

/** `url` with its query replaced by `query`, each name and value RFC 3986-encoded. */
function withQuery(url: URL, query: S3v4Query): URL {
  const out = new URL(url);
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === null || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeQuery(name)}=${encodeQuery(v)}`);
    }
  }
  out.search = parts.join("&");
  return out;
}

function encodeQuery(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * What the verifier (and {@link presignS3v4}) hand to smithy: the request with exactly the headers to sign.
 */
export interface S3v4Input {
  /** HTTP method. */
  method: string;
  /** Request URL; its path is signed as is, its query is decoded and re-encoded. */
  url: URL;
  /** Lower-case header names to values; all of them are signed, `host` included. */
  headers: Record<string, string>;
  /** The key pair; `securityToken` becomes `X-Amz-Security-Token`. */
  credentials: Credentials;
  /** Scope region. */
  region: string;
  /** Scope service. */
  service: string;
  /** Signing time. */
  date: Date;
  /** The payload hash to sign (header form); default the request's `x-amz-content-sha256` header. */
  payloadHash?: string;
  /** Query parameters to leave out of the canonical query (the verifier drops the auth parameters). */
  skipQuery?: readonly string[];
}

/**
 * Computes SigV4 header authentication for exactly the given headers and returns the `Authorization`
 * value and the `x-amz-date` smithy produced. The payload hash is `payloadHash` (not signed as a header
 * unless listed in `headers`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { authorizationS3v4 } from "./s3v4.ts";
 * const auth = await authorizationS3v4({
 *   method: "GET",
 *   url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
 *   headers: { host: "examplebucket.s3.amazonaws.com" },
 *   credentials: { accessKeyId: "ak", accessKeySecret: "sk" },
 *   region: "us-east-1",
 *   service: "s3",
 *   date: new Date(),
 *   payloadHash: "UNSIGNED-PAYLOAD",
 * });
 * expect(auth.startsWith("AWS4-HMAC-SHA256 Credential=ak/")).toBe(true);
 * ```
 */
export async function authorizationS3v4(input: S3v4Input): Promise<string> {
  const signer = await newSigner(input.credentials, input.region, input.service);
  const headers = { ...input.headers };
  const unsignable = new Set<string>();
  // smithy adds these three itself; they are signed only when the caller listed them.
  for (const name of ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]) {
    if (!(name in input.headers)) unsignable.add(name);
  }
  if (input.payloadHash !== undefined && !("x-amz-content-sha256" in headers)) {
    headers["x-amz-content-sha256"] = input.payloadHash;
  }
  const signed = await signer.sign(toSmithyRequest(input.method, input.url, headers, input.skipQuery), {
    signingDate: input.date,
    unsignableHeaders: unsignable,
    signableHeaders: new Set(Object.keys(input.headers)),
  });
  return signed.headers["authorization"];
}

/**
 * Computes a SigV4 presign for exactly the given headers (none are hoisted into the query) with an
 * `UNSIGNED-PAYLOAD` body, and returns the full query including `X-Amz-Signature`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { presignQueryS3v4 } from "./s3v4.ts";
 * const query = await presignQueryS3v4({
 *   method: "GET",
 *   url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
 *   headers: { host: "examplebucket.s3.amazonaws.com" },
 *   credentials: { accessKeyId: "ak", accessKeySecret: "sk" },
 *   region: "us-east-1",
 *   service: "s3",
 *   date: new Date(),
 *   expires: 60,
 * });
 * expect(typeof query["X-Amz-Signature"]).toEqual("string");
 * ```
 */
export async function presignQueryS3v4(input: S3v4Input & { expires: number }): Promise<S3v4Query> {
  if (!(input.expires >= 1 && input.expires <= 604800)) {
    throw new ConfigError(`expires: expected 1 to 604800 seconds, got ${input.expires}`);
  }
  const signer = await newSigner(input.credentials, input.region, input.service);
  const names = new Set(Object.keys(input.headers));
  const headers = { ...input.headers };
  const unsignable = new Set<string>();
  if (!names.has("x-amz-content-sha256")) {
    headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
    unsignable.add("x-amz-content-sha256");
  }
  const skip = [...S3V4_PRESIGN_PARAMS, ...(input.skipQuery ?? [])];
  const signed = await signer.presign(toSmithyRequest(input.method, input.url, headers, skip), {
    signingDate: input.date,
    expiresIn: input.expires,
    unsignableHeaders: unsignable,
    signableHeaders: names,
    unhoistableHeaders: new Set(Object.keys(headers)),
  });
  return signed.query ?? {};
}
