/**
 * The error type of the local server: an OSS/S3 error code with its HTTP status, rendered as XML by the
 * emulator. Stores throw it too, so a store used on its own reports the same codes.
 *
 * @module
 */
import { OssflowError } from "../errors.ts";

/** HTTP status of every error code the emulator produces. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  AccessDenied: 403,
  AuthorizationQueryParametersError: 403,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  FileAlreadyExists: 409,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidObjectName: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  NotModified: 304,
  ObjectNotAppendable: 409,
  PositionNotEqualToLength: 409,
  PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 400,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

/**
 * Extra fields of an {@linkcode EmulatorError}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { EmulatorError, type EmulatorErrorInit } from "./error.ts";
 * const init: EmulatorErrorInit = { key: "log.txt", headers: { "x-oss-next-append-position": "5" } };
 * const err = new EmulatorError("PositionNotEqualToLength", "Position is not equal to file length.", init);
 * expect([err.status, err.headers["x-oss-next-append-position"]]).toEqual([409, "5"]);
 * ```
 */
export interface EmulatorErrorInit {
  /** Bucket the request addressed; rendered as `<BucketName>`. */
  bucket?: string;
  /** Object key the request addressed; rendered as `<Key>`. */
  key?: string;
  /** Overrides the status from {@linkcode ERROR_STATUS}. */
  status?: number;
  /** Extra response headers, e.g. `x-oss-next-append-position` on `PositionNotEqualToLength`. */
  headers?: Record<string, string>;
}

/**
 * An OSS error response: code, HTTP status and message.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { EmulatorError } from "./error.ts";
 * const err = new EmulatorError("NoSuchKey", "The specified key does not exist.", { key: "a.bin" });
 * expect(err.status).toEqual(404);
 * ```
 */
export class EmulatorError extends OssflowError {
  /** The OSS error code, e.g. `NoSuchKey`. */
  readonly code: string;
  /** HTTP status of the response. */
  readonly status: number;
  /** Bucket rendered into the error XML. */
  readonly bucket?: string;
  /** Key rendered into the error XML. */
  readonly key?: string;
  /** Extra headers for the error response. */
  readonly headers: Record<string, string>;

  /** An error with an OSS `code`, a message, and optional bucket/key/status/headers. */
  constructor(code: string, message: string, init: EmulatorErrorInit = {}) {
    super(message);
    this.name = "EmulatorError";
    this.code = code;
    this.status = init.status ?? ERROR_STATUS[code] ?? 400;
    this.bucket = init.bucket;
    this.key = init.key;
    this.headers = init.headers ?? {};
  }
}
