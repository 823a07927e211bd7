/**
 * `UrlFetchClient`: the {@linkcode DatasetClient} of URL datasets. It fetches each object by its own URL (a
 * presigned or public `http(s)://` URL) with plain `fetch` — no credentials, no signing — retrying 5xx, 429,
 * network errors, timeouts and short or corrupt bodies as `OssClient` does, and maps error responses to
 * {@linkcode OssError}. The URL's query (the signature) never reaches an error, a retry event or an audit record.
 *
 * @module
 */
import { describeNetworkFailure } from "../network_error.ts";
import type { AuditLog } from "../log.ts";
import { ConfigError, IntegrityError, OssError, OssflowError } from "../errors.ts";
import { parseContentRange } from "../body.ts";
import { checkCrc64 } from "../integrity.ts";
import { Attempt, bodyLength, readBodyBytes, ShortBody } from "../request.ts";
import {
  isRetryableStatus,
  resolveRetryOptions,
  Retry,
  retryAfterMs,
  retrying,
  type RetryOptions,
  type RetryPolicy,
} from "../retry.ts";
import { parseErrorResponse } from "../xml.ts";
import type { DatasetClient } from "./sources.ts";
import { redactQuery } from "./url_source.ts";

/**
 * Options of {@linkcode UrlFetchClient}.
 */
export interface UrlFetchOptions {
  /** Retry policy (the same as `OssClient`'s; default 5 attempts). */
  retry?: RetryOptions;
  /** A request fails (and is retried) after this many milliseconds without progress. Default 30000. */
  timeoutMs?: number;
  /** The `fetch` to use; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Receives each attempt (method, bucket, key, status, bytes, ms — never the URL), keeping the slow ones. */
  audit?: AuditLog;
}

/** What a request is for, in messages: the URL without its query, bucket and key. */
interface Target {
  url: string;
  uri: string;
  bucket: string;
  key: string;
}

/** A retryable failure of one attempt (a broken body, a failed check): retried, thrown when attempts run out. */
class AttemptFailure extends OssflowError {
  constructor(readonly error: Error) {
    super(error.message);
    this.name = "AttemptFailure";
  }
}

/**
 * Fetches objects by URL for URL datasets. `get`/`getBytes` take the URL in `opts.url` (set by the dataset from
 * its references); `bucket` and `key` only name the object in errors. `list` is not supported: a URL dataset
 * lists nothing.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { UrlFetchClient } from "./url_client.ts";
 * import { OssClient } from "../client.ts";
 * import { serveEmulator } from "../server/emulator.ts";
 * const credentials = { accessKeyId: "id", accessKeySecret: "secret" };
 * const server = await serveEmulator({ buckets: ["demo"], credentials: [credentials] });
 * const client = new OssClient({ endpoint: server.url, region: "cn-hangzhou", credentials });
 * await client.put("demo", "a.txt", "hello");
 * const url = await client.presignUrl("demo", "a.txt", { expires: 60 });
 * const { bytes } = await new UrlFetchClient().getBytes("demo", "a.txt", { url });
 * expect(new TextDecoder().decode(bytes)).toEqual("hello");
 * await server.close();
 * ```
 */
export class UrlFetchClient implements DatasetClient {
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #audit?: AuditLog;

  /** A client with its own retry policy, timeout, fetch and audit log. */
  constructor(opts: UrlFetchOptions = {}) {
    this.#retry = resolveRetryOptions(opts.retry);
    const t = opts.timeoutMs ?? 30_000;
    if (!(Number.isFinite(t) && t > 0)) {
      throw new ConfigError(
        `UrlFetchClient: timeoutMs: expected a positive number of milliseconds, got ${t}`,
      );
    }
    this.#timeoutMs = t;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#audit = opts.audit;
  }

  /** Fetches the object at `opts.url` (or bytes `range.start`..`range.end` of it, inclusive) as a stream. */
  async get(
    bucket: string,
    key: string,
    opts: { url?: string; range?: { start: number; end?: number }; signal?: AbortSignal } = {},
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number; etag: string }> {
    const { bytes, etag } = await this.#fetchBytes(target(bucket, key, opts.url), opts.range, opts.signal);
    return { body: new Blob([bytes]).stream(), size: bytes.byteLength, etag };
  }

  /** Fetches the whole object at `opts.url` into memory, length (and CRC-64, when the server sends it) checked. */
  async getBytes(
    bucket: string,
    key: string,
    opts: { url?: string; signal?: AbortSignal } = {},
  ): Promise<{ bytes: Uint8Array; etag: string }> {
    return await this.#fetchBytes(target(bucket, key, opts.url), undefined, opts.signal);
  }

  /** Not supported: a URL dataset lists nothing. */
  list(): AsyncIterable<{ key: string; size: number; etag: string }> {
    throw new ConfigError("UrlFetchClient: cannot list; a URL dataset is made from its URLs alone");
  }

  async #fetchBytes(
    t: Target,
    range: { start: number; end?: number } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ bytes: Uint8Array<ArrayBuffer>; etag: string }> {
    // Identity: a compressing intermediary must not change the bytes whose length and CRC-64 are checked.
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    // Only `Range`: any x-oss-* header would have to be signed into a presigned URL.
    if (range) headers.range = `bytes=${range.start}-${range.end ?? ""}`;
    return await retrying(this.#retry, async (_attempt, last) => {
      signal?.throwIfAborted();
      const a = new Attempt(signal, this.#timeoutMs, this.#timeoutMs);
      const t0 = performance.now();
      const audit = (status: number, bytes: number) => {
        if (!signal?.aborted) {
          this.#audit?.record({
            method: "GET",
            bucket: t.bucket,
            key: t.key,
            status,
            bytes,
            ms: performance.now() - t0,
          });
        }
      };
      let res: Response | undefined;
      try {
        res = await this.#fetch(t.url, { headers, signal: a.signal });
        if (res.ok) {
          const got = await readReply(res, a, t, range);
          audit(res.status, got.received);
          return got;
        }
      } catch (err) {
        a.done();
        audit(res?.status ?? 0, 0);
        if (signal?.aborted) throw signal.reason;
        const e = err instanceof AttemptFailure ? err.error : networkError(t, err, a.timedOut);
        if (last) throw e;
        return new Retry({ error: e });
      }
      if (isRetryableStatus(res.status) && !last) {
        await res.arrayBuffer().catch(() => {}); // read to the end so that the connection can be reused
        a.done();
        audit(res.status, 0);
        return new Retry({ status: res.status, afterMs: retryAfterMs(res.headers) });
      }
      let text = "";
      try {
        text = await res.text();
      } catch { /* the status and headers still tell */ }
      a.done();
      audit(res.status, 0);
      signal?.throwIfAborted();
      const parsed = parseErrorResponse(res.status, res.headers, text);
      throw new OssError({
        code: parsed.code,
        status: res.status,
        message: `${redactQuery(parsed.message, t.url)} (url ${t.uri})`,
        requestId: parsed.requestId,
        bucket: t.bucket,
        key: t.key,
        method: "GET",
      });
    }, { request: { method: "GET", bucket: t.bucket, key: t.key }, onRetry: this.#retry.onRetry, signal });
  }
}

function target(bucket: string, key: string, url: string | undefined): Target {
  if (typeof url !== "string") {
    throw new ConfigError(`UrlFetchClient: GET ${bucket}/${key}: expected opts.url, the URL of the object`);
  }
  const q = url.search(/[?#]/);
  return { url, uri: q < 0 ? url : url.slice(0, q), bucket, key };
}

/** An OssError for a request that got no response, its message (and no cause) free of the URL's query. */
function networkError(t: Target, err: unknown, timedOut: boolean): OssError {
  const host = new URL(t.uri).host;
  const why = timedOut
    ? `no response progress from ${host} in time`
    : `cannot reach ${host}: ${describeNetworkFailure(err)}`;
  return new OssError({
    code: timedOut ? "RequestTimeout" : "NetworkError",
    status: 0,
    message: redactQuery(why, t.url) + ` (url ${t.uri})`,
    bucket: t.bucket,
    key: t.key,
    method: "GET",
  });
}

/** Reads a 2xx body to the end, checking length, range and CRC-64; a failed check is an `AttemptFailure`. */
async function readReply(
  res: Response,
  a: Attempt,
  t: Target,
  range: { start: number; end?: number } | undefined,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; etag: string; received: number }> {
  const what = `GET ${t.uri}`;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBodyBytes(res, bodyLength(res.headers), a);
  } catch (err) {
    if (err instanceof ShortBody) {
      throw new AttemptFailure(new IntegrityError(`${what}: ${err.message}`, { key: t.key }));
    }
    throw err;
  } finally {
    a.done();
  }
  const etag = res.headers.get("etag") ?? "";
  await checkCrc64(res, bytes, what, t.key).catch((err) => {
    throw new AttemptFailure(err);
  });
  const received = bytes.byteLength;
  if (!range) return { bytes, etag, received };
  const end = range.end === undefined ? undefined : range.end + 1;
  if (res.status === 200) return { bytes: bytes.subarray(range.start, end), etag, received }; // Range ignored
  const cr = parseContentRange(res.headers.get("content-range"));
  if (cr !== undefined && cr.start !== range.start) {
    const message = `${what}: asked for bytes from ${range.start}, got Content-Range from ${cr.start}`;
    throw new AttemptFailure(new IntegrityError(message, { key: t.key }));
  }
  return { bytes, etag, received };
}
