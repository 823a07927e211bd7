/**
 * Server-side signature checks for the local emulator: OSS4 (header and presigned URL) and AWS SigV4
 * (header and presigned URL), with the error codes and statuses OSS answers with.
 *
 * Every check recomputes the signature with the same code the client side signs with (`signOss4`'s
 * canonical request; `@smithy/signature-v4` for SigV4, fed only the headers the client listed) and compares
 * in constant time.
 *
 * Payload hashes are taken as the client states them (`x-oss-content-sha256`, `x-amz-content-sha256`:
 * `UNSIGNED-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER` or a hex SHA-256). A hex hash is covered by the
 * signature, but whether the body matches it cannot be known here, before the body is read: a server that
 * cares must hash the body itself. Security tokens are signed over but not validated. The legacy OSS V1
 * (`OSS ak:sig`) and AWS V2 schemes are rejected with a message saying how to switch to V4.
 *
 * @module
 */

import {
  checkSignatureFormat,
  invalid,
  parseAdditionalHeaders,
  parseAuthorization,
  parseCredential,
  parseDate,
  parseExpires,
  queryParam,
  quote,
  required,
  type Scope,
  SignatureVerificationError,
} from "./auth_parse.ts";
import { timingSafeEqual } from "./crypto.ts";
import { canonicalRequestOss4, OSS4_ALGORITHM, signatureOss4 } from "./oss4.ts";
import { authorizationS3v4, presignQueryS3v4, S3V4_ALGORITHM, S3V4_PRESIGN_PARAMS } from "./s3v4.ts";

export { type SignatureErrorCode, SignatureVerificationError } from "./auth_parse.ts";

/**
 * Options of {@link verifyRequest}.
 */
export interface VerifyOptions {
  /** The secret of an AccessKey ID, or `undefined` when the ID is unknown. */
  lookupSecret(accessKeyId: string): string | undefined;
  /** The server's clock; default now. */
  now?: Date;
  /** Largest accepted difference between a header-signed request's time and `now`; default 15 minutes. */
  maxSkewMs?: number;
  /**
   * The server's region (e.g. `cn-hangzhou`). When set, the scope region must be it (SigV4 may also use
   * `oss-cn-hangzhou`, as OSS's S3 API does); when unset any region is accepted.
   */
  region?: string;
}

/**
 * Who sent a request and how it was authenticated.
 */
export interface VerifiedRequest {
  /** The AccessKey ID that signed; `""` for anonymous requests. */
  accessKeyId: string;
  /** Which scheme authenticated the request; `anonymous` when it carried no signature at all. */
  scheme: "oss4" | "oss4-presign" | "s3v4" | "s3v4-presign" | "anonymous";
}

/**
 * The parts of an incoming request the checks read. `bucket` and `key` (raw, decoded) are what the server
 * routed the request to: they form the OSS4 canonical URI.
 */
export interface VerifiableRequest {
  /** HTTP method. */
  method: string;
  /** The full request URL as received (its query is read raw). */
  url: URL;
  /** Request headers as received. */
  headers: Headers;
  /** Bucket the server routed the request to; omitted for service-level requests. */
  bucket?: string;
  /** Object key (decoded) the server routed the request to; omitted for bucket-level requests. */
  key?: string;
}

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

class Verifier {
  readonly now: Date;
  readonly maxSkewMs: number;

  constructor(readonly req: VerifiableRequest, readonly opts: VerifyOptions) {
    this.now = opts.now ?? new Date();
    this.maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  checkRegion(scope: Scope, source: string, s3: boolean): void {
    const want = this.opts.region;
    if (want === undefined || scope.region === want || (s3 && scope.region === `oss-${want}`)) return;
    invalid(`${source}: region ${quote(scope.region)} does not match the server's region ${quote(want)}`);
  }

  secret(accessKeyId: string): string {
    const secret = this.opts.lookupSecret(accessKeyId);
    if (secret === undefined) {
      throw new SignatureVerificationError(
        "InvalidAccessKeyId",
        `The AccessKey ID ${quote(accessKeyId)} does not exist in our records.`,
      );
    }
    return secret;
  }

  checkScopeDate(scope: Scope, date: Date, source: string, dateSource: string): void {
    const iso = date.toISOString();
    const day = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
    if (day !== scope.shortDate) {
      invalid(`${source}: scope date ${scope.shortDate} is not the date of ${dateSource} (${day})`);
    }
  }

  checkSkew(date: Date, source: string): void {
    const skew = Math.abs(date.getTime() - this.now.getTime());
    if (skew > this.maxSkewMs) {
      throw new SignatureVerificationError(
        "RequestTimeTooSkewed",
        `The difference between the request time (${source} ${date.toISOString()}) and the server's time (${this.now.toISOString()}) is ${
          Math.round(skew / 1000)
        } s, more than the ${Math.round(this.maxSkewMs / 1000)} s allowed.`,
      );
    }
  }

  checkLifetime(date: Date, expires: number, source: string): void {
    const expiry = date.getTime() + expires * 1000;
    if (this.now.getTime() > expiry) {
      throw new SignatureVerificationError(
        "AccessDenied",
        `Request has expired: the URL was valid until ${
          new Date(expiry).toISOString()
        } (${source}), now is ${this.now.toISOString()}.`,
      );
    }
    if (date.getTime() - this.now.getTime() > this.maxSkewMs) {
      throw new SignatureVerificationError(
        "AccessDenied",
        `Request is not yet valid: it was signed for ${date.toISOString()} (${source}), now is ${this.now.toISOString()}.`,
      );
    }
  }

  compare(expected: string, provided: string): void {
    if (!timingSafeEqual(expected, provided)) {
      throw new SignatureVerificationError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      );
    }
  }

  canonicalOss4(additional: readonly string[]): string {
    for (const name of additional) {
      if (name !== "host" && this.req.headers.get(name) === null) {
        invalid(`additional header ${quote(name)} is listed as signed but the request does not carry it`);
      }
    }
    try {
      return canonicalRequestOss4(this.req, additional);
    } catch {
      invalid(
        `request URL ${quote(this.req.url.pathname + this.req.url.search)} is not valid percent-encoding`,
      );
    }
  }

  async oss4Header(authorization: string): Promise<VerifiedRequest> {
    const source = "Authorization header Credential";
    const params = parseAuthorization(authorization, OSS4_ALGORITHM);
    const scope = parseCredential(
      required(params, "Credential", OSS4_ALGORITHM),
      source,
      "oss",
      "aliyun_v4_request",
    );
    const provided = required(params, "Signature", OSS4_ALGORITHM);
    checkSignatureFormat(provided, "Authorization header Signature");
    const additional = parseAdditionalHeaders(
      params.get("AdditionalHeaders"),
      "Authorization header AdditionalHeaders",
    );
    this.checkRegion(scope, source, false);
    const longDate = this.req.headers.get("x-oss-date");
    const date = parseDate(longDate, "x-oss-date header");
    this.checkScopeDate(scope, date, source, "the x-oss-date header");
    const secret = this.secret(scope.accessKeyId);
    this.checkSkew(date, "x-oss-date");
    const canonical = this.canonicalOss4(additional);
    this.compare(await signatureOss4(secret, longDate!, scope.region, canonical), provided);
    return { accessKeyId: scope.accessKeyId, scheme: "oss4" };
  }

  async oss4Presign(): Promise<VerifiedRequest> {
    const url = this.req.url;
    const version = queryParam(url, "x-oss-signature-version");
    if (version !== OSS4_ALGORITHM) {
      invalid(`presigned URL: x-oss-signature-version ${quote(version)} should be ${quote(OSS4_ALGORITHM)}`);
    }
    const source = "x-oss-credential";
    const scope = parseCredential(queryParam(url, source), source, "oss", "aliyun_v4_request");
    const longDate = queryParam(url, "x-oss-date");
    const date = parseDate(longDate, "x-oss-date query parameter");
    const expires = parseExpires(queryParam(url, "x-oss-expires"), "x-oss-expires");
    const provided = queryParam(url, "x-oss-signature");
    checkSignatureFormat(provided, "x-oss-signature");
    const additional = parseAdditionalHeaders(
      url.searchParams.get("x-oss-additional-headers") ?? undefined,
      "x-oss-additional-headers",
    );
    this.checkRegion(scope, source, false);
    this.checkScopeDate(scope, date, source, "x-oss-date");
    const secret = this.secret(scope.accessKeyId);
    this.checkLifetime(date, expires, `x-oss-date ${longDate} + x-oss-expires ${expires}`);
    const canonical = this.canonicalOss4(additional);
    this.compare(await signatureOss4(secret, longDate, scope.region, canonical), provided);
    return { accessKeyId: scope.accessKeyId, scheme: "oss4-presign" };
  }

  /** The signed headers, with `host` from the URL when the request object lacks one (e.g. `app.request`). */
  signedHeaders(list: string, source: string): Record<string, string> {
    const names = list.split(";");
    if (names.some((n) => n === "" || n !== n.toLowerCase())) {
      invalid(`${source} ${quote(list)} must be lower-case header names separated by ";"`);
    }
    if (!names.includes("host")) invalid(`${source} ${quote(list)} must include host`);
    const headers: Record<string, string> = {};
    for (const name of names) {
      const value = this.req.headers.get(name) ?? (name === "host" ? this.req.url.host : null);
      if (value === null) {
        invalid(`${source} lists ${quote(name)} but the request does not carry that header`);
      }
      headers[name] = value;
    }
    return headers;
  }

  async s3v4Header(authorization: string): Promise<VerifiedRequest> {
    const source = "Authorization header Credential";
    const params = parseAuthorization(authorization, S3V4_ALGORITHM);
    const scope = parseCredential(
      required(params, "Credential", S3V4_ALGORITHM),
      source,
      "s3",
      "aws4_request",
    );
    const signedList = required(params, "SignedHeaders", S3V4_ALGORITHM);
    const provided = required(params, "Signature", S3V4_ALGORITHM);
    checkSignatureFormat(provided, "Authorization header Signature");
    this.checkRegion(scope, source, true);
    const date = parseDate(this.req.headers.get("x-amz-date"), "x-amz-date header");
    this.checkScopeDate(scope, date, source, "the x-amz-date header");
    const payloadHash = this.req.headers.get("x-amz-content-sha256");
    if (payloadHash === null) invalid("missing x-amz-content-sha256 header (S3 requires it with SigV4)");
    const headers = this.signedHeaders(signedList, "Authorization header SignedHeaders");
    const secret = this.secret(scope.accessKeyId);
    this.checkSkew(date, "x-amz-date");
    const token = this.req.headers.get("x-amz-security-token") ?? undefined;
    const expected = await authorizationS3v4({
      method: this.req.method,
      url: this.req.url,
      headers,
      credentials: { accessKeyId: scope.accessKeyId, accessKeySecret: secret, securityToken: token },
      region: scope.region,
      service: scope.service,
      date,
      payloadHash,
    });
    this.compare(expected.slice(expected.lastIndexOf("Signature=") + 10), provided);
    return { accessKeyId: scope.accessKeyId, scheme: "s3v4" };
  }

  async s3v4Presign(): Promise<VerifiedRequest> {
    const url = this.req.url;
    const algorithm = queryParam(url, "X-Amz-Algorithm");
    if (algorithm !== S3V4_ALGORITHM) {
      invalid(`presigned URL: X-Amz-Algorithm ${quote(algorithm)} should be ${quote(S3V4_ALGORITHM)}`);
    }
    const source = "X-Amz-Credential";
    const scope = parseCredential(queryParam(url, source), source, "s3", "aws4_request");
    const date = parseDate(queryParam(url, "X-Amz-Date"), "X-Amz-Date query parameter");
    const expires = parseExpires(queryParam(url, "X-Amz-Expires"), "X-Amz-Expires");
    const signedList = queryParam(url, "X-Amz-SignedHeaders");
    const provided = queryParam(url, "X-Amz-Signature");
    checkSignatureFormat(provided, "X-Amz-Signature");
    this.checkRegion(scope, source, true);
    this.checkScopeDate(scope, date, source, "X-Amz-Date");
    const headers = this.signedHeaders(signedList, "X-Amz-SignedHeaders");
    const secret = this.secret(scope.accessKeyId);
    this.checkLifetime(
      date,
      expires,
      `X-Amz-Date ${url.searchParams.get("X-Amz-Date")} + X-Amz-Expires ${expires}`,
    );
    const token = url.searchParams.get("X-Amz-Security-Token") ?? undefined;
    const query = await presignQueryS3v4({
      method: this.req.method,
      url,
      headers,
      credentials: { accessKeyId: scope.accessKeyId, accessKeySecret: secret, securityToken: token },
      region: scope.region,
      service: scope.service,
      date,
      expires,
    });
    this.compare(String(query["X-Amz-Signature"]), provided);
    return { accessKeyId: scope.accessKeyId, scheme: "s3v4-presign" };
  }
}

/**
 * Checks a request's signature. Recognises, in this order: an `Authorization: OSS4-HMAC-SHA256 ...` or
 * `AWS4-HMAC-SHA256 ...` header, an OSS4 presigned URL (`x-oss-signature` & co.), a SigV4 presigned URL
 * (`X-Amz-Signature` & co.). A request with none of them is `anonymous`: whether to allow it is the
 * server's decision. Throws {@link SignatureVerificationError}: `InvalidArgument` (400) for malformed
 * authentication, `InvalidAccessKeyId` for an unknown key, `RequestTimeTooSkewed` when a header-signed
 * request's time is more than `maxSkewMs` off, `AccessDenied` for an expired (or not yet valid) presigned
 * URL and `SignatureDoesNotMatch` for a wrong signature.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { signOss4 } from "./oss4.ts";
 * import { verifyRequest } from "./verify.ts";
 * const req = { method: "GET", url: new URL("http://127.0.0.1:9000/b/k"), headers: new Headers(), bucket: "b", key: "k" };
 * await signOss4(req, { credentials: { accessKeyId: "ak", accessKeySecret: "sk" }, region: "cn-hangzhou" });
 * const who = await verifyRequest(req, { lookupSecret: (id) => (id === "ak" ? "sk" : undefined) });
 * expect(who).toEqual({ accessKeyId: "ak", scheme: "oss4" });
 * ```
 */
export async function verifyRequest(req: VerifiableRequest, opts: VerifyOptions): Promise<VerifiedRequest> {
  const v = new Verifier(req, opts);
  const authorization = req.headers.get("authorization");
  const query = req.url.search.length > 1 ? req.url.searchParams : undefined;
  const ossPresign = query !== undefined &&
    (query.has("x-oss-signature") || query.has("x-oss-signature-version") || query.has("x-oss-credential"));
  const s3Presign = query !== undefined &&
    S3V4_PRESIGN_PARAMS.some((p) => p !== "X-Amz-Security-Token" && query.has(p));
  const methods = [
    authorization !== null && "an Authorization header",
    ossPresign && "x-oss-signature",
    s3Presign && "X-Amz-Signature",
  ].filter(Boolean);
  if (methods.length > 1) {
    invalid(`only one authentication method is allowed, the request has ${methods.join(" and ")}`);
  }
  if (authorization !== null) {
    const algorithm = authorization.slice(0, authorization.search(/\s|$/));
    if (algorithm === OSS4_ALGORITHM) return await v.oss4Header(authorization);
    if (algorithm === S3V4_ALGORITHM) return await v.s3v4Header(authorization);
    if (algorithm === "OSS") {
      invalid(
        "Authorization header: OSS signature version 1 is not supported; sign with OSS4-HMAC-SHA256 (ali-oss: authorizationV4: true)",
      );
    }
    if (algorithm === "AWS") {
      invalid("Authorization header: AWS signature version 2 is not supported; sign with AWS4-HMAC-SHA256");
    }
    invalid(
      `Authorization header: unsupported algorithm ${
        quote(algorithm)
      } (expected ${OSS4_ALGORITHM} or ${S3V4_ALGORITHM})`,
    );
  }
  if (ossPresign) return await v.oss4Presign();
  if (s3Presign) return await v.s3v4Presign();
  if (query !== undefined && query.has("OSSAccessKeyId") && query.has("Signature")) {
    invalid(
      "presigned URL: OSS signature version 1 (OSSAccessKeyId, Signature) is not supported; presign with OSS4-HMAC-SHA256 (ali-oss: signatureUrlV4)",
    );
  }
  return { accessKeyId: "", scheme: "anonymous" };
}
