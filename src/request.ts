/**
 * The one request path of {@linkcode OssClient}: build the URL, sign, `fetch` with an AbortSignal (the caller's
 * plus a per-attempt inactivity timer), retry what is worth retrying, and map error responses to
 * {@linkcode OssError}. Internal: the public API is `client.ts`.
 *
 * @module
 */
import { addAbortWaiter, removeAbortWaiter } from "./abort.ts";
import { concatBytes } from "./bytes.ts";
import {
  checkProvidedCredentials,
  type Credentials,
  type CredentialsProvider,
  toCredentialsProvider,
} from "./credentials.ts";
import { defaultRegion, type Endpoint, objectUrl, parseEndpoint } from "./endpoint.ts";
import { ConfigError, IntegrityError, OssError, OssflowError } from "./errors.ts";
import { crcMismatch, expectedCrc64 } from "./integrity.ts";
import { Crc64 } from "./crc64.ts";
import { describeNetworkFailure } from "./network_error.ts";
import {
  isRetryableStatus,
  resolveRetryOptions,
  Retry,
  retryAfterMs,
  type RetryEvent,
  retrying,
  type RetryPolicy,
} from "./retry.ts";
import { isDefaultSignedHeaderOss4, presignOss4, signOss4 } from "./signer/oss4.ts";
import { presignS3v4, signS3v4 } from "./signer/s3v4.ts";
import { type HeaderMap, HeaderRecord } from "./signer/header_map.ts";
import { redact, secretHeaderValues } from "./log.ts";
import { parseErrorResponse } from "./xml.ts";
import { sizedBody } from "./sized_body.ts";
import type { OssClientOptions } from "./client_types.ts";

/** One request, as the operations describe it. */
export interface RequestSpec {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  bucket?: string;
  key?: string;
  query?: URLSearchParams;
  headers?: Record<string, string>;
  /** Bytes and Blobs are replayable; a ReadableStream is sent once and never retried. */
  body?: Uint8Array | Blob | ReadableStream<Uint8Array>;
  /** A ReadableStream body's length: sent as its Content-Length where the runtime can ({@linkcode sizedBody}). */
  size?: number;
  signal?: AbortSignal;
  /** Called before each retry of this request, after the client-wide `RetryOptions.onRetry`. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * What to do with a 2xx body: discard it, read it as text, hand the open stream to the caller, or read it
 * into memory (`"bytes"`: a broken body, or a whole-object body whose CRC-64 differs from the server's, retries
 * the request; bodies over {@linkcode BYTES_MAX} are handed over as a stream instead, so that the caller resumes
 * them rather than fetching them again).
 */
export type ReadMode = "none" | "text" | "stream" | "bytes";

/** Largest body that `"bytes"` reads in one go (and refetches whole after a break). */
export const BYTES_MAX: number = 8 * 1024 * 1024;

/** A 2xx response; while `attempt` is set the body is still open and the caller must finish it. */
export interface Reply {
  res: Response;
  text: string;
  bytes?: Uint8Array<ArrayBuffer>;
  /** With `bytes`: the CRC-64 they were checked against (undefined: nothing to check, e.g. a range). */
  crc64?: string;
  attempt?: Attempt;
}

/**
 * Thrown by {@linkcode readBodyBytes} when a body is shorter or longer than its Content-Length; inside an attempt
 * it is retried like a network error.
 *
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { ShortBody } from "./request.ts";
 * const err = new ShortBody("the body has 3 bytes, Content-Length says 5");
 * expect(err.name).toBe("ShortBody");
 * ```
 */
export class ShortBody extends OssflowError {
  /** A body whose length disagrees with its Content-Length; `message` gives both. */
  constructor(message: string) {
    super(message);
    this.name = "ShortBody";
  }
}

/** Bodies up to this size are read with `arrayBuffer()` (they arrive in one or two chunks anyway). */
const ONE_READ_MAX = 64 * 1024;

/**
 * Reads a body into one buffer. With a known `length` (its Content-Length; -1 when unknown) the buffer is
 * allocated up front and filled chunk by chunk: `arrayBuffer()` grows a buffer as the bytes come and copies it
 * (measured: up to twice as slow for 4 MiB bodies, and more memory). Each chunk counts as progress for the
 * attempt's inactivity deadline.
 *
 * @throws {ShortBody} when the body is shorter or longer than `length`.
 * @example
 * ```ts
 * import { expect } from "expect";
 * import { Attempt, readBodyBytes } from "./request.ts";
 * const attempt = new Attempt(undefined, 1000, 1000);
 * const bytes = await readBodyBytes(new Response(new Uint8Array(100_000)), 100_000, attempt);
 * attempt.done();
 * expect(bytes.length).toEqual(100000);
 * ```
 */
export async function readBodyBytes(
  res: Response,
  length: number,
  a: Attempt,
  crc?: Crc64,
): Promise<Uint8Array<ArrayBuffer>> {
  if ((length >= 0 && length <= ONE_READ_MAX) || res.body === null) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (length >= 0 && bytes.byteLength !== length) {
      throw new ShortBody(`the body has ${bytes.byteLength} bytes, Content-Length says ${length}`);
    }
    crc?.update(bytes);
    return bytes;
  }
  if (length >= 0) {
    const byob = byobReader(res.body);
    if (byob !== undefined) return await readInto(byob, length, a, crc);
  }
  const chunks: Uint8Array[] = [];
  const out = length >= 0 ? new Uint8Array(length) : undefined;
  let at = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      a.ticks++;
      crc?.update(value);
      if (out === undefined) chunks.push(value);
      else if (value.byteLength > length - at) {
        throw new ShortBody(`the body has more than the ${length} bytes its Content-Length says`);
      } else out.set(value, at);
      at += value.byteLength;
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  }
  if (out === undefined) return concatBytes(chunks, at) as Uint8Array<ArrayBuffer>;
  if (at !== length) throw new ShortBody(`the body has ${at} bytes, Content-Length says ${length}`);
  return out;
}

/** A BYOB reader of `body`, or undefined where the runtime's bodies are not byte streams. */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return undefined;
  }
}

/**
 * Reads exactly `length` bytes straight into one buffer (no chunk allocated per read, no copy), then checks
 * that the body ends there.
 */
async function readInto(
  reader: ReadableStreamBYOBReader,
  length: number,
  a: Attempt,
  crc: Crc64 | undefined,
): Promise<Uint8Array<ArrayBuffer>> {
  let buffer = new ArrayBuffer(length);
  let at = 0;
  try {
    while (at < length) {
      const { done, value } = await reader.read(new Uint8Array(buffer, at, length - at));
      if (value !== undefined) buffer = value.buffer as ArrayBuffer; // the read transferred it
      if (done) throw new ShortBody(`the body has ${at} bytes, Content-Length says ${length}`);
      a.ticks++;
      crc?.update(value); // while the chunk is still in cache, and while the next one is on its way
      at += value.byteLength;
    }
    // The body must end here: one more read of a byte tells.
    const { done, value } = await reader.read(new Uint8Array(1));
    if (!done || (value?.byteLength ?? 0) > 0) {
      throw new ShortBody(`the body has more than the ${length} bytes its Content-Length says`);
    }
  } catch (err) {
    reader.cancel(err).catch(() => {});
    throw err;
  }
  return new Uint8Array(buffer);
}

/**
 * The life of one attempt: an AbortController fed by the caller's signal and by an inactivity deadline. The
 * deadline only counts while the attempt waits for the server (`busy`); progress (`ticks`) pushes it back. No
 * timer per request: one shared sweep checks the live attempts every {@linkcode SWEEP_MS}, so deadlines are
 * honoured to within that. The attempt itself (its `handleEvent`) waits on the caller's signal, through the
 * signal's one shared listener (`abort.ts`): a pass's dozens of attempts add no listener each.
 */
export class Attempt {
  readonly controller: AbortController = new AbortController();
  timedOut = false;
  busy = true;
  ticks = 0;
  #seen = 0;
  /** 0 until the first sweep sees the attempt: no clock read per request. */
  #deadline = 0;
  #firstMs: number;
  #parked = false;
  #caller: AbortSignal | undefined;
  #idleMs: number;
  /** Where the attempt sits in the sweep's list, -1 when not watched. */
  slot = -1;

  constructor(caller: AbortSignal | undefined, firstMs: number, idleMs: number) {
    this.#caller = caller;
    this.#idleMs = idleMs;
    this.#firstMs = firstMs;
    addAbortWaiter(caller, this); // one listener on the caller's signal, however many attempts share it
    track(this);
  }

  /** The signal for `fetch`. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The caller's signal aborted: abort the attempt with the same reason. */
  handleEvent(): void {
    this.controller.abort(this.#caller!.reason);
  }

  /** The body reader starts waiting for bytes. */
  wait(): void {
    this.busy = true;
    this.ticks++; // the idle time starts now, not when the consumer last read
    if (this.#parked) {
      this.#parked = false;
      track(this);
    }
  }

  /** Called by the sweep; returns false once the attempt no longer needs watching. */
  check(now: number): boolean {
    // Started at most one sweep ago: the first deadline counts from here (late by at most SWEEP_MS).
    if (this.#deadline === 0) this.#deadline = now + this.#firstMs;
    if (!this.busy) {
      this.#parked = true; // nobody is waiting for the server; wait() tracks it again
      return false;
    }
    if (this.ticks !== this.#seen) {
      this.#seen = this.ticks;
      this.#deadline = now + this.#idleMs;
      return true;
    }
    if (now < this.#deadline) return true;
    this.timedOut = true;
    this.controller.abort(new DOMException(`no response progress for ${this.#idleMs} ms`, "TimeoutError"));
    return false;
  }

  /** Stops watching and detaches from the caller's signal. Idempotent. */
  done(): void {
    untrack(this);
    this.busy = false;
    this.#parked = false;
    removeAbortWaiter(this.#caller, this);
  }
}

/** How often the shared sweep checks attempt deadlines, in ms. */
export const SWEEP_MS = 50;
/** The watched attempts, each knowing its index (`slot`): adding and removing cost no hashing. */
const live: Attempt[] = [];
let sweeper: ReturnType<typeof setInterval> | undefined;

function track(a: Attempt): void {
  if (a.slot >= 0) return;
  a.slot = live.length;
  live.push(a);
  sweeper ??= setInterval(sweep, SWEEP_MS);
}

/** The sweep stops as soon as nothing is watched, so an idle process (or a finished test) has no timer. */
function untrack(a: Attempt): void {
  const i = a.slot;
  if (i < 0) return;
  a.slot = -1;
  const last = live.pop()!;
  if (last !== a) {
    live[i] = last;
    last.slot = i;
  }
  if (live.length === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** How many attempts the sweep watches now (for tests: it must come back to 0, and its timer stop). */
export function watchedAttempts(): number {
  return live.length;
}

function sweep(): void {
  const now = performance.now();
  // Backwards: untrack moves the last attempt into the freed slot, which this loop has already checked.
  for (let i = live.length - 1; i >= 0; i--) {
    const a = live[i];
    if (a !== undefined && !a.check(now)) untrack(a);
  }
}

/** Content-Length when it counts the bytes the body will yield (no Content-Encoding), else -1. */
export function bodyLength(h: Headers): number {
  const v = h.get("content-length");
  const encoding = h.get("content-encoding");
  if (v === null || (encoding !== null && encoding !== "identity")) return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer(); // read to the end so that the connection can be reused
  } catch { /* the response is done with either way */ }
}

/** Credentials are asked of the provider at most this often (they are refreshed sooner near expiry). */
const CREDENTIALS_TTL_MS = 10_000;
const EXPIRY_MARGIN_MS = 300_000;
const STALE_CREDENTIAL_CODES = new Set([
  "InvalidAccessKeyId",
  "SecurityTokenExpired",
  "InvalidSecurityToken",
  "ExpiredToken",
  "InvalidToken",
]);

/** Sends requests for one client: endpoint, signer, credentials cache and retry policy. */
export class Transport {
  readonly endpoint: Endpoint;
  readonly region: string;
  readonly s3: boolean;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  #fetch: typeof fetch;
  #provider: CredentialsProvider | undefined;
  #signOpts: { credentials: Credentials; region: string } | undefined;
  #signOptsUntil = 0;
  #refreshing: Promise<void> | undefined;

  constructor(opts: OssClientOptions) {
    if (opts === null || typeof opts !== "object") {
      throw new ConfigError(`OssClient: expected an options object with an endpoint, got ${opts}`);
    }
    const { endpoint, signatureVersion = "oss4", timeoutMs = 30_000 } = opts;
    if (signatureVersion !== "oss4" && signatureVersion !== "s3v4") {
      throw new ConfigError(
        `OssClient: signatureVersion: expected "oss4" or "s3v4", got ${JSON.stringify(signatureVersion)}`,
      );
    }
    this.endpoint = parseEndpoint(
      endpoint,
      opts.pathStyle === undefined ? {} : { pathStyle: opts.pathStyle },
    );
    this.s3 = signatureVersion === "s3v4";
    const region = opts.region ?? defaultRegion(this.endpoint, signatureVersion);
    if (region === undefined && opts.credentials !== undefined) {
      throw new ConfigError(
        `OssClient: region: the endpoint ${this.endpoint.host} names no region and signatures need the ` +
          `bucket's; pass { region: "cn-hangzhou" } or similar`,
      );
    }
    this.region = region ?? "";
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new ConfigError(
        `OssClient: timeoutMs: expected a positive number of milliseconds, got ${timeoutMs}`,
      );
    }
    this.timeoutMs = timeoutMs;
    this.retry = resolveRetryOptions(opts.retry);
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#provider = opts.credentials === undefined ? undefined : toCredentialsProvider(opts.credentials);
  }

  /**
   * Sends `spec`, retrying 5xx, 429, network errors and timeouts while the body is replayable and attempts
   * remain; resolves with a 2xx reply or rejects with an OssError (or the caller's abort reason).
   */
  async send(spec: RequestSpec, mode: ReadMode): Promise<Reply> {
    const { signal } = spec;
    const url = objectUrl(this.endpoint, spec.bucket, spec.key, spec.query);
    const replayable = !(spec.body instanceof ReadableStream);
    const sized = spec.body instanceof ReadableStream && spec.size !== undefined
      ? sizedBody(spec.body, spec.size, `${spec.method} ${spec.bucket}/${spec.key}`)
      : undefined;
    const body = sized?.body ?? spec.body;
    // Of the body as given, so that a sized stream has the same allowance whichever way the runtime sends it.
    const given = spec.body;
    const bodyBytes = given instanceof Uint8Array
      ? given.byteLength
      : given instanceof Blob
      ? given.size
      : spec.size ?? 0;
    const firstMs = this.timeoutMs + bodyBytes / 1048.576; // + 1 s per MiB to send
    const onRetry = (event: RetryEvent) => {
      this.retry.onRetry?.(event);
      spec.onRetry?.(event);
    };
    let resigned = false;
    return await retrying(this.retry, async (attempt, last) => {
      signal?.throwIfAborted();
      const headers = new HeaderRecord(spec.headers); // a plain record: fetch reads it without sorting it
      if (sized?.contentLength !== undefined) headers.set("content-length", sized.contentLength);
      const signedWith = await this.#sign(spec, url, headers);
      // After signing (a browser replaces it): a compressing intermediary must not change the bytes whose
      // length and CRC-64 are checked.
      if (spec.method === "GET") headers.set("accept-encoding", "identity");
      signal?.throwIfAborted();
      const a = new Attempt(signal, firstMs, this.timeoutMs);
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method: spec.method,
          headers: headers.init,
          body,
          signal: a.signal,
          redirect: "manual",
          duplex: "half",
        } as RequestInit);
        if (res.ok) {
          if (mode === "bytes") {
            const length = bodyLength(res.headers);
            if (length >= 0 && length <= BYTES_MAX) {
              const crc64 = expectedCrc64(res);
              // Checksummed chunk by chunk as the body arrives (while each chunk is in cache); the await is only
              // for the first read of the process, which loads the implementation.
              const crc = crc64 === undefined ? undefined : Crc64.createIfReady() ?? await Crc64.create();
              const bytes = await readBodyBytes(res, length, a, crc);
              a.done();
              const actual = crc?.digest(); // undefined, like crc64, when there is nothing to check
              if (actual !== crc64) {
                throw crcMismatch(
                  `${spec.method} ${spec.bucket}/${spec.key}`,
                  spec.key ?? "",
                  crc64!,
                  actual!,
                  bytes.byteLength,
                );
              }
              return { res, text: "", bytes, crc64 };
            }
          }
          if (mode === "stream" || mode === "bytes") return { res, text: "", attempt: a };
          const text = mode === "text" ? await res.text() : "";
          if (mode === "none") await drain(res);
          a.done();
          return { res, text };
        }
      } catch (err) {
        a.done();
        if (signal?.aborted) throw signal.reason;
        // Runtimes disagree on the class of network errors (Deno and Node: TypeError; Bun: Error with a
        // code), so whatever fetch or the body read threw is treated as one; signing errors are thrown above.
        // A body that failed its CRC-64 check is fetched again too, and reported as itself at the end.
        if (!replayable || last) {
          if (err instanceof IntegrityError) throw err;
          if (sized?.failure !== undefined) throw sized.failure;
          throw this.#networkError(spec, url, err, a.timedOut, attempt, replayable);
        }
        return new Retry({ error: err });
      }
      if (isRetryableStatus(res.status) && replayable && !last) {
        await drain(res);
        a.done();
        return new Retry({ status: res.status, afterMs: retryAfterMs(res.headers) });
      }
      let text = "";
      try {
        if (spec.method !== "HEAD") text = await res.text();
      } catch { /* the error body was lost; the status and headers still tell */ }
      a.done();
      signal?.throwIfAborted();
      const parsed = parseErrorResponse(res.status, res.headers, text, spec);
      // A body that changed on the way was refused before it was stored (Content-MD5): send it again.
      if (parsed.code === "BadDigest" && replayable && !last) return new Retry({ status: res.status });
      if (res.status === 403 && STALE_CREDENTIAL_CODES.has(parsed.code)) {
        this.#signOptsUntil = 0;
        // Keys rotated (or a token expired) since they were cached: sign once more if the provider has new ones.
        if (!resigned && replayable && !last && await this.#credentialsChanged(signedWith)) {
          resigned = true;
          return new Retry({ now: true });
        }
      }
      // An error body may echo the request (a proxy's text/plain 403): never let a token or signature through.
      parsed.message = redact(parsed.message, secretHeaderValues([...headers]));
      throw new OssError({
        ...parsed,
        status: res.status,
        bucket: spec.bucket,
        key: spec.key,
        method: spec.method,
      });
    }, { request: spec, onRetry, signal });
  }

  /** Whether the provider now gives other credentials than `used` (false when it fails or gives the same). */
  async #credentialsChanged(used: Credentials | undefined): Promise<boolean> {
    if (used === undefined) return false;
    try {
      const now = (await this.#currentSignOptions()).credentials;
      return now.accessKeyId !== used.accessKeyId || now.accessKeySecret !== used.accessKeySecret ||
        now.securityToken !== used.securityToken;
    } catch {
      return false; // the 403 is the better error
    }
  }

  #networkError(
    spec: RequestSpec,
    url: URL,
    cause: unknown,
    timedOut: boolean,
    attempts: number,
    replayable: boolean,
  ) {
    const what = timedOut
      ? `no response progress from ${url.host} for ${this.timeoutMs} ms`
      : `cannot reach ${url.host}: ${describeNetworkFailure(cause)}`;
    const why = replayable
      ? `after ${attempts} attempt(s)`
      : "(the body was a one-shot ReadableStream, not retried)";
    return new OssError({
      code: timedOut ? "RequestTimeout" : "NetworkError",
      status: 0,
      message: `${what} ${why}`,
      bucket: spec.bucket,
      key: spec.key,
      method: spec.method,
      cause,
    });
  }

  /** `spec` signed for another context to send (a Web Worker): its URL and headers, Authorization included. */
  async signed(spec: RequestSpec): Promise<{ url: string; headers: [string, string][] }> {
    const url = objectUrl(this.endpoint, spec.bucket, spec.key, spec.query);
    const headers = new HeaderRecord(spec.headers);
    await this.#sign(spec, url, headers);
    return { url: url.href, headers: [...headers] };
  }

  /** Signs `headers` (Authorization and the rest) for `spec`; resolves with the credentials used, if any. */
  async #sign(spec: RequestSpec, url: URL, headers: HeaderMap): Promise<Credentials | undefined> {
    if (this.#provider === undefined) return undefined;
    const signOpts = this.#freshSignOptions() ?? await this.#currentSignOptions();
    const req = { method: spec.method, url, headers, bucket: spec.bucket, key: spec.key };
    if (this.s3) await signS3v4(req, signOpts);
    else await signOss4(req, signOpts);
    return signOpts.credentials;
  }

  /**
   * A presigned URL for one request (see `presign.ts`): the headers given are signed and must be sent with it.
   *
   * @throws {ConfigError} when the client has no credentials, or on a bad bucket, key or lifetime.
   */
  async presign(
    bucket: string,
    key: string,
    p: { method: string; expires: number; headers: Headers; query: [string, string][]; date: Date },
  ): Promise<URL> {
    if (this.#provider === undefined) {
      throw new ConfigError("presignUrl: this client has no credentials to sign with; pass { credentials }");
    }
    const query = new URLSearchParams(p.query);
    const url = objectUrl(this.endpoint, bucket, key, p.query.length > 0 ? query : undefined);
    const { credentials, region } = await this.#currentSignOptions();
    const opts = { credentials, region, date: p.date, expires: p.expires };
    const req = { method: p.method, url, headers: p.headers, bucket, key };
    if (this.s3) return await presignS3v4(req, opts);
    const additionalHeaders = [...p.headers.keys()].filter((name) => !isDefaultSignedHeaderOss4(name));
    return await presignOss4(req, { ...opts, additionalHeaders });
  }

  /** The cached credentials while they are fresh, without waiting (the common case of every request). */
  #freshSignOptions(): { credentials: Credentials; region: string } | undefined {
    return Date.now() < this.#signOptsUntil ? this.#signOpts : undefined;
  }

  async #currentSignOptions(): Promise<{ credentials: Credentials; region: string }> {
    if (this.#signOpts === undefined || Date.now() >= this.#signOptsUntil) {
      const p = this.#refreshing ??= this.#refreshCredentials();
      try {
        await p;
      } finally {
        if (this.#refreshing === p) this.#refreshing = undefined;
      }
    }
    return this.#signOpts!;
  }

  async #refreshCredentials(): Promise<void> {
    const credentials = checkProvidedCredentials(await this.#provider!.getCredentials(), this.#provider!);
    const left = credentials.expiration
      ? credentials.expiration.getTime() - Date.now() - EXPIRY_MARGIN_MS
      : Infinity;
    this.#signOpts = { credentials, region: this.region };
    this.#signOptsUntil = Date.now() + Math.max(0, Math.min(CREDENTIALS_TTL_MS, left));
  }
}
