/**
 * Presigned URLs: a URL that carries its own signature (OSS4 `x-oss-signature` or SigV4 `X-Amz-Signature`), so a
 * browser page, a worker or a colleague can fetch (or upload) one object without ever holding a secret.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { parseUri } from "./uri.ts";

/** Methods a presigned URL may be made for. */
const METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE"]);

/**
 * Default lifetime of a presigned URL, in seconds (15 minutes).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { DEFAULT_PRESIGN_EXPIRES, resolvePresignOptions } from "./presign.ts";
 * expect([DEFAULT_PRESIGN_EXPIRES, resolvePresignOptions().expires]).toEqual([900, 900]);
 * ```
 */
export const DEFAULT_PRESIGN_EXPIRES = 900;

/**
 * Options of `OssClient.presignUrl` and {@linkcode presignUrl}.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import type { PresignOptions } from "./presign.ts";
 * const upload: PresignOptions = { method: "PUT", expires: 300, headers: { "content-type": "image/png" } };
 * expect(upload.method).toEqual("PUT");
 * ```
 */
export interface PresignOptions {
  /** HTTP method the URL is good for: GET (default), HEAD, PUT, POST or DELETE. */
  method?: string;
  /**
   * Lifetime in whole seconds, 1 to 604800 (7 days); default 900. With temporary (STS) credentials the URL
   * stops working when they expire, whatever this says.
   */
  expires?: number;
  /**
   * Headers that are signed and that whoever uses the URL must send unchanged, e.g. `content-type` for an
   * upload. Without them the server refuses the request.
   */
  headers?: HeadersInit;
  /** Query parameters to sign into the URL, e.g. `{ "response-content-disposition": "attachment" }`. */
  query?: Record<string, string>;
  /** Signing time; default now. */
  date?: Date;
}

/**
 * What presigning needs: a client with credentials (an `OssClient`).
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { type Presigner, presignUrl } from "./presign.ts";
 * const fake: Presigner = { presignUrl: (bucket, key) => Promise.resolve(`https://example.com/${bucket}/${key}?sig`) };
 * expect(await presignUrl("oss://data/a.txt", { client: fake })).toEqual("https://example.com/data/a.txt?sig");
 * ```
 */
export interface Presigner {
  /** Presigns one object request; see `OssClient.presignUrl`. */
  presignUrl(bucket: string, key: string, opts?: PresignOptions): Promise<string>;
}

/**
 * Checks presign options and fills in the defaults (used by `OssClient.presignUrl`).
 *
 * @throws {ConfigError} naming the option and what was expected.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { resolvePresignOptions } from "./presign.ts";
 * expect(resolvePresignOptions({ method: "put" }).method).toEqual("PUT");
 * ```
 */
export function resolvePresignOptions(
  opts: PresignOptions = {},
): { method: string; expires: number; headers: Headers; query: [string, string][]; date: Date } {
  if (opts === null || typeof opts !== "object") {
    throw new ConfigError(`presignUrl: expected an options object, got ${String(opts)}`);
  }
  const method = opts.method === undefined ? "GET" : String(opts.method).toUpperCase();
  if (!METHODS.has(method)) {
    throw new ConfigError(
      `presignUrl: method: expected one of ${[...METHODS].join(", ")}, got ${JSON.stringify(opts.method)}`,
    );
  }
  const date = opts.date ?? new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new ConfigError(`presignUrl: date: expected a valid Date, got ${String(opts.date)}`);
  }
  const query: [string, string][] = [];
  if (opts.query !== undefined) {
    if (opts.query === null || typeof opts.query !== "object") {
      throw new ConfigError(`presignUrl: query: expected an object of strings, got ${String(opts.query)}`);
    }
    for (const [name, value] of Object.entries(opts.query)) {
      if (typeof value !== "string" || name === "") {
        throw new ConfigError(
          `presignUrl: query: parameter ${JSON.stringify(name)} must be a non-empty name with a string value`,
        );
      }
      query.push([name, value]);
    }
  }
  let headers: Headers;
  try {
    headers = new Headers(opts.headers);
  } catch (err) {
    throw new ConfigError(`presignUrl: headers: expected valid HTTP headers (${(err as Error).message})`);
  }
  return { method, expires: opts.expires ?? DEFAULT_PRESIGN_EXPIRES, headers, query, date };
}

/**
 * Presigns a request for the object at `uri` (`oss://bucket/key` or `s3://bucket/key`) with `client`'s
 * endpoint, credentials and signature version (OSS4 or SigV4). Anyone holding the URL can make that one request
 * until it expires; the local server refuses it afterwards, as OSS does.
 *
 * @throws {ConfigError} on a bad URI or option, or a client without credentials (every check of `uri` is
 * `parseUri`'s, so an empty key is a `ConfigError` here, unlike `OssClient.presignUrl`'s `TypeError`).
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { OssClient, presignUrl } from "../mod.ts";
 * import { serveEmulator } from "./server/mod.ts";
 *
 * const credentials = { accessKeyId: "demo-id", accessKeySecret: "demo-secret" };
 * const server = await serveEmulator({ buckets: ["demo"], credentials: [credentials] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials });
 * await client.put("demo", "cat.txt", "meow");
 * const url = await presignUrl("oss://demo/cat.txt", { client, expires: 60 });
 * expect(await (await fetch(url)).text()).toEqual("meow"); // no credentials needed
 * await server.close();
 * ```
 */
export function presignUrl(uri: string, opts: PresignOptions & { client: Presigner }): Promise<string> {
  if (opts === null || typeof opts !== "object" || typeof opts.client?.presignUrl !== "function") {
    throw new ConfigError(`presignUrl: expected options with a client (an OssClient with credentials)`);
  }
  const { bucket, key } = parseUri(uri);
  const { client, ...rest } = opts;
  return client.presignUrl(bucket, key, rest);
}
