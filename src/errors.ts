/**
 * Typed errors raised by ossflow. Every error names the input it rejects and what was expected;
 * none ever carries a secret.
 *
 * @module
 */

/**
 * The base of every error class ossflow throws: `err instanceof OssflowError` tells the library's own failures
 * from anything else. Each subclass has its own `name` (`OssError`, `ConfigError`, `IntegrityError`, …).
 * Invalid arguments (an empty key, a negative size) are built-in `TypeError`/`RangeError`, as in Deno std.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { ConfigError, OssflowError } from "./errors.ts";
 * const err = new ConfigError("config.json: region: expected a string, got 42");
 * expect(err).toBeInstanceOf(OssflowError);
 * expect(err.name).toBe("ConfigError");
 * ```
 */
export class OssflowError extends Error {
  /** An error with a message and, optionally, the error that caused it. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OssflowError";
  }
}

/**
 * Fields describing a failed OSS (or S3-compatible) request.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssError, type OssErrorInit } from "./errors.ts";
 * const init: OssErrorInit = { code: "NoSuchKey", status: 404, message: "gone", method: "GET", bucket: "b", key: "k" };
 * expect(new OssError(init).message).toEqual("NoSuchKey (HTTP 404) on GET b/k: gone");
 * ```
 */
export interface OssErrorInit {
  /** The service error code, e.g. `NoSuchKey`, or a client-side code such as `NetworkError`. */
  code: string;
  /** The HTTP status, 0 when no response arrived. */
  status: number;
  /** Human-readable message. */
  message: string;
  /** `x-oss-request-id` (or `x-amz-request-id`) of the failed response, when there was one. */
  requestId?: string;
  /** Bucket the request addressed. */
  bucket?: string;
  /** Object key the request addressed. */
  key?: string;
  /** HTTP method of the failed request. */
  method?: string;
  /** The underlying error, e.g. a network failure. */
  cause?: unknown;
}

/**
 * An error response from OSS or an S3-compatible store, or a request that failed for good after retries.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssError } from "./errors.ts";
 * const err = new OssError({ code: "NoSuchKey", status: 404, message: "The specified key does not exist.", key: "a.bin" });
 * expect([err.code, err.status, err.key]).toEqual(["NoSuchKey", 404, "a.bin"]);
 * ```
 */
export class OssError extends OssflowError {
  /** The service error code, e.g. `NoSuchKey`. */
  readonly code: string;
  /** The HTTP status, 0 when no response arrived. */
  readonly status: number;
  /** The request id reported by the server. */
  readonly requestId?: string;
  /** Bucket the request addressed. */
  readonly bucket?: string;
  /** Object key the request addressed. */
  readonly key?: string;
  /** HTTP method of the failed request. */
  readonly method?: string;

  /** An error from the fields of a failed request; the message gives code, status, method, bucket/key and request id. */
  constructor(init: OssErrorInit) {
    const where = [init.method, init.bucket !== undefined ? `${init.bucket}/${init.key ?? ""}` : undefined]
      .filter(Boolean).join(" ");
    const rid = init.requestId ? ` (request id ${init.requestId})` : "";
    super(`${init.code} (HTTP ${init.status})${where ? ` on ${where}` : ""}: ${init.message}${rid}`, {
      cause: init.cause,
    });
    this.name = "OssError";
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.bucket = init.bucket;
    this.key = init.key;
    this.method = init.method;
  }
}

/**
 * Invalid configuration or input: a URI, an endpoint, a config file, a credential file, an option.
 * The message names the input (and for files, the file and the JSON path) and what was expected.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError("config.json: datasetConfig.prefetchConcurrency: expected a positive integer, got -1");
 * expect(err.name).toEqual("ConfigError");
 * ```
 */
export class ConfigError extends OssflowError {
  /** An error whose message names the input and what was expected. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/**
 * Data that failed an integrity check: a CRC64 mismatch, a short body, a size that changed.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { IntegrityError } from "./errors.ts";
 * const err = new IntegrityError("CRC64 mismatch for oss://b/k", { key: "k", expected: "1", actual: "2" });
 * expect([err.name, err.expected, err.actual]).toEqual(["IntegrityError", "1", "2"]);
 * ```
 */
export class IntegrityError extends OssflowError {
  /** Object key the data belongs to. */
  readonly key?: string;
  /** The expected value (e.g. the server's CRC64). */
  readonly expected?: string;
  /** The value computed over the bytes received. */
  readonly actual?: string;

  /** An integrity failure, with the key and the expected and actual values when known. */
  constructor(
    message: string,
    init: { key?: string; expected?: string; actual?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: init.cause });
    this.name = "IntegrityError";
    this.key = init.key;
    this.expected = init.expected;
    this.actual = init.actual;
  }
}

/**
 * A safetensors file (or sharded set, or tensor handed to the writer) that breaks the format: a header length
 * beyond the file, malformed JSON, offsets that overlap, leave gaps or run past the data, an unknown dtype, a
 * shape that disagrees with the bytes. The message starts with the file and, when one is at fault, the tensor.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { SafetensorsError } from "./errors.ts";
 * const err = new SafetensorsError("shape [2, 3] of F32 needs 24 bytes, data_offsets give 20", {
 *   file: "oss://models/bert.safetensors",
 *   tensor: "encoder.weight",
 * });
 * expect(err.message).toEqual('oss://models/bert.safetensors: tensor "encoder.weight": shape [2, 3] of F32 needs 24 bytes, data_offsets give 20');
 * ```
 */
export class SafetensorsError extends OssflowError {
  /** The file (URI) the problem is in, or the one being written. */
  readonly file: string;
  /** The tensor at fault, when one is. */
  readonly tensor?: string;

  /** An error about `init.file` (and `init.tensor`); the message starts with both. */
  constructor(detail: string, init: { file: string; tensor?: string; cause?: unknown }) {
    const name = init.tensor;
    // A hostile header may name a tensor with megabytes: the message shows the start of it.
    const tensor = name === undefined
      ? ""
      : `tensor ${JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name)}: `;
    super(`${init.file}: ${tensor}${detail}`, { cause: init.cause });
    this.name = "SafetensorsError";
    this.file = init.file;
    this.tensor = init.tensor;
  }
}
