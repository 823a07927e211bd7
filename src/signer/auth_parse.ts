/**
 * Reading authentication inputs (Authorization headers, credential scopes, timestamps, lifetimes) into
 * checked values for `verifyRequest` (verify.ts), and the error they fail with. Every message names the input and
 * quotes (a bounded prefix of) the rejected value; none contains a secret.
 *
 * @module
 */

import { OssflowError } from "../errors.ts";
import { parseIsoBasic } from "./encoding.ts";
import { MAX_PRESIGN_EXPIRES } from "./inputs.ts";

/** Error codes `verifyRequest` (verify.ts) fails with, as OSS names them. */
export type SignatureErrorCode =
  | "SignatureDoesNotMatch"
  | "AccessDenied"
  | "InvalidAccessKeyId"
  | "RequestTimeTooSkewed"
  | "InvalidArgument";

/**
 * A request that failed authentication. `code` and `status` are what an OSS server answers (`InvalidArgument`
 * is 400, the rest 403); `message` names the offending input and never contains a secret.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { SignatureVerificationError } from "./auth_parse.ts";
 * const err = new SignatureVerificationError("AccessDenied", "Request has expired");
 * expect([err.code, err.status]).toEqual(["AccessDenied", 403]);
 * ```
 */
export class SignatureVerificationError extends OssflowError {
  /** OSS error code. */
  readonly code: SignatureErrorCode;
  /** HTTP status to answer with. */
  readonly status: number;

  /** An error with an OSS code; the status follows from the code. */
  constructor(code: SignatureErrorCode, message: string) {
    super(message);
    this.name = "SignatureVerificationError";
    this.code = code;
    this.status = code === "InvalidArgument" ? 400 : 403;
  }
}

/**
 * Throws an `InvalidArgument` (400) {@link SignatureVerificationError}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { invalid } from "./auth_parse.ts";
 * try {
 *   invalid("missing x-oss-date header");
 * } catch (err) {
 *   expect((err as Error).message).toEqual("missing x-oss-date header");
 * }
 * ```
 */
export function invalid(message: string): never {
  throw new SignatureVerificationError("InvalidArgument", message);
}

/**
 * A value quoted for a message, cut at 120 characters so a hostile header cannot flood logs.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { quote } from "./auth_parse.ts";
 * expect(quote("abc")).toEqual("\"abc\"");
 * ```
 */
export function quote(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}...` : value);
}

/**
 * A parsed credential scope.
 */
export interface Scope {
  /** The AccessKey ID that signed. */
  accessKeyId: string;
  /** Signing day, `yyyymmdd`. */
  shortDate: string;
  /** Signing region. */
  region: string;
  /** Signing service (`oss` or `s3`). */
  service: string;
}

/**
 * Parses `<AccessKeyId>/<yyyymmdd>/<region>/<service>/<terminator>`, requiring the given service and
 * terminator. `source` names the input in messages (e.g. `x-oss-credential`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseCredential } from "./auth_parse.ts";
 * const scope = parseCredential("ak/20240101/cn-hangzhou/oss/aliyun_v4_request", "x-oss-credential", "oss", "aliyun_v4_request");
 * expect([scope.accessKeyId, scope.region]).toEqual(["ak", "cn-hangzhou"]);
 * ```
 */
export function parseCredential(value: string, source: string, service: string, terminator: string): Scope {
  const parts = value.split("/");
  const shape = `<AccessKeyId>/<yyyymmdd>/<region>/${service}/${terminator}`;
  if (parts.length !== 5 || parts.some((p) => p === "")) {
    invalid(`${source} ${quote(value)} is malformed: expected ${shape}`);
  }
  const [accessKeyId, shortDate, region, svc, term] = parts;
  if (!/^\d{8}$/.test(shortDate)) {
    invalid(`${source} ${quote(value)}: date ${quote(shortDate)} is not yyyymmdd`);
  }
  if (svc !== service) {
    invalid(`${source} ${quote(value)}: service ${quote(svc)} should be ${quote(service)}`);
  }
  if (term !== terminator) {
    invalid(`${source} ${quote(value)}: terminator ${quote(term)} should be ${quote(terminator)}`);
  }
  return { accessKeyId, shortDate, region, service: svc };
}

/**
 * Parses a required `yyyymmddTHHMMSSZ` time; `null` means the input is missing.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseDate } from "./auth_parse.ts";
 * expect(parseDate("20240101T000000Z", "x-oss-date header").toISOString()).toEqual("2024-01-01T00:00:00.000Z");
 * ```
 */
export function parseDate(value: string | null, source: string): Date {
  if (value === null) invalid(`missing ${source}`);
  const date = parseIsoBasic(value);
  if (date === undefined) invalid(`${source} ${quote(value)} is not a time of the form yyyymmddTHHMMSSZ`);
  return date;
}

/**
 * Parses a presigned URL's lifetime: whole seconds from 1 to 604800, digits only.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseExpires } from "./auth_parse.ts";
 * expect(parseExpires("3600", "x-oss-expires")).toEqual(3600);
 * ```
 */
export function parseExpires(value: string, source: string): number {
  const expires = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGN_EXPIRES)) {
    invalid(`${source} ${quote(value)} must be a whole number of seconds from 1 to ${MAX_PRESIGN_EXPIRES}`);
  }
  return expires;
}

/**
 * Requires a signature to be 64 lower-case hex digits.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { checkSignatureFormat } from "./auth_parse.ts";
 * expect(() => checkSignatureFormat("0".repeat(64), "x-oss-signature")).not.toThrow();
 * expect(() => checkSignatureFormat("xyz", "x-oss-signature")).toThrow("x-oss-signature");
 * ```
 */
export function checkSignatureFormat(value: string, source: string): void {
  if (!/^[0-9a-f]{64}$/.test(value)) invalid(`${source} ${quote(value)} is not 64 lower-case hex digits`);
}

/**
 * The parameters of an `ALGORITHM Name=value, Name=value` Authorization header (commas with or without
 * spaces, as the OSS docs and the SDKs write them).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseAuthorization } from "./auth_parse.ts";
 * const params = parseAuthorization("OSS4-HMAC-SHA256 Credential=a/b, Signature=c", "OSS4-HMAC-SHA256");
 * expect(params.get("Signature")).toEqual("c");
 * ```
 */
export function parseAuthorization(value: string, algorithm: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of value.slice(algorithm.length).split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) invalid(`Authorization header: component ${quote(item)} is not of the form Name=value`);
    const name = item.slice(0, eq).trim();
    if (params.has(name)) invalid(`Authorization header: ${name} appears twice`);
    params.set(name, item.slice(eq + 1).trim());
  }
  return params;
}

/**
 * A required, non-empty Authorization header parameter.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { required } from "./auth_parse.ts";
 * expect(required(new Map([["Signature", "c"]]), "Signature", "OSS4-HMAC-SHA256")).toEqual("c");
 * ```
 */
export function required(params: Map<string, string>, name: string, algorithm: string): string {
  const value = params.get(name);
  if (value === undefined || value === "") invalid(`Authorization header: ${algorithm} needs ${name}=...`);
  return value;
}

/**
 * A required presigned-URL query parameter (decoded); a missing or empty one is an error.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { queryParam } from "./auth_parse.ts";
 * expect(queryParam(new URL("http://h/k?x-oss-expires=60"), "x-oss-expires")).toEqual("60");
 * ```
 */
export function queryParam(url: URL, name: string): string {
  const value = url.searchParams.get(name);
  if (value === null || value === "") invalid(`presigned URL: missing query parameter ${name}`);
  return value;
}

/**
 * Parses an OSS4 additional-headers list: sorted, distinct, lower-case names separated by `;`.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { parseAdditionalHeaders } from "./auth_parse.ts";
 * expect(parseAdditionalHeaders("host;range", "x-oss-additional-headers")).toEqual(["host", "range"]);
 * ```
 */
export function parseAdditionalHeaders(value: string | undefined, source: string): string[] {
  if (value === undefined || value === "") return [];
  const names = value.split(";");
  for (let i = 0; i < names.length; i++) {
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(names[i]) || (i > 0 && names[i - 1] >= names[i])) {
      invalid(`${source} ${quote(value)} must be sorted, distinct, lower-case header names separated by ";"`);
    }
  }
  return names;
}
